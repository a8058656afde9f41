/**
 * A tokenizer-driven reader of Trino/Athena queries for lineage: it recognises the structure that
 * decides where data comes from (WITH, set operations, SELECT lists, FROM items, joins, subqueries,
 * VALUES, UNNEST, LATERAL VIEW, MATCH_RECOGNIZE) and treats every expression as a bracket-balanced
 * run of tokens in which it only looks for column names, aggregate calls and nested queries. So an
 * expression construct it has never seen (a new function, frame clause or literal kind) cannot make a
 * query unreadable, and a table is only ever taken from a FROM item: precision does not depend on
 * knowing the whole grammar. Linear in the tokens; a time budget bounds pathological input anyway.
 */
import { type Token, isOp, isWord } from './masking';
import { type SqlContext, readQualifiedName, resolveObject } from './statements';

export interface TableRef {
  catalog: string;
  database: string;
  table: string;
}

export type Transformation = 'identity' | 'expression' | 'aggregate';

export interface SourceColumn {
  table: TableRef;
  column: string;
}

/** One output column of a query: its name (null when Trino would make one up) and what feeds it. */
export interface OutputColumn {
  name: string | null;
  sources: SourceColumn[];
  transformation: Transformation;
  /** Stands for the columns of a `*` over a relation whose columns are unknown: positions after it are unknown. */
  unknown?: true;
}

/** Columns of a table, lowercased, in table order; undefined when not known. */
export type ColumnLookup = (table: TableRef) => readonly string[] | undefined;

/** The reader could not follow a query; a table-only scan may still read it. */
export class QueryError extends Error {}

/** The statement cannot be valid SQL (unbalanced brackets): nothing is read from it. */
export class InvalidStatementError extends Error {}

/** Raised when a statement's time budget runs out; callers count it as unparseable. */
export class BudgetError extends QueryError {}

export interface ReaderOptions {
  lookup?: ColumnLookup;
  /** Wall-clock milliseconds one statement may take; beyond it the statement is unparseable. */
  budgetMs?: number;
}

export const DEFAULT_BUDGET_MS = 1000;

export interface Relation {
  /** The name a column qualifier matches: the alias, else the table's own name. */
  alias: string | null;
  base: TableRef | null;
  /** Known output columns; null when unknown (a table without a lookup, MATCH_RECOGNIZE). */
  columns: OutputColumn[] | null;
}

export interface Scope {
  ctes: ReadonlyMap<string, OutputColumn[]>;
  /** Relations of enclosing queries, for correlated references. */
  outer: readonly Relation[];
}

const AGGREGATES = new Set([
  'ANY_VALUE',
  'APPROX_DISTINCT',
  'APPROX_MOST_FREQUENT',
  'APPROX_PERCENTILE',
  'APPROX_SET',
  'ARBITRARY',
  'ARRAY_AGG',
  'AVG',
  'BITWISE_AND_AGG',
  'BITWISE_OR_AGG',
  'BOOL_AND',
  'BOOL_OR',
  'CHECKSUM',
  'CORR',
  'COUNT',
  'COUNT_IF',
  'COVAR_POP',
  'COVAR_SAMP',
  'EVERY',
  'GEOMETRIC_MEAN',
  'HISTOGRAM',
  'KURTOSIS',
  'LISTAGG',
  'MAP_AGG',
  'MAP_UNION',
  'MAP_UNION_SUM',
  'MAX',
  'MAX_BY',
  'MERGE',
  'MIN',
  'MIN_BY',
  'MULTIMAP_AGG',
  'NUMERIC_HISTOGRAM',
  'REDUCE_AGG',
  'REGR_INTERCEPT',
  'REGR_SLOPE',
  'SET_AGG',
  'SET_UNION',
  'SKEWNESS',
  'STDDEV',
  'STDDEV_POP',
  'STDDEV_SAMP',
  'SUM',
  'VARIANCE',
  'VAR_POP',
  'VAR_SAMP',
  'STRING_AGG',
  'GROUP_CONCAT',
  'COLLECT_LIST',
  'COLLECT_SET',
]);

/** Words that never name a column where an expression stands. */
const EXPRESSION_KEYWORDS = new Set([
  'ALL',
  'AND',
  'ANY',
  'ARRAY',
  'AS',
  'ASC',
  'AT',
  'BETWEEN',
  'BOTH',
  'BY',
  'CASE',
  'CAST',
  'COUNT',
  'CURRENT',
  'CURRENT_CATALOG',
  'CURRENT_DATE',
  'CURRENT_PATH',
  'CURRENT_ROLE',
  'CURRENT_SCHEMA',
  'CURRENT_TIME',
  'CURRENT_TIMESTAMP',
  'CURRENT_USER',
  'DAY',
  'DESC',
  'DISTINCT',
  'ELSE',
  'EMPTY',
  'END',
  'ERROR',
  'ESCAPE',
  'EXCLUDE',
  'EXISTS',
  'FALSE',
  'FILTER',
  'FIRST',
  'FOLLOWING',
  'FOR',
  'FROM',
  'GROUP',
  'GROUPS',
  'HOUR',
  'IGNORE',
  'IN',
  'INTERVAL',
  'IS',
  'KEEP',
  'LAST',
  'LEADING',
  'LIKE',
  'LOCALTIME',
  'LOCALTIMESTAMP',
  'MAP',
  'MINUTE',
  'MONTH',
  'NOT',
  'NULL',
  'NULLS',
  'OF',
  'ON',
  'OR',
  'ORDER',
  'OTHERS',
  'OVER',
  'OVERFLOW',
  'PARTITION',
  'PRECEDING',
  'QUARTER',
  'RANGE',
  'RESPECT',
  'ROW',
  'ROWS',
  'SECOND',
  'SOME',
  'THEN',
  'TIES',
  'TIME',
  'TIMESTAMP',
  'TO',
  'TRAILING',
  'TRUE',
  'TRUNCATE',
  'UNBOUNDED',
  'UNKNOWN',
  'USING',
  'WEEK',
  'WHEN',
  'WHERE',
  'WITH',
  'WITHIN',
  'WITHOUT',
  'YEAR',
  'ZONE',
]);

/** Words after which a FROM item's alias cannot be: they start the next clause or join. */
const NOT_ALIAS = new Set([
  'AS',
  'CROSS',
  'EXCEPT',
  'FETCH',
  'FOR',
  'FULL',
  'GROUP',
  'HAVING',
  'INNER',
  'INTERSECT',
  'JOIN',
  'LATERAL',
  'LEFT',
  'LIMIT',
  'MATCH_RECOGNIZE',
  'NATURAL',
  'OFFSET',
  'ON',
  'ORDER',
  'RIGHT',
  'SET',
  'TABLESAMPLE',
  'UNION',
  'USING',
  'WHEN',
  'WHERE',
  'WINDOW',
  'OUTER',
]);

/** Words that end a select item's expression instead of being its implicit alias. */
const NOT_SELECT_ALIAS = new Set(['END', 'NULL', 'TRUE', 'FALSE', 'UNKNOWN', 'ROW', 'ROWS', 'FIRST', 'LAST', 'ASC', 'DESC']);

const QUERY_START = ['SELECT', 'WITH', 'VALUES', 'TABLE'];

/** Trino's reserved words: unquoted, they never name a table. */
export const RESERVED = new Set(
  (
    'ALTER AND AS BETWEEN BY CASE CAST CONSTRAINT CREATE CROSS CUBE CURRENT_CATALOG CURRENT_DATE CURRENT_PATH CURRENT_ROLE ' +
    'CURRENT_SCHEMA CURRENT_TIME CURRENT_TIMESTAMP CURRENT_USER DEALLOCATE DELETE DESCRIBE DISTINCT DROP ELSE END ESCAPE EXCEPT ' +
    'EXECUTE EXISTS EXTRACT FALSE FOR FROM FULL GROUP GROUPING HAVING IN INNER INSERT INTERSECT INTO IS JOIN JSON_ARRAY ' +
    'JSON_EXISTS JSON_OBJECT JSON_QUERY JSON_TABLE JSON_VALUE LEFT LIKE LISTAGG LOCALTIME LOCALTIMESTAMP NATURAL NORMALIZE NOT ' +
    'NULL ON OR ORDER OUTER PREPARE RECURSIVE RIGHT ROLLUP SELECT SKIP TABLE THEN TRIM TRUE UESCAPE UNION UNNEST USING VALUES ' +
    'WHEN WHERE WITH LATERAL LIMIT OFFSET FETCH WINDOW'
  ).split(' '),
);

/** An unquoted reserved word at `i`. */
export function isReserved(t: Token | undefined): boolean {
  return t !== undefined && t.type === 'word' && RESERVED.has(t.text.toUpperCase());
}

function key(r: TableRef): string {
  return `${r.catalog}\u0000${r.database}\u0000${r.table}`;
}

function mergeSources(into: Map<string, SourceColumn>, from: readonly SourceColumn[]): void {
  for (const s of from) into.set(`${key(s.table)}\u0000${s.column}`, s);
}

/**
 * Reads queries out of one statement's significant tokens. Every table a FROM item names (CTE
 * names aside) is collected in `tables`; the methods return the queries' output columns.
 */
export class QueryReader {
  readonly tables = new Map<string, TableRef>();
  private readonly partner: Int32Array;
  /** isQuery per opening bracket: 0 not known yet, 1 a query starts there, 2 none does. */
  private readonly queryAt: Uint8Array;
  private readonly deadline: number;
  private steps = 0;

  constructor(
    readonly t: Token[],
    private readonly ctx: SqlContext,
    private readonly options: ReaderOptions = {},
  ) {
    this.deadline = performance.now() + (options.budgetMs ?? DEFAULT_BUDGET_MS);
    this.partner = new Int32Array(t.length).fill(-1);
    this.queryAt = new Uint8Array(t.length);
    const open: number[] = [];
    for (let i = 0; i < t.length; i++) {
      if (isOp(t[i], '(') || isOp(t[i], '[')) open.push(i);
      else if (isOp(t[i], ')') || isOp(t[i], ']')) {
        const o = open.pop();
        if (o === undefined) throw new InvalidStatementError('unbalanced )');
        this.partner[o] = i;
        this.partner[i] = o;
      }
    }
    if (open.length > 0) throw new InvalidStatementError('unbalanced (');
  }

  /** Index of the bracket matching the one at `i`. */
  close(i: number): number {
    const p = this.partner[i] ?? -1;
    if (p < 0) throw new QueryError(`unbalanced bracket at token ${i}`);
    return p;
  }

  private tick(): void {
    if ((++this.steps & 1023) === 0 && performance.now() > this.deadline) {
      throw new BudgetError(`time budget of ${this.options.budgetMs ?? DEFAULT_BUDGET_MS} ms exceeded`);
    }
  }

  /** Resolves a table name as Athena does and records it as read. */
  table(parts: string[]): TableRef {
    const obj = resolveObject(parts, this.ctx);
    if (!obj) throw new QueryError(`table name with ${parts.length} parts`);
    const ref = { catalog: obj.catalog, database: obj.database, table: obj.name };
    this.tables.set(key(ref), ref);
    return ref;
  }

  columnsOf(ref: TableRef): OutputColumn[] | null {
    const cols = this.options.lookup?.(ref);
    if (!cols) return null;
    return cols.map((c) => ({ name: c, sources: [{ table: ref, column: c }], transformation: 'identity' as const }));
  }

  /** Index of the first token in [a, b) at bracket depth 0 for which `test` holds, or b. */
  find(a: number, b: number, test: (i: number) => boolean): number {
    for (let i = a; i < b; i++) {
      this.tick();
      if (isOp(this.t[i], '(') || isOp(this.t[i], '[')) {
        i = this.close(i);
        continue;
      }
      if (test(i)) return i;
    }
    return b;
  }

  /** True when a query starts at `i`: `((SELECT ..) UNION ..)` is one, `((SELECT ..), 2)` is not. */
  isQuery(i: number): boolean {
    const t = this.t;
    const walked: number[] = [];
    let k = i;
    let result: boolean | null = null;
    // A loop, not recursion, and remembered: `((((1))))` nested thousands deep stays linear.
    while (isOp(t[k], '(') && result === null) {
      const known = this.queryAt[k];
      if (known) {
        result = known === 1;
        break;
      }
      walked.push(k);
      const after = t[this.close(k) + 1];
      const closesHere =
        after === undefined || isOp(after, ')') || isWord(after, 'UNION', 'INTERSECT', 'EXCEPT', 'ORDER', 'LIMIT', 'OFFSET', 'FETCH');
      if (!closesHere) result = false;
      else k++;
    }
    result ??= startsQuery(t, k);
    for (const w of walked) this.queryAt[w] = result ? 1 : 2;
    return result;
  }

  // -------------------------------------------------------------------------------------------
  // Queries

  /** A whole query in [a, b): `[WITH ...] body [ORDER BY ...] [OFFSET ...] [LIMIT ...]`. */
  query(a: number, b: number, scope: Scope): OutputColumn[] {
    const t = this.t;
    if (a >= b) throw new QueryError('missing query');
    let i = a;
    let s = scope;
    if (isWord(t[i], 'WITH')) {
      i++;
      const recursive = isWord(t[i], 'RECURSIVE');
      if (recursive) i++;
      const ctes = new Map(scope.ctes);
      for (;;) {
        const name = readQualifiedName(t, i);
        if (!name || name.parts.length !== 1) throw new QueryError('WITH without a name');
        i = name.next;
        let aliases: string[] | null = null;
        if (isOp(t[i], '(')) {
          const c = this.close(i);
          aliases = this.names(i + 1, c);
          i = c + 1;
        }
        if (!isWord(t[i], 'AS') || !isOp(t[i + 1], '(')) throw new QueryError('WITH item without AS (query)');
        const c = this.close(i + 1);
        // A recursive query sees its own name; its columns are what its base (first) branch gives.
        const inner: Scope = recursive ? { ...scope, ctes: new Map([...ctes, [name.parts[0]!, []]]) } : { ...scope, ctes };
        const cols = rename(this.query(i + 2, c, inner), aliases);
        ctes.set(name.parts[0]!, cols);
        i = c + 1;
        if (!isOp(t[i], ',')) break;
        i++;
      }
      s = { ...scope, ctes };
    }
    return this.setExpression(i, b, s);
  }

  /** Branches joined by UNION / INTERSECT / EXCEPT: columns merge by position. */
  private setExpression(a: number, b: number, scope: Scope): OutputColumn[] {
    const t = this.t;
    let out: OutputColumn[] | null = null;
    let i = a;
    while (i < b) {
      const end = this.find(i, b, (k) => isWord(t[k], 'UNION', 'INTERSECT', 'EXCEPT'));
      const cols = this.term(i, end, scope);
      out = out === null ? cols : unionColumns(out, cols);
      i = end + 1;
      if (isWord(t[i], 'ALL', 'DISTINCT')) i++;
      if (end < b && i >= b) throw new QueryError('set operation without a right side');
    }
    if (out === null) throw new QueryError('missing query');
    return out;
  }

  private term(a: number, b: number, scope: Scope): OutputColumn[] {
    const t = this.t;
    const x = t[a];
    if (isWord(x, 'SELECT')) return this.select(a, b, scope);
    if (isWord(x, 'VALUES')) return this.values(a + 1, b, scope);
    if (isWord(x, 'TABLE')) {
      const name = isReserved(t[a + 1]) ? null : readQualifiedName(t, a + 1);
      if (!name) throw new QueryError('TABLE without a name');
      this.tail(name.next, b, scope);
      return this.named(name.parts, scope)?.columns ?? [unknownColumn()];
    }
    if (isOp(x, '(')) {
      const c = this.close(a);
      const cols = this.query(a + 1, c, scope);
      this.tail(c + 1, b, scope);
      return cols;
    }
    throw new QueryError(`expected a query, found ${x ? JSON.stringify(x.text.slice(0, 20)) : 'the end'}`);
  }

  /** ORDER BY / OFFSET / LIMIT / FETCH after a parenthesised query or TABLE: read for subqueries. */
  private tail(a: number, b: number, scope: Scope): void {
    if (a >= b) return;
    if (!isWord(this.t[a], 'ORDER', 'OFFSET', 'LIMIT', 'FETCH')) throw new QueryError(`unexpected ${JSON.stringify(this.t[a]!.text)}`);
    this.expression(a, b, scope, []);
  }

  /** VALUES rows: no table, unless a row holds a subquery. One output column per value of the first row. */
  private values(a: number, b: number, scope: Scope): OutputColumn[] {
    const t = this.t;
    let width = 0;
    let first = true;
    let i = a;
    while (i < b) {
      const end = this.find(i, b, (k) => isOp(t[k], ','));
      if (isOp(t[i], '(') && this.close(i) === end - 1) {
        if (first) width = this.split(i + 1, end - 1).length;
      } else if (first) width = 1;
      first = false;
      this.expression(i, end, scope, []);
      i = end + 1;
    }
    return Array.from({ length: width }, () => ({ name: null, sources: [], transformation: 'expression' as const }));
  }

  /** [a, b) split at depth-0 commas into [start, end) ranges. */
  split(a: number, b: number): [number, number][] {
    const out: [number, number][] = [];
    let i = a;
    while (i < b) {
      const end = this.find(i, b, (k) => isOp(this.t[k], ','));
      out.push([i, end]);
      i = end + 1;
    }
    return out;
  }

  /** Identifiers of a parenthesised name list (column aliases, INSERT columns). */
  names(a: number, b: number): string[] {
    return this.split(a, b).map(([s, e]) => {
      const n = readQualifiedName(this.t, s);
      if (!n) throw new QueryError('expected a column name');
      // A column definition (`c varchar`) keeps only its name.
      if (n.next < e && !isWord(this.t[n.next])) throw new QueryError('expected a column name');
      return n.parts[n.parts.length - 1]!;
    });
  }

  private select(a: number, b: number, scope: Scope): OutputColumn[] {
    const t = this.t;
    let i = a + 1;
    if (isWord(t[i], 'DISTINCT', 'ALL')) i++;
    const clause = (k: number): boolean => {
      const x = t[k];
      if (!x || x.type !== 'word') return false;
      const w = x.text.toUpperCase();
      if (w === 'FROM') return !isWord(t[k - 1], 'DISTINCT');
      if (w === 'WHERE' || w === 'HAVING') return true;
      if (w === 'GROUP' || w === 'ORDER') return isWord(t[k + 1], 'BY');
      if (w === 'WINDOW') return isWord(t[k + 2], 'AS');
      if (w === 'LIMIT') return t[k + 1]?.type === 'number' || t[k + 1]?.type === 'parameter' || isWord(t[k + 1], 'ALL');
      if (w === 'OFFSET') return t[k + 1]?.type === 'number' || t[k + 1]?.type === 'parameter';
      if (w === 'FETCH') return isWord(t[k + 1], 'FIRST', 'NEXT');
      return false;
    };
    const listEnd = this.find(i, b, clause);
    if (listEnd === i) throw new QueryError('empty select list');
    let relations: Relation[] = [];
    let rest = listEnd;
    if (isWord(t[listEnd], 'FROM')) {
      const fromEnd = this.find(listEnd + 1, b, (k) => k > listEnd && clause(k));
      if (fromEnd === listEnd + 1) throw new QueryError('FROM without a relation');
      relations = this.from(listEnd + 1, fromEnd, scope);
      rest = fromEnd;
    }
    const inner: Scope = { ctes: scope.ctes, outer: [...relations, ...scope.outer] };
    const out: OutputColumn[] = [];
    for (const [s, e] of this.split(i, listEnd)) out.push(...this.selectItem(s, e, relations, inner));
    // WHERE, GROUP BY, HAVING, WINDOW, ORDER BY, LIMIT: only their subqueries matter.
    if (rest < b) this.expression(rest + 1, b, inner, relations);
    return out;
  }

  private selectItem(a: number, b: number, relations: Relation[], scope: Scope): OutputColumn[] {
    const t = this.t;
    if (a >= b) throw new QueryError('empty select item');
    if (isOp(t[a], '*') && b === a + 1) return relations.flatMap((r) => r.columns ?? [unknownColumn()]);
    // qualifier.* [AS (aliases)]
    const q = readQualifiedName(t, a);
    if (q && isOp(t[q.next], '.') && isOp(t[q.next + 1], '*')) {
      let cols: OutputColumn[] = [unknownColumn()];
      const r = this.qualified(q.parts, relations);
      if (r) cols = r.relation.columns ?? [unknownColumn()];
      let k = q.next + 2;
      if (isWord(t[k], 'AS') && isOp(t[k + 1], '(')) {
        cols = rename(cols, this.names(k + 2, this.close(k + 1)));
        k = this.close(k + 1) + 1;
      }
      if (k !== b) throw new QueryError('unexpected tokens after .*');
      return cols;
    }
    let end = b;
    let alias: string | null = null;
    const last = t[b - 1]!;
    const before = t[b - 2];
    if (b - a >= 2 && isName(last) && isWord(before, 'AS')) {
      alias = nameOf(last);
      end = b - 2;
    } else if (
      b - a >= 2 &&
      isName(last) &&
      !(last.type === 'word' && NOT_SELECT_ALIAS.has(last.text.toUpperCase())) &&
      before !== undefined &&
      (isName(before) || before.type === 'string' || before.type === 'number' || isOp(before, ')') || isOp(before, ']')) &&
      !isWord(before, 'AT', 'ZONE', 'INTERVAL', 'CASE', 'WHEN', 'THEN', 'ELSE', 'AND', 'OR', 'NOT', 'IS', 'IN', 'LIKE', 'DISTINCT')
    ) {
      alias = nameOf(last);
      end = b - 1;
    }
    const col = this.expression(a, end, scope, relations);
    const bare = readQualifiedName(t, a);
    if (alias === null && bare && bare.next === end && !isWord(t[a], ...EXPRESSION_KEYWORDS)) alias = bare.parts[bare.parts.length - 1]!;
    return [{ ...col, name: alias }];
  }

  // -------------------------------------------------------------------------------------------
  // FROM

  /** FROM items in [a, b): comma-separated join trees, Hive LATERAL VIEWs included. */
  from(a: number, b: number, scope: Scope): Relation[] {
    const t = this.t;
    const out: Relation[] = [];
    let i = a;
    while (i < b) {
      this.tick();
      if (isOp(t[i], ',')) {
        i++;
        continue;
      }
      if (isWord(t[i], 'LATERAL') && isWord(t[i + 1], 'VIEW')) {
        i = this.lateralView(i + 2, scope, out);
        continue;
      }
      let k = i;
      if (isWord(t[k], 'NATURAL')) k++;
      if (isWord(t[k], 'LEFT', 'RIGHT', 'FULL')) {
        k++;
        if (isWord(t[k], 'OUTER')) k++;
      } else if (isWord(t[k], 'INNER', 'CROSS')) k++;
      if (isWord(t[k], 'JOIN')) {
        i = this.joined(k + 1, b, scope, out);
        continue;
      }
      if (isWord(t[k], 'APPLY')) throw new QueryError('APPLY is not Athena SQL');
      if (i !== a && !isOp(t[i - 1], ',')) throw new QueryError(`unexpected ${JSON.stringify(t[i]!.text)} in FROM`);
      i = this.relation(i, b, scope, out);
    }
    return out;
  }

  /** The relation after JOIN and its ON condition or USING list; returns the index after them. */
  private joined(a: number, b: number, scope: Scope, out: Relation[]): number {
    const t = this.t;
    let i = this.relation(a, b, scope, out);
    if (isWord(t[i], 'ON')) {
      const end = this.find(i + 1, b, (k) => isOp(t[k], ',') || isJoinStart(t, k));
      this.expression(i + 1, end, { ...scope, outer: [...out, ...scope.outer] }, out);
      i = end;
    } else if (isWord(t[i], 'USING') && isOp(t[i + 1], '(')) i = this.close(i + 1) + 1;
    return i;
  }

  /** LATERAL VIEW [OUTER] fn(args) alias [AS col, ...] (Hive). */
  private lateralView(a: number, scope: Scope, out: Relation[]): number {
    const t = this.t;
    let i = a;
    if (isWord(t[i], 'OUTER')) i++;
    const fn = readQualifiedName(t, i);
    if (!fn || !isOp(t[fn.next], '(')) throw new QueryError('LATERAL VIEW without a function');
    const c = this.close(fn.next);
    const feed = this.expression(fn.next + 1, c, { ...scope, outer: [...out, ...scope.outer] }, out);
    i = c + 1;
    let alias: string | null = null;
    if (isName(t[i]) && !isWord(t[i], 'AS')) alias = nameOf(t[i]!);
    if (alias !== null) i++;
    const cols: OutputColumn[] = [];
    if (isWord(t[i], 'AS')) {
      i++;
      for (;;) {
        const n = readQualifiedName(t, i);
        if (!n) throw new QueryError('LATERAL VIEW AS without a column name');
        cols.push({ name: n.parts[0]!, sources: feed.sources, transformation: 'expression' });
        i = n.next;
        if (!(isOp(t[i], ',') && isName(t[i + 1]) && !isWord(t[i + 1], 'LATERAL'))) break;
        // `, name` continues the column list unless a FROM item follows (`, tbl alias`, `, db.tbl`).
        if (isName(t[i + 2]) || isOp(t[i + 2], '.') || isOp(t[i + 2], '(')) break;
        i++;
      }
    }
    out.push({ alias, base: null, columns: cols });
    return i;
  }

  /** One relation with its alias, column aliases, MATCH_RECOGNIZE and TABLESAMPLE; returns the index after it. */
  private relation(a: number, b: number, scope: Scope, out: Relation[]): number {
    const t = this.t;
    let i = a;
    let rel: Relation;
    const lateralScope: Scope = { ...scope, outer: [...out, ...scope.outer] };
    if (isWord(t[i], 'LATERAL') && isOp(t[i + 1], '(')) i++;
    if (isOp(t[i], '(')) {
      const c = this.close(i);
      if (this.isQuery(i + 1)) rel = { alias: null, base: null, columns: this.query(i + 1, c, lateralScope) };
      else {
        // A parenthesised join: its relations stay visible by their own aliases.
        const inner = this.from(i + 1, c, scope);
        i = c + 1;
        const alias = this.alias(i, b);
        if (alias.name === null) {
          out.push(...inner);
          return alias.next;
        }
        rel = { alias: null, base: null, columns: inner.flatMap((r) => r.columns ?? [unknownColumn()]) };
        return this.suffixes(c + 1, b, rel, out, scope);
      }
      i = c + 1;
    } else if (isWord(t[i], 'UNNEST') && isOp(t[i + 1], '(')) {
      const c = this.close(i + 1);
      const cols = this.split(i + 2, c).map(([s, e]) => ({ ...this.expression(s, e, lateralScope, out), name: null }));
      i = c + 1;
      if (isWord(t[i], 'WITH') && isWord(t[i + 1], 'ORDINALITY')) {
        cols.push({ name: null, sources: [], transformation: 'expression' });
        i += 2;
      }
      rel = { alias: null, base: null, columns: cols.map((col) => ({ ...col, transformation: 'expression' as const })) };
    } else if (isWord(t[i], 'TABLE') && isOp(t[i + 1], '(')) {
      // A table function: its arguments are read for subqueries; what it returns is unknown.
      const c = this.close(i + 1);
      this.expression(i + 2, c, lateralScope, out);
      rel = { alias: null, base: null, columns: null };
      i = c + 1;
    } else {
      const name = isReserved(t[i]) ? null : readQualifiedName(t, i);
      if (!name) throw new QueryError(`expected a table, found ${t[i] ? JSON.stringify(t[i]!.text.slice(0, 20)) : 'the end'}`);
      if (isOp(t[name.next], '(')) {
        // A function in FROM (Hive `explode(..)`, Trino polymorphic functions): not a table.
        const c = this.close(name.next);
        this.expression(name.next + 1, c, lateralScope, out);
        rel = { alias: null, base: null, columns: null };
        i = c + 1;
      } else {
        rel = this.named(name.parts, scope) ?? { alias: null, base: null, columns: null };
        i = name.next;
      }
    }
    return this.suffixes(i, b, rel, out, scope);
  }

  /** A table or CTE by name, recording tables. */
  private named(parts: string[], scope: Scope): Relation | null {
    const cte = parts.length === 1 ? scope.ctes.get(parts[0]!) : undefined;
    if (cte) return { alias: parts[0]!, base: null, columns: cte.length ? cte : null };
    const ref = this.table(parts);
    return { alias: ref.table, base: ref, columns: this.columnsOf(ref) };
  }

  private suffixes(a: number, b: number, rel: Relation, out: Relation[], scope: Scope): number {
    const t = this.t;
    let i = a;
    // One alias per relation; MATCH_RECOGNIZE makes a new relation, which may have its own.
    let aliased = false;
    for (;;) {
      this.tick();
      if (
        isWord(t[i], 'FOR') &&
        isWord(t[i + 1], 'TIMESTAMP', 'VERSION', 'SYSTEM_TIME', 'SYSTEM_VERSION') &&
        isWord(t[i + 2], 'AS') &&
        isWord(t[i + 3], 'OF')
      ) {
        // Time travel: the version or instant does not change which table is read.
        const from = i + 4;
        i = this.find(
          from,
          b,
          (k) => k > from && (isOp(t[k], ',') || isJoinStart(t, k) || isWord(t[k], 'ON', 'USING', 'TABLESAMPLE') || startsAlias(t, k)),
        );
        continue;
      }
      if (isWord(t[i], 'TABLESAMPLE')) {
        if (!isWord(t[i + 1]) || !isOp(t[i + 2], '(')) throw new QueryError('TABLESAMPLE without a method and size');
        i = this.close(i + 2) + 1;
        continue;
      }
      if (isWord(t[i], 'MATCH_RECOGNIZE') && isOp(t[i + 1], '(')) {
        // Its output is the partition columns and measures: the relation's columns are no longer known.
        const c = this.close(i + 1);
        this.expression(i + 2, c, scope, [rel]);
        rel = { alias: null, base: null, columns: null };
        i = c + 1;
        aliased = false;
        continue;
      }
      if (aliased) break;
      const alias = this.alias(i, b);
      if (alias.name === null) break;
      aliased = true;
      rel = { ...rel, alias: alias.name };
      i = alias.next;
      if (isOp(t[i], '(')) {
        const c = this.close(i);
        const names = this.names(i + 1, c);
        rel = { ...rel, columns: rename(rel.columns ?? names.map(() => unknownColumn()), names) };
        i = c + 1;
      }
    }
    out.push(rel);
    return i;
  }

  private alias(i: number, b: number): { name: string | null; next: number } {
    const t = this.t;
    if (i >= b) return { name: null, next: i };
    let k = i;
    if (isWord(t[k], 'AS')) k++;
    const x = t[k];
    if (!isName(x) || (x.type === 'word' && NOT_ALIAS.has(x.text.toUpperCase()) && k === i)) {
      if (k !== i) throw new QueryError('AS without an alias');
      return { name: null, next: i };
    }
    return { name: nameOf(x!), next: k + 1 };
  }

  // -------------------------------------------------------------------------------------------
  // Expressions

  /**
   * Reads the expression in [a, b): the columns it uses (resolved against `relations`, then outer
   * ones), whether it aggregates, and every subquery in it (whose tables are recorded).
   */
  expression(a: number, b: number, scope: Scope, relations: readonly Relation[]): OutputColumn {
    const t = this.t;
    const sources = new Map<string, SourceColumn>();
    let transformation: Transformation = 'expression';
    let aggregate = false;
    let refs = 0;
    let identityOf: OutputColumn | null = null;
    const lambdas = new Set<string>();
    for (let i = a; i < b; i++) {
      this.tick();
      const x = t[i]!;
      if (isOp(x, '(') || isOp(x, '[')) {
        if (isOp(x, '(') && this.isQuery(i + 1)) {
          const c = this.close(i);
          const cols = this.query(i + 1, c, { ...scope, outer: [...relations, ...scope.outer] });
          for (const col of cols) {
            mergeSources(sources, col.sources);
            if (col.transformation === 'aggregate') aggregate = true;
          }
          refs += 2;
          i = c;
        } else if (isOp(x, '(') && isOp(t[this.close(i) + 1], '->')) {
          for (const [s] of this.split(i + 1, this.close(i))) if (isName(t[s])) lambdas.add(nameOf(t[s]!));
        }
        continue;
      }
      if (!isName(x)) continue;
      if (isOp(t[i - 1], '.') && i > a) continue; // a field of something before
      const upper = x.type === 'word' ? x.text.toUpperCase() : '';
      const n = readQualifiedName(t, i);
      if (!n) continue; // `x.*` and other member forms name no column of their own
      const next = t[n.next];
      if (isOp(next, '(')) {
        const fn = n.parts[n.parts.length - 1]!.toUpperCase();
        if (AGGREGATES.has(fn)) aggregate = true;
        refs += 2;
        if (fn === 'EXTRACT' && isName(t[n.next + 1])) i = n.next + 1;
        else if ((upper === 'CAST' || upper === 'TRY_CAST') && n.parts.length === 1) {
          // The type after AS names no column.
          const c = this.close(n.next);
          const as = this.find(n.next + 1, c, (k) => isWord(t[k], 'AS'));
          const inner = this.expression(n.next + 1, as, scope, relations);
          mergeSources(sources, inner.sources);
          if (inner.transformation === 'aggregate') aggregate = true;
          i = c;
        } else if (upper === 'OVER' || upper === 'FILTER') {
          // Window specs and aggregate filters pick rows; they are not where values come from.
          i = this.close(n.next);
          this.expression(n.next + 1, i, scope, []);
        } else i = n.next - 1;
        continue;
      }
      if (upper === 'OVER' && isName(next)) {
        i++;
        continue;
      }
      if (next?.type === 'string' && n.parts.length === 1) {
        i = n.next; // a typed literal: DATE '..', JSON '..', DECIMAL '..'
        continue;
      }
      if (isOp(next, '->')) {
        lambdas.add(n.parts[0]!);
        i = n.next;
        continue;
      }
      if (x.type === 'word' && n.parts.length === 1 && EXPRESSION_KEYWORDS.has(upper)) continue;
      i = n.next - 1;
      if (lambdas.has(n.parts[0]!)) continue;
      refs++;
      const col = this.resolve(n.parts, relations, scope);
      if (col) {
        mergeSources(sources, col.sources);
        if (col.transformation === 'aggregate') aggregate = true;
        identityOf = col;
      }
    }
    if (aggregate) transformation = 'aggregate';
    else if (refs === 1 && identityOf !== null && readQualifiedName(t, a)?.next === b) transformation = identityOf.transformation;
    return { name: null, sources: [...sources.values()], transformation };
  }

  /** The relation a qualifier names: its alias, or a table by its (qualified) name. */
  private qualified(parts: string[], relations: readonly Relation[]): { relation: Relation; used: number } | null {
    for (const r of relations) if (r.alias !== null && r.alias === parts[0]) return { relation: r, used: 1 };
    if (parts.length >= 2) {
      for (const r of relations) {
        const b = r.base;
        if (b && b.database === parts[0] && b.table === parts[1] && r.alias === b.table) return { relation: r, used: 2 };
      }
    }
    return null;
  }

  private resolve(parts: string[], relations: readonly Relation[], scope: Scope): OutputColumn | null {
    for (const rels of [relations, scope.outer]) {
      if (parts.length >= 2) {
        const q = this.qualified(parts.slice(0, -1), rels);
        if (q && q.used === parts.length - 1) return columnOf(q.relation, parts[q.used]!);
      }
      // Unqualified, or a row field of a column (`col.field`).
      const name = parts[0]!;
      if (parts.length >= 2 && this.qualified(parts.slice(0, 1), rels))
        return columnOf(this.qualified(parts.slice(0, 1), rels)!.relation, parts[1]!);
      const known = rels.filter((r) => r.columns?.some((c) => c.name === name));
      if (known.length === 1) return columnOf(known[0]!, name);
      if (known.length > 1) return null;
      const open = rels.filter((r) => r.columns === null || r.columns.some((c) => c.unknown));
      if (open.length === 1) return columnOf(open[0]!, name);
      if (rels.length > 0) return null;
    }
    return null;
  }
}

function columnOf(r: Relation, name: string): OutputColumn | null {
  const known = r.columns?.find((c) => c.name === name);
  if (known) return known;
  if (r.base && (r.columns === null || r.columns.some((c) => c.unknown))) {
    return { name, sources: [{ table: r.base, column: name }], transformation: 'identity' };
  }
  return null;
}

function unknownColumn(): OutputColumn {
  return { name: null, sources: [], transformation: 'expression', unknown: true };
}

function rename(cols: OutputColumn[], names: string[] | null): OutputColumn[] {
  if (names === null) return cols;
  if (cols.some((c) => c.unknown)) return names.map((n) => ({ name: n, sources: [], transformation: 'expression' as const }));
  return cols.map((c, i) => ({ ...c, name: names[i] ?? c.name }));
}

function unionColumns(a: OutputColumn[], b: OutputColumn[]): OutputColumn[] {
  const unknownAt = (cols: OutputColumn[]): number => {
    const i = cols.findIndex((c) => c.unknown);
    return i < 0 ? cols.length : i;
  };
  const width = Math.min(unknownAt(a), unknownAt(b));
  const out: OutputColumn[] = [];
  for (let i = 0; i < width; i++) {
    const x = a[i]!;
    const y = b[i]!;
    const sources = new Map<string, SourceColumn>();
    mergeSources(sources, x.sources);
    mergeSources(sources, y.sources);
    const kind: Transformation =
      x.transformation === 'aggregate' || y.transformation === 'aggregate'
        ? 'aggregate'
        : x.transformation === 'identity' && y.transformation === 'identity'
          ? 'identity'
          : 'expression';
    out.push({ name: x.name, sources: [...sources.values()], transformation: kind });
  }
  if (width < a.length || width < b.length) out.push(unknownColumn());
  return out;
}

/** The name one identifier token stands for, as Athena resolves it. */
function nameOf(x: Token): string {
  return readQualifiedName([x], 0)?.parts[0] ?? x.text.toLowerCase();
}

function isName(x: Token | undefined): boolean {
  return x !== undefined && (x.type === 'word' || x.type === 'quoted_identifier' || x.type === 'backquoted_identifier');
}

/** A name at `k` that cannot continue the expression before it: the alias after a time-travel value. */
function startsAlias(t: Token[], k: number): boolean {
  const x = t[k];
  if (!isName(x) || (x!.type === 'word' && EXPRESSION_KEYWORDS.has(x!.text.toUpperCase()) && !isWord(x, 'AS'))) return false;
  const p = t[k - 1];
  if (p === undefined || (p.type === 'operator' && !isOp(p, ')'))) return false;
  return !isWord(p, 'TIMESTAMP', 'DATE', 'TIME', 'INTERVAL', 'AT', 'ZONE', 'OF');
}

function isJoinStart(t: Token[], k: number): boolean {
  if (isWord(t[k], 'JOIN')) return true;
  if (isWord(t[k], 'LEFT', 'RIGHT', 'FULL')) return isWord(t[k + 1], 'JOIN', 'OUTER');
  if (isWord(t[k], 'INNER', 'CROSS', 'NATURAL')) return isWord(t[k + 1], 'JOIN', 'LEFT', 'RIGHT', 'FULL', 'INNER');
  return isWord(t[k], 'LATERAL') && isWord(t[k + 1], 'VIEW');
}

/** True when a query starts at `i`, past any opening brackets. */
export function startsQuery(t: Token[], i: number): boolean {
  let k = i;
  while (isOp(t[k], '(')) k++;
  return isWord(t[k], ...QUERY_START) && !(isWord(t[k], 'TABLE') && isOp(t[k + 1], '('));
}
