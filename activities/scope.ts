/**
 * One activity attempt's view of its collector: the collector resolved from the run's ref, a secret
 * resolver scoped to it, its resolved blocks (HWM store, landing zone, source config) and a child logger,
 * each made at most once per attempt. The activity interceptor (activities/interceptor.ts) opens the
 * attempt; it labels the attempt's metrics with the collector and scrubs every secret value the scope
 * resolved from a failure, so activity bodies do neither.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Context } from '@temporalio/activity';
import type { Collector } from '../src/config/load';
import type { HwmStore, LandingZone, PluginContext, Source } from '../src/contracts/plugin';
import { errorMessage } from '../src/contracts/errors';
import { scrubSecrets } from '../src/secrets/scrub';
import type { Logger } from '../src/log';
import type { CollectorRuntime } from '../src/runtime/runtime';
import type { CollectorRef } from '../src/run/types';
import type { SecretResolver } from '../src/secrets/resolve';

/** What the interceptor knows of the attempt it runs: filled in by the scope as it resolves things. */
export interface Attempt {
  /** The collector's name for metric labels: from the step's input, or once the scope resolves it. */
  label: string;
  scope?: AttemptScope;
}

const attempts = new AsyncLocalStorage<Attempt>();

export function runAttempt<T>(attempt: Attempt, body: () => Promise<T>): Promise<T> {
  return attempts.run(attempt, body);
}

/** The secret values to scrub from what leaves the attempt (see AttemptScope.settledSecrets). */
export function attemptSecrets(attempt: Attempt): string[] {
  return attempt.scope?.settledSecrets() ?? [];
}

export class AttemptScope {
  readonly collector: Collector;
  readonly secrets: SecretResolver;
  readonly log: Logger;
  private readonly memo = new Map<string, Promise<unknown>>();
  private readonly settled = new Set<string>();
  /** What the attempt created and must release (sessions, clients), in creation order. */
  private readonly opened: { close(): Promise<void> }[] = [];

  constructor(
    readonly runtime: CollectorRuntime,
    ref: CollectorRef,
    fields: { runId?: string } = {},
  ) {
    const ctx = Context.current();
    this.collector = runtime.collector(ref);
    this.secrets = runtime.secrets(this.collector);
    this.log = runtime.log.child({ collector: this.collector.name, ...fields, activity: ctx.info.activityType, attempt: ctx.info.attempt });
  }

  get signal(): AbortSignal {
    return Context.current().cancellationSignal;
  }

  get pluginContext(): PluginContext {
    return { log: this.log, signal: this.signal };
  }

  hwmStore(): Promise<HwmStore> {
    return this.once('hwm', () => this.runtime.hwmStore(this.collector, this.secrets, this.pluginContext).then((s) => this.keep(s)));
  }

  landing(): Promise<LandingZone> {
    return this.once('landing', () => this.runtime.landing(this.collector, this.secrets, this.pluginContext).then((l) => this.keep(l)));
  }

  /** The collector's source, created for this attempt and closed with it. */
  source(): Promise<Source> {
    return this.once('source-instance', () =>
      this.runtime.source(this.collector, this.secrets, this.pluginContext).then((s) => this.keep(s)),
    );
  }

  /**
   * Releases what the attempt created, newest first, after success, failure and cancellation alike
   * (the interceptor calls it when the attempt ends). A failing close is logged, never thrown.
   */
  async close(): Promise<void> {
    for (const r of this.opened.splice(0).reverse()) {
      await r
        .close()
        .catch((e: unknown) =>
          this.log.warn({ err: scrubSecrets(errorMessage(e), [...this.settled]).slice(0, 300) }, 'closing a client failed'),
        );
    }
  }

  private keep<R extends { close(): Promise<void> }>(r: R): R {
    this.opened.push(r);
    return r;
  }

  /** The source block with its secrets resolved (and, for a recipe, held to the worker's policy). */
  sourceConfig(): Promise<unknown> {
    return this.once('source', () => this.runtime.resolvedSourceConfig(this.collector, this.secrets));
  }

  /**
   * Every secret value of the blocks that resolved. A block refused while resolving (a recipe's landing
   * path outside the granted roots) names what it resolved in its own message, so the operator sees it.
   */
  settledSecrets(): string[] {
    return [...this.settled];
  }

  private once<T>(key: string, make: () => Promise<T>): Promise<T> {
    let p = this.memo.get(key) as Promise<T> | undefined;
    if (!p) {
      p = make().then((v) => {
        for (const s of this.secrets.resolvedValues()) this.settled.add(s);
        return v;
      });
      this.memo.set(key, p);
    }
    return p;
  }
}

/**
 * The attempt's scope, made on first use. Outside an intercepted attempt (a worker without the plugin's
 * interceptor) it still works, unlabelled and unscrubbed.
 */
export function attemptScope(runtime: CollectorRuntime, ref: CollectorRef, fields: { runId?: string } = {}): AttemptScope {
  const attempt = attempts.getStore();
  if (attempt?.scope) return attempt.scope;
  const scope = new AttemptScope(runtime, ref, fields);
  if (attempt) {
    attempt.scope = scope;
    attempt.label = scope.collector.name;
  }
  return scope;
}
