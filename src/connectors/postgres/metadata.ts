/**
 * `metadata` rows of one schema: a row per column of every table, partitioned table, partition, view,
 * materialized view and foreign table, read a page of relations at a time.
 */
import type { ExtractContext, ExtractUnit, UnitOutput } from '../../contracts/plugin';
import type { PostgresSessions } from './client';
import { columnsOf, constraintsOf, tablePage, type ColumnRow, type ConstraintRow, type TableRow } from './catalog';

/** pg_class.relkind as the `table_type` column says it (docs/postgres.md). */
export const TABLE_TYPES: Readonly<Record<string, string>> = {
  r: 'BASE TABLE',
  p: 'PARTITIONED TABLE',
  v: 'VIEW',
  m: 'MATERIALIZED VIEW',
  f: 'FOREIGN TABLE',
};

const CONSTRAINT_KINDS: Readonly<Record<string, string>> = { p: 'PRIMARY KEY', u: 'UNIQUE', f: 'FOREIGN KEY' };
const IDENTITY: Readonly<Record<string, string>> = { a: 'ALWAYS', d: 'BY DEFAULT' };

export function metadataUnitKey(database: string, schema: string): string {
  return `metadata:${database}.${schema}`;
}

export function metadataUnit(s: PostgresSessions, ctx: ExtractContext, database: string, schema: string): ExtractUnit {
  return {
    key: metadataUnitKey(database, schema),
    async run(out) {
      // While one page's rows are written, the next page is already being read (two sessions at most).
      const fetchPage = async (after: number): Promise<Page | null> => {
        const tables = await tablePage(s, database, schema, after, ctx.signal);
        if (!tables.length) return null;
        const oids = tables.map((t) => t.oid);
        const [columns, constraints] = await Promise.all([
          columnsOf(s, database, oids, ctx.signal),
          constraintsOf(s, database, oids, ctx.signal),
        ]);
        return { tables, columns: group(columns), constraints: group(constraints) };
      };
      let next = fetchPage(0);
      for (;;) {
        const page = await next;
        if (!page) break;
        next = page.tables.length < s.config.pageSize ? Promise.resolve(null) : fetchPage(page.tables[page.tables.length - 1]!.oid);
        // If writing fails, the read ahead's own failure (if any) is not the one to report.
        next.catch(() => undefined);
        await writeTables(out, database, page.tables, page.columns, page.constraints);
        ctx.count('postgres_relations', page.tables.length);
      }
    },
  };
}

interface Page {
  tables: TableRow[];
  columns: Map<number, ColumnRow[]>;
  constraints: Map<number, ConstraintRow[]>;
}

function group<T extends { oid: number }>(rows: T[]): Map<number, T[]> {
  const out = new Map<number, T[]>();
  for (const r of rows) {
    const list = out.get(r.oid);
    if (list) list.push(r);
    else out.set(r.oid, [r]);
  }
  return out;
}

async function writeTables(
  out: UnitOutput,
  database: string,
  tables: TableRow[],
  columns: Map<number, ColumnRow[]>,
  constraints: Map<number, ConstraintRow[]>,
): Promise<void> {
  for (const t of tables) {
    const cols = columns.get(t.oid) ?? [];
    await out.write('tables', {
      catalog: database,
      database: t.schema,
      table_name: t.name,
      table_type: TABLE_TYPES[t.relkind] ?? t.relkind,
      column_count: cols.length,
      table_comment: t.comment,
      table_parameters: tableParameters(t, constraints.get(t.oid) ?? []),
      view_definition: t.view_definition?.trim() ?? null,
    });
    for (const c of cols) {
      await out.write('metadata', {
        catalog: database,
        database: t.schema,
        table_name: t.name,
        column_name: c.name,
        ordinal_position: c.attnum,
        data_type: c.data_type,
        column_comment: c.comment,
        is_partition_key: c.partition_key,
        is_nullable: c.nullable,
        column_default: c.generated ? null : c.default_expr,
        column_parameters: columnParameters(c),
      });
    }
  }
}

function tableParameters(t: TableRow, constraints: ConstraintRow[]): Record<string, unknown> {
  const p: Record<string, unknown> = { owner: t.owner };
  if (t.row_estimate !== null) p.row_estimate = Number(t.row_estimate);
  if (t.bytes_estimate !== null) p.size_bytes_estimate = Number(t.bytes_estimate);
  if (t.partition_key) p.partition_key = t.partition_key;
  if (t.parent) p.partition_of = t.parent;
  if (t.partition_bound) p.partition_bound = t.partition_bound;
  if (t.foreign_server) p.foreign_server = t.foreign_server;
  if (constraints.length)
    p.constraints = constraints.map((c) => ({ name: c.name, type: CONSTRAINT_KINDS[c.kind] ?? c.kind, definition: c.definition }));
  return p;
}

function columnParameters(c: ColumnRow): Record<string, unknown> | null {
  const p: Record<string, unknown> = {};
  if (c.identity) p.identity = IDENTITY[c.identity] ?? c.identity;
  if (c.generated) p.generated = { stored: c.generated === 's', expression: c.default_expr };
  if (c.type_kind === 'e') p.enum_values = c.enum_labels;
  if (c.type_kind === 'd') p.domain_of = c.base_type;
  if (c.element_type) p.array_of = c.element_type;
  return Object.keys(p).length ? p : null;
}
