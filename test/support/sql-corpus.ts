/**
 * The lineage corpus (test/fixtures/sql/corpus.yaml) and how a lineage reader scores on it: table-level
 * source precision and recall, target accuracy and parse rate. Shared by test/athena-sql.test.ts (which
 * holds the targets) and bench/sql.ts (which prints the figures, for other readers too).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { extractLineage, viewLineage, type LineageResult, type TableRef } from '../../src/sql/index';

const corpusCase = z.object({
  from: z.string().url(),
  sql: z.string().min(1),
  expect: z.literal('none').optional(),
  sources: z.array(z.string()).optional(),
  target: z.string().optional(),
  columns: z.array(z.string()).optional(),
});
export type CorpusCase = z.infer<typeof corpusCase>;

export const corpus = z
  .object({ context: z.object({ catalog: z.string(), database: z.string() }), cases: z.array(corpusCase) })
  .parse(parse(readFileSync(join(__dirname, '..', 'fixtures', 'sql', 'corpus.yaml'), 'utf8')));

export const corpusContext = { ...corpus.context, dialect: 'athena' as const };

/** The view a bare query is read as. */
export const PROBE: TableRef = { catalog: corpus.context.catalog, database: corpus.context.database, table: 'corpus_probe' };

export function isQuery(sql: string): boolean {
  return /^(select|with\s+(?!\()|values|\()/i.test(sql.trim());
}

/** Lineage of a corpus statement: a query as a view's body, anything else as a statement. */
export function corpusLineage(c: CorpusCase): LineageResult {
  return isQuery(c.sql) ? viewLineage(c.sql, PROBE, 'athena') : extractLineage(c.sql, corpusContext);
}

export const refName = (r: TableRef): string => `${r.catalog}.${r.database}.${r.table}`;

/** What a reader found in one statement: source names, or null when it could not read it. */
export type Reading = { sources: string[]; target?: string | null; degraded?: boolean } | null;

export interface Score {
  statements: number;
  /** Read in full (not unparseable, not degraded to the table-only scan). */
  parsed: number;
  truePositives: number;
  emitted: number;
  expected: number;
  targetsRight: number;
  targets: number;
  /** Statements whose sources differ from the expectation, for reports. */
  misses: { sql: string; want: string[]; got: string[] | null }[];
}

/** Scores a reader over the corpus (statements with `expect: none` count only toward parse rate). */
export function score(read: (c: CorpusCase) => Reading): Score {
  const s: Score = { statements: 0, parsed: 0, truePositives: 0, emitted: 0, expected: 0, targetsRight: 0, targets: 0, misses: [] };
  for (const c of corpus.cases) {
    s.statements++;
    const got = read(c);
    if (got !== null && !got.degraded) s.parsed++;
    if (c.expect === 'none') continue;
    const want = c.sources ?? [];
    s.expected += want.length;
    if (got === null) {
      s.misses.push({ sql: c.sql, want, got: null });
      continue;
    }
    s.emitted += got.sources.length;
    const tp = got.sources.filter((x) => want.includes(x)).length;
    s.truePositives += tp;
    if (tp !== want.length || got.sources.length !== want.length) s.misses.push({ sql: c.sql, want, got: got.sources });
    if (c.target !== undefined && got.target !== undefined) {
      s.targets++;
      if (got.target === c.target) s.targetsRight++;
    }
  }
  return s;
}

/** Our reader's view of a statement; a degraded (table-only) reading still counts as read. */
export function ourReading(c: CorpusCase): Reading {
  const got = corpusLineage(c);
  if (got.kind === 'unparseable') return null;
  if (got.kind === 'none') return { sources: [] };
  return {
    sources: got.sources.map(refName),
    target: got.target ? refName(got.target) : (got.location ?? null),
    degraded: got.degraded !== undefined,
  };
}

export function formatScore(name: string, s: Score): string {
  const pct = (a: number, b: number): string => (b === 0 ? 'n/a' : `${((100 * a) / b).toFixed(1)}%`);
  return (
    `${name.padEnd(28)} statements ${s.statements}  parse rate ${pct(s.parsed, s.statements)}  ` +
    `source precision ${pct(s.truePositives, s.emitted)}  recall ${pct(s.truePositives, s.expected)}`
  );
}

const columnCase = z.object({ from: z.string().url(), sql: z.string().min(1), columns: z.array(z.string()).min(1) });

/** reata/sqllineage's column expectations (test/fixtures/sql/sqllineage-columns.yaml). */
export const columnCorpus = z
  .object({ context: z.object({ catalog: z.string(), database: z.string() }), cases: z.array(columnCase) })
  .parse(parse(readFileSync(join(__dirname, '..', 'fixtures', 'sql', 'sqllineage-columns.yaml'), 'utf8')));

export interface ColumnScore {
  statements: number;
  truePositives: number;
  emitted: number;
  expected: number;
  misses: { sql: string; want: string[]; got: string[] }[];
}

/** Our column pairs (`catalog.database.table.column -> target`) against sqllineage's. */
export function columnScore(): ColumnScore {
  const ctx = { ...columnCorpus.context, dialect: 'athena' as const };
  const s: ColumnScore = { statements: 0, truePositives: 0, emitted: 0, expected: 0, misses: [] };
  for (const c of columnCorpus.cases) {
    s.statements++;
    // sqllineage names an INSERT's target columns after the query's output: read it that way (as a CTAS).
    const sql = c.sql.replace(/^\s*INSERT\s+INTO\s+([\w.]+)\s+(?=SELECT|WITH|\()/i, 'CREATE TABLE $1 AS ');
    const got = extractLineage(sql, ctx);
    const pairs = new Set<string>();
    if (got.kind === 'lineage')
      for (const col of got.columns ?? []) for (const x of col.sources) pairs.add(`${refName(x.table)}.${x.column} -> ${col.target}`);
    const hit = [...pairs].filter((p) => c.columns.includes(p)).length;
    s.truePositives += hit;
    s.emitted += pairs.size;
    s.expected += c.columns.length;
    if (hit !== pairs.size || hit !== c.columns.length) s.misses.push({ sql: c.sql, want: c.columns, got: [...pairs] });
  }
  return s;
}

export function formatColumnScore(s: ColumnScore): string {
  const pct = (a: number, b: number): string => (b === 0 ? 'n/a' : `${((100 * a) / b).toFixed(1)}%`);
  return `${'column lineage vs sqllineage'.padEnd(28)} statements ${s.statements}  column-pair precision ${pct(s.truePositives, s.emitted)}  recall ${pct(s.truePositives, s.expected)}`;
}
