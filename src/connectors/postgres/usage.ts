/**
 * `usage` rows from pg_stat_statements: per statement, the calls, execution time and rows since the
 * previous committed run. pg_stat_statements only keeps running totals, so each run takes a snapshot of
 * the counters, keeps it in the source's cursor (committed with the HWM: a failed run leaves the previous
 * snapshot, and the next run's deltas cover both periods, nothing lost or counted twice) and writes the
 * differences. Texts are read only for statements that ran since, in batches, so memory stays bounded
 * whatever the size of pg_stat_statements' text file. The collector's own statements (its login role's)
 * are not usage and are left out.
 */
import type { CursorValue, ExtractContext, ExtractUnit, UnitOutput } from '../../contracts/plugin';
import { MAINTENANCE_DATABASE, type PostgresSessions } from './client';
import { loadPostgresParser, maskPostgresText } from './sql-text';
import { lineageRows, statementLineage } from './query-lineage';

export const USAGE_UNIT_KEY = 'usage:pg_stat_statements';
/** The cursor entry: the previous snapshot. */
export const USAGE_CURSOR_KEY = 'pg_stat_statements';
/** Statements whose text is read per query: bounds what one round trip holds. */
const TEXT_BATCH = 200;

/** A statement's identity in pg_stat_statements, and its counters. */
type Entry = [id: string, calls: number, execUs: number, rows: number, since: string | null];

interface Snapshot {
  /** The server's clock when the counters were read. */
  at: string;
  /** pg_stat_statements_info.stats_reset: moves when someone resets all statistics. */
  statsReset: string | null;
  /** pg_stat_statements_info.dealloc: entries evicted to make room, ever. */
  dealloc: number;
  entries: Entry[];
}

interface CounterRow {
  id: string;
  calls: string;
  total_exec_time: number;
  rows: string;
  since: Date | null;
}

interface TextRow {
  id: string;
  query: string | null;
  user_name: string | null;
  database: string;
  toplevel: boolean;
  queryid: string;
}

/** The first of `databases` where the extension is created (its views exist only there), or null. */
export async function extensionDatabase(s: PostgresSessions, databases: string[], signal: AbortSignal): Promise<string | null> {
  const candidates = [...new Set([...databases, MAINTENANCE_DATABASE])];
  for (const db of candidates) {
    try {
      const found = await s.query<{ ok: number }>(
        db,
        'find pg_stat_statements',
        `SELECT 1 AS ok FROM pg_extension WHERE extname = 'pg_stat_statements'`,
        [],
        signal,
      );
      if (found.length) return db;
    } catch (e) {
      // The maintenance database may be closed to this user; the configured ones were checked already.
      if (db !== MAINTENANCE_DATABASE || databases.includes(db)) throw e;
    }
  }
  return null;
}

function asSnapshot(v: CursorValue | undefined): Snapshot | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const o = v as Record<string, CursorValue>;
  if (typeof o.at !== 'string' || !Array.isArray(o.entries)) return undefined;
  return {
    at: o.at,
    statsReset: typeof o.statsReset === 'string' ? o.statsReset : null,
    dealloc: typeof o.dealloc === 'number' ? o.dealloc : 0,
    entries: o.entries as Entry[],
  };
}

export function usageUnit(s: PostgresSessions, ctx: ExtractContext, databases: string[]): ExtractUnit {
  return {
    key: USAGE_UNIT_KEY,
    async run(out) {
      await loadPostgresParser();
      const db = await extensionDatabase(s, databases, ctx.signal);
      if (!db) {
        ctx.warn(
          `no usage: the pg_stat_statements extension is not created in ${databases.join(', ') || MAINTENANCE_DATABASE}; ` +
            `add it to shared_preload_libraries and run CREATE EXTENSION pg_stat_statements (docs/postgres.md)`,
        );
        ctx.count('usage_unavailable');
        return;
      }
      let info: { at: Date; stats_reset: Date | null; dealloc: string }[];
      try {
        info = await s.query(
          db,
          'pg_stat_statements_info',
          `SELECT clock_timestamp() AS at, stats_reset, dealloc FROM pg_stat_statements_info`,
          [],
          ctx.signal,
        );
      } catch (e) {
        // 55000: the extension exists but the library is not preloaded (a restart is needed).
        if (/shared_preload_libraries/.test(String((e as Error).message))) {
          ctx.warn(`no usage: pg_stat_statements is not in shared_preload_libraries on the server; add it and restart (docs/postgres.md)`);
          ctx.count('usage_unavailable');
          return;
        }
        throw e;
      }
      const now: Snapshot = {
        at: info[0]!.at.toISOString(),
        statsReset: info[0]!.stats_reset?.toISOString() ?? null,
        dealloc: Number(info[0]!.dealloc),
        entries: [],
      };
      const counters = await s.query<CounterRow>(
        db,
        'pg_stat_statements',
        // Without texts: the counters of every statement are small; texts are read for the changed ones only.
        // queryid is null for other users' statements without pg_read_all_stats.
        `SELECT s.userid::text || ':' || s.dbid::text || ':' || s.toplevel::int::text || ':' || s.queryid::text AS id,
                s.calls::text AS calls, s.total_exec_time, s.rows::text AS rows, s.stats_since AS since
           FROM pg_stat_statements(false) s JOIN pg_database d ON d.oid = s.dbid
          WHERE s.queryid IS NOT NULL AND ($1::text[] IS NULL OR d.datname = ANY($1::text[]))
            AND s.userid <> (SELECT oid FROM pg_roles WHERE rolname = current_user)`,
        [s.config.databases ?? null],
        ctx.signal,
      );
      const hidden = await s.query<{ n: string }>(
        db,
        'pg_stat_statements',
        `SELECT count(*)::text AS n FROM pg_stat_statements(false) WHERE queryid IS NULL`,
        [],
        ctx.signal,
      );
      if (Number(hidden[0]?.n ?? 0) > 0) {
        ctx.warn(
          `usage: ${hidden[0]!.n} statement(s) of other users are hidden from ${s.config.user}; GRANT pg_read_all_stats TO ${s.config.user} to include them`,
        );
        ctx.count('usage_statements_hidden', Number(hidden[0]!.n));
      }
      now.entries = counters.map((r) => [
        r.id,
        Number(r.calls),
        Math.round(r.total_exec_time * 1000),
        Number(r.rows),
        r.since ? r.since.toISOString() : null,
      ]);

      const before = asSnapshot(ctx.cursor.get(USAGE_CURSOR_KEY));
      const changes = usageDeltas(before, now);
      for (const w of changes.warnings) ctx.warn(w);
      if (changes.entryResets) ctx.count('usage_entry_resets', changes.entryResets);
      await writeUsage(s, db, ctx, out, changes.deltas, now.at);
      ctx.count('usage_statements', changes.deltas.size);
      out.setCursor(USAGE_CURSOR_KEY, now as unknown as CursorValue);
    },
  };
}

export interface Delta {
  calls: number;
  execUs: number;
  rows: number;
  /** Start of the period the counts cover. */
  since: string;
}

/**
 * What ran between two snapshots. An entry whose counters went down, or whose own `stats_since` is after
 * the previous snapshot, was reset or evicted and added again: all of its counts are new. Without a
 * previous snapshot (a first run, or after `collector hwm reset`) every count is new, since the entry's
 * own start (PostgreSQL 17+) or the last reset of all statistics.
 */
export function usageDeltas(
  before: Snapshot | undefined,
  now: Snapshot,
): { deltas: Map<string, Delta>; warnings: string[]; entryResets: number } {
  const warnings: string[] = [];
  const previous = new Map<string, Entry>();
  const resetSince = before && now.statsReset !== before.statsReset ? now.statsReset : null;
  if (before && !resetSince) for (const e of before.entries) previous.set(e[0], e);
  if (resetSince) {
    warnings.push(
      `usage: pg_stat_statements was reset at ${resetSince}; statements run between the previous run (${before!.at}) and the reset are not counted`,
    );
  }
  if (before && now.dealloc > before.dealloc) {
    warnings.push(
      `usage: ${now.dealloc - before.dealloc} statement(s) were evicted from pg_stat_statements since the previous run, and their counts with them; raise pg_stat_statements.max`,
    );
  }
  const fresh = (e: Entry): string => e[4] ?? resetSince ?? before?.at ?? now.statsReset ?? now.at;
  const deltas = new Map<string, Delta>();
  let entryResets = 0;
  for (const e of now.entries) {
    const p = previous.get(e[0]);
    const readded = p !== undefined && (e[1] < p[1] || (e[4] !== null && p[4] !== e[4]));
    if (readded) entryResets++;
    const d: Delta =
      p && !readded
        ? { calls: e[1] - p[1], execUs: e[2] - p[2], rows: e[3] - p[3], since: before!.at }
        : { calls: e[1], execUs: e[2], rows: e[3], since: fresh(e) };
    if (d.calls > 0) deltas.set(e[0], d);
  }
  return { deltas, warnings, entryResets };
}

async function writeUsage(
  s: PostgresSessions,
  db: string,
  ctx: ExtractContext,
  out: UnitOutput,
  deltas: Map<string, Delta>,
  at: string,
): Promise<void> {
  const ids = [...deltas.keys()].sort();
  for (let i = 0; i < ids.length; i += TEXT_BATCH) {
    const batch = ids.slice(i, i + TEXT_BATCH);
    const rows = await s.query<TextRow>(
      db,
      'pg_stat_statements',
      `SELECT s.userid::text || ':' || s.dbid::text || ':' || s.toplevel::int::text || ':' || s.queryid::text AS id,
              s.query, r.rolname AS user_name, d.datname AS database, s.toplevel, s.queryid::text AS queryid
         FROM pg_stat_statements(true) s
         JOIN pg_database d ON d.oid = s.dbid
         LEFT JOIN pg_roles r ON r.oid = s.userid
        WHERE s.userid::text || ':' || s.dbid::text || ':' || s.toplevel::int::text || ':' || s.queryid::text = ANY($1::text[])`,
      [batch],
      ctx.signal,
    );
    for (const r of rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
      const d = deltas.get(r.id)!;
      const text = r.query === null ? null : maskPostgresText(r.query);
      if (r.query !== null && text === null) ctx.count('usage_text_unreadable');
      await out.write('usage', {
        period_start: new Date(d.since),
        period_end: new Date(at),
        catalog: r.database,
        user_name: r.user_name,
        query_id: r.queryid,
        toplevel: r.toplevel,
        statement_type: text ? statementType(text) : null,
        query_text: text,
        calls: d.calls,
        total_exec_us: d.execUs,
        rows: d.rows,
      });
      // A write that ran in the period: its lineage, once per statement and period, like its usage row.
      const lineage = r.query === null ? null : statementLineage(r.query);
      if (lineage) for (const row of lineageRows(lineage, r.database, r.queryid, new Date(at))) await out.write('linkages', row);
    }
  }
}

/** The statement's leading keyword(s), upper-cased: `SELECT`, `INSERT`, `CREATE TABLE`... */
function statementType(text: string): string | null {
  let words = /^\s*([A-Za-z]+)(?:\s+([A-Za-z]+))?/.exec(text);
  if (!words) return null;
  // A WITH's statement follows the closing parenthesis of its last common table expression.
  if (words[1]!.toUpperCase() === 'WITH') words = /\)\s*(SELECT|INSERT|UPDATE|DELETE|MERGE)\b()/i.exec(text) ?? words;
  const first = words[1]!.toUpperCase();
  return ['CREATE', 'DROP', 'ALTER'].includes(first) && words[2] ? `${first} ${words[2].toUpperCase()}` : first;
}
