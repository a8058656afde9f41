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
import { incompleteCatalogUnit, metadataUnit } from './metadata';
import { unitFailureReason } from './faults';
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
    const skipped: string[] = [];
    for await (const catalog of catalogNames(session, ctx.signal, (c) => skipped.push(`${c.name} (${c.type})`))) {
      // Listing a federated catalog's databases invokes its connector: a failure of its own makes the
      // catalog an incomplete unit (databases listed before it still run), not a failed run.
      const listing = databaseNames(session, catalog, ctx.signal);
      try {
        for (;;) {
          let next: IteratorResult<string>;
          try {
            next = await listing.next();
          } catch (err) {
            const reason = ctx.signal.aborted ? undefined : unitFailureReason(err);
            if (reason === undefined) throw err;
            yield incompleteCatalogUnit(catalog, reason, err);
            break;
          }
          if (next.done) break;
          if (keep(catalog, next.value)) yield metadataUnit(session, ctx, catalog, next.value);
        }
      } finally {
        // The caller may stop listing early (a failed unit): the page chain stops with it.
        await listing.return(undefined);
      }
    }
    if (skipped.length) {
      ctx.count('athena_catalogs_not_read', skipped.length);
      const named = skipped.length > 10 ? `${skipped.slice(0, 10).join(', ')} and ${skipped.length - 10} more` : skipped.join(', ');
      ctx.warn(
        `catalogs ${named} not read: only Glue catalogs are read by default (each call to a Lambda or Hive catalog invokes its connector); list them in catalogs to read them`,
      );
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
