/**
 * Rows shaped like a large Athena catalog's, shared by bench/csv.ts and bench/validate.ts: `tables`
 * rows (view SQL with line breaks and quotes, JSON parameters, storage classes) and `metadata` rows of
 * 50 columns per table (short fields, the odd quoted comment).
 */
import type { ExtractKind, Row } from '../src/contracts/extract-format';

const created = new Date('2026-01-01T00:00:00.000Z');

function tableRow(t: number): Row {
  const view = t % 10 === 0;
  return {
    catalog: 'awsdatacatalog',
    database: `db_${t % 200}`,
    table_name: `table_${t}`,
    table_type: view ? 'VIRTUAL_VIEW' : 'EXTERNAL_TABLE',
    column_count: 50,
    location: view ? null : `s3://bucket/warehouse/db_${t % 200}/table_${t}/`,
    input_format: view ? null : 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
    output_format: view ? null : 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
    serde: view ? null : 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
    table_create_time: created,
    table_last_access_time: null,
    table_comment: `table ${t}, owned by "data eng"`,
    table_parameters: { EXTERNAL: 'TRUE', classification: 'parquet', 'projection.enabled': 'false', owner: `team_${t % 13}` },
    view_definition: view
      ? `SELECT a.id, b."name", sum(a.amount) AS total\nFROM db.orders a\nJOIN db.customers b ON a.cid = b.id\nGROUP BY 1, 2 -- t${t}`
      : null,
  };
}

function columnRow(i: number): Row {
  const t = Math.floor(i / 50);
  return {
    catalog: 'awsdatacatalog',
    database: `db_${t % 200}`,
    table_name: `table_${t}`,
    column_name: `col_${i % 50}`,
    ordinal_position: (i % 50) + 1,
    data_type: i % 3 === 0 ? 'varchar(255)' : i % 3 === 1 ? 'bigint' : 'decimal(10,2)',
    column_comment: i % 7 === 0 ? `the "amount", in cents\nper row ${i}` : null,
    is_partition_key: i % 50 === 49,
  };
}

/** `count` rows of one kind (`tables` or `metadata`). */
export function* catalogRows(kind: Extract<ExtractKind, 'tables' | 'metadata'>, count: number): Generator<Row> {
  for (let i = 0; i < count; i++) yield kind === 'tables' ? tableRow(i) : columnRow(i);
}

/** Best and median of a list of figures, for noisy shared machines. */
export function bestAndMedian(values: number[]): { best: number; median: number } {
  const sorted = [...values].sort((a, b) => b - a);
  return { best: sorted[0]!, median: sorted[Math.floor(sorted.length / 2)]! };
}
