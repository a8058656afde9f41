/**
 * What lineage needs from the catalog beyond a statement's text: the columns of the tables behind a
 * `SELECT *` or an INSERT without a column list (GetTableMetadata), and the text of the prepared
 * statement an EXECUTE runs (GetPreparedStatement).
 *
 * The SQL reader is synchronous and CPU-only, so a statement is read with what is already known, the
 * names it missed are fetched, and it is read again: a statement whose first reading already has its
 * column lineage costs no call. Answers are kept for the session (one extract), shared by every unit,
 * and the number of distinct lookups is bounded so a history of thousands of tables cannot turn into
 * thousands of calls; beyond the bound lineage stays table-level for the rest of the run (counted).
 */
import { GetPreparedStatementCommand, GetTableMetadataCommand } from '@aws-sdk/client-athena';
import type { ExtractContext } from '../../contracts/plugin';
import type { LineageOptions, LineageResult, TableRef } from '../../sql/index';
import type { AthenaSession } from './client';
import { DEFAULT_CATALOG } from './history';

/** Distinct tables and prepared statements one session may look up. */
export const MAX_LOOKUPS = 2000;
/** Readings of one statement: the first, one after its tables, and one after an EXECUTE's text and its tables. */
const MAX_READINGS = 3;

interface Cache {
  /** Lowercased column names in table order (partition keys last, as `SELECT *` returns them); null: unknown. */
  columns: Map<string, readonly string[] | null>;
  /** Statement text by workgroup and name; null: not available. */
  prepared: Map<string, string | null>;
  lookups: number;
  /** Lookups under way, by table or statement key (the two key shapes never collide: 3 parts against 2). */
  inFlight: Map<string, Promise<void>>;
  /** Reasons already warned about, so a missing grant is said once per session, not once per statement. */
  warned: Set<string>;
}

const caches = new WeakMap<AthenaSession, Cache>();

const tableKey = (t: TableRef) => `${t.catalog}\u0000${t.database}\u0000${t.table}`;
const preparedKey = (workgroup: string, name: string) => `${workgroup}\u0000${name.toLowerCase()}`;

/** Reads one statement's lineage, fetching the catalog answers it needs. */
export class LineageLookups {
  private readonly cache: Cache;

  constructor(
    private readonly session: AthenaSession,
    private readonly ctx: ExtractContext,
    /** The workgroup whose prepared statements an EXECUTE names; none outside history. */
    private readonly workgroup?: string,
  ) {
    let cache = caches.get(session);
    if (!cache)
      caches.set(session, (cache = { columns: new Map(), prepared: new Map(), lookups: 0, inFlight: new Map(), warned: new Set() }));
    this.cache = cache;
  }

  /** `read` is called with lookups answered from the cache; it is called again after fetching what it missed. */
  async lineage(read: (options: LineageOptions) => LineageResult): Promise<LineageResult> {
    let result: LineageResult = { kind: 'none' };
    for (let reading = 1; reading <= MAX_READINGS; reading++) {
      const tables = new Map<string, TableRef>();
      const statements = new Set<string>();
      result = read({
        lookup: (t) => {
          const known = this.cache.columns.get(tableKey(t));
          if (known === undefined) tables.set(tableKey(t), t);
          return known ?? undefined;
        },
        prepared: (name) => {
          if (!this.workgroup) return undefined;
          const known = this.cache.prepared.get(preparedKey(this.workgroup, name));
          if (known === undefined) statements.add(name);
          return known ?? undefined;
        },
      });
      // A write whose column lineage is complete needs nothing more; an EXECUTE's text always does.
      const wanted = statements.size > 0 || (tables.size > 0 && lacksColumns(result));
      if (!wanted || reading === MAX_READINGS) break;
      if (!(await this.fetch([...tables.values()], [...statements]))) break;
    }
    return result;
  }

  /** Fetches what a reading missed; false when nothing new could be asked (the bound is reached). */
  private async fetch(tables: TableRef[], statements: string[]): Promise<boolean> {
    const asks: Promise<unknown>[] = [];
    for (const name of statements) {
      const ask = this.ask(this.cache.prepared, preparedKey(this.workgroup!, name), () => this.preparedText(name));
      if (ask) asks.push(ask);
    }
    for (const t of tables) {
      const ask = this.ask(this.cache.columns, tableKey(t), () => this.tableColumns(t));
      if (ask) asks.push(ask);
    }
    // One at a time through the session's rate limiter either way; awaiting together only overlaps latency.
    await Promise.all(asks);
    return asks.length > 0;
  }

  /**
   * The answer for `key`, asked once per session: a second unit wanting the same table while the first
   * call is in flight waits for it rather than calling again. Undefined when the bound is reached.
   */
  private ask<T>(answers: Map<string, T | null>, key: string, call: () => Promise<T | null>): Promise<void> | undefined {
    const inFlight = this.cache.inFlight.get(key);
    if (inFlight) return inFlight;
    if (!this.take()) return undefined;
    const done = call()
      .then((v) => void answers.set(key, v))
      .finally(() => this.cache.inFlight.delete(key));
    done.catch(() => undefined); // awaited by every asker; this only keeps a cancelled one from going unhandled
    this.cache.inFlight.set(key, done);
    return done;
  }

  private take(): boolean {
    if (this.cache.lookups >= MAX_LOOKUPS) {
      this.ctx.count('lineage_lookups_skipped');
      this.warnOnce(
        'bound',
        `column lineage looked up ${MAX_LOOKUPS} tables and prepared statements in this run; the rest of the run's SELECT * and EXECUTE statements get table-level lineage`,
      );
      return false;
    }
    this.cache.lookups++;
    return true;
  }

  private async tableColumns(t: TableRef): Promise<readonly string[] | null> {
    const { session, ctx } = this;
    try {
      const res = await session.call(
        'GetTableMetadata',
        (o) =>
          session.client.send(
            new GetTableMetadataCommand({ CatalogName: apiCatalogName(t.catalog), DatabaseName: t.database, TableName: t.table }),
            o,
          ),
        ctx.signal,
        ['notFound'],
      );
      const m = res.TableMetadata;
      const names = [...(m?.Columns ?? []), ...(m?.PartitionKeys ?? [])].map((c) => c.Name?.toLowerCase());
      ctx.count('lineage_table_lookups');
      return names.length && names.every((n): n is string => Boolean(n)) ? names : null;
    } catch (err) {
      return this.failed(err, 'GetTableMetadata', `${t.catalog}.${t.database}.${t.table}`);
    }
  }

  private async preparedText(name: string): Promise<string | null> {
    const { session, ctx } = this;
    try {
      const res = await session.call(
        'GetPreparedStatement',
        (o) => session.client.send(new GetPreparedStatementCommand({ StatementName: name, WorkGroup: this.workgroup }), o),
        ctx.signal,
        ['notFound'],
      );
      ctx.count('lineage_prepared_lookups');
      return res.PreparedStatement?.QueryStatement ?? null;
    } catch (err) {
      return this.failed(err, 'GetPreparedStatement', `${this.workgroup}/${name}`);
    }
  }

  /**
   * A lookup that fails (the table was dropped since, the statement deallocated, a grant missing) only
   * costs that statement its column lineage: remembered as unknown, counted, and a missing grant is
   * said once. A cancelled run still stops.
   */
  private failed(err: unknown, operation: 'GetTableMetadata' | 'GetPreparedStatement', what: string): null {
    if (this.ctx.signal?.aborted) throw err;
    this.ctx.count('lineage_lookups_failed');
    const message = err instanceof Error ? err.message : String(err);
    this.ctx.log.debug({ operation, what, err: message }, 'lineage lookup failed; the statement keeps table-level lineage');
    if (/AccessDenied|not authorized/i.test(`${(err as { name?: string }).name ?? ''} ${message}`)) {
      this.warnOnce(
        operation,
        `athena:${operation} is denied (${what}); grant it for column lineage of ${operation === 'GetTableMetadata' ? 'SELECT * and INSERT without a column list' : 'EXECUTE statements'}`,
      );
    }
    return null;
  }

  private warnOnce(key: string, message: string): void {
    if (this.cache.warned.has(key)) return;
    this.cache.warned.add(key);
    this.ctx.warn(message);
  }
}

/** A write whose target columns are not all traced: the case a table's column list can improve. */
function lacksColumns(result: LineageResult): boolean {
  if (result.kind !== 'lineage') return false;
  if (result.columns === undefined || result.columns.length === 0) return true;
  return result.columns.some((c) => c.sources.length === 0);
}

/** Names come back lowercased from the reader; the default catalog is spelled as Athena lists it. */
function apiCatalogName(catalog: string): string {
  return catalog === DEFAULT_CATALOG.toLowerCase() ? DEFAULT_CATALOG : catalog;
}
