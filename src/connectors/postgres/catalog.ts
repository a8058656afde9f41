/**
 * The catalog queries. Everything comes from pg_catalog (exact, and readable by any user for the objects
 * it can see), nothing from information_schema (slow on big catalogs, and it hides what the user does
 * not own). No statement takes a lock on a user table: sizes are estimates from the catalog.
 */
import type { PostgresSessions } from './client';

export interface TableRow {
  oid: number;
  schema: string;
  name: string;
  relkind: string;
  comment: string | null;
  owner: string;
  row_estimate: string | null;
  bytes_estimate: string | null;
  view_definition: string | null;
  parent: string | null;
  partition_bound: string | null;
  partition_key: string | null;
  foreign_server: string | null;
}

export interface ColumnRow {
  oid: number;
  attnum: number;
  name: string;
  data_type: string;
  nullable: boolean;
  default_expr: string | null;
  identity: string;
  generated: string;
  comment: string | null;
  type_kind: string;
  base_type: string | null;
  enum_labels: string[] | null;
  element_type: string | null;
  partition_key: boolean;
}

export interface ConstraintRow {
  oid: number;
  name: string;
  kind: string;
  definition: string;
}

export async function databaseNames(s: PostgresSessions, signal: AbortSignal): Promise<string[]> {
  if (s.config.databases) return s.config.databases;
  const rows = await s.query<{ datname: string }>(
    'postgres',
    'list databases',
    `SELECT datname FROM pg_database
      WHERE datallowconn AND NOT datistemplate AND has_database_privilege(datname, 'CONNECT')
      ORDER BY datname`,
    [],
    signal,
  );
  return rows.map((r) => r.datname);
}

export async function schemaNames(
  s: PostgresSessions,
  database: string,
  signal: AbortSignal,
): Promise<{ name: string; usable: boolean }[]> {
  const rows = await s.query<{ nspname: string; usable: boolean }>(
    database,
    'list schemas',
    `SELECT nspname, has_schema_privilege(oid, 'USAGE') AS usable FROM pg_namespace ORDER BY nspname`,
    [],
    signal,
  );
  return rows.map((r) => ({ name: r.nspname, usable: r.usable }));
}

/** One page of a schema's relations, in oid order after `afterOid` (keyset paging: flat memory). */
export async function tablePage(
  s: PostgresSessions,
  database: string,
  schema: string,
  afterOid: number,
  signal: AbortSignal,
): Promise<TableRow[]> {
  return s.query<TableRow>(
    database,
    'list tables',
    `SELECT c.oid::int8::float8 AS oid, n.nspname AS schema, c.relname AS name, c.relkind::text AS relkind,
            obj_description(c.oid, 'pg_class') AS comment,
            pg_get_userbyid(c.relowner) AS owner,
            CASE WHEN c.reltuples >= 0 THEN c.reltuples::int8::text END AS row_estimate,
            CASE WHEN c.relkind IN ('r', 'm', 't') THEN (c.relpages::int8 * current_setting('block_size')::int8)::text END AS bytes_estimate,
            CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END AS view_definition,
            (SELECT quote_ident(pn.nspname) || '.' || quote_ident(pc.relname)
               FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent JOIN pg_namespace pn ON pn.oid = pc.relnamespace
              WHERE i.inhrelid = c.oid AND c.relispartition) AS parent,
            CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END AS partition_bound,
            CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partition_key,
            (SELECT fs.srvname FROM pg_foreign_table ft JOIN pg_foreign_server fs ON fs.oid = ft.ftserver WHERE ft.ftrelid = c.oid) AS foreign_server
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND c.oid > $2::int8::oid
      ORDER BY c.oid
      LIMIT $3`,
    [schema, afterOid, s.config.pageSize],
    signal,
  );
}

export async function columnsOf(s: PostgresSessions, database: string, oids: number[], signal: AbortSignal): Promise<ColumnRow[]> {
  return s.query<ColumnRow>(
    database,
    'list columns',
    `SELECT a.attrelid::int8::float8 AS oid, a.attnum::int AS attnum, a.attname AS name,
            format_type(a.atttypid, a.atttypmod) AS data_type,
            NOT a.attnotnull AS nullable,
            pg_get_expr(d.adbin, d.adrelid) AS default_expr,
            a.attidentity::text AS identity, a.attgenerated::text AS generated,
            col_description(a.attrelid, a.attnum) AS comment,
            t.typtype::text AS type_kind,
            CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END AS base_type,
            CASE WHEN t.typtype = 'e' THEN ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) END AS enum_labels,
            CASE WHEN t.typcategory = 'A' THEN format_type(t.typelem, NULL) END AS element_type,
            COALESCE(a.attnum = ANY (pt.partattrs::int2[]), false) AS partition_key
       FROM pg_attribute a
       JOIN pg_type t ON t.oid = a.atttypid
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
       LEFT JOIN pg_partitioned_table pt ON pt.partrelid = a.attrelid
      WHERE a.attrelid = ANY ($1::int8[]::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attrelid, a.attnum`,
    [oids],
    signal,
  );
}

export async function constraintsOf(s: PostgresSessions, database: string, oids: number[], signal: AbortSignal): Promise<ConstraintRow[]> {
  return s.query<ConstraintRow>(
    database,
    'list constraints',
    `SELECT conrelid::int8::float8 AS oid, conname AS name, contype::text AS kind, pg_get_constraintdef(oid) AS definition
       FROM pg_constraint
      WHERE conrelid = ANY ($1::int8[]::oid[]) AND contype IN ('p', 'u', 'f')
      ORDER BY conrelid, contype, conname`,
    [oids],
    signal,
  );
}

export interface DependencyRow {
  view_schema: string;
  view_name: string;
  view_kind: string;
  source_schema: string;
  source_name: string;
}

/**
 * What each view and materialized view of `schemas` reads, from the server's own dependency records:
 * exact, with no SQL parsed. A view's rewrite rule depends on every relation its query names.
 */
export async function viewDependencies(
  s: PostgresSessions,
  database: string,
  schemas: string[],
  signal: AbortSignal,
): Promise<DependencyRow[]> {
  return s.query<DependencyRow>(
    database,
    'list view dependencies',
    `SELECT DISTINCT vn.nspname AS view_schema, v.relname AS view_name, v.relkind::text AS view_kind,
            sn.nspname AS source_schema, src.relname AS source_name
       FROM pg_rewrite r
       JOIN pg_class v ON v.oid = r.ev_class
       JOIN pg_namespace vn ON vn.oid = v.relnamespace
       JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
                       AND d.refclassid = 'pg_class'::regclass AND d.deptype = 'n'
       JOIN pg_class src ON src.oid = d.refobjid AND src.oid <> v.oid
       JOIN pg_namespace sn ON sn.oid = src.relnamespace
      WHERE v.relkind IN ('v', 'm') AND vn.nspname = ANY ($1::text[])
      ORDER BY 1, 2, 4, 5`,
    [schemas],
    signal,
  );
}

export interface ColumnDependencyRow {
  view_schema: string;
  view_name: string;
  source_schema: string;
  source_name: string;
  source_column: string;
}

/**
 * The columns each view's rewrite rule depends on (pg_depend's `refobjsubid`): exactly the source
 * columns the view's query uses, anywhere in it (select list, conditions, joins).
 */
export async function viewColumnDependencies(
  s: PostgresSessions,
  database: string,
  schemas: string[],
  signal: AbortSignal,
): Promise<ColumnDependencyRow[]> {
  return s.query<ColumnDependencyRow>(
    database,
    'list view column dependencies',
    `SELECT DISTINCT vn.nspname AS view_schema, v.relname AS view_name,
            sn.nspname AS source_schema, src.relname AS source_name, a.attname AS source_column
       FROM pg_rewrite r
       JOIN pg_class v ON v.oid = r.ev_class
       JOIN pg_namespace vn ON vn.oid = v.relnamespace
       JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
                       AND d.refclassid = 'pg_class'::regclass AND d.deptype = 'n' AND d.refobjsubid > 0
       JOIN pg_class src ON src.oid = d.refobjid AND src.oid <> v.oid
       JOIN pg_namespace sn ON sn.oid = src.relnamespace
       JOIN pg_attribute a ON a.attrelid = src.oid AND a.attnum = d.refobjsubid
      WHERE v.relkind IN ('v', 'm') AND vn.nspname = ANY ($1::text[])
      ORDER BY 1, 2, 3, 4, 5`,
    [schemas],
    signal,
  );
}

export interface ViewQueryRow {
  view_schema: string;
  view_name: string;
  definition: string | null;
  columns: string[];
}

/** Each view's query as the server prints it, and its column names in order. */
export async function viewQueries(s: PostgresSessions, database: string, schemas: string[], signal: AbortSignal): Promise<ViewQueryRow[]> {
  return s.query<ViewQueryRow>(
    database,
    'read view queries',
    `SELECT n.nspname AS view_schema, c.relname AS view_name, pg_get_viewdef(c.oid) AS definition,
            ARRAY(SELECT attname::text FROM pg_attribute
                   WHERE attrelid = c.oid AND attnum > 0 AND NOT attisdropped ORDER BY attnum) AS columns
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('v', 'm') AND n.nspname = ANY ($1::text[])
      ORDER BY 1, 2`,
    [schemas],
    signal,
  );
}
