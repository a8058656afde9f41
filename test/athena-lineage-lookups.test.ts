/**
 * Column lineage that needs the catalog: `SELECT *` and INSERT without a column list are expanded with the
 * tables' columns (GetTableMetadata), and an EXECUTE is read as the prepared statement it runs
 * (GetPreparedStatement). Through the real extract pipeline (runUnits) and the real AWS SDK against the
 * local endpoint, whose request counters show what was looked up.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startAthenaLocal, type AthenaLocal } from '../tools/athena-local/index';
import { seedFromData, type SeedData, type SeedExecution, type SeedTable } from '../tools/athena-local/seed';
import { classifyStatement } from '../tools/athena-local/statements';
import { extractToCsv, localAthenaSource } from './support/athena-extract';

const NOW = Date.now();
const HOUR = 3_600_000;
const uuid = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

function execution(n: number, query: string): SeedExecution {
  const submittedAt = new Date(NOW - 2 * HOUR + n * 60_000);
  return {
    id: uuid(n),
    query,
    statementType: classifyStatement(query).statementType,
    state: 'SUCCEEDED',
    submittedAt,
    completedAt: new Date(submittedAt.getTime() + 5_000),
    workgroup: 'etl',
    catalog: 'AwsDataCatalog',
    database: 'sales',
    stats: { dataScannedBytes: 10, engineMs: 900, queueMs: 20, planningMs: 30, totalMs: 950 },
  };
}

const col = (name: string, type = 'string') => ({ name, type });
const table = (name: string, columns: string[], extra: Partial<SeedTable> = {}): SeedTable => ({
  name,
  tableType: 'EXTERNAL_TABLE',
  columns: columns.map((c) => col(c)),
  partitionKeys: [col('dt')],
  format: 'parquet',
  location: `s3://lake/sales/${name}/`,
  parameters: {},
  createTime: new Date(NOW - 100 * 24 * HOUR),
  ...extra,
});

const STAR = execution(1, "INSERT INTO sales.payments SELECT * FROM sales.stg_payments WHERE dt = '2026-01-01'");
const EXEC = execution(2, "EXECUTE load_payments USING '2026-01-02'");
const GONE = execution(3, 'EXECUTE deallocated_one USING 1');
const COMPLETE = execution(4, 'CREATE TABLE sales.order_ids AS SELECT order_id FROM sales.orders');

let local: AthenaLocal;

before(async () => {
  const data: SeedData = {
    historyRetentionDays: 45,
    catalogs: [
      {
        name: 'AwsDataCatalog',
        type: 'GLUE',
        databases: [
          {
            name: 'sales',
            tables: [
              table('stg_payments', ['Id', 'amount']),
              table('payments', ['id', 'amount']),
              table('orders', ['order_id', 'total']),
              table('v_payments', [], { tableType: 'VIRTUAL_VIEW', viewSql: 'SELECT * FROM sales.payments', partitionKeys: [] }),
            ],
          },
        ],
      },
    ],
    workgroups: [
      {
        name: 'etl',
        state: 'ENABLED',
        outputLocation: 's3://results/etl/',
        creationTime: new Date(NOW - 400 * 24 * HOUR),
        preparedStatements: [
          { name: 'load_payments', statement: 'INSERT INTO sales.payments SELECT * FROM sales.stg_payments WHERE dt = ?' },
        ],
      },
    ],
    executions: [STAR, EXEC, GONE, COMPLETE],
  };
  local = await startAthenaLocal({ seed: seedFromData(data, 'lineage-lookups'), randomSeed: 5 });
});
after(async () => local?.close());
beforeEach(() => {
  local.clearFaults();
  local.resetCounters();
});

type Row = Record<string, string>;

async function run(): Promise<{ linkages: Row[]; counters: Record<string, number>; warnings: string[] }> {
  const window = { start: new Date(NOW - 3 * HOUR).toISOString(), end: new Date(NOW - HOUR).toISOString() };
  const r = await extractToCsv(localAthenaSource(local.endpoint, { workgroups: ['etl'], catalogs: ['AwsDataCatalog'] }), window);
  return { linkages: r.rows.linkages ?? [], counters: r.counters, warnings: r.warnings };
}

/** Column rows of one query (or of views when `queryId` is empty): [source table, source column, target column, kind]. */
const columnRows = (rows: Row[], queryId: string, target: string) =>
  rows
    .filter((r) => r.query_id === queryId && r.target_table === target && r.target_column !== '')
    .map((r) => [r.source_table, r.source_column, r.target_column, r.transformation])
    .sort();

const PAYMENT_COLUMNS = [
  ['stg_payments', 'amount', 'amount', 'identity'],
  ['stg_payments', 'dt', 'dt', 'identity'],
  ['stg_payments', 'id', 'id', 'identity'],
];

describe('athena column lineage that needs the catalog', { timeout: 120_000 }, () => {
  it('expands SELECT * and INSERT without a column list, reads EXECUTE as its prepared statement, and looks each name up once', async () => {
    const { linkages, counters } = await run();
    // Columns then partition keys, lowercased, matched by position to the target's columns.
    assert.deepEqual(columnRows(linkages, STAR.id, 'payments'), PAYMENT_COLUMNS);
    assert.deepEqual(columnRows(linkages, EXEC.id, 'payments'), PAYMENT_COLUMNS, 'EXECUTE has the lineage of the statement it runs');
    assert.deepEqual(
      linkages.filter((r) => r.query_id === EXEC.id && r.target_column === '').map((r) => [r.source_table, r.target_table]),
      [['stg_payments', 'payments']],
      'and its table-level row',
    );
    assert.deepEqual(
      linkages.filter((r) => r.query_id === GONE.id),
      [],
      'an EXECUTE whose statement Athena no longer has gives no lineage',
    );
    assert.deepEqual(columnRows(linkages, '', 'v_payments'), [
      ['payments', 'amount', 'amount', 'identity'],
      ['payments', 'dt', 'dt', 'identity'],
      ['payments', 'id', 'id', 'identity'],
    ]);
    assert.deepEqual(columnRows(linkages, COMPLETE.id, 'order_ids'), [['orders', 'order_id', 'order_id', 'identity']]);

    const calls = local.counters();
    // stg_payments and payments, once each for the whole run (history and the view share the answers);
    // orders never: the CTAS's columns were all traced from its text.
    assert.equal(calls.GetTableMetadata, 2, JSON.stringify(calls));
    assert.equal(calls.GetPreparedStatement, 2, JSON.stringify(calls));
    assert.equal(counters.lineage_table_lookups, 2);
    assert.equal(counters.lineage_prepared_lookups, 1);
    assert.equal(counters.lineage_lookups_failed, 1, 'the deallocated statement');
  });

  it('a denied GetTableMetadata keeps table-level lineage, says which grant to add once, and fails nothing', async () => {
    local.setFaults('GetTableMetadata', { accessDenied: true });
    const { linkages, warnings, counters } = await run();
    assert.deepEqual(columnRows(linkages, STAR.id, 'payments'), []);
    assert.deepEqual(
      linkages.filter((r) => r.query_id === STAR.id).map((r) => [r.source_table, r.target_table]),
      [['stg_payments', 'payments']],
    );
    assert.deepEqual(columnRows(linkages, COMPLETE.id, 'order_ids'), [['orders', 'order_id', 'order_id', 'identity']]);
    const said = warnings.filter((w) => w.includes('athena:GetTableMetadata'));
    assert.equal(said.length, 1, warnings.join('\n'));
    assert.match(said[0]!, /grant it for column lineage of SELECT \*/);
    assert.ok((counters.lineage_lookups_failed ?? 0) >= 2);
  });
});
