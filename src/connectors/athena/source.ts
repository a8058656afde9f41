/**
 * One config's Athena source (the implementation behind the plugin in index.ts, loaded with the AWS SDK
 * on the first `create`).
 */
import { getMaxListeners, setMaxListeners } from 'node:events';
import type { Check, ExtractContext, ExtractUnit, Source, SourceContext } from '../../contracts/plugin';
import { AthenaSession } from './client';
import { databaseFilter, type AthenaConfig } from './config';
import { catalogNames, databaseNames, workgroupNames } from './discovery';
import { historyUnit } from './history';
import { metadataUnit } from './metadata';
import { testAthenaConnection } from './test-connection';

/** How long Athena keeps query history. */
export const HISTORY_RETENTION_DAYS = 45;

/** One config's Athena source: its session (client, limiters, memoized lookups) lives until `close`. */
export class AthenaSource implements Source {
  readonly concurrency: number;
  private session: AthenaSession | undefined;
  private closed = false;

  constructor(
    private readonly config: AthenaConfig,
    private readonly ctx: SourceContext,
  ) {
    this.concurrency = config.maxConcurrency;
  }

  /** Created on first use, so a source that is only closed never builds a client. */
  private open(): AthenaSession {
    if (this.closed) throw new Error('the athena source was already closed');
    this.session ??= new AthenaSession(this.config, this.ctx.apiCall);
    return this.session;
  }

  async *units(ctx: ExtractContext): AsyncGenerator<ExtractUnit> {
    const { config } = this;
    const session = this.open();
    // Every in-flight request and backoff listens on the run's signal; dozens at once is expected.
    setMaxListeners(Math.max(getMaxListeners(ctx.signal), 16 * config.maxConcurrency + 16), ctx.signal);
    if (config.queryHistory) {
      const oldest = Date.now() - HISTORY_RETENTION_DAYS * 86_400_000;
      if (Date.parse(ctx.window.start) < oldest) {
        ctx.warn(
          `window starts ${ctx.window.start}, more than ${HISTORY_RETENTION_DAYS} days ago: Athena keeps query history for ${HISTORY_RETENTION_DAYS} days, so queries before ${new Date(oldest).toISOString()} are gone and missing from this extract`,
        );
      }
      // History first: its units are long sequential page chains and should start early.
      for await (const workgroup of workgroupNames(session, ctx.signal)) yield historyUnit(session, ctx, workgroup);
    }
    const keep = databaseFilter(config);
    for await (const catalog of catalogNames(session, ctx.signal)) {
      for await (const database of databaseNames(session, catalog, ctx.signal)) {
        if (keep(catalog, database)) yield metadataUnit(session, ctx, catalog, database);
      }
    }
  }

  /** A session of its own with fewer retries (a person is waiting), closed before it returns. */
  testConnection(): Promise<Check[]> {
    return testAthenaConnection(this.config, this.ctx);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.session?.close();
    this.session = undefined;
  }
}
