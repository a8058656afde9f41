/**
 * Lineage of the writes among the statements pg_stat_statements reports (INSERT ... SELECT, CREATE TABLE
 * AS, SELECT INTO, CREATE MATERIALIZED VIEW, MERGE, UPDATE ... FROM), read with PostgreSQL's own parser.
 * Texts are normalised by the server (`$1` for constants), which the parser reads as parameters. A
 * statement carries no search_path, so an unqualified name is taken to be in `public` (the default
 * search_path's first real schema); columns are traced where the text says them (an INSERT's column
 * list, a CTAS's select list), table level otherwise.
 */
import { parseSync } from 'libpg-query';
import type { Row } from '../../contracts/extract-format';
import { selectColumns, type OutputColumn, type RelationName } from './column-lineage';

type Node = Record<string, unknown>;

export interface StatementLineage {
  target: RelationName;
  targetType: 'TABLE' | 'MATERIALIZED_VIEW';
  sources: RelationName[];
  /** Per target column, where the text tells. */
  columns: { target: string; sources: { table: RelationName; column: string }[]; transformation: string }[];
}

const obj = (v: unknown): Node | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Node) : undefined);
const list = (v: unknown): Node[] => (Array.isArray(v) ? (v as Node[]) : []);
const relationOf = (rv: Node | undefined): RelationName | undefined =>
  typeof rv?.relname === 'string'
    ? { ...(typeof rv.schemaname === 'string' ? { schema: rv.schemaname } : {}), name: rv.relname }
    : undefined;

/** Which table a write statement fills and from what; null for anything else (reads, plain VALUES, DDL). */
export function statementLineage(sql: string): StatementLineage | null {
  let stmts: { stmt?: Node }[];
  try {
    stmts = (parseSync(sql) as { stmts?: typeof stmts }).stmts ?? [];
  } catch {
    return null;
  }
  if (stmts.length !== 1) return null;
  const stmt = stmts[0]!.stmt ?? {};
  let target: RelationName | undefined;
  let targetType: StatementLineage['targetType'] = 'TABLE';
  let select: Node | undefined;
  let names: string[] = [];
  const insert = obj(stmt.InsertStmt);
  const ctas = obj(stmt.CreateTableAsStmt);
  const plain = obj(stmt.SelectStmt);
  const merge = obj(stmt.MergeStmt);
  const update = obj(stmt.UpdateStmt);
  if (insert) {
    target = relationOf(obj(insert.relation));
    select = obj(obj(insert.selectStmt)?.SelectStmt);
    if (select?.valuesLists) return null;
    names = list(insert.cols).map((c) => String(obj(c.ResTarget)?.name ?? ''));
  } else if (ctas) {
    const into = obj(ctas.into);
    target = relationOf(obj(into?.rel));
    targetType = ctas.objtype === 'OBJECT_MATVIEW' ? 'MATERIALIZED_VIEW' : 'TABLE';
    select = obj(obj(ctas.query)?.SelectStmt);
    names = list(into?.colNames).map((c) => String(obj(c.String)?.sval ?? ''));
  } else if (plain && obj(plain.intoClause)) {
    target = relationOf(obj(obj(plain.intoClause)!.rel));
    select = plain;
  } else if (merge || update) {
    target = relationOf(obj((merge ?? update)!.relation));
  }
  if (!target) return null;
  const ctes = cteNames(stmt);
  const same = (r: RelationName) => r.name === target!.name && (r.schema ?? 'public') === (target!.schema ?? 'public');
  const sources = dedupe(
    rangeVars(merge ? merge.sourceRelation : update ? update.fromClause : select).filter((r) => !ctes.has(r.name) || r.schema),
  );
  // An UPDATE or MERGE reading only its own table moves no data between tables.
  if ((merge || update) && !sources.some((r) => !same(r))) return null;
  if (!sources.length) return null;
  const outputs = select && !merge && !update ? selectColumns(withoutInto(select), () => undefined) : null;
  return { target: qualified(target), targetType, sources: sources.map(qualified), columns: outputs ? zip(outputs, names) : [] };
}

/** The output columns named by the statement's column list, else by the query's own names. */
function zip(outputs: OutputColumn[], names: string[]): StatementLineage['columns'] {
  const out: StatementLineage['columns'] = [];
  for (const [i, o] of outputs.entries()) {
    const target = names.length ? names[i] : o.name;
    if (!target || target === '?column?') continue;
    const sources = o.sources.map((s) => ({ table: qualified(s.table), column: s.column }));
    if (sources.length) out.push({ target, sources, transformation: o.transformation });
  }
  return out;
}

const qualified = (r: RelationName): RelationName => ({ schema: r.schema ?? 'public', name: r.name });

function withoutInto(select: Node): Node {
  const { intoClause: _into, ...rest } = select;
  return rest;
}

function dedupe(rels: RelationName[]): RelationName[] {
  const seen = new Map<string, RelationName>();
  for (const r of rels) seen.set(`${r.schema ?? ''}.${r.name}`, r);
  return [...seen.values()];
}

function cteNames(v: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(v)) for (const x of v) cteNames(x, out);
  else if (v !== null && typeof v === 'object') {
    const cte = obj((v as Node).CommonTableExpr);
    if (cte && typeof cte.ctename === 'string') out.add(cte.ctename);
    for (const x of Object.values(v as Node)) cteNames(x, out);
  }
  return out;
}

/** Every relation a query part names (subqueries included); the INTO target is not a source. */
function rangeVars(v: unknown, out: RelationName[] = []): RelationName[] {
  if (Array.isArray(v)) for (const x of v) rangeVars(x, out);
  else if (v !== null && typeof v === 'object') {
    const n = v as Node;
    const rel = relationOf(obj(n.RangeVar));
    if (rel) out.push(rel);
    for (const [k, x] of Object.entries(n)) if (k !== 'intoClause') rangeVars(x, out);
  }
  return out;
}

/** The `linkages` rows of one statement: table level, then column level. */
export function lineageRows(l: StatementLineage, database: string, queryId: string, observedAt: Date): Row[] {
  const row = (source: RelationName, column?: { source: string; target: string; transformation: string }): Row => ({
    source_catalog: database,
    source_database: source.schema ?? 'public',
    source_table: source.name,
    target_catalog: database,
    target_database: l.target.schema ?? 'public',
    target_table: l.target.name,
    target_type: l.targetType,
    origin: 'QUERY',
    query_id: queryId,
    observed_at: observedAt,
    source_column: column?.source ?? null,
    target_column: column?.target ?? null,
    transformation: column?.transformation ?? null,
  });
  const rows = l.sources.map((s) => row(s));
  for (const c of l.columns)
    for (const s of c.sources) rows.push(row(s.table, { source: s.column, target: c.target, transformation: c.transformation }));
  return rows;
}
