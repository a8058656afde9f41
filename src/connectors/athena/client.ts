/**
 * One Athena connection per config: credentials (static, default chain, or an assumed role), the shared
 * rate limiters, and `call`, which every API request goes through for quotas, retries and counting.
 */
import { AthenaClient, type AthenaClientConfig } from '@aws-sdk/client-athena';
import { awsCredentials } from '../aws/credentials';
import { parseDuration } from '../../run/duration';
import type { AthenaConfig } from './config';
import type { ApiOutcome } from '../../contracts/plugin';
import { classify, isRetryable, toCollectorError, type FaultKind } from './faults';
import { IcebergMetadataFiles } from './iceberg-metadata';
import { limitersFor, type AthenaOperation, type Limiters } from './quotas';
import { sleep } from './sleep';

export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** What the SDK's `send` accepts as its second argument. */
export interface SendOptions {
  abortSignal?: AbortSignal;
}

export class AthenaSession {
  readonly client: AthenaClient;
  readonly limiters: Limiters;
  readonly retry: RetryPolicy;
  /** Iceberg metadata files on S3, with the same credentials; buckets found closed are remembered for the run. */
  readonly icebergFiles: IcebergMetadataFiles;
  private readonly memo = new Map<string, Promise<unknown>>();

  /** `report` counts every request's outcome (the source's `ctx.apiCall`); none by default, for tools. */
  constructor(
    readonly config: AthenaConfig,
    readonly report: (operation: AthenaOperation, outcome: ApiOutcome) => void = () => undefined,
  ) {
    const credentials = credentialsFor(config);
    this.client = new AthenaClient({
      region: config.region,
      ...(config.endpoint ? { endpoint: config.endpoint } : {}),
      credentials,
      // Retries are ours (counted, quota-aware, bounded); the SDK's would hide throttles from us.
      maxAttempts: 1,
      requestHandler: { connectionTimeout: 10_000, requestTimeout: 120_000 },
    });
    this.icebergFiles = new IcebergMetadataFiles(config, credentials);
    this.limiters = limitersFor(identityKey(config), config.quotas);
    this.retry = {
      maxAttempts: config.retry.maxAttempts,
      baseDelayMs: parseDuration(config.retry.baseDelay) ?? 200,
      maxDelayMs: parseDuration(config.retry.maxDelay) ?? 20_000,
    };
  }

  /**
   * Runs one API request under the operation's rate limit; retries throttles, 5xx and network errors with
   * jittered exponential backoff, then gives up with a TransientError; maps denials to AuthError and
   * config mistakes to ConfigError. Aborting `signal` rejects with its reason. Errors of the `answers`
   * kinds are still thrown, but are an answer for this call (a lookup of a table dropped since), not an
   * API failure in the metrics.
   */
  async call<T>(
    operation: AthenaOperation,
    send: (options: SendOptions) => Promise<T>,
    signal?: AbortSignal,
    answers: readonly FaultKind[] = [],
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      await this.limiters[operation].acquire(signal);
      this.report(operation, 'call');
      try {
        return await send(signal ? { abortSignal: signal } : {});
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        const kind = classify(err);
        if (kind === 'throttle') {
          this.report(operation, 'throttle');
          this.limiters[operation].drain();
        } else if (kind === 'server') this.report(operation, 'server-error');
        else if (kind === 'network') this.report(operation, 'network-error');
        if (!isRetryable(kind) || attempt >= this.retry.maxAttempts) {
          if (!answers.includes(kind)) this.report(operation, 'failure');
          throw toCollectorError(operation, err, kind, attempt);
        }
        this.report(operation, 'retry');
        await sleep(this.backoff(attempt), signal);
      }
    }
  }

  /** Equal jitter: at least half the exponential step, so a storm spreads out but never spins. */
  backoff(attempt: number): number {
    const step = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
    return step / 2 + Math.random() * (step / 2);
  }

  /** Pages through a NextToken-paginated operation, one page at a time, fetching the next while the caller works. */
  async *pages<P extends { NextToken?: string | undefined }>(
    operation: AthenaOperation,
    fetch: (token: string | undefined, options: SendOptions) => Promise<P>,
    signal?: AbortSignal,
  ): AsyncGenerator<P> {
    const get = (token: string | undefined) => {
      const p = this.call(operation, (o) => fetch(token, o), signal);
      // Handled here so an abandoned lookahead never becomes an unhandled rejection; awaiting still throws.
      p.catch(() => undefined);
      return p;
    };
    let next: Promise<P> | undefined = get(undefined);
    while (next) {
      const page: P = await next;
      next = page.NextToken ? get(page.NextToken) : undefined;
      yield page;
    }
  }

  /** `compute()` once per session and key; a failure is forgotten so the next caller tries again. */
  once<T>(key: string, compute: () => Promise<T>): Promise<T> {
    let p = this.memo.get(key) as Promise<T> | undefined;
    if (!p) {
      p = compute();
      this.memo.set(key, p);
      p.catch(() => this.memo.delete(key));
    }
    return p;
  }

  close(): void {
    this.client.destroy();
    this.icebergFiles.close();
  }
}

function credentialsFor(config: AthenaConfig): AthenaClientConfig['credentials'] {
  const durationMs = config.sessionDuration ? parseDuration(config.sessionDuration) : undefined;
  return awsCredentials(config, { sessionName: 'temporal-collectors-athena', durationMs });
}

/** Quotas are per account and region; the principal stands in for the account (never a secret). */
function identityKey(config: AthenaConfig): string {
  return [config.region, config.endpoint ?? '', config.roleArn ?? config.accessKeyId ?? 'default-chain'].join('|');
}
