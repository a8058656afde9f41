/**
 * Table-level lineage of statements that write data, in a source's SQL dialect (Athena's so far).
 *
 * The statement's head (target, column list, table properties, UNLOAD location, MERGE clauses) is
 * read from tokens; every query inside it is parsed by node-sql-parser (trino grammar, then its
 * postgresql grammar, which accepts scalar and EXISTS subqueries the trino one rejects) and its
 * table references are read from the AST. Nothing extracts tables from text: what the parsers cannot
 * read comes back as `unparseable`.
 */
import { type LexerOptions, type Token, findQueryAs, isOp, isTrivia, isWord, leadingTokens, lexerOptionsFor, tokenize } from './masking';
import type { SqlDialect } from './dialect';
import { type SqlContext, readQualifiedName, resolveObject, skipWords, viewKeywordEnd } from './statements';

export interface TableRef {
  catalog: string;
  database: string;
  table: string;
}

export type LineageStatement = 'CTAS' | 'INSERT' | 'MERGE' | 'UNLOAD' | 'CREATE_VIEW';

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
    }
  | { kind: 'none' }
  | { kind: 'unparseable'; reason: string };

/** Athena rejects queries over 256 KiB; anything far larger is not a real statement. */
export const MAX_STATEMENT_CHARS = 512 * 1024;

const NONE: LineageResult = { kind: 'none' };

const unparseable = (reason: string): LineageResult => ({ kind: 'unparseable', reason });

interface Plan {
  statement: LineageStatement;
  target: TableRef | null;
  targetType: 'TABLE' | 'VIEW' | 'LOCATION';
  /** Query texts whose table references are the sources (none for plain VALUES). */
  queries: string[];
  location?: string;
}

type Planned = Plan | { error: string } | null;

/**
 * Lineage of one statement. Cheap for anything that is not CTAS, INSERT, MERGE, UNLOAD or CREATE
 * VIEW: those are told apart by their first tokens and return `none` without parsing. Names resolve
 * against `context` and come back lowercased, as Athena resolves them.
 */
export function extractLineage(sql: string, context: SqlContext): LineageResult {
  const head = leadingTokens(sql, 8);
  if (head.length === 0) return unparseable('empty statement');
  if (!writesData(head)) return NONE;
  if (sql.length > MAX_STATEMENT_CHARS) return unparseable(`statement longer than ${MAX_STATEMENT_CHARS} characters`);
  const all = statementTokens(sql, lexerOptionsFor(sql, context.dialect));
  if (typeof all === 'string') return unparseable(all);
  const end = statementEnd(all);
  if (end < 0) return unparseable('more than one statement');
  const t = all.slice(0, end);
  const planned = plan(sql, t, context);
  if (planned === null) return NONE;
  if ('error' in planned) return unparseable(planned.error);
  return run(planned, context);
}

/**
 * Lineage of a view from its definition: the query alone or a whole CREATE VIEW statement. `view`
 * is the target whatever name a CREATE VIEW carries; unqualified names resolve in its database.
 */
export function viewLineage(viewSql: string, view: TableRef, dialect: SqlDialect): LineageResult {
  const context: SqlContext = { catalog: view.catalog, database: view.database, dialect };
  const target = lowerRef(view);
  if (viewSql.length > MAX_STATEMENT_CHARS) return unparseable(`view longer than ${MAX_STATEMENT_CHARS} characters`);
  const all = statementTokens(viewSql, {});
  if (typeof all === 'string') return unparseable(all);
  if (all.length === 0) return unparseable('empty view definition');
  const end = statementEnd(all);
  if (end < 0) return unparseable('more than one statement');
  const t = all.slice(0, end);
  let queries: string[];
  if (isWord(t[0], 'CREATE') && viewKeywordEnd(t, 1) >= 0) {
    const planned = planCreateView(viewSql, t, context);
    if (planned === null || 'error' in planned) return unparseable(planned?.error ?? 'not a view definition');
    queries = planned.queries;
  } else {
    if (!startsQuery(t[0])) return unparseable('not a view definition');
    const q = body(viewSql, t, 0, t.length);
    if (q !== null && typeof q === 'object') return unparseable(q.error);
    queries = q === null ? [] : [q];
  }
  return run({ statement: 'CREATE_VIEW', target, targetType: 'VIEW', queries }, context);
}

function writesData(h: Token[]): boolean {
  if (isWord(h[0], 'INSERT') && isWord(h[1], 'INTO')) return true;
  if (isWord(h[0], 'MERGE') && isWord(h[1], 'INTO')) return true;
  if (isWord(h[0], 'UNLOAD') && isOp(h[1], '(')) return true;
  if (isWord(h[0], 'CREATE')) return viewKeywordEnd(h, 1) >= 0 || isWord(h[skipWords(h, 1, 'OR', 'REPLACE')], 'TABLE');
  return false;
}

function startsQuery(t: Token | undefined): boolean {
  return isWord(t, 'SELECT', 'WITH', 'VALUES', 'TABLE') || isOp(t, '(');
}

/** Significant tokens, or why the statement cannot be valid: the engine rejects anything unclosed. */
function statementTokens(sql: string, options: LexerOptions): Token[] | string {
  const out: Token[] = [];
  for (const tok of tokenize(sql, options)) {
    if (tok.unterminated) return `unterminated ${tok.type.replace('_', ' ')}`;
    if (!isTrivia(tok)) out.push(tok);
  }
  return out;
}

/** Index just past the statement (a trailing `;` dropped), or -1 when another statement follows. */
function statementEnd(t: Token[]): number {
  let depth = 0;
  for (let i = 0; i < t.length; i++) {
    const tok = t[i]!;
    if (tok.type !== 'operator') continue;
    if (tok.text === '(' || tok.text === '[') depth++;
    else if (tok.text === ')' || tok.text === ']') depth = Math.max(0, depth - 1);
    else if (tok.text === ';' && depth === 0) {
      for (let k = i + 1; k < t.length; k++) if (!isOp(t[k], ';')) return -1;
      return i;
    }
  }
  return t.length;
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

/** Source text of tokens [a, b), comments inside included. */
function slice(sql: string, t: Token[], a: number, b: number): string {
  if (b <= a) return '';
  return sql.slice(t[a]!.start, t[b - 1]!.end);
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

function plan(sql: string, t: Token[], ctx: SqlContext): Planned {
  if (isWord(t[0], 'INSERT')) return planInsert(sql, t, ctx);
  if (isWord(t[0], 'MERGE')) return planMerge(sql, t, ctx);
  if (isWord(t[0], 'UNLOAD')) return planUnload(sql, t);
  if (viewKeywordEnd(t, 1) >= 0) return planCreateView(sql, t, ctx);
  return planCtas(sql, t, ctx);
}

/** A query body as the parsers should see it; VALUES without subqueries reads no table. */
function body(sql: string, t: Token[], a: number, b: number): string | null | { error: string } {
  if (a >= b) return { error: 'missing query' };
  if (isWord(t[a], 'VALUES')) {
    for (let i = a; i < b; i++) if (isWord(t[i], 'SELECT')) return `SELECT * FROM (${slice(sql, t, a, b)}) AS v`;
    return null;
  }
  if (isWord(t[a], 'TABLE')) return `SELECT * FROM ${slice(sql, t, a + 1, b)}`;
  if (!startsQuery(t[a])) return { error: 'expected a query' };
  return slice(sql, t, a, b);
}

function withBody(p: Omit<Plan, 'queries'>, q: string | null | { error: string }): Planned {
  if (q !== null && typeof q === 'object') return q;
  return { ...p, queries: q === null ? [] : [q] };
}

// INSERT INTO name [(col, ...)] query
function planInsert(sql: string, t: Token[], ctx: SqlContext): Planned {
  const target = targetAt(t, 2, ctx);
  if (!target) return { error: 'INSERT without a target table' };
  let i = target.next;
  if (isOp(t[i], '(') && !startsQuery(t[i + 1])) {
    const close = closing(t, i);
    if (close < 0) return { error: 'unbalanced column list' };
    i = close + 1;
  }
  return withBody({ statement: 'INSERT', target: target.ref, targetType: 'TABLE' }, body(sql, t, i, t.length));
}

// CREATE [OR REPLACE] TABLE [IF NOT EXISTS] name [(cols)] [COMMENT '..'] [WITH (..)] AS query [WITH [NO] DATA]
function planCtas(sql: string, t: Token[], ctx: SqlContext): Planned {
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
  return withBody({ statement: 'CTAS', target: target.ref, targetType: 'TABLE' }, body(sql, t, as + 1, end));
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
function planCreateView(sql: string, t: Token[], ctx: SqlContext): Planned {
  const target = targetAt(t, viewKeywordEnd(t, 1), ctx);
  if (!target) return { error: 'CREATE VIEW without a name' };
  const as = findQueryAs(t, target.next);
  if (as < 0) return { error: 'CREATE VIEW without a query' };
  return withBody({ statement: 'CREATE_VIEW', target: target.ref, targetType: 'VIEW' }, body(sql, t, as + 1, t.length));
}

// UNLOAD (query) TO 's3://..' [WITH (..)]
function planUnload(sql: string, t: Token[]): Planned {
  const close = closing(t, 1);
  if (close < 0) return { error: 'unbalanced UNLOAD query' };
  const loc = t[close + 2];
  if (!isWord(t[close + 1], 'TO') || loc?.type !== 'string') return { error: 'UNLOAD without TO location' };
  const location = loc.text.slice(loc.text.indexOf("'") + 1, -1).replace(/''/g, "'");
  return withBody({ statement: 'UNLOAD', target: null, targetType: 'LOCATION', location }, body(sql, t, 2, close));
}

// MERGE INTO target [[AS] alias] USING relation ON condition WHEN ...
function planMerge(sql: string, t: Token[], ctx: SqlContext): Planned {
  const target = targetAt(t, 2, ctx);
  if (!target) return { error: 'MERGE without a target table' };
  let i = skipWords(t, target.next, 'AS');
  if (!isWord(t[i], 'USING')) i++; // alias
  if (!isWord(t[i], 'USING')) return { error: 'MERGE without USING' };
  const using = i + 1;
  let on = -1;
  let when = -1;
  let depth = 0;
  let cases = 0;
  for (let k = using; k < t.length && when < 0; k++) {
    const tok = t[k]!;
    if (isOp(tok, '(') || isOp(tok, '[')) depth++;
    else if (isOp(tok, ')') || isOp(tok, ']')) depth--;
    else if (depth > 0) continue;
    else if (isWord(tok, 'CASE')) cases++;
    else if (isWord(tok, 'END') && cases > 0) cases--;
    else if (on < 0 && isWord(tok, 'ON')) on = k;
    else if (on >= 0 && cases === 0 && isWord(tok, 'WHEN')) when = k;
  }
  if (on < 0 || when < 0) return { error: 'MERGE without ON ... WHEN' };
  // The USING relation and ON condition parse as a query; subqueries of WHEN clauses on their own.
  const queries = [`SELECT 1 FROM ${slice(sql, t, using, on)} WHERE ${slice(sql, t, on + 1, when)}`];
  for (let k = when; k < t.length; k++) {
    if (isOp(t[k], '(') && isWord(t[k + 1], 'SELECT', 'WITH')) {
      const close = closing(t, k);
      if (close < 0) return { error: 'unbalanced subquery in MERGE' };
      queries.push(slice(sql, t, k + 1, close));
      k = close;
    }
  }
  return { statement: 'MERGE', target: target.ref, targetType: 'TABLE', queries };
}

function run(p: Plan, ctx: SqlContext): LineageResult {
  const found = new Map<string, TableRef>();
  for (const q of p.queries) {
    const r = querySources(q, ctx);
    if (typeof r === 'string') return unparseable(r);
    for (const ref of r) found.set(`${ref.catalog}\u0000${ref.database}\u0000${ref.table}`, ref);
  }
  const sources = [...found.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, ref]) => ref);
  const out: LineageResult = { kind: 'lineage', statement: p.statement, target: p.target, targetType: p.targetType, sources };
  if (p.location !== undefined) out.location = p.location;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Parsing

interface AstParser {
  astify(sql: string, opt: { database: string }): unknown;
}

type Grammar = 'trino' | 'postgresql';
/**
 * node-sql-parser grammars per dialect, tried in order. Athena: trino, then postgresql, which accepts
 * scalar and EXISTS subqueries the trino one rejects.
 */
const GRAMMARS: Record<SqlDialect, readonly Grammar[]> = { athena: ['trino', 'postgresql'] };
const parsers = new Map<Grammar, AstParser>();

/** Parsers load on first use: each grammar is a few hundred KB of JS that most callers never need. */
function parser(g: Grammar): AstParser {
  let p = parsers.get(g);
  if (!p) {
    // Literal paths so a bundler can see them.
    const mod = (g === 'trino' ? require('node-sql-parser/build/trino') : require('node-sql-parser/build/postgresql')) as {
      Parser: new () => AstParser;
    };
    p = new mod.Parser();
    parsers.set(g, p);
  }
  return p;
}

/** Table references of one query, or the reason it could not be parsed. */
function querySources(query: string, ctx: SqlContext): TableRef[] | string {
  const text = normaliseQuery(query);
  let firstError = '';
  for (const g of GRAMMARS[ctx.dialect]) {
    let ast: unknown;
    try {
      ast = parser(g).astify(text, { database: g });
    } catch (err) {
      firstError ||= describeError(err);
      continue;
    }
    try {
      const c = new Collector(ctx);
      c.walk(ast, new Set());
      return [...c.refs];
    } catch (err) {
      // A stack overflow on absurd nesting; nothing a second grammar would fix.
      return `AST walk failed: ${err instanceof Error ? err.message : String(err)}`;
    }
  }
  return `parse failed: ${firstError}`;
}

/** A parser error in brief: where, and what was found (from the neutralised text, so no data). */
function describeError(err: unknown): string {
  if (isNode(err) && isNode(err.location) && isNode(err.location.start)) {
    const { line, column } = err.location.start;
    const found = typeof err.found === 'string' ? ` near ${JSON.stringify(err.found)}` : ' at end of input';
    if (typeof line === 'number' && typeof column === 'number') return `syntax error at line ${line}, column ${column}${found}`;
  }
  const message = err instanceof Error ? err.message : String(err);
  return message.length > 200 ? `${message.slice(0, 200)}...` : message;
}

interface Edit {
  start: number;
  end: number;
  text: string;
}

/**
 * Rewrites a query into what the parsers read, changing nothing lineage depends on: literals become
 * '0' and 0 (so no customer data reaches a parser or its error messages), parameters 0, comments a
 * space; and constructs the grammars lack are reduced to equivalents with the same table
 * references. A rewrite whose span holds a SELECT is skipped and the parser decides.
 */
function normaliseQuery(query: string): string {
  const all = tokenize(query);
  const t = all.filter((x) => x.type !== 'whitespace' && x.type !== 'line_comment' && x.type !== 'block_comment');
  const edits: Edit[] = [];
  for (const x of all) {
    // '0' rather than '': the grammars reject an empty zone in AT TIME ZONE; prefixes go too (X'..').
    if (x.type === 'string') edits.push({ start: x.start, end: x.end, text: "'0'" });
    else if (x.type === 'number' || x.type === 'parameter') edits.push({ start: x.start, end: x.end, text: '0' });
    else if (x.type === 'line_comment' || x.type === 'block_comment') edits.push({ start: x.start, end: x.end, text: ' ' });
  }
  // Bracket partners, computed once: rewrites look them up often.
  const partner = new Int32Array(t.length).fill(-1);
  const open: number[] = [];
  for (let i = 0; i < t.length; i++) {
    if (isOp(t[i], '(') || isOp(t[i], '[')) open.push(i);
    else if ((isOp(t[i], ')') || isOp(t[i], ']')) && open.length > 0) partner[open.pop()!] = i;
  }
  const partnerOf = (i: number): number => partner[i] ?? -1;
  const drop = (a: number, b: number, text = ' '): void => {
    for (let k = a; k < b; k++) if (isWord(t[k], 'SELECT')) return;
    if (a < b) edits.push({ start: t[a]!.start, end: t[b - 1]!.end, text });
  };

  const frames: { inFrom: boolean; afterOn: boolean }[] = [{ inFrom: false, afterOn: false }];
  for (let i = 0; i < t.length; i++) {
    const x = t[i]!;
    const frame = frames[frames.length - 1]!;
    if (isOp(x, '(') || isOp(x, '[')) frames.push({ inFrom: false, afterOn: false });
    else if (isOp(x, ')') || isOp(x, ']')) {
      if (frames.length > 1) frames.pop();
    } else if (isWord(x, 'FROM') && !isWord(t[i - 1], 'DISTINCT')) {
      frame.inFrom = true;
      frame.afterOn = false;
    } else if (
      isWord(x, 'WHERE', 'GROUP', 'HAVING', 'ORDER', 'LIMIT', 'OFFSET', 'FETCH', 'WINDOW', 'UNION', 'INTERSECT', 'EXCEPT', 'SELECT')
    ) {
      frame.inFrom = false;
      frame.afterOn = false;
    } else if (isWord(x, 'ON') && frame.inFrom) {
      frame.afterOn = true;
    } else if (isOp(x, ',') && frame.inFrom && frame.afterOn) {
      // `a JOIN b ON c, d`: both grammars read `, d` into the ON condition and lose table d.
      edits.push({ start: x.start, end: x.end, text: ' CROSS JOIN ' });
    }

    if (isWord(x, 'CAST', 'TRY_CAST') && isOp(t[i + 1], '(')) {
      // TRY_CAST is unknown to the postgresql grammar; the difference is only in failure handling.
      if (isWord(x, 'TRY_CAST')) edits.push({ start: x.start, end: x.end, text: 'CAST' });
      // Row, array and map types are beyond both grammars; the target type never names a table.
      const close = partnerOf(i + 1);
      let depth = 0;
      for (let k = i + 2; close > 0 && k < close; k++) {
        if (isOp(t[k], '(') || isOp(t[k], '[')) depth++;
        else if (isOp(t[k], ')') || isOp(t[k], ']')) depth--;
        else if (depth === 0 && isWord(t[k], 'AS')) {
          if (k + 1 < close) drop(k + 1, close, 'varchar');
          break;
        }
      }
    } else if (isWord(x, 'AT') && isWord(t[i + 1], 'TIME') && isWord(t[i + 2], 'ZONE')) {
      // Unknown to the trino grammar; a zone never names a table.
      const end = skipValue(t, i + 3, partnerOf);
      if (end > 0) drop(i, end);
    } else if (isWord(x, 'IS') && isWord(t[i + 1 + (isWord(t[i + 1], 'NOT') ? 1 : 0)], 'DISTINCT')) {
      // IS [NOT] DISTINCT FROM compares like = for lineage; the grammars know only part of it.
      const from = i + (isWord(t[i + 1], 'NOT') ? 3 : 2);
      if (isWord(t[from], 'FROM')) drop(i, from + 1, '=');
    } else if (isWord(x, 'GROUPING') && isWord(t[i + 1], 'SETS')) {
      // Unknown to both grammars; ROLLUP has the same shape and neither names a table.
      drop(i, i + 2, 'ROLLUP');
    } else if (isWord(x, 'WITH') && isWord(t[i + 1], 'ORDINALITY')) {
      drop(i, i + 2);
    } else if (isWord(x, 'FETCH') && isWord(t[i + 1], 'FIRST', 'NEXT')) {
      let k = i + 2;
      if (t[k]?.type === 'number' || t[k]?.type === 'parameter') k++;
      if (isWord(t[k], 'ROW', 'ROWS') && isWord(t[k + 1], 'ONLY')) drop(i, k + 2, 'LIMIT 0');
      else if (isWord(t[k], 'ROW', 'ROWS') && isWord(t[k + 1], 'WITH') && isWord(t[k + 2], 'TIES')) drop(i, k + 3, 'LIMIT 0');
    } else if (isWord(x, 'OFFSET') && (t[i + 1]?.type === 'number' || t[i + 1]?.type === 'parameter') && isWord(t[i + 2], 'ROW', 'ROWS')) {
      drop(i + 2, i + 3);
    } else if (isWord(x, 'WITHIN') && isWord(t[i + 1], 'GROUP') && isOp(t[i + 2], '(')) {
      const close = partnerOf(i + 2);
      if (close > 0) drop(i, close + 1);
    } else if (
      isWord(x, 'FOR') &&
      isWord(t[i + 1], 'TIMESTAMP', 'VERSION', 'SYSTEM_TIME', 'SYSTEM_VERSION') &&
      isWord(t[i + 2], 'AS') &&
      isWord(t[i + 3], 'OF')
    ) {
      // Iceberg time travel: the version or instant does not change which table is read.
      const end = skipValue(t, i + 4, partnerOf);
      if (end > 0) drop(i, end);
    }
  }
  // Neither grammar takes a whole query in parentheses, `(SELECT ..) UNION (..)` aside.
  for (let a = 0, b = t.length - 1; isOp(t[a], '(') && partnerOf(a) === b; a++, b--) {
    edits.push({ start: t[a]!.start, end: t[a]!.end, text: ' ' }, { start: t[b]!.start, end: t[b]!.end, text: ' ' });
  }
  return applyEdits(query, edits);
}

const INTERVAL_UNITS = ['YEAR', 'MONTH', 'WEEK', 'DAY', 'HOUR', 'MINUTE', 'SECOND', 'TO'];

/** End of a simple scalar expression starting at `i` (literals, names, calls, + - * / ||), or -1. */
function skipValue(t: Token[], i: number, partnerOf: (open: number) => number): number {
  let operand = true;
  while (i < t.length) {
    const x = t[i]!;
    if (!operand) {
      if (x.type === 'operator' && ['+', '-', '*', '/', '||'].includes(x.text)) {
        operand = true;
        i++;
        continue;
      }
      return i;
    }
    if (isOp(x, '-') || isOp(x, '+')) {
      i++;
      continue;
    }
    operand = false;
    if (isWord(x, 'TIMESTAMP', 'DATE', 'TIME') && t[i + 1]?.type === 'string') i += 2;
    else if (isWord(x, 'INTERVAL')) {
      i++;
      if (isOp(t[i], '-') || isOp(t[i], '+')) i++;
      if (t[i]?.type !== 'string' && t[i]?.type !== 'number') return -1;
      i++;
      while (isWord(t[i], ...INTERVAL_UNITS)) i++;
    } else if (x.type === 'string' || x.type === 'number' || x.type === 'parameter') i++;
    else if (isOp(x, '(')) {
      const close = partnerOf(i);
      if (close < 0) return -1;
      i = close + 1;
    } else {
      const name = readQualifiedName(t, i);
      if (!name) return -1;
      i = name.next;
      if (isOp(t[i], '(')) {
        const close = partnerOf(i);
        if (close < 0) return -1;
        i = close + 1;
      }
    }
  }
  return operand ? -1 : i;
}

/** Applies non-overlapping edits; of two overlapping ones the one starting first (or longer) wins. */
function applyEdits(text: string, edits: Edit[]): string {
  edits.sort((a, b) => a.start - b.start || b.end - a.end);
  const out: string[] = [];
  let at = 0;
  for (const e of edits) {
    if (e.start < at) continue;
    out.push(text.slice(at, e.start), e.text);
    at = e.end;
  }
  out.push(text.slice(at));
  return out.join('');
}

// ---------------------------------------------------------------------------------------------
// AST walk

type Node = Record<string, unknown>;

function isNode(v: unknown): v is Node {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v.length > 0 ? v : null;
}

function cteName(v: unknown): string | null {
  if (typeof v === 'string') return v.toLowerCase();
  if (isNode(v) && typeof v.value === 'string') return v.value.toLowerCase();
  return null;
}

const TABLE_KEYS = new Set(['db', 'schema', 'table', 'as']);

/**
 * Collects table references. Only FROM items name tables (joins included); everything else is
 * walked for nested queries. CTE names are scoped as in Trino: a WITH name is visible to later
 * definitions and the body (its own definition too when RECURSIVE), and shadows unqualified names.
 */
class Collector {
  readonly refs: TableRef[] = [];

  constructor(private readonly ctx: SqlContext) {}

  walk(node: unknown, ctes: ReadonlySet<string>): void {
    if (Array.isArray(node)) {
      for (const n of node) this.walk(n, ctes);
      return;
    }
    if (!isNode(node)) return;
    if (node.type === 'select') {
      this.select(node, ctes);
      return;
    }
    for (const [k, v] of Object.entries(node)) {
      if (k !== 'tableList' && k !== 'columnList' && k !== 'loc') this.walk(v, ctes);
    }
  }

  private select(sel: Node, outer: ReadonlySet<string>): void {
    let scope = outer;
    if (Array.isArray(sel.with)) {
      const recursive = sel.with.some((w) => isNode(w) && w.recursive === true);
      for (const w of sel.with) {
        if (!isNode(w)) continue;
        const name = cteName(w.name);
        const withName = name ? new Set([...scope, name]) : scope;
        this.walk(w.stmt, recursive ? withName : scope);
        scope = withName;
      }
    }
    this.from(sel.from, scope);
    for (const [k, v] of Object.entries(sel)) {
      if (k !== 'with' && k !== 'from' && k !== 'loc') this.walk(v, scope);
    }
  }

  private from(from: unknown, scope: ReadonlySet<string>): void {
    const items = Array.isArray(from) ? from : [from];
    for (const item of items) {
      if (!isNode(item)) continue;
      const table = str(item.table);
      if (table !== null && (item.expr === undefined || item.expr === null)) {
        this.table(item, table, scope);
        for (const [k, v] of Object.entries(item)) if (!TABLE_KEYS.has(k)) this.walk(v, scope);
        continue;
      }
      const expr = item.expr;
      if (isNode(expr) && expr.type === 'tables')
        this.from(expr.expr, scope); // parenthesised join
      else this.walk(expr, scope);
      for (const [k, v] of Object.entries(item)) if (k !== 'expr' && k !== 'as') this.walk(v, scope);
    }
  }

  private table(item: Node, table: string, scope: ReadonlySet<string>): void {
    // The grammars put a 3-part name's catalog in `db` and its schema in `schema`.
    const db = str(item.db);
    const schema = str(item.schema);
    const name = table.toLowerCase();
    let ref: TableRef;
    if (db !== null && schema !== null) ref = { catalog: db.toLowerCase(), database: schema.toLowerCase(), table: name };
    else if (db !== null) ref = { catalog: this.ctx.catalog.toLowerCase(), database: db.toLowerCase(), table: name };
    else if (scope.has(name)) return;
    else ref = { catalog: this.ctx.catalog.toLowerCase(), database: this.ctx.database.toLowerCase(), table: name };
    this.refs.push(ref);
  }
}
