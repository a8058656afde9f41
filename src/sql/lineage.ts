/**
 * Table- and column-level lineage of statements that write data, in a source's SQL dialect (Athena's
 * so far).
 *
 * The statement's head (target, column list, table properties, UNLOAD location, MERGE and UPDATE
 * clauses) is read from tokens; the queries inside it by QueryReader (query.ts), which takes tables
 * only from FROM items. When that reader cannot follow a query, a stricter table-only scan
 * (fallback.ts) still gives the statement's tables, marked `degraded`; only what neither reads comes
 * back as `unparseable`.
 */
import { type LexerOptions, type Token, findQueryAs, isOp, isTrivia, isWord, leadingTokens, lexerOptionsFor, tokenize } from './masking';
import type { SqlDialect } from './dialect';
import { fallbackTables } from './fallback';
import {
  BudgetError,
  InvalidStatementError,
  type ColumnLookup,
  type OutputColumn,
  QueryError,
  QueryReader,
  type Relation,
  type SourceColumn,
  type TableRef,
  type Transformation,
  startsQuery,
} from './query';
import { type SqlContext, readQualifiedName, resolveObject, skipWords, viewKeywordEnd } from './statements';

export type { TableRef, SourceColumn, Transformation, ColumnLookup } from './query';

export type LineageStatement = 'CTAS' | 'INSERT' | 'MERGE' | 'UNLOAD' | 'CREATE_VIEW' | 'UPDATE' | 'DELETE';

/** What one target column is made from. */
export interface ColumnLineage {
  target: string;
  /** Deduplicated, sorted by table then column. Never empty. */
  sources: SourceColumn[];
  transformation: Transformation;
}

export type LineageResult =
  | {
      kind: 'lineage';
      statement: LineageStatement;
      /** null for UNLOAD, whose target is S3. */
      target: TableRef | null;
      targetType: 'TABLE' | 'VIEW' | 'LOCATION';
      /** Deduplicated, sorted by catalog, database, table. */
      sources: TableRef[];
      /** The S3 prefix an UNLOAD writes to. */
      location?: string;
      /** Per target column, where known (CTAS, INSERT ... SELECT, MERGE, UPDATE, views). */
      columns?: ColumnLineage[];
      /** Why only table-level lineage could be read (the tables are still exact). */
      degraded?: string;
    }
  | { kind: 'none' }
  | { kind: 'unparseable'; reason: string };

export interface LineageOptions {
  /** Columns of tables the run knows (for `SELECT *` and INSERT without a column list). */
  lookup?: ColumnLookup;
  /** Per-statement time budget in milliseconds (default 1000); beyond it the statement is unparseable. */
  budgetMs?: number;
  /** The text of a prepared statement by name, for EXECUTE. */
  prepared?: (name: string) => string | undefined;
}

/** Athena rejects queries over 256 KiB; anything far larger is not a real statement. */
export const MAX_STATEMENT_CHARS = 512 * 1024;

const NONE: LineageResult = { kind: 'none' };

const unparseable = (reason: string): LineageResult => ({ kind: 'unparseable', reason });

/** Token range [a, b) of `t`. */
type Range = [number, number];

interface Plan {
  statement: LineageStatement;
  target: TableRef | null;
  targetType: 'TABLE' | 'VIEW' | 'LOCATION';
  location?: string;
  /** Reads the statement's queries with `r`; returns its column lineage, or null where unknown. */
  read: (r: QueryReader) => ColumnLineage[] | null;
}

type Planned = Plan | { error: string } | null;

/**
 * Lineage of one statement. Cheap for anything that does not write data: told apart by the first
 * tokens, it returns `none` without reading further. Names resolve against `context` and come back
 * lowercased, as Athena resolves them.
 */
export function extractLineage(sql: string, context: SqlContext, options: LineageOptions = {}): LineageResult {
  const head = leadingTokens(sql, 8);
  if (head.length === 0) return unparseable('empty statement');
  if (isWord(head[0], 'EXECUTE') && options.prepared) {
    const name = readQualifiedName(head, 1);
    const text = name && name.parts.length === 1 ? options.prepared(name.parts[0]!) : undefined;
    return text === undefined ? NONE : extractLineage(text, context, { ...options, prepared: undefined });
  }
  if (!writesData(head)) return NONE;
  if (sql.length > MAX_STATEMENT_CHARS) return unparseable(`statement longer than ${MAX_STATEMENT_CHARS} characters`);
  const t = statement(sql, lexerOptionsFor(sql, context.dialect));
  if (typeof t === 'string') return unparseable(t);
  const planned = plan(t, context, options.lookup);
  if (planned === null) return NONE;
  if ('error' in planned) return unparseable(planned.error);
  return run(planned, t, context, options);
}

/**
 * Lineage of a view from its definition: the query alone or a whole CREATE VIEW statement. `view`
 * is the target whatever name a CREATE VIEW carries; unqualified names resolve in its database.
 */
export function viewLineage(viewSql: string, view: TableRef, dialect: SqlDialect, options: LineageOptions = {}): LineageResult {
  const context: SqlContext = { catalog: view.catalog, database: view.database, dialect };
  const target = lowerRef(view);
  if (viewSql.length > MAX_STATEMENT_CHARS) return unparseable(`view longer than ${MAX_STATEMENT_CHARS} characters`);
  const t = statement(viewSql, {});
  if (typeof t === 'string') return unparseable(t);
  if (t.length === 0) return unparseable('empty view definition');
  let q: Range;
  if (isWord(t[0], 'CREATE') && viewKeywordEnd(t, 1) >= 0) {
    const planned = viewQuery(t, context);
    if (planned === null || 'error' in planned) return unparseable(planned?.error ?? 'not a view definition');
    q = planned.query;
  } else {
    if (!startsQuery(t, 0)) return unparseable('not a view definition');
    q = [0, t.length];
  }
  return run(
    { statement: 'CREATE_VIEW', target, targetType: 'VIEW', read: (r) => named(r.query(q[0], q[1], NO_SCOPE)) },
    t,
    context,
    options,
  );
}

const NO_SCOPE = { ctes: new Map<string, OutputColumn[]>(), outer: [] };

function writesData(h: Token[]): boolean {
  if (isWord(h[0], 'INSERT') && isWord(h[1], 'INTO')) return true;
  if (isWord(h[0], 'MERGE') && isWord(h[1], 'INTO')) return true;
  if (isWord(h[0], 'UNLOAD') && isOp(h[1], '(')) return true;
  if (isWord(h[0], 'UPDATE')) return true;
  if (isWord(h[0], 'DELETE') && isWord(h[1], 'FROM')) return true;
  if (isWord(h[0], 'CREATE')) return viewKeywordEnd(h, 1) >= 0 || isWord(h[skipWords(h, 1, 'OR', 'REPLACE')], 'TABLE');
  return false;
}

/** Significant tokens of exactly one statement, or why it cannot be valid. */
function statement(sql: string, options: LexerOptions): Token[] | string {
  const t: Token[] = [];
  for (const tok of tokenize(sql, options)) {
    if (tok.unterminated) return `unterminated ${tok.type.replace('_', ' ')}`;
    if (!isTrivia(tok)) t.push(tok);
  }
  let depth = 0;
  for (let i = 0; i < t.length; i++) {
    const tok = t[i]!;
    if (tok.type !== 'operator') continue;
    if (tok.text === '(' || tok.text === '[') depth++;
    else if (tok.text === ')' || tok.text === ']') depth = Math.max(0, depth - 1);
    else if (tok.text === ';' && depth === 0) {
      for (let k = i + 1; k < t.length; k++) if (!isOp(t[k], ';')) return 'more than one statement';
      return t.slice(0, i);
    }
  }
  return t;
}

function lowerRef(r: TableRef): TableRef {
  return { catalog: r.catalog.toLowerCase(), database: r.database.toLowerCase(), table: r.table.toLowerCase() };
}

function targetAt(t: Token[], i: number, ctx: SqlContext): { ref: TableRef; next: number } | null {
  const name = readQualifiedName(t, i);
  const obj = name && resolveObject(name.parts, ctx);
  if (!name || !obj) return null;
  return { ref: { catalog: obj.catalog, database: obj.database, table: obj.name }, next: name.next };
}

function plan(t: Token[], ctx: SqlContext, lookup: ColumnLookup | undefined): Planned {
  if (isWord(t[0], 'INSERT')) return planInsert(t, ctx, lookup);
  if (isWord(t[0], 'MERGE')) return planMerge(t, ctx, lookup);
  if (isWord(t[0], 'UNLOAD')) return planUnload(t);
  if (isWord(t[0], 'UPDATE')) return planUpdate(t, ctx, lookup);
  if (isWord(t[0], 'DELETE')) return planDelete(t, ctx);
  if (viewKeywordEnd(t, 1) >= 0) {
    const v = viewQuery(t, ctx);
    if (v === null || 'error' in v) return v;
    const [a, b] = v.query;
    return { statement: 'CREATE_VIEW', target: v.target, targetType: 'VIEW', read: (r) => named(r.query(a, b, NO_SCOPE)) };
  }
  return planCtas(t, ctx);
}

/** Column lineage by output name (CTAS, views): unnamed and constant columns have none. */
function named(cols: OutputColumn[], names: string[] | null = null): ColumnLineage[] {
  const out: ColumnLineage[] = [];
  cols.forEach((c, i) => {
    const name = names ? names[i] : c.name;
    if (name && !c.unknown && (!names || !cols.slice(0, i).some((x) => x.unknown))) out.push(lineageOf(name, c.sources, c.transformation));
  });
  return out.filter((c) => c.sources.length > 0);
}

/** Column lineage by position into `targets`; positions after an unknown `*` are not mapped. */
function positional(cols: OutputColumn[], targets: readonly string[] | null | undefined): ColumnLineage[] | null {
  if (!targets) return null;
  const end = cols.findIndex((c) => c.unknown);
  return named(end < 0 ? cols : cols.slice(0, end), [...targets]);
}

function lineageOf(target: string, sources: SourceColumn[], transformation: Transformation): ColumnLineage {
  const byKey = new Map<string, SourceColumn>();
  for (const s of sources) byKey.set(`${s.table.catalog}\u0000${s.table.database}\u0000${s.table.table}\u0000${s.column}`, s);
  const sorted = [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, s]) => s);
  return { target, sources: sorted, transformation };
}

/** A query's range [a, b): VALUES and TABLE included; an error when no query starts at a. */
function queryRange(t: Token[], a: number, b: number): Range | { error: string } {
  if (a >= b) return { error: 'missing query' };
  if (!startsQuery(t, a)) return { error: 'expected a query' };
  return [a, b];
}

// INSERT INTO name [(col, ...)] query
function planInsert(t: Token[], ctx: SqlContext, lookup: ColumnLookup | undefined): Planned {
  const target = targetAt(t, 2, ctx);
  if (!target) return { error: 'INSERT without a target table' };
  let i = target.next;
  let list: Range | null = null;
  if (isOp(t[i], '(') && !startsQuery(t, i + 1)) {
    const close = closing(t, i);
    if (close < 0) return { error: 'unbalanced column list' };
    list = [i + 1, close];
    i = close + 1;
  }
  const q = queryRange(t, i, t.length);
  if ('error' in q) return q;
  return {
    statement: 'INSERT',
    target: target.ref,
    targetType: 'TABLE',
    read: (r) => {
      const cols = r.query(q[0], q[1], NO_SCOPE);
      return positional(cols, list ? r.names(list[0], list[1]) : lookup?.(target.ref));
    },
  };
}

/** Index of the bracket closing the one at `open`, or -1. */
function closing(t: Token[], open: number): number {
  let depth = 0;
  for (let i = open; i < t.length; i++) {
    const tok = t[i]!;
    if (tok.type !== 'operator') continue;
    if (tok.text === '(' || tok.text === '[') depth++;
    else if ((tok.text === ')' || tok.text === ']') && --depth === 0) return i;
  }
  return -1;
}

// CREATE [OR REPLACE] TABLE [IF NOT EXISTS] name [(cols)] [COMMENT '..'] [WITH (..)] AS query [WITH [NO] DATA]
function planCtas(t: Token[], ctx: SqlContext): Planned {
  const tableAt = skipWords(t, 1, 'OR', 'REPLACE');
  const target = targetAt(t, skipWords(t, tableAt + 1, 'IF', 'NOT', 'EXISTS'), ctx);
  if (!target) return { error: 'CREATE TABLE without a name' };
  const as = findQueryAs(t, target.next);
  if (as < 0) {
    // Hive DDL has AS only in STORED AS; a bare AS promised a query that is not there.
    return hasBareAs(t, target.next) ? { error: 'CREATE TABLE AS without a query' } : null;
  }
  let end = t.length;
  if (isWord(t[end - 1], 'DATA')) {
    if (isWord(t[end - 2], 'WITH')) end -= 2;
    else if (isWord(t[end - 2], 'NO') && isWord(t[end - 3], 'WITH')) end -= 3;
  }
  const list: Range | null = isOp(t[target.next], '(') ? [target.next + 1, closing(t, target.next)] : null;
  const q = queryRange(t, as + 1, end);
  if ('error' in q) return q;
  return {
    statement: 'CTAS',
    target: target.ref,
    targetType: 'TABLE',
    read: (r) => named(r.query(q[0], q[1], NO_SCOPE), list ? r.names(list[0], list[1]) : null),
  };
}

function hasBareAs(t: Token[], from: number): boolean {
  let depth = 0;
  for (let i = from; i < t.length; i++) {
    if (isOp(t[i], '(')) depth++;
    else if (isOp(t[i], ')')) depth--;
    else if (depth === 0 && isWord(t[i], 'AS') && !isWord(t[i - 1], 'STORED')) return true;
  }
  return false;
}

// CREATE [OR REPLACE] [PROTECTED] [MULTI DIALECT] VIEW name [COMMENT '..'] [SECURITY ..] AS query
function viewQuery(t: Token[], ctx: SqlContext): { target: TableRef; query: Range } | { error: string } | null {
  const target = targetAt(t, viewKeywordEnd(t, 1), ctx);
  if (!target) return { error: 'CREATE VIEW without a name' };
  const as = findQueryAs(t, target.next);
  if (as < 0) return { error: 'CREATE VIEW without a query' };
  const q = queryRange(t, as + 1, t.length);
  return 'error' in q ? q : { target: target.ref, query: q };
}

// UNLOAD (query) TO 's3://..' [WITH (..)]
function planUnload(t: Token[]): Planned {
  const close = closing(t, 1);
  if (close < 0) return { error: 'unbalanced UNLOAD query' };
  const loc = t[close + 2];
  if (!isWord(t[close + 1], 'TO') || loc?.type !== 'string') return { error: 'UNLOAD without TO location' };
  const location = loc.text.slice(loc.text.indexOf("'") + 1, -1).replace(/''/g, "'");
  const q = queryRange(t, 2, close);
  if ('error' in q) return q;
  return {
    statement: 'UNLOAD',
    target: null,
    targetType: 'LOCATION',
    location,
    read: (r) => {
      r.query(q[0], q[1], NO_SCOPE);
      return null;
    },
  };
}

/** The target as a relation its own clauses can name (by alias or table name). */
function targetRelation(ref: TableRef, alias: string | null, lookup: ColumnLookup | undefined): Relation {
  const cols = lookup?.(ref);
  return {
    alias: alias ?? ref.table,
    base: null,
    // The target's own columns feed nothing new: they resolve, but to no source.
    columns: cols ? cols.map((c) => ({ name: c, sources: [], transformation: 'identity' as const })) : null,
  };
}

/** `col = expr, ...` of UPDATE and MERGE ... UPDATE SET. */
function assignments(r: QueryReader, a: number, b: number, relations: readonly Relation[]): ColumnLineage[] {
  const out: ColumnLineage[] = [];
  for (const [s, e] of r.split(a, b)) {
    const name = readQualifiedName(r.t, s);
    if (!name || !isOp(r.t[name.next], '=')) throw new QueryError('SET without column = value');
    const col = r.expression(name.next + 1, e, NO_SCOPE, relations);
    out.push(lineageOf(name.parts[name.parts.length - 1]!, col.sources, col.transformation));
  }
  return out.filter((c) => c.sources.length > 0);
}

// UPDATE name SET col = expr, ... [WHERE condition]
function planUpdate(t: Token[], ctx: SqlContext, lookup: ColumnLookup | undefined): Planned {
  const target = targetAt(t, 1, ctx);
  if (!target || !isWord(t[target.next], 'SET')) return { error: 'UPDATE without a target and SET' };
  return {
    statement: 'UPDATE',
    target: target.ref,
    targetType: 'TABLE',
    read: (r) => {
      const where = r.find(target.next + 1, t.length, (k) => isWord(t[k], 'WHERE'));
      const self = [targetRelation(target.ref, null, lookup)];
      const cols = assignments(r, target.next + 1, where, self);
      if (where < t.length) r.expression(where + 1, t.length, NO_SCOPE, self);
      return cols;
    },
  };
}

// DELETE FROM name [WHERE condition]: the rows kept depend on the tables the condition reads.
function planDelete(t: Token[], ctx: SqlContext): Planned {
  const target = targetAt(t, 2, ctx);
  if (!target) return { error: 'DELETE without a target table' };
  return {
    statement: 'DELETE',
    target: target.ref,
    targetType: 'TABLE',
    read: (r) => {
      if (isWord(t[target.next], 'WHERE')) r.expression(target.next + 1, t.length, NO_SCOPE, []);
      else if (target.next < t.length) throw new QueryError('DELETE with more than a WHERE clause');
      return null;
    },
  };
}

// MERGE INTO target [[AS] alias] USING relation ON condition WHEN ...
function planMerge(t: Token[], ctx: SqlContext, lookup: ColumnLookup | undefined): Planned {
  const target = targetAt(t, 2, ctx);
  if (!target) return { error: 'MERGE without a target table' };
  let i = skipWords(t, target.next, 'AS');
  let alias: string | null = null;
  if (!isWord(t[i], 'USING')) alias = readQualifiedName(t, i++)?.parts[0] ?? null;
  if (!isWord(t[i], 'USING')) return { error: 'MERGE without USING' };
  const using = i + 1;
  return {
    statement: 'MERGE',
    target: target.ref,
    targetType: 'TABLE',
    read: (r) => {
      const on = r.find(using, t.length, (k) => isWord(t[k], 'ON'));
      const rels = [targetRelation(target.ref, alias, lookup), ...r.from(using, on, NO_SCOPE)];
      let cases = 0;
      const when = r.find(on + 1, t.length, (k) => {
        if (isWord(t[k], 'CASE')) cases++;
        else if (isWord(t[k], 'END') && cases > 0) cases--;
        return cases === 0 && isWord(t[k], 'WHEN');
      });
      if (on >= t.length || when >= t.length) throw new QueryError('MERGE without ON ... WHEN');
      r.expression(on + 1, when, NO_SCOPE, rels);
      const out: ColumnLineage[] = [];
      for (let w = when; w < t.length;) {
        const then = r.find(w + 1, t.length, (k) => isWord(t[k], 'THEN'));
        const next = r.find(then + 1, t.length, (k) => isWord(t[k], 'WHEN'));
        r.expression(w + 1, then, NO_SCOPE, rels);
        if (isWord(t[then + 1], 'UPDATE') && isWord(t[then + 2], 'SET')) out.push(...assignments(r, then + 3, next, rels));
        else if (isWord(t[then + 1], 'INSERT')) out.push(...mergeInsert(r, then + 2, next, rels, lookup?.(target.ref)));
        else if (!isWord(t[then + 1], 'DELETE')) throw new QueryError('MERGE WHEN without UPDATE, INSERT or DELETE');
        w = next;
      }
      return out;
    },
  };
}

/** `[(cols)] VALUES (exprs)` of MERGE ... THEN INSERT. */
function mergeInsert(
  r: QueryReader,
  a: number,
  b: number,
  rels: readonly Relation[],
  targetColumns: readonly string[] | undefined,
): ColumnLineage[] {
  const t = r.t;
  let i = a;
  let names: readonly string[] | undefined = targetColumns;
  if (isOp(t[i], '(')) {
    const c = r.close(i);
    names = r.names(i + 1, c);
    i = c + 1;
  }
  if (!isWord(t[i], 'VALUES') || !isOp(t[i + 1], '(')) throw new QueryError('MERGE INSERT without VALUES');
  const c = r.close(i + 1);
  if (c + 1 !== b) throw new QueryError('unexpected tokens after MERGE INSERT VALUES');
  const cols = r.split(i + 2, c).map(([s, e]) => r.expression(s, e, NO_SCOPE, rels));
  return positional(cols, names) ?? [];
}

function run(p: Plan, t: Token[], ctx: SqlContext, options: LineageOptions): LineageResult {
  let tables: TableRef[];
  let columns: ColumnLineage[] | null = null;
  let degraded: string | undefined;
  try {
    const r = new QueryReader(t, ctx, options);
    columns = p.read(r);
    tables = [...r.tables.values()];
  } catch (err) {
    if (err instanceof BudgetError || err instanceof InvalidStatementError) return unparseable(err.message);
    if (!(err instanceof QueryError)) {
      // A stack overflow on absurd nesting is the only other failure; it is not worth a crash.
      if (err instanceof RangeError) return unparseable(`nested too deeply: ${err.message}`);
      throw err;
    }
    const scanned = fallbackTables(t, ctx);
    if (typeof scanned === 'string') return unparseable(`${err.message}; ${scanned}`);
    // Nothing found is no lineage worth writing: the reader's reason stands.
    if (scanned.length === 0) return unparseable(err.message);
    tables = scanned;
    degraded = err.message;
  }
  // UPDATE and DELETE change their target in place and name it in their own subqueries: a self-edge
  // says nothing there. An INSERT ... SELECT from its own target does copy data, so it keeps it.
  const inPlace = p.statement === 'UPDATE' || p.statement === 'DELETE';
  const self = (r: TableRef): boolean => inPlace && p.target !== null && refKey(r) === refKey(p.target);
  const found = new Map<string, TableRef>();
  for (const ref of tables) if (!self(ref)) found.set(refKey(ref), ref);
  const sources = [...found.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, ref]) => ref);
  if (inPlace && sources.length === 0 && !columns?.length) return NONE;
  const out: LineageResult = { kind: 'lineage', statement: p.statement, target: p.target, targetType: p.targetType, sources };
  if (p.location !== undefined) out.location = p.location;
  if (columns && columns.length > 0)
    out.columns = columns.map((c) => ({ ...c, sources: c.sources.filter((s) => !self(s.table)) })).filter((c) => c.sources.length > 0);
  if (out.columns?.length === 0) delete out.columns;
  if (degraded !== undefined) out.degraded = degraded;
  return out;
}

function refKey(r: TableRef): string {
  return `${r.catalog}\u0000${r.database}\u0000${r.table}`;
}
