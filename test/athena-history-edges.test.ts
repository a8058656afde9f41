/**
 * Athena at the edges of history (issue 12, points 4, 5, 6 and 8): renames carry the new name, every
 * name is lower-cased with the default catalog named, the collector's own queries are not usage, and
 * query tags survive masking. Through the real extract pipeline (runUnits, CSV files) and the real AWS
 * SDK against the local endpoint.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startAthenaLocal, type AthenaLocal } from '../tools/athena-local/index';
import { seedFromData, type SeedData, type SeedExecution, type SeedTable } from '../tools/athena-local/seed';
import { classifyStatement } from '../tools/athena-local/statements';
import type { AthenaConfigInput } from '../src/connectors/athena/index';
import { MAX_TAGS_JSON_CHARS, queryTags } from '../src/sql/index';
import { extractToCsv, localAthenaSource } from './support/athena-extract';

const NOW = Date.now();
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const uuid = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

function execution(n: number, query: string, over: Partial<SeedExecution> = {}): SeedExecution {
  const submittedAt = new Date(NOW - 3 * HOUR + n * 60_000);
  return {
    id: uuid(n),
    query,
    statementType: classifyStatement(query).statementType,
    state: 'SUCCEEDED',
    submittedAt,
    completedAt: new Date(submittedAt.getTime() + 5_000),
    workgroup: 'primary',
    catalog: 'AwsDataCatalog',
    database: 'sales',
    stats: { dataScannedBytes: 10, engineMs: 900, queueMs: 20, planningMs: 30, totalMs: 950 },
    ...over,
  };
}

const RENAME_TABLE = execution(1, 'ALTER TABLE sales.Orders RENAME TO orders_v2');
const RENAME_VIEW = execution(2, 'ALTER VIEW sales.v_orders RENAME TO archive.v_orders_2025');
const RENAME_COLUMN = execution(3, 'ALTER TABLE sales.customers CHANGE COLUMN Email email_address string');
// No catalog in the execution context (Athena omits the default one), database in mixed case.
const NO_CATALOG = execution(4, 'INSERT INTO daily SELECT * FROM orders', { catalog: undefined, database: 'Sales' });
const DBT = execution(
  5,
  `/* {"app": "dbt", "dbt_version": "1.8.0", "node_id": "model.shop.orders", "target_name": "prod"} */\nSELECT * FROM sales.orders WHERE email = 'alice@example.com' -- ask bob@example.com`,
);
const LOOKER = execution(
  6,
  `SELECT count(*) FROM sales.orders\n-- Looker Query Context '{"user_id":7,"history_slug":"a1b2","instance_slug":"x9"}'`,
);
const AIRFLOW = execution(7, `SELECT id FROM sales.orders WHERE id = 42 /*dag_id='load%20orders',task_id='extract'*/`);
const MANY_TAGS = execution(
  8,
  `${Array.from({ length: 40 }, (_, i) => `/* {"n": ${i}, "pad": "${'x'.repeat(200)}"} */`).join('\n')}\nSELECT 1`,
);

// Scheduled jobs run the same text again and again: read once per run, written for every execution.
const REPEATED_SQL = 'INSERT INTO daily SELECT id FROM sales.orders WHERE id > 7';
const REPEATS = [9, 10, 11].map((n) => execution(n, REPEATED_SQL));
const REPEAT_ELSEWHERE = execution(12, REPEATED_SQL, { database: 'archive' });
const BROKEN_DDL = [13, 14].map((n) => execution(n, 'CREATE TABLE ((( broken', { state: 'FAILED' }));

const W = { start: new Date(NOW - 4 * HOUR).toISOString(), end: new Date(NOW - HOUR).toISOString() };

const table = (name: string, over: Partial<SeedTable> = {}): SeedTable => ({
  name,
  tableType: 'EXTERNAL_TABLE',
  columns: [{ name: 'id', type: 'bigint' }],
  partitionKeys: [],
  parameters: {},
  createTime: new Date(NOW - 10 * DAY),
  ...over,
});

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
              table('orders'),
              // A view: Athena gives no text in table metadata, so the collector runs information_schema.views.
              table('v_orders', { tableType: 'VIRTUAL_VIEW', viewSql: 'SELECT id FROM sales.orders' }),
            ],
          },
        ],
      },
    ],
    workgroups: [
      { name: 'primary', state: 'ENABLED', outputLocation: 's3://results/primary/', creationTime: new Date(NOW - 400 * DAY) },
      { name: 'collector', state: 'ENABLED', outputLocation: 's3://results/collector/', creationTime: new Date(NOW - 400 * DAY) },
    ],
    executions: [
      RENAME_TABLE,
      RENAME_VIEW,
      RENAME_COLUMN,
      NO_CATALOG,
      DBT,
      LOOKER,
      AIRFLOW,
      MANY_TAGS,
      ...REPEATS,
      REPEAT_ELSEWHERE,
      ...BROKEN_DDL,
    ],
  };
  local = await startAthenaLocal({ seed: seedFromData(data, 'history-edges'), randomSeed: 5 });
});
after(async () => local?.close());

const sourceOf = (over: Partial<AthenaConfigInput> = {}) => localAthenaSource(local.endpoint, { catalogs: ['AwsDataCatalog'], ...over });
const run = (window: { start: string; end: string }, over: Partial<AthenaConfigInput> = {}) => extractToCsv(sourceOf(over), window);

const byId = (rows: Record<string, string>[] | undefined, e: SeedExecution) => (rows ?? []).filter((r) => r.query_id === e.id);

describe('athena history at the edges', { timeout: 120_000 }, () => {
  let r: Awaited<ReturnType<typeof run>>;
  before(async () => {
    r = await run(W, { workgroups: ['primary'], databases: { exclude: ['.*'] } });
  });

  it('a renamed table, view or column carries its old and new name in events', () => {
    assert.ok(r.headers.events!.includes('new_object_name'), 'the documented column is in the file');
    const [table] = byId(r.rows.events, RENAME_TABLE);
    assert.equal(table?.event_type, 'RENAME_TABLE');
    assert.deepEqual(
      [table?.catalog, table?.database, table?.object_name, table?.new_catalog, table?.new_database, table?.new_object_name],
      ['awsdatacatalog', 'sales', 'orders', 'awsdatacatalog', 'sales', 'orders_v2'],
    );
    assert.equal(table?.column_name, '');
    const [view] = byId(r.rows.events, RENAME_VIEW);
    assert.equal(view?.event_type, 'RENAME_VIEW');
    assert.equal(view?.object_type, 'VIEW');
    assert.deepEqual([view?.new_database, view?.new_object_name], ['archive', 'v_orders_2025'], 'moved to another database');
    const [column] = byId(r.rows.events, RENAME_COLUMN);
    assert.equal(column?.event_type, 'RENAME_COLUMN');
    assert.deepEqual(
      [column?.object_name, column?.column_name, column?.new_column_name, column?.new_object_name],
      ['customers', 'email', 'email_address', ''],
    );
  });

  it('databaselog names are lower-cased, and the default catalog is named as the linkages name it', () => {
    const [row] = byId(r.rows.databaselog, NO_CATALOG);
    assert.equal(row?.catalog, 'awsdatacatalog');
    assert.equal(row?.database, 'sales');
    const links = byId(r.rows.linkages, NO_CATALOG);
    assert.ok(links.length > 0);
    for (const l of links) {
      assert.equal(l.target_catalog, row?.catalog);
      assert.equal(l.target_database, row?.database);
    }
    for (const l of r.rows.databaselog!) {
      assert.equal(l.catalog, l.catalog!.toLowerCase());
      assert.equal(l.database, l.database!.toLowerCase());
    }
  });

  it('a repeated statement is written for every execution, each in its own database; counts stay per execution', () => {
    const edges = (e: SeedExecution) =>
      byId(r.rows.linkages, e)
        .map(
          (l) => `${l.source_database}.${l.source_table}.${l.source_column} -> ${l.target_database}.${l.target_table}.${l.target_column}`,
        )
        .sort();
    const first = edges(REPEATS[0]!);
    assert.ok(first.includes('sales.orders. -> sales.daily.'), first.join('; '));
    for (const e of REPEATS) {
      assert.deepEqual(edges(e), first, e.id);
      assert.equal(byId(r.rows.databaselog, e)[0]?.query_text, 'INSERT INTO daily SELECT id FROM sales.orders WHERE id > ?');
    }
    // Same text, another database: the unqualified target is that database's.
    assert.ok(edges(REPEAT_ELSEWHERE).includes('sales.orders. -> archive.daily.'), edges(REPEAT_ELSEWHERE).join('; '));
    for (const e of BROKEN_DDL) assert.equal(byId(r.rows.databaselog, e).length, 1);
    assert.equal(r.counters.ddl_without_event, BROKEN_DDL.length, JSON.stringify(r.counters));
  });

  it('query tags are kept in query_tags while the text stays masked', () => {
    const tagsOf = (e: SeedExecution) => {
      const [row] = byId(r.rows.databaselog, e);
      return { text: row?.query_text ?? '', tags: row?.query_tags ? (JSON.parse(row.query_tags) as unknown) : null };
    };
    const dbt = tagsOf(DBT);
    assert.deepEqual(dbt.tags, [{ app: 'dbt', dbt_version: '1.8.0', node_id: 'model.shop.orders', target_name: 'prod' }]);
    assert.doesNotMatch(dbt.text, /alice|bob|dbt/, 'literals masked, comments out of the text');
    assert.deepEqual(tagsOf(LOOKER).tags, [{ 'Looker Query Context': { user_id: 7, history_slug: 'a1b2', instance_slug: 'x9' } }]);
    const airflow = tagsOf(AIRFLOW);
    assert.deepEqual(airflow.tags, [{ dag_id: 'load orders', task_id: 'extract' }]);
    assert.doesNotMatch(airflow.text, /\b42\b/);
    const many = byId(r.rows.databaselog, MANY_TAGS)[0]!;
    assert.ok(many.query_tags!.length <= MAX_TAGS_JSON_CHARS, 'bounded');
    assert.ok((r.counters.query_tags_dropped ?? 0) > 0, 'what does not fit is counted');
    assert.equal(byId(r.rows.databaselog, RENAME_TABLE)[0]?.query_tags, '', 'no tags: empty');
  });

  it("the collector's own queries (information_schema.views, test-connection's SELECT 1) are not read back as usage", async () => {
    const started = new Date(Date.now() - 1000).toISOString();
    // A dedicated query workgroup; history reads every enabled workgroup, that one included.
    const config: Partial<AthenaConfigInput> = { queryWorkgroup: 'collector' };
    const first = await run({ start: new Date(NOW - 30 * DAY).toISOString(), end: new Date(NOW - 20 * DAY).toISOString() }, config);
    assert.ok(
      first.rows.tables!.some((m) => m.table_name === 'v_orders' && m.view_definition),
      'the views query ran',
    );
    const source = sourceOf(config);
    try {
      const checks = await source.testConnection();
      assert.ok(
        checks.some((c) => /SELECT 1/.test(c.name) && c.ok),
        'test-connection ran its query',
      );
    } finally {
      await source.close();
    }
    const second = await run({ start: started, end: new Date(Date.now() + 60_000).toISOString() }, config);
    // Every query of the dedicated workgroup is one of ours.
    const own = (second.rows.databaselog ?? []).filter((d) => d.workgroup === 'collector');
    assert.deepEqual(own, [], 'none of our own queries in databaselog');
    assert.ok((second.counters.athena_own_queries_skipped ?? 0) >= 2, `skipped: ${second.counters.athena_own_queries_skipped}`);
  });
});

describe('queryTags', () => {
  it('takes only whole structured comments, never prose', () => {
    assert.deepEqual(queryTags('SELECT 1 /* call alice@example.com {"a": 1} */ -- {"b": 2}', 'athena').tags, [{ b: 2 }]);
    assert.deepEqual(queryTags('SELECT \'/* {"in": "a string"} */\'', 'athena').tags, [], 'a string literal is no comment');
    assert.deepEqual(queryTags('SELECT 1 /* [1, 2] */ /* {broken */', 'athena').tags, [], 'arrays and broken JSON are not tags');
    assert.deepEqual(
      queryTags("SELECT 1 /*route='%E0%A4%A',x='1'*/", 'athena').tags,
      [{ route: '%E0%A4%A', x: '1' }],
      'bad escapes kept as written',
    );
  });

  it('keeps hostile keys as data', () => {
    const [a, b] = queryTags(`/*__proto__='x',k='1'*/ /* {"__proto__": {"polluted": true}} */ SELECT 1`, 'athena').tags;
    assert.deepEqual(Object.keys(a!), ['__proto__', 'k']);
    assert.equal(JSON.stringify([a, b]), '[{"__proto__":"x","k":"1"},{"__proto__":{"polluted":true}}]');
    assert.equal(({} as { polluted?: boolean }).polluted, undefined);
  });

  it('is bounded in count and size', () => {
    const sql = `${Array.from({ length: 30 }, (_, i) => `/* {"i": ${i}} */`).join(' ')} SELECT 1`;
    const { tags, dropped } = queryTags(sql, 'athena');
    assert.equal(tags.length, 16);
    assert.equal(dropped, 14);
    const huge = queryTags(`/* {"a": "${'x'.repeat(9000)}"} */ SELECT 1`, 'athena');
    assert.deepEqual(huge, { tags: [], dropped: 0 }, 'a comment over 8 KB is not read');
  });
});
