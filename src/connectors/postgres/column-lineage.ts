/**
 * Which source columns each output column of a query derives from, read from PostgreSQL's own parse tree
 * (libpg-query: the server's parser). Used for views and materialized views, whose query the server
 * prints fully expanded (`pg_get_viewdef`: no `*`, every column qualified where two relations could hold
 * it); the caller then keeps only the pairs the server's dependency records confirm, so what is written
 * is never a guess. Anything the reader cannot follow (a set-returning function, LATERAL, a column two
 * relations could hold) gives that output no sources rather than wrong ones.
 */
import { parseSync } from 'libpg-query';

export type Transformation = 'identity' | 'expression' | 'aggregate';

export interface RelationName {
  /** Absent when the query left it unqualified. */
  schema?: string;
  name: string;
}

export interface ColumnSource {
  table: RelationName;
  column: string;
}

export interface OutputColumn {
  name: string;
  sources: ColumnSource[];
  transformation: Transformation;
}

/** The columns a table is known to have (for unqualified names); undefined when unknown. */
export type KnownColumns = (table: RelationName) => readonly string[] | undefined;

type Node = Record<string, unknown>;

/** PostgreSQL's aggregate functions that turn many rows into one value (FuncCall nodes name them). */
const AGGREGATES = new Set(
  (
    'array_agg avg bit_and bit_or bit_xor bool_and bool_or count every json_agg jsonb_agg json_object_agg jsonb_object_agg ' +
    'max min range_agg range_intersect_agg string_agg sum xmlagg corr covar_pop covar_samp regr_avgx regr_avgy regr_count ' +
    'regr_intercept regr_r2 regr_slope regr_sxx regr_sxy regr_syy stddev stddev_pop stddev_samp variance var_pop var_samp ' +
    'mode percentile_cont percentile_disc any_value'
  ).split(' '),
);

const RANK: Record<Transformation, number> = { identity: 0, expression: 1, aggregate: 2 };
const worst = (a: Transformation, b: Transformation): Transformation => (RANK[a] >= RANK[b] ? a : b);

const obj = (v: unknown): Node | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Node) : undefined);
const list = (v: unknown): Node[] => (Array.isArray(v) ? (v as Node[]) : []);
const str = (n: Node): string | undefined => obj(n.String)?.sval as string | undefined;

interface Relation {
  /** What a qualifier matches: the alias, else the relation's own name. */
  alias: string;
  table?: RelationName;
  /** A subquery's or CTE's outputs. */
  derived?: OutputColumn[];
}

type Ctes = Map<string, OutputColumn[]>;

/** The output columns of one SELECT statement's text; null when it is not one query the reader follows. */
export function queryColumns(sql: string, known: KnownColumns): OutputColumn[] | null {
  let tree: { stmts?: { stmt?: Node }[] };
  try {
    tree = parseSync(sql) as typeof tree;
  } catch {
    return null;
  }
  const stmt = tree.stmts?.length === 1 ? obj(tree.stmts[0]!.stmt?.SelectStmt) : undefined;
  if (!stmt) return null;
  return selectColumns(stmt, known);
}

/** The output columns of a parsed SelectStmt node; null when the reader cannot follow it. */
export function selectColumns(select: Record<string, unknown>, known: KnownColumns): OutputColumn[] | null {
  return new Reader(known).select(select, new Map());
}

class Reader {
  constructor(private readonly known: KnownColumns) {}

  select(s: Node, outer: Ctes): OutputColumn[] | null {
    const ctes = new Map(outer);
    for (const c of list(obj(s.withClause)?.ctes)) {
      const cte = obj(c.CommonTableExpr);
      const q = obj(obj(cte?.ctequery)?.SelectStmt);
      if (!cte || typeof cte.ctename !== 'string') continue;
      // A recursive CTE refers to itself: its first branch alone says where its columns start.
      const out = q ? this.select(q, ctes) : null;
      if (out) ctes.set(cte.ctename, renamed(out, list(cte.aliascolnames)));
    }
    const op = s.op as string | undefined;
    if (op && op !== 'SETOP_NONE') {
      const l = obj(s.larg);
      const r = obj(s.rarg);
      const left = l ? this.select(l, ctes) : null;
      const right = r ? this.select(r, ctes) : null;
      if (!left) return null;
      // A branch that cannot be read still passes its columns' names from the left; its sources are lost.
      return left.map((c, i) => {
        const o = right?.[i];
        return o
          ? { name: c.name, sources: [...c.sources, ...o.sources], transformation: worst(c.transformation, o.transformation) }
          : { ...c, transformation: worst(c.transformation, 'expression') };
      });
    }
    if (s.valuesLists) return null;
    const relations: Relation[] = [];
    for (const f of list(s.fromClause)) if (!this.from(f, ctes, relations)) return null;
    const out: OutputColumn[] = [];
    for (const t of list(s.targetList)) {
      const rt = obj(t.ResTarget);
      if (!rt) return null;
      const val = obj(rt.val);
      const star = val ? starOf(val) : undefined;
      if (star !== undefined) {
        const expanded = this.star(star, relations);
        if (!expanded) return null;
        out.push(...expanded);
        continue;
      }
      const found = new Map<string, ColumnSource>();
      let inner: Transformation = 'identity';
      for (const ref of columnRefs(val)) {
        const r = this.resolve(ref, relations);
        for (const src of r?.sources ?? []) if (!found.has(key(src))) found.set(key(src), src);
        if (r) inner = worst(inner, r.transformation);
      }
      const own: Transformation = val && obj(val.ColumnRef) ? 'identity' : hasAggregate(val) ? 'aggregate' : 'expression';
      out.push({
        name: (rt.name as string | undefined) ?? defaultName(val),
        sources: [...found.values()],
        transformation: worst(own, inner),
      });
    }
    return out;
  }

  /** Adds a FROM item's relations; false when it is one the reader cannot follow. */
  private from(f: Node, ctes: Ctes, into: Relation[]): boolean {
    const rv = obj(f.RangeVar);
    if (rv) {
      const name = rv.relname as string;
      const alias = (obj(rv.alias)?.aliasname as string | undefined) ?? name;
      const cte = rv.schemaname === undefined ? ctes.get(name) : undefined;
      if (cte) into.push({ alias, derived: renamed(cte, list(obj(rv.alias)?.colnames)) });
      else into.push({ alias, table: { ...(typeof rv.schemaname === 'string' ? { schema: rv.schemaname } : {}), name } });
      return true;
    }
    const join = obj(f.JoinExpr);
    if (join) {
      const l = obj(join.larg);
      const r = obj(join.rarg);
      return Boolean(l && r && this.from(l, ctes, into) && this.from(r, ctes, into));
    }
    const sub = obj(f.RangeSubselect);
    if (sub && !sub.lateral) {
      const q = obj(obj(sub.subquery)?.SelectStmt);
      const out = q ? this.select(q, ctes) : null;
      const alias = obj(sub.alias)?.aliasname as string | undefined;
      if (!out || !alias) return false;
      into.push({ alias, derived: renamed(out, list(obj(sub.alias)?.colnames)) });
      return true;
    }
    return false;
  }

  /** `*` or `t.*`: every column of the relations in order, as identity. */
  private star(qualifier: string | null, relations: Relation[]): OutputColumn[] | null {
    const out: OutputColumn[] = [];
    for (const r of relations) {
      if (qualifier !== null && r.alias !== qualifier) continue;
      if (r.derived) out.push(...r.derived);
      else {
        const cols = this.known(r.table!);
        if (!cols) return null;
        out.push(...cols.map((c) => ({ name: c, sources: [{ table: r.table!, column: c }], transformation: 'identity' as const })));
      }
    }
    return out;
  }

  /** A column reference's sources: `t.c` by qualifier, `c` where exactly one relation has it. */
  private resolve(ref: string[], relations: Relation[]): { sources: ColumnSource[]; transformation: Transformation } | undefined {
    const column = ref[ref.length - 1]!;
    const qualifier = ref.length >= 2 ? ref[ref.length - 2] : undefined;
    const holders = relations.filter((r) =>
      qualifier !== undefined
        ? r.alias === qualifier
        : r.derived
          ? r.derived.some((c) => c.name === column)
          : (this.known(r.table!)?.includes(column) ?? false),
    );
    // One table in scope whose columns are not known: an unqualified name can only be one of its columns.
    if (holders.length === 0 && qualifier === undefined && relations.length === 1 && relations[0]!.table) {
      if (this.known(relations[0]!.table) === undefined) holders.push(relations[0]!);
    }
    if (holders.length !== 1) return undefined;
    const r = holders[0]!;
    if (r.table) return { sources: [{ table: r.table, column }], transformation: 'identity' };
    const d = r.derived!.find((c) => c.name === column);
    return d ? { sources: d.sources, transformation: d.transformation } : undefined;
  }
}

const key = (s: ColumnSource) => `${s.table.schema ?? ''}\u0000${s.table.name}\u0000${s.column}`;

function renamed(cols: OutputColumn[], names: Node[]): OutputColumn[] {
  const n = names.map(str);
  return cols.map((c, i) => (n[i] ? { ...c, name: n[i]! } : c));
}

/** `*` (null) or `t.*` ('t') when the expression is a star; undefined otherwise. */
function starOf(val: Node): string | null | undefined {
  const fields = list(obj(val.ColumnRef)?.fields);
  if (!fields.length || !obj(fields[fields.length - 1]!.A_Star)) return undefined;
  return fields.length >= 2 ? (str(fields[fields.length - 2]!) ?? null) : null;
}

/** Every column reference in an expression, as name parts; subqueries inside it are not entered. */
function columnRefs(v: unknown, out: string[][] = []): string[][] {
  if (Array.isArray(v)) for (const x of v) columnRefs(x, out);
  else if (v !== null && typeof v === 'object') {
    const n = v as Node;
    const ref = obj(n.ColumnRef);
    if (ref) {
      const parts = list(ref.fields).map(str);
      if (parts.every((p): p is string => p !== undefined)) out.push(parts);
      return out;
    }
    if (obj(n.SubLink)) return out;
    for (const x of Object.values(n)) columnRefs(x, out);
  }
  return out;
}

function hasAggregate(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(hasAggregate);
  if (v === null || typeof v !== 'object') return false;
  const n = v as Node;
  const call = obj(n.FuncCall);
  if (call && !call.over) {
    const names = list(call.funcname).map(str);
    if (AGGREGATES.has(names[names.length - 1] ?? '')) return true;
  }
  if (obj(n.SubLink)) return false;
  return Object.values(n).some(hasAggregate);
}

/** The name PostgreSQL gives an unnamed output column: the column's or function's name, else ?column?. */
function defaultName(val: Node | undefined): string {
  const ref = list(obj(val?.ColumnRef)?.fields);
  if (ref.length) return str(ref[ref.length - 1]!) ?? '?column?';
  const fn = list(obj(val?.FuncCall)?.funcname);
  if (fn.length) return str(fn[fn.length - 1]!) ?? '?column?';
  const cast = obj(val?.TypeCast);
  return cast ? defaultName(obj(cast.arg)) : '?column?';
}
