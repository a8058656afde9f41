/**
 * Injectable faults and request counters. A spec applies to one operation or to `*`; for each field the
 * operation's spec wins over `*`. Probabilities draw from one seeded PRNG, so a run is reproducible.
 */
import { z } from 'zod';
import { DEFAULT_QUOTAS as ATHENA_QUOTAS } from '../../src/connectors/athena/quotas';
import { Prng } from './prng';

export interface FaultSpec {
  latencyMs?: number;
  throttleRate?: number;
  throttleNext?: number;
  serverErrorRate?: number;
  serverErrorNext?: number;
  accessDenied?: boolean;
  unprocessedRate?: number;
  /**
   * StartQueryExecution only: the query is accepted, then fails because the caller may not write the
   * result location (s3:PutObject), the way Athena reports it.
   */
  resultWriteDenied?: boolean;
  /** 500 InternalServerException (default) or 503 ServiceUnavailableException. */
  serverErrorStatus?: 500 | 503;
  /** ThrottlingException (default, the API rate limit) or TooManyRequestsException (Athena's own). */
  throttleCode?: 'ThrottlingException' | 'TooManyRequestsException';
  /** Extra delay per call drawn uniformly from [0, latencyJitterMs], on top of latencyMs. */
  latencyJitterMs?: number;
  /** StartQueryExecution only: how long a started query stays QUEUED, then RUNNING (at least), in ms. */
  queueMs?: number;
  runMs?: number;
  /**
   * Server-side token buckets at Athena's per-account quotas (ATHENA_QUOTAS): a call beyond its
   * operation's bucket is answered ThrottlingException "Rate exceeded", as Athena does.
   */
  quotas?: boolean;
}

const rate = z.number().min(0).max(1);
const count = z.number().int().min(0);
export const faultSpecSchema = z.strictObject({
  latencyMs: count.optional(),
  throttleRate: rate.optional(),
  throttleNext: count.optional(),
  serverErrorRate: rate.optional(),
  serverErrorNext: count.optional(),
  accessDenied: z.boolean().optional(),
  unprocessedRate: rate.optional(),
  resultWriteDenied: z.boolean().optional(),
  serverErrorStatus: z.union([z.literal(500), z.literal(503)]).optional(),
  throttleCode: z.enum(['ThrottlingException', 'TooManyRequestsException']).optional(),
  latencyJitterMs: count.optional(),
  queueMs: count.optional(),
  runMs: count.optional(),
  quotas: z.boolean().optional(),
});

/** An error as the service sends it: HTTP status, `__type`, message, extra members. */
export class AwsError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    /** Athena's modeled errors carry `Message`; AWS's common ones `message`. */
    readonly modeled = true,
    readonly fields: Record<string, string> = {},
  ) {
    super(message);
  }
  body(): Record<string, string> {
    return { __type: this.code, [this.modeled ? 'Message' : 'message']: this.message, ...this.fields };
  }
}

export type FaultDecision =
  { kind: 'ok' } | { kind: 'throttle'; code: string } | { kind: 'server'; status: 500 | 503 } | { kind: 'denied' };

export class Faults {
  private readonly specs = new Map<string, FaultSpec>();
  private rng: Prng;
  private readonly counts = new Map<string, number>();
  private jitterRng: Prng;
  private readonly buckets = new Map<string, { tokens: number; last: number }>();

  constructor(private readonly randomSeed: number) {
    this.rng = new Prng(randomSeed);
    this.jitterRng = new Prng(randomSeed ^ 0x5bd1e995);
  }

  set(operation: string, spec: FaultSpec): void {
    this.specs.set(operation, { ...faultSpecSchema.parse(spec) });
  }
  clear(): void {
    this.specs.clear();
    this.rng = new Prng(this.randomSeed);
    this.jitterRng = new Prng(this.randomSeed ^ 0x5bd1e995);
    this.buckets.clear();
  }
  snapshot(): Record<string, FaultSpec> {
    return Object.fromEntries([...this.specs].map(([k, v]) => [k, { ...v }]));
  }

  count(operation: string): void {
    this.counts.set(operation, (this.counts.get(operation) ?? 0) + 1);
  }
  counters(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
  resetCounters(): void {
    this.counts.clear();
  }

  private field<K extends keyof FaultSpec>(operation: string, key: K): FaultSpec[K] | undefined {
    return this.specs.get(operation)?.[key] ?? this.specs.get('*')?.[key];
  }

  /** Consumes one of "the next N" from the operation's spec first, then from `*`. */
  private takeNext(operation: string, key: 'throttleNext' | 'serverErrorNext'): boolean {
    for (const k of [operation, '*']) {
      const s = this.specs.get(k);
      const n = s?.[key];
      if (s && n !== undefined && n > 0) {
        s[key] = n - 1;
        return true;
      }
    }
    return false;
  }

  latencyMs(operation: string): number {
    return this.field(operation, 'latencyMs') ?? 0;
  }

  /** latencyMs plus this call's jitter. Jitter draws from its own PRNG so fault draws stay as they were. */
  delayMs(operation: string): number {
    const jitter = this.field(operation, 'latencyJitterMs') ?? 0;
    return this.latencyMs(operation) + (jitter > 0 ? Math.round(this.jitterRng.next() * jitter) : 0);
  }

  /** How long a query started now stays QUEUED, then RUNNING, before it finishes. */
  queryTiming(operation: string): { queueMs: number; runMs: number } {
    return { queueMs: this.field(operation, 'queueMs') ?? 0, runMs: this.field(operation, 'runMs') ?? 0 };
  }

  /** With `quotas` on: whether this call is over its operation's bucket (counted as a throttle). */
  overQuota(operation: string, now = performance.now()): boolean {
    if (!this.field(operation, 'quotas')) return false;
    const quota = ATHENA_QUOTAS[operation as keyof typeof ATHENA_QUOTAS];
    if (!quota) return false;
    let b = this.buckets.get(operation);
    if (!b) this.buckets.set(operation, (b = { tokens: quota.burst, last: now }));
    b.tokens = Math.min(quota.burst, b.tokens + ((now - b.last) / 1000) * quota.perSecond);
    b.last = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return false;
    }
    this.count(`${operation}:throttled`);
    return true;
  }

  /** What happens to this call: denial first (a permission problem is not transient), then throttling, then 5xx. */
  decide(operation: string): FaultDecision {
    if (this.field(operation, 'accessDenied')) return { kind: 'denied' };
    const throttleCode = this.field(operation, 'throttleCode') ?? 'ThrottlingException';
    if (this.takeNext(operation, 'throttleNext')) return { kind: 'throttle', code: throttleCode };
    const tr = this.field(operation, 'throttleRate');
    if (tr && this.rng.next() < tr) return { kind: 'throttle', code: throttleCode };
    const status = this.field(operation, 'serverErrorStatus') ?? 500;
    if (this.takeNext(operation, 'serverErrorNext')) return { kind: 'server', status };
    const sr = this.field(operation, 'serverErrorRate');
    if (sr && this.rng.next() < sr) return { kind: 'server', status };
    return { kind: 'ok' };
  }

  /** Whether a query started now fails to write its result. */
  resultWriteDenied(operation: string): boolean {
    return this.field(operation, 'resultWriteDenied') ?? false;
  }

  /** Whether BatchGetQueryExecution leaves one more id unprocessed. */
  unprocessed(operation: string): boolean {
    const r = this.field(operation, 'unprocessedRate');
    return !!r && this.rng.next() < r;
  }
}
