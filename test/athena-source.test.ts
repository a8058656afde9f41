/**
 * The athena source through the real AWS SDK against the local Athena endpoint: paging at every level,
 * rows against the seed, history windows that tile, faults, quotas, denials, resumable units.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, mock, test } from 'node:test';
import pino from 'pino';
import { startAthenaLocal, type AthenaLocal } from '../tools/athena-local/index';
import { seedFromData, type SeedData, type SeedExecution, type SeedTable } from '../tools/athena-local/seed';
import { classifyStatement as athenaStatementType } from '../tools/athena-local/statements';
import { AuthError, ConfigError } from '../src/contracts/errors';
import type { ExtractKind, Row } from '../src/contracts/extract-format';
import { sourceConformance } from './conformance/source';
import type { ApiOutcome, CursorValue, ExtractContext, Source, UnitOutput } from '../src/contracts/plugin';
import type { Window } from '../src/contracts/window';
import { athenaSource, DEFAULT_QUOTAS, type AthenaConfig, type AthenaConfigInput } from '../src/connectors/athena/index';
import { TokenBucket } from '../src/connectors/athena/quotas';
import { decodePrestoView } from '../src/connectors/athena/views';
import { AthenaSession } from '../src/connectors/athena/client';
import { ListWorkGroupsCommand } from '@aws-sdk/client-athena';
import { startMoto, type Moto } from './support/moto';
import { cursorView } from '../src/hwm/cursor';

// ---------------------------------------------------------------- the seed

const NOW = Date.now();
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const at = (msAgo: number) => new Date(NOW - msAgo);
const uuid = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

const col = (name: string, type: string, comment?: string) => (comment ? { name, type, comment } : { name, type });
const table = (name: string, over: Partial<SeedTable> = {}): SeedTable => ({
  name,
  tableType: 'EXTERNAL_TABLE',
  columns: [col('id', 'bigint')],
  partitionKeys: [],
  parameters: {},
  createTime: at(100 * DAY),
  ...over,
});
const view = (name: string, sql: string): SeedTable =>
  table(name, { tableType: 'VIRTUAL_VIEW', columns: [col('id', 'bigint')], viewSql: sql, format: undefined });

const ORDERS = table('orders', {
  columns: [
    col('order_id', 'bigint', 'Order key'),
    col('customer_id', 'bigint'),
    col('amount', 'decimal(12,2)', 'Net amount'),
    col('attrs', 'map<string,array<struct<k:string,v:int>>>'),
  ],
  partitionKeys: [col('dt', 'string', 'Day'), col('region', 'string')],
  comment: 'One row per order',
  format: 'parquet',
  location: 's3://lake/sales/orders/',
  parameters: { owner: 'sales-team' },
  lastAccessTime: at(2 * DAY),
});
const V_ORDERS_SQL = 'SELECT o.order_id, c.email FROM sales.orders o JOIN customers c ON c.id = o.customer_id';

const salesTables: SeedTable[] = [
  ORDERS,
  table('customers', {
    columns: [col('id', 'bigint'), col('email', 'string', 'PII')],
    format: 'csv',
    location: 's3://lake/sales/customers/',
  }),
  table('no_columns', { columns: [], format: 'json', location: 's3://lake/sales/no_columns/' }),
  table('events_iceberg', {
    format: 'iceberg',
    location: 's3://lake/sales/events/',
    columns: [col('ts', 'timestamp'), col('payload', 'struct<a:int,b:array<string>>')],
  }),
  view('v_orders', V_ORDERS_SQL),
  ...Array.from({ length: 100 }, (_, i) =>
    table(`t_${String(i).padStart(3, '0')}`, { columns: [col('id', 'bigint'), col(`c${i}`, 'string')] }),
  ),
];
const manyViews = Array.from({ length: 1003 }, (_, i) =>
  view(`v_${String(i).padStart(4, '0')}`, `SELECT id FROM sales.t_${String(i % 100).padStart(3, '0')}`),
);

interface Exec {
  id: string;
  query: string;
  state?: SeedExecution['state'];
  ago: number;
  workgroup?: string;
  database?: string;
}
const exec = (e: Exec): SeedExecution => {
  const submittedAt = at(e.ago);
  return {
    id: e.id,
    query: e.query,
    statementType: athenaStatementType(e.query).statementType,
    state: e.state ?? 'SUCCEEDED',
    submittedAt,
    completedAt: new Date(submittedAt.getTime() + 20_000),
    workgroup: e.workgroup ?? 'primary',
    catalog: 'AwsDataCatalog',
    database: e.database ?? 'sales',
    ...(e.state === 'FAILED'
      ? { error: { message: "HIVE_BAD_DATA: Error parsing field value 'alice@example.com' for field 2", category: 2 } }
      : {}),
    stats: { dataScannedBytes: 1000 + (e.ago % 997), engineMs: 900, queueMs: 20, planningMs: 30, totalMs: 950 },
  };
};

/** The window boundary b lands exactly on an execution, to test half-openness. */
const A = NOW - 11 * DAY;
const B = NOW - 5 * DAY + 7 * MIN;
const C = NOW - 30 * MIN;

const special: Exec[] = [
  {
    id: uuid(1),
    ago: 6 * DAY,
    query:
      'CREATE TABLE sales.top_customers AS SELECT c.id, sum(o.amount) AS total FROM sales.customers c JOIN sales.orders o ON o.customer_id = c.id GROUP BY 1',
  },
  { id: uuid(2), ago: 4 * DAY, query: "INSERT INTO sales.orders SELECT * FROM staging.orders_raw WHERE dt = '2026-01-01'" },
  {
    id: uuid(3),
    ago: 3 * DAY,
    query: 'MERGE INTO sales.customers t USING staging.customers_delta s ON t.id = s.id WHEN MATCHED THEN UPDATE SET email = s.email',
  },
  { id: uuid(4), ago: 2 * DAY, query: "UNLOAD (SELECT * FROM sales.orders) TO 's3://exports/orders/' WITH (format = 'PARQUET')" },
  { id: uuid(5), ago: 1 * DAY, query: 'CREATE OR REPLACE VIEW sales.v_big AS SELECT * FROM sales.orders WHERE amount > 100' },
  { id: uuid(6), ago: 7 * DAY, state: 'FAILED', query: 'CREATE TABLE sales.broken AS SELECT * FROM sales.orders' },
  { id: uuid(7), ago: 8 * DAY, query: 'DROP TABLE IF EXISTS sales.old_stuff' },
  { id: uuid(8), ago: 9 * DAY, query: "ALTER TABLE sales.orders ADD IF NOT EXISTS PARTITION (dt = '2026-01-02')" },
  { id: uuid(9), ago: 10 * DAY, query: 'INSERT INTO sales.x SELECT FROM WHERE ((( oops' },
  { id: uuid(10), ago: 5 * DAY - 7 * MIN, query: "SELECT * FROM sales.customers WHERE email = 'alice@example.com' AND id = 42" },
  { id: uuid(11), ago: 20 * MIN, query: 'SELECT 1 FROM sales.orders -- after the window end' },
];
const background: Exec[] = [
  // primary: one query every 90 minutes for 12 days, so history spans many pages.
  ...Array.from({ length: 192 }, (_, i) => ({
    id: uuid(1000 + i),
    ago: 35 * MIN + i * 90 * MIN,
    query: `SELECT count(*) FROM sales.t_${String(i % 100).padStart(3, '0')} WHERE id > ${i}`,
  })),
  ...Array.from({ length: 70 }, (_, i) => ({
    id: uuid(5000 + i),
    ago: 40 * MIN + i * 3 * HOUR,
    workgroup: 'etl',
    query: `INSERT INTO sales.t_${String(i % 100).padStart(3, '0')} SELECT id, 'x' FROM sales.orders`,
  })),
];

const seedData: SeedData = {
  historyRetentionDays: 45,
  catalogs: [
    {
      name: 'AwsDataCatalog',
      type: 'GLUE',
      databases: [
        { name: 'sales', tables: salesTables },
        { name: 'views_many', tables: manyViews },
        ...Array.from({ length: 53 }, (_, i) => ({
          name: `db_${String(i).padStart(2, '0')}`,
          tables: [table('only', { columns: [col('a', 'int'), col('b', 'string')] })],
        })),
      ],
    },
    ...Array.from({ length: 51 }, (_, i) => ({
      name: `cat_${String(i).padStart(2, '0')}`,
      // Glue catalogs: read without being listed in `catalogs` (a Hive catalog would not be).
      type: 'GLUE' as const,
      databases: [{ name: 'd', tables: [table('x')] }],
    })),
  ],
  workgroups: [
    { name: 'primary', state: 'ENABLED', outputLocation: 's3://results/primary/', creationTime: at(400 * DAY) },
    { name: 'etl', state: 'ENABLED', outputLocation: 's3://results/etl/', creationTime: at(400 * DAY) },
    { name: 'disabled_wg', state: 'DISABLED', creationTime: at(400 * DAY) },
    ...Array.from({ length: 50 }, (_, i) => ({
      name: `wg_${String(i).padStart(2, '0')}`,
      state: 'ENABLED' as const,
      creationTime: at(400 * DAY),
    })),
  ],
  executions: [...special, ...background].map(exec),
};

// ---------------------------------------------------------------- helpers

class Collected implements UnitOutput {
  rows: Record<ExtractKind, Row[]> = { tables: [], metadata: [], databaselog: [], linkages: [], events: [], usage: [] };
  async write(kind: ExtractKind, row: Row): Promise<void> {
    this.rows[kind].push(row);
  }
  cursor: Record<string, CursorValue | null> = {};
  setCursor(key: string, value: CursorValue | null): void {
    this.cursor[key] = value;
  }
}

interface TestCtx extends ExtractContext {
  warnings: string[];
  counters: Record<string, number>;
}

function makeCtx(window: Window, signal: AbortSignal = new AbortController().signal): TestCtx {
  const warnings: string[] = [];
  const counters: Record<string, number> = {};
  return {
    log: pino({ level: 'silent' }),
    signal,
    window,
    warnings,
    counters,
    cursor: cursorView({}),
    warn: (m) => void warnings.push(m),
    count: (n, k = 1) => void (counters[n] = (counters[n] ?? 0) + k),
  };
}

/** What the source reported through `ctx.apiCall`, per operation and outcome (reset before each test). */
class ApiTally {
  byOperation: Record<string, Partial<Record<ApiOutcome, number>>> = {};
  readonly record = (operation: string, outcome: ApiOutcome): void => {
    const c = (this.byOperation[operation] ??= {});
    c[outcome] = (c[outcome] ?? 0) + 1;
  };
  total(outcome: ApiOutcome): number {
    return Object.values(this.byOperation).reduce((n, c) => n + (c[outcome] ?? 0), 0);
  }
  reset(): void {
    this.byOperation = {};
  }
}
const api = new ApiTally();

/** The source as the extract activity creates it, reporting its API calls to `api`. */
const sourceFor = (config: AthenaConfig, signal: AbortSignal = new AbortController().signal): Source =>
  athenaSource.create(config, { log: pino({ level: 'silent' }), signal, apiCall: api.record });

const win = (start: number, end: number): Window => ({ start: new Date(start).toISOString(), end: new Date(end).toISOString() });

let server: AthenaLocal;

/** Parsed as collectors.yaml would be, then "resolved" as the activity does. */
function configFor(over: Partial<AthenaConfigInput> = {}): AthenaConfig {
  const parsed = athenaSource.configSchema.parse({
    type: 'athena',
    region: 'us-east-1',
    endpoint: server.endpoint,
    s3Endpoint: server.endpoint,
    accessKeyId: '${ATHENA_KEY_ID}',
    secretAccessKey: '${ATHENA_SECRET}',
    maxConcurrency: 8,
    quotas: Object.fromEntries(Object.keys(DEFAULT_QUOTAS).map((op) => [op, { perSecond: 2000, burst: 2000 }])),
    retry: { maxAttempts: 12, baseDelay: '5ms', maxDelay: '40ms' },
    ...over,
  });
  return { ...parsed, accessKeyId: 'test-key', secretAccessKey: 'test-secret' };
}

interface Extracted extends Collected {
  keys: string[];
  ctx: TestCtx;
}

/** Runs the units as the extract activity does: lazily, `concurrency` at a time, skipping `skip`. */
async function extract(
  config: AthenaConfig,
  window: Window,
  options: { skip?: Set<string>; signal?: AbortSignal } = {},
): Promise<Extracted> {
  const out = new Collected();
  const ctx = makeCtx(window, options.signal);
  const keys: string[] = [];
  const source = sourceFor(config, ctx.signal);
  const limit = source.concurrency;
  const running = new Set<Promise<void>>();
  let failure: unknown;
  try {
    for await (const unit of source.units(ctx)) {
      keys.push(unit.key);
      if (options.skip?.has(unit.key)) continue;
      const p: Promise<void> = unit.run(out).then(
        () => void running.delete(p),
        (e: unknown) => {
          running.delete(p);
          failure ??= e;
        },
      );
      running.add(p);
      if (running.size >= limit) await Promise.race(running);
      if (failure) break;
    }
    await Promise.all(running);
    if (failure) throw failure;
  } finally {
    await source.close();
  }
  return Object.assign(out, { keys, ctx });
}

const sorted = (rows: Row[]) => rows.map((r) => JSON.stringify(r)).sort();
const ids = (rows: Row[]) => new Set(rows.map((r) => String(r.query_id)));

function expectedExecutions(workgroup: string, window: Window): Set<string> {
  const s = Date.parse(window.start);
  const e = Date.parse(window.end);
  return new Set(
    seedData.executions
      .filter((x) => x.workgroup === workgroup && x.submittedAt.getTime() >= s && x.submittedAt.getTime() < e)
      .map((x) => x.id),
  );
}

// ---------------------------------------------------------------- tests

describe('athena source against the local endpoint', () => {
  before(async () => {
    server = await startAthenaLocal({ seed: seedFromData(seedData, 'athena-source-test'), randomSeed: 7 });
  });
  after(async () => {
    await server?.close();
  });
  beforeEach(() => {
    server.clearFaults();
    server.resetCounters();
    api.reset();
  });

  let full: Extracted;
  const FULL = win(A, C);

  // A scope of a few databases and one workgroup's history keeps the repeated extracts short.
  sourceConformance('athena (local endpoint)', () => ({
    plugin: athenaSource,
    config: configFor({ catalogs: ['AwsDataCatalog'], databases: { include: ['sales', 'db_0[0-2]'] }, workgroups: ['primary', 'etl'] }),
    window: FULL,
    secrets: ['test-secret'],
  }));

  test('extracts everything, paging past 50 at every level, rows matching the seed', async () => {
    full = await extract(configFor(), FULL);
    const calls = server.counters();
    // >50 catalogs, databases, workgroups, tables, executions, and >1000 result rows: every level pages.
    assert.ok(calls.ListDataCatalogs! >= 2, `ListDataCatalogs ${calls.ListDataCatalogs}`);
    assert.ok(calls.ListWorkGroups! >= 2);
    assert.ok(calls.ListDatabases! >= 2 + 51);
    assert.ok(calls.ListTableMetadata! >= 106 + 2 + 20);
    assert.ok(calls.ListQueryExecutions! > 4);
    assert.ok(calls.GetQueryResults! >= 2, 'views query paged past 1000 rows');
    assert.equal(
      calls.StartQueryExecution,
      2,
      'one information_schema.views query per database that has views; the Iceberg spec comes from its metadata file',
    );

    // Units: one per enabled workgroup, one per database, stable names.
    const history = full.keys.filter((k) => k.startsWith('history:'));
    const metadata = full.keys.filter((k) => k.startsWith('metadata:'));
    assert.equal(history.length, 52);
    assert.ok(!history.includes('history:disabled_wg'));
    assert.equal(metadata.length, 55 + 51);
    assert.ok(metadata.includes('metadata:AwsDataCatalog/sales') && metadata.includes('metadata:cat_50/d'));

    // Every seed table appears once in `tables`, every seed column once in `metadata`, with its seed values.
    const expectedTables: string[] = [];
    const expected: string[] = [];
    for (const c of seedData.catalogs) {
      for (const d of c.databases) {
        for (const t of d.tables) {
          const key = { catalog: c.name.toLowerCase(), database: d.name, table_name: t.name };
          const all = [...t.columns.map((x) => [x, false] as const), ...t.partitionKeys.map((x) => [x, true] as const)];
          expectedTables.push(JSON.stringify({ ...key, table_type: t.tableType, column_count: all.length, view: t.viewSql ?? null }));
          all.forEach(([x, part], i) =>
            expected.push(
              JSON.stringify({
                ...key,
                column_name: x.name,
                ordinal_position: i + 1,
                data_type: x.type,
                column_comment: x.comment ?? null,
                is_partition_key: part,
              }),
            ),
          );
        }
      }
    }
    const gotTables = full.rows.tables.map((r) =>
      JSON.stringify({
        catalog: r.catalog,
        database: r.database,
        table_name: r.table_name,
        table_type: r.table_type,
        column_count: r.column_count,
        view: r.view_definition,
      }),
    );
    assert.deepEqual(gotTables.sort(), expectedTables.sort());
    const got = full.rows.metadata.map((r) => JSON.stringify(r));
    assert.deepEqual(got.sort(), expected.sort(), 'column rows carry the table key and the column fields only');
    assert.equal(full.rows.tables.find((r) => r.table_name === 'no_columns')?.column_count, 0, 'a table without columns has a tables row');

    // Table-level columns of one table, spot-checked.
    const dt = full.rows.metadata.find((r) => r.table_name === 'orders' && r.column_name === 'dt')!;
    assert.equal(dt.ordinal_position, 5);
    assert.equal(dt.is_partition_key, true);
    const orders = full.rows.tables.find((r) => r.table_name === 'orders' && r.database === 'sales')!;
    assert.equal(orders.location, 's3://lake/sales/orders/');
    assert.equal(orders.input_format, 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat');
    assert.equal(orders.serde, 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe');
    assert.equal(orders.table_comment, 'One row per order');
    assert.equal(orders.table_create_time, ORDERS.createTime.toISOString());
    assert.equal(orders.table_last_access_time, ORDERS.lastAccessTime!.toISOString());
    const params = JSON.parse(String(orders.table_parameters)) as Record<string, string>;
    assert.equal(params.owner, 'sales-team');
    assert.equal(params.classification, 'parquet');
    for (const k of ['location', 'inputformat', 'outputformat', 'serde.serialization.lib', 'comment'])
      assert.ok(!(k in params), `${k} broken out`);
    const attrs = full.rows.metadata.find((r) => r.table_name === 'orders' && r.column_name === 'attrs')!;
    assert.equal(attrs.data_type, 'map<string,array<struct<k:string,v:int>>>', 'complex types kept whole');

    // Views: SQL from information_schema.views, lineage from it, the "Presto View" marker not a comment.
    const v = full.rows.tables.find((r) => r.table_name === 'v_orders')!;
    assert.equal(v.view_definition, V_ORDERS_SQL);
    assert.equal(v.table_comment, null);
    assert.equal(full.rows.tables.filter((r) => r.database === 'views_many' && r.view_definition).length, 1003);
    const viewLinks = full.rows.linkages.filter((r) => r.origin === 'VIEW_DEFINITION' && r.target_table === 'v_orders' && !r.target_column);
    assert.deepEqual(viewLinks.map((r) => `${r.source_catalog}.${r.source_database}.${r.source_table}`).sort(), [
      'awsdatacatalog.sales.customers',
      'awsdatacatalog.sales.orders',
    ]);
    assert.equal(viewLinks[0]!.target_type, 'VIEW');
    assert.equal(full.ctx.counters.athena_views, 1004);
  });

  test('history: window filter, masking, lineage, events, unparseable statements', () => {
    const log = full.rows.databaselog;
    assert.deepEqual(ids(log.filter((r) => r.workgroup === 'primary')), expectedExecutions('primary', FULL));
    assert.deepEqual(ids(log.filter((r) => r.workgroup === 'etl')), expectedExecutions('etl', FULL));
    assert.ok(expectedExecutions('etl', FULL).size > 50);
    assert.ok(!ids(log).has(uuid(11)), 'after the window end');

    const secret = log.find((r) => r.query_id === uuid(10))!;
    assert.ok(!String(secret.query_text).includes('alice@example.com'));
    assert.ok(!/\b42\b/.test(String(secret.query_text)));
    assert.equal(secret.user_name, 'athena_workgroup_primary');
    assert.equal(secret.catalog, 'awsdatacatalog');
    assert.equal(secret.database, 'sales');
    assert.equal(secret.state, 'SUCCEEDED');
    assert.equal(secret.statement_type, 'DML');
    assert.equal(secret.engine_execution_ms, 900);
    assert.equal(secret.total_execution_ms, 950);
    assert.equal((secret.submission_time as Date).getTime(), NOW - 5 * DAY + 7 * MIN);
    const failed = log.find((r) => r.query_id === uuid(6))!;
    assert.equal(failed.state, 'FAILED');
    assert.match(String(failed.error_message), /HIVE_BAD_DATA/);
    assert.ok(!String(failed.error_message).includes('alice@example.com'), 'values quoted by engine errors are masked too');

    const q = full.rows.linkages.filter((r) => r.origin === 'QUERY' && !r.target_column);
    // Column-level rows of the CTAS: per target column, its source columns and how they are combined.
    assert.deepEqual(
      full.rows.linkages
        .filter((r) => r.query_id === uuid(1) && r.target_column)
        .map((r) => `${r.source_table}.${r.source_column}->${r.target_column}:${r.transformation}`)
        .sort(),
      ['customers.id->id:identity', 'orders.amount->total:aggregate'],
    );
    const byQuery = (n: number) =>
      q
        .filter((r) => r.query_id === uuid(n))
        .map((r) => `${r.source_database}.${r.source_table}->${r.target_database}.${r.target_table}:${r.target_type}`)
        .sort();
    assert.deepEqual(byQuery(1), ['sales.customers->sales.top_customers:TABLE', 'sales.orders->sales.top_customers:TABLE']);
    assert.deepEqual(byQuery(2), ['staging.orders_raw->sales.orders:TABLE']);
    assert.deepEqual(byQuery(3), ['staging.customers_delta->sales.customers:TABLE']);
    assert.deepEqual(byQuery(4), ['sales.orders->exports.s3://exports/orders/:LOCATION']);
    assert.deepEqual(byQuery(5), ['sales.orders->sales.v_big:VIEW']);
    assert.deepEqual(byQuery(6), [], 'a failed CTAS wrote nothing');
    const ctas = q.find((r) => r.query_id === uuid(1))!;
    assert.equal((ctas.observed_at as Date).getTime(), NOW - 6 * DAY + 20_000);
    assert.equal(q.filter((r) => r.query_id === uuid(2))[0]!.target_catalog, 'awsdatacatalog');
    assert.ok(q.filter((r) => r.query_id === uuid(5000)).length === 1, 'etl INSERTs carry lineage too');

    const ev = (n: number) => full.rows.events.find((r) => r.query_id === uuid(n));
    assert.equal(ev(7)?.event_type, 'DROP_TABLE');
    assert.equal(ev(7)?.object_name, 'old_stuff');
    assert.equal(ev(7)?.object_type, 'TABLE');
    assert.equal(ev(8)?.event_type, 'ALTER_TABLE_ADD_PARTITION');
    assert.ok(!String(ev(8)?.query_text).includes('2026-01-02'), 'event query text masked');
    assert.equal(ev(6)?.state, 'FAILED', 'failed DDL still recorded as an event');
    assert.equal(ev(5)?.event_type, 'CREATE_VIEW');
    assert.equal(ev(1)?.event_type, 'CREATE_TABLE_AS_SELECT');
    assert.equal(ev(1)?.user_name, 'athena_workgroup_primary');
    assert.equal(ev(10), undefined, 'a SELECT is no event');
    assert.ok((full.ctx.counters.unparseable_statements ?? 0) >= 1);
    assert.deepEqual(full.ctx.warnings, []);
  });

  test('consecutive windows [a,b) and [b,c) are disjoint and together equal [a,c)', async () => {
    const history: Partial<AthenaConfigInput> = { databases: { exclude: ['.*'] }, workgroups: ['primary', 'etl'] };
    const first = await extract(configFor(history), win(A, B));
    const second = await extract(configFor(history), win(B, C));
    const a = ids(first.rows.databaselog);
    const b = ids(second.rows.databaselog);
    assert.ok(a.size > 50 && b.size > 50);
    for (const id of a) assert.ok(!b.has(id), `${id} in both windows`);
    assert.ok(b.has(uuid(10)) && !a.has(uuid(10)), 'the execution at exactly b belongs to [b,c)');
    assert.deepEqual(new Set([...a, ...b]), ids(full.rows.databaselog.filter((r) => r.workgroup === 'primary' || r.workgroup === 'etl')));
    assert.deepEqual(sorted([...first.rows.events, ...second.rows.events]), sorted(full.rows.events));
    assert.deepEqual(
      sorted([...first.rows.linkages, ...second.rows.linkages]),
      sorted(full.rows.linkages.filter((r) => r.origin === 'QUERY')),
    );
  });

  test('paging stops once a whole page lies before the window (minus the margin)', async () => {
    const recent = win(NOW - 1 * DAY, C);
    const got = await extract(configFor({ databases: { exclude: ['.*'] }, workgroups: ['primary'] }), recent);
    assert.deepEqual(ids(got.rows.databaselog), expectedExecutions('primary', recent));
    // 12 days of primary history is 4+ pages; one day fits in the first page, plus one page to see the edge.
    assert.ok(server.counters().ListQueryExecutions! <= 2, `ListQueryExecutions ${server.counters().ListQueryExecutions}`);
  });

  test('throttling storms, 5xx bursts and unprocessed ids recover with the same output as a clean run', async () => {
    const scope = {
      catalogs: ['AwsDataCatalog'],
      databases: { include: ['sales', 'views_many', 'db_0[0-4]'] },
      workgroups: ['primary', 'etl'],
    };
    const clean = await extract(configFor(scope), FULL);
    server.setFaults('*', { throttleRate: 0.3 });
    server.setFaults('ListTableMetadata', { throttleNext: 8, throttleRate: 0.3, throttleCode: 'TooManyRequestsException' });
    server.setFaults('BatchGetQueryExecution', { serverErrorNext: 4, serverErrorRate: 0.1, unprocessedRate: 0.3 });
    server.setFaults('GetQueryResults', { serverErrorNext: 3, serverErrorStatus: 503 });
    server.setFaults('ListQueryExecutions', { serverErrorRate: 0.2, throttleRate: 0.2 });
    api.reset();
    const stormy = await extract(configFor(scope), FULL);
    for (const kind of ['tables', 'metadata', 'databaselog', 'linkages', 'events'] as const) {
      assert.deepEqual(sorted(stormy.rows[kind]), sorted(clean.rows[kind]), `${kind} differs after faults`);
    }
    assert.ok(api.total('throttle') > 10, `throttles ${api.total('throttle')}`);
    assert.ok(api.total('server-error') >= 7);
    assert.equal(api.total('failure'), 0);
  });

  test('persistent throttling gives up with a retryable TransientError', async () => {
    server.setFaults('ListWorkGroups', { throttleRate: 1 });
    await assert.rejects(extract(configFor({ retry: { maxAttempts: 3, baseDelay: '1ms', maxDelay: '2ms' } }), FULL), (e: Error) => {
      assert.equal(e.name, 'TransientError');
      assert.match(e.message, /ListWorkGroups still failing after 3 attempt/);
      return true;
    });
    assert.equal(server.counters().ListWorkGroups, 3);
  });

  test('AccessDenied becomes an AuthError naming the IAM action', async () => {
    server.setFaults('ListQueryExecutions', { accessDenied: true });
    await assert.rejects(extract(configFor({ databases: { exclude: ['.*'] }, workgroups: ['primary'] }), FULL), (e: unknown) => {
      assert.ok(e instanceof AuthError);
      assert.match(e.message, /athena:ListQueryExecutions/);
      assert.equal(e.details?.action, 'athena:ListQueryExecutions');
      return true;
    });
    assert.equal(server.counters().ListQueryExecutions, 1, 'a denial is not retried');
  });

  test("the query result location: configured, else the query workgroup's, else a ConfigError naming the field", async () => {
    const views = { catalogs: ['AwsDataCatalog'], databases: { include: ['sales'] }, queryHistory: false };
    const fromWorkgroup = await extract(configFor(views), FULL);
    assert.equal(fromWorkgroup.rows.tables.find((r) => r.table_name === 'v_orders')?.view_definition, V_ORDERS_SQL);
    assert.equal(server.counters().GetWorkGroup, 1, 'the workgroup was asked for its location');
    server.resetCounters();
    const configured = await extract(configFor({ ...views, outputLocation: 's3://collector-results/athena/' }), FULL);
    assert.equal(configured.rows.tables.find((r) => r.table_name === 'v_orders')?.view_definition, V_ORDERS_SQL);
    assert.equal(server.counters().GetWorkGroup ?? 0, 0, 'a configured location needs no lookup');
    // wg_00 has no result location of its own.
    await assert.rejects(
      extract(configFor({ ...views, queryWorkgroup: 'wg_00' }), FULL),
      (e: unknown) => e instanceof ConfigError && /workgroup "wg_00" has no query result location: set outputLocation/.test(e.message),
    );
  });

  test('an unknown workgroup is a ConfigError', async () => {
    let error: unknown;
    await assert.rejects(
      extract(configFor({ databases: { exclude: ['.*'] }, workgroups: ['nope'] }), FULL),
      (e: unknown) => ((error = e), e instanceof ConfigError),
    );
    const e = error as ConfigError;
    assert.equal(e.nonRetryable, true);
    assert.match(e.message, /ListQueryExecutions/, `names the operation: ${e.message}`);
    assert.match(e.message, /nope/, 'names the workgroup');
    assert.equal(server.counters().ListQueryExecutions, 1, 'a validation error is not retried');
  });

  test('a window older than 45 days warns that the history is gone', async () => {
    const got = await extract(configFor({ databases: { exclude: ['.*'] }, workgroups: ['primary'] }), win(NOW - 50 * DAY, NOW - 49 * DAY));
    assert.equal(got.ctx.warnings.length, 1);
    assert.match(got.ctx.warnings[0]!, /45 days/);
    assert.equal(got.rows.databaselog.length, 0);
    const none = await extract(configFor({ databases: { exclude: ['.*'] }, workgroups: ['primary'] }), win(NOW - 44 * DAY, NOW - 43 * DAY));
    assert.deepEqual(none.ctx.warnings, []);
  });

  test('mask: false keeps literals in query text (lineage never masked either way)', async () => {
    const got = await extract(configFor({ mask: false, databases: { exclude: ['.*'] }, workgroups: ['primary'] }), win(B, B + 1));
    assert.equal(got.rows.databaselog.length, 1);
    assert.match(String(got.rows.databaselog[0]!.query_text), /alice@example\.com/);
  });

  test('the rate limiter holds each API to its quota, shared across concurrent units', async () => {
    const quotas = { ListTableMetadata: { perSecond: 20, burst: 5 } };
    const started = performance.now();
    await extract(
      configFor({ quotas, queryHistory: false, catalogs: ['AwsDataCatalog'], databases: { include: ['sales', 'views_many'] } }),
      FULL,
    );
    const seconds = (performance.now() - started) / 1000;
    const calls = api.byOperation.ListTableMetadata!.call!;
    assert.equal(calls, server.counters().ListTableMetadata, 'our counters match what the server saw');
    assert.ok(calls >= 24);
    // Loose lower bound only: (calls - burst) / rate, minus slack; never an upper bound.
    assert.ok(seconds >= ((calls - 5) / 20) * 0.8, `${calls} calls in ${seconds.toFixed(2)}s`);

    const bucket = new TokenBucket({ perSecond: 100, burst: 10 });
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 40 }, () => bucket.acquire()));
    assert.ok(performance.now() - t0 >= 300 * 0.8);
  });

  test('the default quotas are the documented Athena ones', () => {
    assert.deepEqual(DEFAULT_QUOTAS.ListQueryExecutions, { perSecond: 5, burst: 10 });
    assert.deepEqual(DEFAULT_QUOTAS.BatchGetQueryExecution, { perSecond: 20, burst: 40 });
    assert.deepEqual(DEFAULT_QUOTAS.StartQueryExecution, { perSecond: 20, burst: 80 });
    assert.deepEqual(DEFAULT_QUOTAS.GetQueryResults, { perSecond: 100, burst: 200 });
    assert.deepEqual(DEFAULT_QUOTAS.GetQueryExecution, { perSecond: 100, burst: 200 });
  });

  test('units are stable keyed: a resumed extract skips done units and completes the same output', async () => {
    const scope = { catalogs: ['AwsDataCatalog'], databases: { include: ['sales', 'db_.*'] }, workgroups: ['primary', 'etl', 'wg_00'] };
    const whole = await extract(configFor(scope), FULL);
    const again = await extract(configFor({ ...scope, queryHistory: true }), FULL, { skip: new Set(whole.keys) });
    assert.deepEqual(again.keys, whole.keys, 'same keys in the same order');
    assert.equal(again.rows.tables.length + again.rows.metadata.length + again.rows.databaselog.length, 0);
    assert.equal(new Set(whole.keys).size, whole.keys.length, 'no duplicate keys');
    // "Crash" after half the units: the resumed run does only the rest, and the union is the whole.
    const done = new Set(whole.keys.filter((_, i) => i % 2 === 0));
    const firstHalf = await extract(configFor(scope), FULL, { skip: new Set(whole.keys.filter((k) => !done.has(k))) });
    const rest = await extract(configFor(scope), FULL, { skip: done });
    for (const kind of ['tables', 'metadata', 'databaselog', 'linkages', 'events'] as const) {
      assert.deepEqual(sorted([...firstHalf.rows[kind], ...rest.rows[kind]]), sorted(whole.rows[kind]), kind);
    }
  });

  test('writes are awaited one at a time (backpressure) and cancellation stops a unit', async () => {
    const config = configFor({ queryHistory: false, catalogs: ['AwsDataCatalog'], databases: { include: ['sales'] } });
    const ctx = makeCtx(FULL);
    let pending = 0;
    let maxPending = 0;
    let rows = 0;
    const slow: UnitOutput = {
      setCursor: () => undefined,
      async write() {
        pending++;
        maxPending = Math.max(maxPending, pending);
        await new Promise((r) => setImmediate(r));
        pending--;
        rows++;
      },
    };
    const source = sourceFor(config);
    for await (const unit of source.units(ctx)) await unit.run(slow);
    assert.equal(maxPending, 1);
    assert.ok(rows > 200);

    server.setFaults('ListTableMetadata', { latencyMs: 300 });
    const abort = new AbortController();
    const cctx = makeCtx(FULL, abort.signal);
    const units = [];
    for await (const unit of source.units(cctx)) units.push(unit);
    const run = units[0]!.run(new Collected());
    setTimeout(() => abort.abort(new Error('cancelled by test')), 50);
    await assert.rejects(run, /cancelled by test/);
    await source.close();
    await source.close(); // idempotent
    await assert.rejects(source.units(ctx)[Symbol.asyncIterator]().next(), /already closed/);
  });

  test('testConnection checks every permission and names the action to grant', async () => {
    const ok = await sourceFor(configFor()).testConnection();
    assert.deepEqual(
      ok.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`),
      [],
    );
    // Every catalog and workgroup has its own checks: the grants, each once, in order.
    assert.deepEqual(
      [...new Set(ok.map((c) => c.grant))],
      [
        'athena:ListWorkGroups',
        'athena:ListDataCatalogs',
        'athena:ListDatabases',
        'athena:ListTableMetadata',
        // Optional (reads Iceberg partition specs without a query per table): the seed's lake has one.
        's3:GetObject on arn:aws:s3:::lake/*/metadata/*',
        'athena:ListQueryExecutions',
        'athena:BatchGetQueryExecution',
        'athena:GetWorkGroup',
        'athena:StartQueryExecution',
        'athena:GetQueryResults',
        's3:PutObject',
      ],
    );
    assert.ok(ok.every((c) => c.required === !(c.grant ?? '').startsWith('s3:GetObject on arn:aws:s3:::lake/')));

    server.setFaults('ListTableMetadata', { accessDenied: true });
    server.setFaults('BatchGetQueryExecution', { accessDenied: true });
    const denied = await sourceFor(configFor({ queryHistory: false })).testConnection();
    const table = denied.find((c) => c.grant === 'athena:ListTableMetadata')!;
    assert.equal(table.ok, false);
    assert.equal(table.required, true);
    const batch = denied.find((c) => c.grant === 'athena:BatchGetQueryExecution')!;
    assert.equal(batch.ok, false);
    assert.equal(batch.required, false, 'history checks are optional without queryHistory');
  });

  test('testConnection tells a result location it may not write from a query it may not start', async () => {
    server.setFaults('StartQueryExecution', { resultWriteDenied: true });
    const checks = await sourceFor(configFor()).testConnection();
    const by = (grant: string) => checks.find((c) => c.grant === grant)!;
    assert.equal(by('athena:StartQueryExecution').ok, true, 'the query started: that permission is there');
    assert.match(by('athena:StartQueryExecution').detail ?? '', /started, then could not write its result/);
    const write = by('s3:PutObject');
    assert.equal(write.ok, false);
    assert.equal(write.required, true);
    assert.match(write.name, /write query results to s3:\/\/results\/primary\//);
    assert.match(
      write.detail ?? '',
      /Access denied when writing output to url: s3:\/\/results\/primary\/[0-9a-f-]+\.csv.*grant s3:PutObject and s3:GetBucketLocation on s3:\/\/results\/primary\//,
    );
    assert.equal(by('athena:GetQueryResults').ok, false);
    assert.match(by('athena:GetQueryResults').detail ?? '', /not checked/);
    assert.equal(by('athena:GetQueryResults').required, false, 'not checked is not a permission to grant');
    assert.deepEqual(
      checks.filter((c) => !c.ok && c.required).map((c) => c.grant),
      ['s3:PutObject'],
      'the one thing to fix',
    );

    server.clearFaults();
    server.setFaults('StartQueryExecution', { accessDenied: true });
    const denied = await sourceFor(configFor()).testConnection();
    const start = denied.find((c) => c.name.startsWith('run SELECT 1'))!;
    assert.equal(start.ok, false);
    assert.equal(start.grant, 'athena:StartQueryExecution');
    assert.match(denied.find((c) => c.grant === 's3:PutObject')!.detail ?? '', /not checked: SELECT 1 did not run/);
  });
});

describe('athena config', () => {
  const base = { type: 'athena', region: 'eu-west-1' };

  test('defaults', () => {
    const c = athenaSource.configSchema.parse(base);
    assert.equal(c.maxConcurrency, 8);
    assert.equal(c.mask, true);
    assert.equal(c.queryHistory, true);
    assert.equal(c.historyMargin, '1h');
    assert.equal(sourceFor(c).concurrency, 8);
  });

  test('rejects a malformed role ARN with a clear message, accepts other partitions', () => {
    const r = athenaSource.configSchema.safeParse({ ...base, roleArn: 'arn:aws:iam::12345:user/bob' });
    assert.ok(!r.success);
    assert.match(r.error.issues[0]!.message, /IAM role ARN such as arn:aws:iam::123456789012:role\//);
    assert.ok(
      athenaSource.configSchema.safeParse({
        ...base,
        roleArn: 'arn:aws-us-gov:iam::123456789012:role/path/collector',
        externalId: 'x1',
        sessionDuration: '2h',
      }).success,
    );
    assert.ok(
      !athenaSource.configSchema.safeParse({ ...base, roleArn: 'arn:aws:iam::123456789012:role/c', sessionDuration: '13h' }).success,
    );
  });

  test('secrets must be references; unknown fields and bad regexes are refused', () => {
    assert.ok(!athenaSource.configSchema.safeParse({ ...base, accessKeyId: 'AKIA123', secretAccessKey: '${S}' }).success);
    assert.ok(!athenaSource.configSchema.safeParse({ ...base, accessKeyId: '${K}' }).success, 'key without secret');
    assert.ok(!athenaSource.configSchema.safeParse({ ...base, colour: 'blue' }).success);
    assert.ok(!athenaSource.configSchema.safeParse({ ...base, databases: { include: ['(unclosed'] } }).success);
    assert.ok(!athenaSource.configSchema.safeParse({ type: 'athena' }).success, 'region required');
  });

  test('decodes Presto view text', () => {
    const text = `/* Presto View: ${Buffer.from(JSON.stringify({ originalSql: 'SELECT 1 AS x', catalog: 'awsdatacatalog', schema: 's', columns: [] })).toString('base64')} */`;
    assert.equal(decodePrestoView(text), 'SELECT 1 AS x');
    assert.equal(decodePrestoView('/* Presto View: !!! */'), undefined);
    assert.equal(decodePrestoView('SELECT 1'), undefined);
  });
});

describe('query history paging when the listing is out of order', () => {
  // Newest-first by listing position: page 1 in the window; page 2 just before the window start, inside
  // the margin; page 3 older than start - margin except one straggler submitted inside the window but
  // listed late; page 4 entirely older than start - margin; page 5 never needed.
  const START = NOW - 10 * HOUR;
  const END = NOW - HOUR;
  const MARGIN = 2 * HOUR;
  const pageOf = (page: number, n: number) => uuid(0x70000 + page * 100 + n);
  const listed = (page: number, n: number) => at(HOUR + page * 3 * HOUR + n * MIN);
  const executions: SeedExecution[] = [];
  const add = (id: string, submittedAt: Date, listedAt: Date) =>
    executions.push({ ...exec({ id, ago: NOW - submittedAt.getTime(), workgroup: 'ooo', query: 'SELECT 1' }), listedAt });
  for (let n = 0; n < 50; n++) add(pageOf(1, n), new Date(START + HOUR + n * MIN), listed(1, n));
  for (let n = 0; n < 50; n++) add(pageOf(2, n), new Date(START - MARGIN / 2 - n * 10_000), listed(2, n));
  const STRAGGLER = pageOf(3, 0);
  add(STRAGGLER, new Date(START + 30 * MIN), listed(3, 0));
  for (let n = 1; n < 50; n++) add(pageOf(3, n), new Date(START - MARGIN - HOUR - n * MIN), listed(3, n));
  for (const page of [4, 5])
    for (let n = 0; n < 50; n++) add(pageOf(page, n), new Date(START - MARGIN - page * 3 * HOUR - n * MIN), listed(page, n));
  const inWindow = new Set(executions.filter((e) => e.submittedAt.getTime() >= START && e.submittedAt.getTime() < END).map((e) => e.id));
  // Workgroup "aged": one execution listed recently whose history has aged out (46 days) by the time
  // BatchGetQueryExecution asks for it, as happens between the two calls at the retention edge.
  const AGED = uuid(0x7ffff);
  const agedGroup: SeedExecution[] = [
    { ...exec({ id: AGED, ago: 46 * DAY, workgroup: 'aged', query: 'SELECT 2' }), listedAt: at(2 * HOUR) },
    exec({ id: uuid(0x7fffe), ago: 3 * HOUR, workgroup: 'aged', query: 'SELECT 3' }),
    exec({ id: uuid(0x7fffd), ago: 4 * HOUR, workgroup: 'aged', query: 'SELECT 4' }),
    // DDL that names nothing (it failed on its syntax): no event, but counted.
    exec({ id: uuid(0x7fffc), ago: 5 * HOUR, workgroup: 'aged', query: 'DROP TABLE', state: 'FAILED' }),
  ];

  let local: AthenaLocal;
  before(async () => {
    const data: SeedData = {
      historyRetentionDays: 45,
      catalogs: [{ name: 'AwsDataCatalog', type: 'GLUE', databases: [] }],
      workgroups: [
        { name: 'ooo', state: 'ENABLED', outputLocation: 's3://results/ooo/', creationTime: at(400 * DAY) },
        { name: 'aged', state: 'ENABLED', outputLocation: 's3://results/aged/', creationTime: at(400 * DAY) },
      ],
      executions: [...executions, ...agedGroup],
    };
    local = await startAthenaLocal({ seed: seedFromData(data, 'out-of-order'), randomSeed: 3 });
  });
  after(async () => local.close());
  beforeEach(() => local.resetCounters());

  test('an in-window execution listed after a page older than the window start is still found', async () => {
    const got = await extract(
      configFor({ endpoint: local.endpoint, workgroups: ['ooo'], queryHistory: true, historyMargin: '2h' }),
      win(START, END),
    );
    assert.equal(inWindow.size, 51);
    assert.deepEqual(ids(got.rows.databaselog), inWindow);
    assert.ok(ids(got.rows.databaselog).has(STRAGGLER));
    // Pages 1-4 are read: page 2 lies before the start but inside the margin, page 3 holds the straggler,
    // page 4 is the first page wholly before start - margin; page 5 is never asked for.
    assert.equal(local.counters().ListQueryExecutions, 4);
  });

  test('without a margin the same listing stops at the first page older than the start', async () => {
    const got = await extract(configFor({ endpoint: local.endpoint, workgroups: ['ooo'], historyMargin: '0s' }), win(START, END));
    assert.equal(local.counters().ListQueryExecutions, 2);
    assert.ok(!ids(got.rows.databaselog).has(STRAGGLER), 'the margin is what reaches executions listed late');
  });

  test('an execution Athena calls INVALID_INPUT is skipped, counted and warned about, not retried', async () => {
    const got = await extract(configFor({ endpoint: local.endpoint, workgroups: ['aged'] }), win(START, END));
    assert.deepEqual(ids(got.rows.databaselog), new Set([uuid(0x7fffe), uuid(0x7fffd), uuid(0x7fffc)]));
    assert.equal(got.ctx.counters.athena_executions_unavailable, 1);
    assert.equal(got.rows.events.length, 0);
    assert.equal(got.ctx.counters.ddl_without_event, 1);
    assert.equal(got.ctx.warnings.length, 1);
    assert.match(got.ctx.warnings[0]!, /workgroup aged .*skipped \(INVALID_INPUT\)/);
    assert.equal(local.counters().BatchGetQueryExecution, 1, 'no retry for an id that cannot come back');
  });
});

describe('athena credentials: an assumed role, renewed before it expires', () => {
  let moto: Moto;
  let local: AthenaLocal;
  const stsBefore = process.env.AWS_ENDPOINT_URL_STS;
  before(async () => {
    [moto, local] = await Promise.all([
      startMoto(),
      startAthenaLocal({
        seed: seedFromData(
          { catalogs: [], workgroups: [{ name: 'primary', state: 'ENABLED', creationTime: at(DAY) }], executions: [] },
          'sts',
        ),
        randomSeed: 5,
      }),
    ]);
    // Where the SDK's STS client goes (a VPC endpoint in production, moto here): the standard variable.
    process.env.AWS_ENDPOINT_URL_STS = moto.endpoint;
  });
  after(async () => {
    mock.timers.reset();
    if (stsBefore === undefined) delete process.env.AWS_ENDPOINT_URL_STS;
    else process.env.AWS_ENDPOINT_URL_STS = stsBefore;
    await Promise.all([moto?.stop(), local?.close()]);
  });

  test('calls are signed with the role session, and a new session is taken near its expiry', async () => {
    const config = athenaSource.configSchema.parse({
      type: 'athena',
      region: 'us-east-1',
      endpoint: local.endpoint,
      accessKeyId: '${BASE_KEY}',
      secretAccessKey: '${BASE_SECRET}',
      roleArn: 'arn:aws:iam::123456789012:role/collector-athena',
      externalId: 'acme-collector',
      sessionDuration: '15m',
    });
    const resolved: AthenaConfig = {
      ...config,
      accessKeyId: moto.credentials.accessKeyId,
      secretAccessKey: moto.credentials.secretAccessKey,
    };
    const session = new AthenaSession(resolved);
    const list = () => session.call('ListWorkGroups', (o) => session.client.send(new ListWorkGroupsCommand({}), o));
    mock.timers.enable({ apis: ['Date'], now: Date.now() });
    try {
      await list();
      await list();
      const first = Object.entries(local.callers());
      assert.equal(first.length, 1, 'one role session for calls within its lifetime');
      const [key, use] = first[0]!;
      assert.notEqual(key, moto.credentials.accessKeyId, 'not the base credentials');
      assert.match(key, /^ASIA/, 'temporary credentials from sts:AssumeRole');
      assert.deepEqual(use, { calls: 2, sessionToken: true });
      // moto records each AssumeRole: the role, the session name and the external id the trust policy checks.
      const state = (await (await fetch(`${moto.endpoint}/moto-api/data.json`)).json()) as {
        sts: { AssumedRole: { access_key_id: string; role_arn: string; external_id: string | null; session_name: string }[] };
      };
      const assumed = state.sts.AssumedRole.find((r) => r.access_key_id === key);
      assert.deepEqual(assumed && { role: assumed.role_arn, externalId: assumed.external_id, session: assumed.session_name }, {
        role: 'arn:aws:iam::123456789012:role/collector-athena',
        externalId: 'acme-collector',
        session: 'temporal-collectors-athena',
      });

      // 11 of the session's 15 minutes later the SDK renews it before use (it refreshes inside 5 minutes).
      mock.timers.tick(11 * MIN);
      await list();
      const keys = Object.keys(local.callers());
      assert.equal(keys.length, 2, 'a second role session');
      assert.ok(keys.every((k) => k.startsWith('ASIA')));
    } finally {
      mock.timers.reset();
      session.close();
    }
  });
});

describe('view text the catalog exposes as an encoded Presto view', () => {
  const SQL = 'SELECT o.order_id FROM sales.orders o WHERE o.amount > 0';
  const encoded = `/* Presto View: ${Buffer.from(JSON.stringify({ originalSql: SQL, catalog: 'awsdatacatalog', schema: 'marts', columns: [{ name: 'order_id', type: 'bigint' }] })).toString('base64')} */`;
  let local: AthenaLocal;
  before(async () => {
    const data: SeedData = {
      catalogs: [
        {
          name: 'AwsDataCatalog',
          type: 'GLUE',
          databases: [
            { name: 'sales', tables: [table('orders')] },
            {
              name: 'marts',
              tables: [
                table('v_positive', {
                  tableType: 'VIRTUAL_VIEW',
                  format: undefined,
                  viewSql: SQL,
                  parameters: { view_original_text: encoded },
                }),
              ],
            },
          ],
        },
      ],
      workgroups: [{ name: 'primary', state: 'ENABLED', outputLocation: 's3://results/primary/', creationTime: at(DAY) }],
      executions: [],
    };
    local = await startAthenaLocal({ seed: seedFromData(data, 'presto-views'), randomSeed: 9 });
  });
  after(async () => local.close());

  test('is decoded from the table parameters, with no information_schema query', async () => {
    const got = await extract(configFor({ endpoint: local.endpoint, databases: { include: ['marts'] }, queryHistory: false }), win(A, C));
    const rows = got.rows.tables.filter((r) => r.table_name === 'v_positive');
    assert.equal(rows.length, 1);
    for (const r of rows) {
      assert.equal(r.view_definition, SQL);
      assert.equal(r.table_type, 'VIRTUAL_VIEW');
      assert.equal(r.table_parameters, '{"presto_view":"true"}', 'the encoded text is not repeated among the parameters');
    }
    assert.deepEqual(
      got.rows.linkages
        .filter((l) => !l.target_column)
        .map((l) => `${l.source_database}.${l.source_table}->${l.target_database}.${l.target_table}:${l.origin}`),
      ['sales.orders->marts.v_positive:VIEW_DEFINITION'],
    );
    assert.equal(local.counters().StartQueryExecution ?? 0, 0, 'no query was needed for the view text');
  });
});
