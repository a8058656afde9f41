/**
 * The extract file format: which files a run produces and the columns of each.
 * docs/extract-format.md documents the same table for the catalog's ingestion side; keep them in step.
 */
export const EXTRACT_KINDS = ['tables', 'metadata', 'databaselog', 'linkages', 'events', 'usage'] as const;
export type ExtractKind = (typeof EXTRACT_KINDS)[number];

export type ColumnType = 'string' | 'int' | 'bool' | 'timestamp' | 'json';

export interface Column {
  name: string;
  type: ColumnType;
  /** A required column is never empty; only columns every source can fill are required. */
  required: boolean;
  /**
   * Filled only by sources whose system has the notion (Athena's workgroups, Hive storage formats);
   * empty from the others. Never required.
   */
  sourceSpecific?: true;
}

const c = (name: string, type: ColumnType, required = false): Column => ({ name, type, required });
/** A column of the per-source set (see `Column.sourceSpecific`). */
const s = (name: string, type: ColumnType): Column => ({ name, type, required: false, sourceSpecific: true });

export const COLUMNS: Record<ExtractKind, readonly Column[]> = {
  // One row per table or view (format 6: the table-level fields, once; `metadata` holds the columns).
  tables: [
    c('catalog', 'string', true),
    c('database', 'string', true),
    c('table_name', 'string', true),
    c('table_type', 'string', true),
    // How many `metadata` rows the table has, so a consumer can tell it has all of them.
    c('column_count', 'int', true),
    s('location', 'string'),
    s('input_format', 'string'),
    s('output_format', 'string'),
    s('serde', 'string'),
    c('table_create_time', 'timestamp'),
    c('table_last_access_time', 'timestamp'),
    c('table_comment', 'string'),
    c('table_parameters', 'json'),
    c('view_definition', 'string'),
    s('table_format', 'string'),
    s('partition_spec', 'json'),
    s('partition_projection', 'json'),
  ],
  // One row per column of every table and view; joined to `tables` by catalog, database and table_name.
  metadata: [
    c('catalog', 'string', true),
    c('database', 'string', true),
    c('table_name', 'string', true),
    c('column_name', 'string', true),
    c('ordinal_position', 'int', true),
    c('data_type', 'string'),
    c('column_comment', 'string'),
    c('is_partition_key', 'bool'),
    c('is_nullable', 'bool'),
    c('column_default', 'string'),
    c('column_parameters', 'json'),
  ],
  databaselog: [
    c('query_id', 'string', true),
    c('query_text', 'string'),
    c('statement_type', 'string'),
    c('state', 'string', true),
    c('error_message', 'string'),
    c('catalog', 'string'),
    c('database', 'string'),
    c('submission_time', 'timestamp', true),
    c('completion_time', 'timestamp'),
    s('data_scanned_bytes', 'int'),
    s('engine_execution_ms', 'int'),
    s('queue_ms', 'int'),
    c('planning_ms', 'int'),
    c('total_execution_ms', 'int'),
    s('workgroup', 'string'),
    c('user_name', 'string', true),
    c('query_tags', 'json'),
  ],
  linkages: [
    c('source_catalog', 'string', true),
    c('source_database', 'string', true),
    c('source_table', 'string', true),
    c('target_catalog', 'string', true),
    c('target_database', 'string', true),
    c('target_table', 'string', true),
    c('target_type', 'string', true),
    c('origin', 'string', true),
    c('query_id', 'string'),
    c('observed_at', 'timestamp'),
    // Column-level rows (issue 13): empty on a table-level row.
    c('source_column', 'string'),
    c('target_column', 'string'),
    c('transformation', 'string'),
  ],
  events: [
    c('event_time', 'timestamp', true),
    c('event_type', 'string', true),
    c('object_type', 'string', true),
    c('catalog', 'string'),
    c('database', 'string'),
    c('object_name', 'string'),
    c('query_id', 'string', true),
    c('state', 'string', true),
    s('workgroup', 'string'),
    c('user_name', 'string'),
    c('query_text', 'string'),
    // Renames (format 5): the new name of a RENAME_TABLE / RENAME_VIEW, the columns of a RENAME_COLUMN.
    c('new_catalog', 'string'),
    c('new_database', 'string'),
    c('new_object_name', 'string'),
    c('column_name', 'string'),
    c('new_column_name', 'string'),
  ],
  usage: [
    c('period_start', 'timestamp', true),
    c('period_end', 'timestamp', true),
    c('catalog', 'string', true),
    c('user_name', 'string'),
    c('query_id', 'string', true),
    c('toplevel', 'bool'),
    c('statement_type', 'string'),
    c('query_text', 'string'),
    c('calls', 'int', true),
    c('total_exec_us', 'int'),
    c('rows', 'int'),
  ],
};

/** One row of an extract: column name to value. Dates become ISO 8601 UTC, objects JSON. */
export type CellValue = string | number | bigint | boolean | Date | null | undefined | Record<string, unknown>;
export type Row = Record<string, CellValue>;

/**
 * A unit the source could not finish for a reason of its own (one catalog's connector down, one database
 * denied): the manifest's `incompleteUnits` lists each, and none of its rows are in the files. A consumer
 * must not read the absence of its tables as their deletion. `catalog` and `database` are spelled as the
 * rows spell them (lower-cased); without `database` the whole catalog is meant.
 */
export interface IncompleteUnit {
  key: string;
  reason: string;
  catalog?: string;
  database?: string;
}

/** `<collector>_<kind>_<windowStamp>.csv[.gz]` */
export function extractFileName(collector: string, kind: ExtractKind, stamp: string, compress: boolean): string {
  return `${collector}_${kind}_${stamp}.csv${compress ? '.gz' : ''}`;
}

/**
 * The manifest's `formatVersion`: moves when a column's meaning or requiredness changes.
 * 2: `databaselog.workgroup` is no longer required (a source without workgroups leaves it empty).
 * 3: `metadata` gains `is_nullable`, `column_default` and `column_parameters` (appended; empty where a
 *    source does not know them).
 * 4: a fifth file, `usage`: statements' calls, time and rows aggregated over a period (PostgreSQL's
 *    pg_stat_statements), next to the per-execution `databaselog`.
 * 5: the manifest gains `incompleteUnits`: units the source gave up on (one broken catalog or database),
 *    whose tables a consumer must not take as deleted; appended columns: `events` renames (`new_catalog`,
 *    `new_database`, `new_object_name`, `column_name`, `new_column_name`), `databaselog.query_tags`,
 *    `metadata.table_format`, `partition_spec` and `partition_projection`; Athena's `databaselog.catalog`
 *    and `database` always lower-cased and filled.
 * 6: a `tables` file, one row per table or view with the table-level fields (and `column_count`), which
 *    `metadata` repeated on every column row; `metadata` keeps the table's key and the column fields,
 *    `column_name` and `ordinal_position` now required, and a table without columns has no row there.
 *    Repeating view SQL and table parameters per column made the metadata file ~5x larger than its content.
 */
export const FORMAT_VERSION = '6';
