/**
 * The local Athena endpoint, driven through the real @aws-sdk/client-athena over HTTP.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  AthenaClient,
  AthenaServiceException,
  BatchGetQueryExecutionCommand,
  GetDataCatalogCommand,
  GetDatabaseCommand,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  GetTableMetadataCommand,
  GetWorkGroupCommand,
  InternalServerException,
  InvalidRequestException,
  ListDatabasesCommand,
  ListDataCatalogsCommand,
  ListQueryExecutionsCommand,
  ListTableMetadataCommand,
  ListWorkGroupsCommand,
  MetadataException,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
  TooManyRequestsException,
  paginateGetQueryResults,
  paginateListDatabases,
  paginateListDataCatalogs,
  paginateListQueryExecutions,
  paginateListTableMetadata,
  paginateListWorkGroups,
  type QueryExecution,
  type Row,
} from '@aws-sdk/client-athena';
import YAML from 'yaml';
import { ConfigError } from '../src/contracts/errors';
import {
  athenaLocalControl,
  demoSeed,
  generateSeed,
  loadSeedFile,
  startAthenaLocal,
  type AthenaLocal,
  type AthenaSeed,
} from '../tools/athena-local/index';
import { demoSeedData, parseSeedData, parseSeedTime } from '../tools/athena-local/seed';
import { ROOT, startProcess, waitFor } from './support/processes';

const FIXTURE = join(ROOT, 'tools', 'athena-local', 'fixtures', 'demo.yaml');

function client(endpoint: string, maxAttempts = 1): AthenaClient {
  return new AthenaClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' },
    maxAttempts,
  });
}

async function collect<T>(pages: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const p of pages) out.push(p);
  return out;
}

async function rejection(p: Promise<unknown>): Promise<AthenaServiceException> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof AthenaServiceException, `expected an AthenaServiceException, got ${String(e)}`);
    return e;
  }
  assert.fail('expected the call to fail');
}

async function finished(athena: AthenaClient, id: string): Promise<QueryExecution> {
  let qe: QueryExecution | undefined;
  await waitFor(
    `query ${id} to finish`,
    async () => {
      qe = (await athena.send(new GetQueryExecutionCommand({ QueryExecutionId: id }))).QueryExecution;
      return ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(qe?.Status?.State ?? '');
    },
    20_000,
  );
  return qe as QueryExecution;
}

const cells = (r: Row) => (r.Data ?? []).map((d) => d.VarCharValue ?? null);

describe('athena-local with the demo seed', () => {
  const now = new Date();
  const seed = demoSeed(now);
  let server: AthenaLocal;
  let athena: AthenaClient;
  before(async () => {
    server = await startAthenaLocal({ seed, randomSeed: 7 });
    athena = client(server.endpoint);
  });
  after(async () => {
    athena.destroy();
    await server.close();
  });

  test('serves catalogs, databases and table metadata shaped like the SDK types', async () => {
    const cats = await athena.send(new ListDataCatalogsCommand({}));
    assert.deepEqual(cats.DataCatalogsSummary, [
      { CatalogName: 'AwsDataCatalog', Type: 'GLUE' },
      { CatalogName: 'hive_onprem', Type: 'HIVE' },
    ]);
    const dbs = await collect(paginateListDatabases({ client: athena }, { CatalogName: 'AwsDataCatalog' }));
    assert.deepEqual(
      dbs.flatMap((p) => p.DatabaseList ?? []).map((d) => d.Name),
      ['sales', 'marketing', 'finance'],
    );
    const db = await athena.send(new GetDatabaseCommand({ CatalogName: 'AwsDataCatalog', DatabaseName: 'finance' }));
    assert.equal(db.Database?.Parameters?.classification, 'confidential');

    // More than 50 tables in sales: the SDK paginator needs a second page.
    const pages = await collect(paginateListTableMetadata({ client: athena }, { CatalogName: 'AwsDataCatalog', DatabaseName: 'sales' }));
    assert.ok(pages.length >= 2);
    assert.ok(pages.every((p) => (p.TableMetadataList ?? []).length <= 50));
    const names = pages.flatMap((p) => p.TableMetadataList ?? []).map((t) => t.Name);
    assert.equal(names.length, seed.tableCount('AwsDataCatalog', 'sales'));
    assert.equal(new Set(names).size, names.length);

    const orders = (
      await athena.send(new GetTableMetadataCommand({ CatalogName: 'AwsDataCatalog', DatabaseName: 'sales', TableName: 'orders' }))
    ).TableMetadata;
    assert.ok(orders?.CreateTime instanceof Date);
    assert.equal(orders.CreateTime.getTime(), now.getTime() - 400 * 86_400_000);
    assert.equal(orders.TableType, 'EXTERNAL_TABLE');
    assert.deepEqual(orders.Columns?.[0], { Name: 'order_id', Type: 'bigint', Comment: 'Order key' });
    assert.deepEqual(orders.PartitionKeys, [{ Name: 'dt', Type: 'string', Comment: 'Load date, yyyy-MM-dd' }]);
    assert.equal(orders.Parameters?.location, 's3://acme-datalake/sales/orders/');
    assert.equal(orders.Parameters?.inputformat, 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat');
    assert.equal(orders.Parameters?.['serde.serialization.lib'], 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe');
    assert.equal(orders.Parameters?.comment, 'One row per customer order');

    const view = (
      await athena.send(new GetTableMetadataCommand({ CatalogName: 'AwsDataCatalog', DatabaseName: 'sales', TableName: 'v_customer_ltv' }))
    ).TableMetadata;
    assert.equal(view?.TableType, 'VIRTUAL_VIEW');
    assert.deepEqual(view?.Parameters, { comment: 'Presto View', presto_view: 'true' });

    const iceberg = (
      await athena.send(
        new GetTableMetadataCommand({ CatalogName: 'AwsDataCatalog', DatabaseName: 'finance', TableName: 'revenue_recognition' }),
      )
    ).TableMetadata;
    assert.equal(iceberg?.Parameters?.table_type, 'ICEBERG');
    assert.equal(iceberg?.Parameters?.inputformat, undefined);

    const filtered = await athena.send(
      new ListTableMetadataCommand({ CatalogName: 'AwsDataCatalog', DatabaseName: 'sales', Expression: 'stg_*|v_*' }),
    );
    const fnames = (filtered.TableMetadataList ?? []).map((t) => t.Name ?? '');
    assert.ok(fnames.length >= 15);
    assert.ok(fnames.every((n) => /^(stg_|v_)/.test(n)));

    const missing = await rejection(
      athena.send(new GetTableMetadataCommand({ CatalogName: 'AwsDataCatalog', DatabaseName: 'sales', TableName: 'nope' })),
    );
    assert.ok(missing instanceof MetadataException);
  });

  test('enforces MaxResults limits with InvalidRequestException', async () => {
    const cases: [string, Promise<unknown>][] = [
      ['ListDataCatalogs 51', athena.send(new ListDataCatalogsCommand({ MaxResults: 51 }))],
      ['ListDataCatalogs 1', athena.send(new ListDataCatalogsCommand({ MaxResults: 1 }))],
      ['ListDatabases 51', athena.send(new ListDatabasesCommand({ CatalogName: 'AwsDataCatalog', MaxResults: 51 }))],
      [
        'ListTableMetadata 51',
        athena.send(new ListTableMetadataCommand({ CatalogName: 'AwsDataCatalog', DatabaseName: 'sales', MaxResults: 51 })),
      ],
      ['ListWorkGroups 51', athena.send(new ListWorkGroupsCommand({ MaxResults: 51 }))],
      ['ListQueryExecutions 51', athena.send(new ListQueryExecutionsCommand({ MaxResults: 51 }))],
      [
        'BatchGetQueryExecution 51 ids',
        athena.send(new BatchGetQueryExecutionCommand({ QueryExecutionIds: Array.from({ length: 51 }, (_, i) => `id-${i}`) })),
      ],
      ['GetQueryResults 1001', athena.send(new GetQueryResultsCommand({ QueryExecutionId: 'x', MaxResults: 1001 }))],
    ];
    for (const [what, p] of cases) {
      const e = await rejection(p);
      assert.ok(e instanceof InvalidRequestException, `${what}: ${e.name}`);
      assert.equal(e.$metadata.httpStatusCode, 400, what);
    }
    const ok = await athena.send(new ListDatabasesCommand({ CatalogName: 'AwsDataCatalog', MaxResults: 2 }));
    assert.equal(ok.DatabaseList?.length, 2);
    assert.ok(ok.NextToken);
    const bad = await rejection(athena.send(new ListDatabasesCommand({ CatalogName: 'AwsDataCatalog', NextToken: 'garbage' })));
    assert.ok(bad instanceof InvalidRequestException);
  });

  test('runs information_schema.columns in DuckDB and pages the results with a header row', async () => {
    const sql = `SELECT table_name, column_name, ordinal_position, data_type, comment, extra_info
      FROM information_schema.columns WHERE table_schema = 'sales' AND table_name IN ('orders', 'customers') ORDER BY table_name, ordinal_position`;
    const { QueryExecutionId: id } = await athena.send(
      new StartQueryExecutionCommand({ QueryString: sql, WorkGroup: 'primary', QueryExecutionContext: { Database: 'sales' } }),
    );
    assert.ok(id);
    const qe = await finished(athena, id);
    assert.equal(qe.Status?.State, 'SUCCEEDED');
    assert.equal(qe.StatementType, 'DML');
    assert.ok(qe.Status?.SubmissionDateTime instanceof Date && qe.Status.CompletionDateTime instanceof Date);
    assert.ok((qe.Statistics?.TotalExecutionTimeInMillis ?? -1) >= 0);
    assert.equal(qe.ResultConfiguration?.OutputLocation, `s3://acme-athena-results/primary/${id}.csv`);

    const pages = await collect(paginateGetQueryResults({ client: athena, pageSize: 7 }, { QueryExecutionId: id }));
    assert.ok(pages.length >= 3);
    assert.ok(pages.every((p) => (p.ResultSet?.Rows ?? []).length <= 7));
    const rows = pages.flatMap((p) => p.ResultSet?.Rows ?? []).map(cells);
    assert.deepEqual(rows[0], ['table_name', 'column_name', 'ordinal_position', 'data_type', 'comment', 'extra_info']);
    const info = pages[0]?.ResultSet?.ResultSetMetadata?.ColumnInfo ?? [];
    assert.deepEqual(
      info.map((c) => [c.Name, c.Type]),
      [
        ['table_name', 'varchar'],
        ['column_name', 'varchar'],
        ['ordinal_position', 'bigint'],
        ['data_type', 'varchar'],
        ['comment', 'varchar'],
        ['extra_info', 'varchar'],
      ],
    );
    const expected: (string | null)[][] = [];
    for (const name of ['customers', 'orders']) {
      const t = (await athena.send(new GetTableMetadataCommand({ CatalogName: 'AwsDataCatalog', DatabaseName: 'sales', TableName: name })))
        .TableMetadata;
      const all = [...(t?.Columns ?? []).map((c) => ({ c, part: false })), ...(t?.PartitionKeys ?? []).map((c) => ({ c, part: true }))];
      all.forEach(({ c, part }, i) =>
        expected.push([name, c.Name ?? '', String(i + 1), trino(c.Type ?? ''), c.Comment ?? null, part ? 'partition key' : null]),
      );
    }
    assert.deepEqual(rows.slice(1), expected);

    // The query is now part of its workgroup's history.
    const hist = await collect(paginateListQueryExecutions({ client: athena }, { WorkGroup: 'primary' }));
    assert.ok(hist.flatMap((p) => p.QueryExecutionIds ?? []).includes(id));

    const v = await athena.send(
      new StartQueryExecutionCommand({
        QueryString: `SELECT table_schema, table_name, view_definition FROM awsdatacatalog.information_schema.views WHERE table_name = 'v_open_orders'`,
      }),
    );
    await finished(athena, v.QueryExecutionId ?? '');
    const vr = await athena.send(new GetQueryResultsCommand({ QueryExecutionId: v.QueryExecutionId }));
    assert.deepEqual(vr.ResultSet?.Rows?.map(cells), [
      ['table_schema', 'table_name', 'view_definition'],
      ['sales', 'v_open_orders', "SELECT order_id, customer_id, order_ts, gross_amount FROM sales.orders WHERE status = 'open'"],
    ]);
    assert.equal(vr.NextToken, undefined);
  });

  test('a SQL error ends FAILED with an AthenaError; results are refused', async () => {
    const { QueryExecutionId: id } = await athena.send(
      new StartQueryExecutionCommand({ QueryString: 'SELECT nope FROM information_schema.tables' }),
    );
    const qe = await finished(athena, id ?? '');
    assert.equal(qe.Status?.State, 'FAILED');
    assert.match(qe.Status?.StateChangeReason ?? '', /^COLUMN_NOT_FOUND: Column 'nope' cannot be resolved/);
    assert.equal(qe.Status?.AthenaError?.ErrorCategory, 2);
    assert.equal(qe.Status?.AthenaError?.Retryable, false);
    const e = await rejection(athena.send(new GetQueryResultsCommand({ QueryExecutionId: id })));
    assert.ok(e instanceof InvalidRequestException);

    const ddl = await athena.send(new StartQueryExecutionCommand({ QueryString: 'CREATE TABLE sales.t2 AS SELECT * FROM sales.orders' }));
    const ddlQe = await finished(athena, ddl.QueryExecutionId ?? '');
    assert.equal(ddlQe.StatementType, 'DDL');
    assert.equal(ddlQe.SubstatementType, 'CREATE_TABLE_AS_SELECT');
    assert.match(ddlQe.Status?.StateChangeReason ?? '', /^NOT_SUPPORTED/);
    const syntax = await athena.send(new StartQueryExecutionCommand({ QueryString: 'SELEC 1' }));
    assert.match((await finished(athena, syntax.QueryExecutionId ?? '')).Status?.StateChangeReason ?? '', /^SYNTAX_ERROR/);
  });

  test('needs an output location like Athena, and refuses disabled workgroups', async () => {
    const e = await rejection(athena.send(new StartQueryExecutionCommand({ QueryString: 'SELECT 1', WorkGroup: 'adhoc' })));
    assert.ok(e instanceof InvalidRequestException);
    assert.match(e.message, /No output location provided/);
    const ok = await athena.send(
      new StartQueryExecutionCommand({
        QueryString: 'SELECT 1',
        WorkGroup: 'adhoc',
        ResultConfiguration: { OutputLocation: 's3://mine/out/' },
      }),
    );
    const qe = await finished(athena, ok.QueryExecutionId ?? '');
    assert.equal(qe.Status?.State, 'SUCCEEDED');
    assert.equal(qe.ResultConfiguration?.OutputLocation, `s3://mine/out/${ok.QueryExecutionId}.csv`);
    // Unaliased expressions are named like Athena's: _col<position>.
    const one = await athena.send(new GetQueryResultsCommand({ QueryExecutionId: ok.QueryExecutionId }));
    assert.deepEqual(one.ResultSet?.Rows?.map(cells), [['_col0'], ['1']]);
    assert.equal(one.ResultSet?.ResultSetMetadata?.ColumnInfo?.[0]?.Type, 'integer');
    const disabled = await rejection(athena.send(new StartQueryExecutionCommand({ QueryString: 'SELECT 1', WorkGroup: 'legacy' })));
    assert.ok(disabled instanceof InvalidRequestException);
    const wg = await athena.send(new GetWorkGroupCommand({ WorkGroup: 'legacy' }));
    assert.equal(wg.WorkGroup?.State, 'DISABLED');
    assert.equal(wg.WorkGroup?.Configuration?.ResultConfiguration?.OutputLocation, 's3://acme-athena-results/legacy/');
    // The same ClientRequestToken is the same execution.
    const a = await athena.send(
      new StartQueryExecutionCommand({ QueryString: 'SELECT 2', ClientRequestToken: 'token-0123456789-0123456789-0123456789' }),
    );
    const b = await athena.send(
      new StartQueryExecutionCommand({ QueryString: 'SELECT 2', ClientRequestToken: 'token-0123456789-0123456789-0123456789' }),
    );
    assert.equal(a.QueryExecutionId, b.QueryExecutionId);
  });

  test('StopQueryExecution interrupts a running query', async () => {
    const { QueryExecutionId: id } = await athena.send(
      new StartQueryExecutionCommand({ QueryString: 'SELECT sum(i) FROM range(100000000000) t(i)' }),
    );
    await waitFor(
      'the query to run',
      async () => (await athena.send(new GetQueryExecutionCommand({ QueryExecutionId: id }))).QueryExecution?.Status?.State === 'RUNNING',
      5000,
    );
    await athena.send(new StopQueryExecutionCommand({ QueryExecutionId: id }));
    const qe = await finished(athena, id ?? '');
    assert.equal(qe.Status?.State, 'CANCELLED');
  });

  test('seeded history: CTAS, INSERT, CREATE VIEW and DDL over two days, newest first page by page', async () => {
    const ids = (await collect(paginateListQueryExecutions({ client: athena, pageSize: 10 }, { WorkGroup: 'etl' }))).flatMap(
      (p) => p.QueryExecutionIds ?? [],
    );
    assert.ok(ids.length >= 15);
    const all: QueryExecution[] = [];
    for (let i = 0; i < ids.length; i += 50)
      all.push(
        ...((await athena.send(new BatchGetQueryExecutionCommand({ QueryExecutionIds: ids.slice(i, i + 50) }))).QueryExecutions ?? []),
      );
    const subs = new Set(all.map((q) => q.SubstatementType));
    for (const s of ['INSERT', 'CREATE_TABLE_AS_SELECT', 'ALTER_TABLE_ADD_PARTITION', 'MSCK_REPAIR_TABLE', 'DROP_TABLE'])
      assert.ok(subs.has(s), s);
    const times = all.map((q) => q.Status?.SubmissionDateTime?.getTime() ?? 0);
    assert.ok(times.every((t) => t > now.getTime() - 2 * 86_400_000 && t <= now.getTime()));
  });
});

/** Athena's engine names for the Hive types the demo uses. */
function trino(hive: string): string {
  const map: Record<string, string> = { string: 'varchar', int: 'integer', timestamp: 'timestamp(3)' };
  return map[hive] ?? hive;
}

describe('athena-local faults and counters', () => {
  let server: AthenaLocal;
  let athena: AthenaClient;
  before(async () => {
    server = await startAthenaLocal({ seed: demoSeed(new Date()), randomSeed: 3 });
    athena = client(server.endpoint);
  });
  after(async () => {
    athena.destroy();
    await server.close();
  });

  test('throttling, 5xx and access denied arrive as typed SDK exceptions; counters count every call', async () => {
    server.resetCounters();
    server.setFaults('ListWorkGroups', { throttleNext: 2 });
    for (let i = 0; i < 2; i++) {
      const e = await rejection(athena.send(new ListWorkGroupsCommand({})));
      assert.equal(e.name, 'ThrottlingException');
      assert.equal(e.$fault, 'client');
      assert.equal(e.$metadata.httpStatusCode, 400);
    }
    assert.equal((await athena.send(new ListWorkGroupsCommand({}))).WorkGroups?.length, 5);
    assert.equal(server.counters().ListWorkGroups, 3);

    server.setFaults('GetWorkGroup', { serverErrorNext: 1 });
    const ise = await rejection(athena.send(new GetWorkGroupCommand({ WorkGroup: 'primary' })));
    assert.ok(ise instanceof InternalServerException);
    assert.equal(ise.$fault, 'server');
    server.setFaults('GetWorkGroup', { serverErrorNext: 1, serverErrorStatus: 503 });
    const unavailable = await rejection(athena.send(new GetWorkGroupCommand({ WorkGroup: 'primary' })));
    assert.equal(unavailable.name, 'ServiceUnavailableException');
    assert.equal(unavailable.$metadata.httpStatusCode, 503);

    server.setFaults('StartQueryExecution', { throttleNext: 1, throttleCode: 'TooManyRequestsException' });
    assert.ok(
      (await rejection(athena.send(new StartQueryExecutionCommand({ QueryString: 'SELECT 1' })))) instanceof TooManyRequestsException,
    );

    server.setFaults('ListQueryExecutions', { accessDenied: true });
    const denied = await rejection(athena.send(new ListQueryExecutionsCommand({ WorkGroup: 'etl' })));
    assert.equal(denied.name, 'AccessDeniedException');
    assert.match(
      denied.message,
      /^User: arn:aws:iam::000000000000:user\/local is not authorized to perform: athena:ListQueryExecutions on resource: arn:aws:athena:us-east-1:000000000000:workgroup\/etl/,
    );

    server.clearFaults();
    assert.ok((await athena.send(new ListQueryExecutionsCommand({ WorkGroup: 'etl' }))).QueryExecutionIds?.length);
    const c = server.counters();
    assert.equal(c.GetWorkGroup, 2);
    assert.equal(c.ListQueryExecutions, 2);
    assert.equal(c.StartQueryExecution, 1);
  });

  test('the SDK retries throttling by itself; latency is injected; probabilities are reproducible', async () => {
    server.resetCounters();
    server.setFaults('*', { throttleNext: 1 });
    const retrying = client(server.endpoint, 3);
    assert.ok((await retrying.send(new ListDataCatalogsCommand({}))).DataCatalogsSummary?.length);
    retrying.destroy();
    assert.equal(server.counters().ListDataCatalogs, 2);

    server.setFaults('*', { latencyMs: 120 });
    const t0 = Date.now();
    await athena.send(new ListDataCatalogsCommand({}));
    assert.ok(Date.now() - t0 >= 115);

    const outcomes = async () => {
      server.clearFaults();
      server.setFaults('GetDataCatalog', { throttleRate: 0.5 });
      const out: boolean[] = [];
      for (let i = 0; i < 24; i++)
        out.push(
          await athena.send(new GetDataCatalogCommand({ Name: 'AwsDataCatalog' })).then(
            () => true,
            () => false,
          ),
        );
      return out;
    };
    const first = await outcomes();
    const second = await outcomes();
    assert.deepEqual(first, second);
    const ok = first.filter(Boolean).length;
    assert.ok(ok > 3 && ok < 21, `${ok} of 24 succeeded`);
    server.clearFaults();
  });

  test('BatchGetQueryExecution leaves ids unprocessed when told to, and unknown ids always', async () => {
    const ids = (await athena.send(new ListQueryExecutionsCommand({ WorkGroup: 'analytics', MaxResults: 12 }))).QueryExecutionIds ?? [];
    assert.equal(ids.length, 12);
    server.setFaults('BatchGetQueryExecution', { unprocessedRate: 0.5 });
    const r = await athena.send(new BatchGetQueryExecutionCommand({ QueryExecutionIds: [...ids, 'no-such-id'] }));
    const unprocessed = r.UnprocessedQueryExecutionIds ?? [];
    assert.equal((r.QueryExecutions ?? []).length + unprocessed.length, 13);
    assert.ok(unprocessed.some((u) => u.QueryExecutionId === 'no-such-id' && u.ErrorCode === 'INVALID_INPUT'));
    const retry = unprocessed.filter((u) => u.ErrorCode !== 'INVALID_INPUT').map((u) => u.QueryExecutionId ?? '');
    assert.ok(retry.length > 0);
    server.clearFaults();
    const again = await athena.send(new BatchGetQueryExecutionCommand({ QueryExecutionIds: retry }));
    assert.deepEqual(new Set((again.QueryExecutions ?? []).map((q) => q.QueryExecutionId)), new Set(retry));
    assert.deepEqual(again.UnprocessedQueryExecutionIds, []);
  });

  test('HTTP control endpoints fault an endpoint from another process', async () => {
    const base = server.endpoint;
    let res = await fetch(`${base}/_local/reset`, { method: 'POST' });
    assert.equal(res.status, 200);
    res = await fetch(`${base}/_local/faults`, { method: 'POST', body: JSON.stringify({ operation: 'GetWorkGroup', accessDenied: true }) });
    assert.equal(res.status, 200);
    const denied = await rejection(athena.send(new GetWorkGroupCommand({ WorkGroup: 'analytics' })));
    assert.equal(denied.name, 'AccessDeniedException');
    assert.match(denied.message, /athena:GetWorkGroup on resource: arn:aws:athena:us-east-1:000000000000:workgroup\/analytics/);
    assert.deepEqual(await (await fetch(`${base}/_local/counters`)).json(), { GetWorkGroup: 1 });
    res = await fetch(`${base}/_local/faults`, { method: 'POST', body: JSON.stringify({ operation: 'GetWorkGroup', throttleRate: 2 }) });
    assert.equal(res.status, 400);
    res = await fetch(`${base}/_local/faults`, {
      method: 'POST',
      body: JSON.stringify({ operation: 'ListQueryExecution', accessDenied: true }),
    });
    assert.equal(res.status, 400);
    assert.throws(() => server.setFaults('GetTable', { accessDenied: true }), /unknown operation "GetTable"/);

    const control = athenaLocalControl(base);
    await control.reset();
    assert.deepEqual(await control.counters(), {});
    assert.equal((await athena.send(new GetWorkGroupCommand({ WorkGroup: 'analytics' }))).WorkGroup?.Name, 'analytics');
    await control.setFaults('*', { serverErrorNext: 1 });
    assert.ok((await rejection(athena.send(new ListWorkGroupsCommand({})))) instanceof InternalServerException);
    assert.deepEqual(await control.counters(), { GetWorkGroup: 1, ListWorkGroups: 1 });
    const before = (await collect(paginateListQueryExecutions({ client: athena }, { WorkGroup: 'primary' }))).flatMap(
      (p) => p.QueryExecutionIds ?? [],
    ).length;
    const added = [];
    for (let i = 0; i < 8; i++) added.push(await control.appendExecution());
    const total = await Promise.all(
      ['primary', 'analytics', 'etl', 'adhoc'].map(async (wg) =>
        (await collect(paginateListQueryExecutions({ client: athena }, { WorkGroup: wg }))).flatMap((p) => p.QueryExecutionIds ?? []),
      ),
    );
    assert.ok(added.every((id) => id && total.flat().includes(id)));
    assert.ok((total[0]?.length ?? 0) >= before);
    await control.clearFaults();
  });
});

describe('athena-local with a generated seed', () => {
  const now = new Date();

  test('pages past 50 at every level with the SDK paginators', async () => {
    const seed = generateSeed({
      catalogs: 52,
      databasesPerCatalog: 51,
      tablesPerDatabase: 120,
      columnsPerTable: 4,
      workgroups: 53,
      executions: 4000,
      now,
      seed: 11,
      historyRetentionDays: null,
    });
    const server = await startAthenaLocal({ seed });
    const athena = client(server.endpoint);
    try {
      const cats = (await collect(paginateListDataCatalogs({ client: athena }, {}))).flatMap((p) => p.DataCatalogsSummary ?? []);
      assert.equal(cats.length, 52);
      assert.equal(cats[0]?.CatalogName, 'AwsDataCatalog');
      const dbs = (await collect(paginateListDatabases({ client: athena }, { CatalogName: 'lake_catalog_07' }))).flatMap(
        (p) => p.DatabaseList ?? [],
      );
      assert.equal(new Set(dbs.map((d) => d.Name)).size, 51);
      const tablePages = await collect(
        paginateListTableMetadata({ client: athena, pageSize: 50 }, { CatalogName: 'lake_catalog_07', DatabaseName: 'sales' }),
      );
      assert.deepEqual(
        tablePages.map((p) => p.TableMetadataList?.length),
        [50, 50, 20],
      );
      const tables = tablePages.flatMap((p) => p.TableMetadataList ?? []);
      assert.equal(new Set(tables.map((t) => t.Name)).size, 120);
      assert.ok(tables.some((t) => t.TableType === 'VIRTUAL_VIEW'));
      const wgs = (await collect(paginateListWorkGroups({ client: athena }, {}))).flatMap((p) => p.WorkGroups ?? []);
      assert.equal(wgs.length, 53);

      const expected = Array.from({ length: seed.executionCount() }, (_, i) => i).filter((i) => seed.executionWorkgroup(i) === 'primary');
      const pages = (await collect(paginateListQueryExecutions({ client: athena }, { WorkGroup: 'primary' }))).map(
        (p) => p.QueryExecutionIds ?? [],
      );
      const ids = pages.flat();
      assert.ok(pages.length > 2);
      assert.equal(ids.length, expected.length);
      assert.deepEqual(new Set(ids), new Set(expected.map((i) => seed.executionAt(i).id)));
      // Pages go from newest to oldest; inside a page the order is shuffled.
      const time = (id: string) => seed.executionTime(seed.findExecution(id));
      let shuffledPages = 0;
      for (let p = 0; p < pages.length; p++) {
        const t = (pages[p] ?? []).map(time);
        if (t.some((x, i) => i > 0 && x > (t[i - 1] as number))) shuffledPages++;
        if (p > 0) assert.ok(Math.max(...t) < Math.min(...(pages[p - 1] ?? []).map(time)));
      }
      assert.ok(shuffledPages > 0);
    } finally {
      athena.destroy();
      await server.close();
    }
  });

  test('is deterministic, varied and cheap: 20,000 tables x 50 columns and 100,000 executions', async () => {
    const opts = {
      databasesPerCatalog: 20,
      tablesPerDatabase: 1000,
      columnsPerTable: 50,
      workgroups: 5,
      executions: 100_000,
      now,
      seed: 42,
    };
    const heap0 = process.memoryUsage().heapUsed;
    const seed = generateSeed(opts);
    const again = generateSeed(opts);
    const other = generateSeed({ ...opts, seed: 43 });
    assert.deepEqual(seed.tableAt('AwsDataCatalog', 'finance', 777), again.tableAt('AwsDataCatalog', 'finance', 777));
    assert.deepEqual(seed.executionAt(65_432), again.executionAt(65_432));
    assert.notDeepEqual(seed.tableAt('AwsDataCatalog', 'finance', 777), other.tableAt('AwsDataCatalog', 'finance', 777));
    assert.equal(seed.tableAt('AwsDataCatalog', 'sales', 5).columns.length, 50);

    // Statement variety referencing tables that exist, spread over the last 60 days.
    const subs = new Set<string>();
    const states = new Set<string>();
    for (let i = 0; i < 3000; i += 3) {
      const e = seed.executionAt(i);
      subs.add(e.substatementType ?? '');
      states.add(e.state);
      assert.ok(e.submittedAt.getTime() >= now.getTime() - 60 * 86_400_000 && e.submittedAt.getTime() <= now.getTime());
      if (e.state === 'FAILED') continue; // failures reference missing tables and columns on purpose
      for (const m of e.query.matchAll(/FROM "([a-z_0-9]+)"\."([a-z_0-9]+)"/g))
        assert.ok(seed.findTable(e.catalog ?? '', m[1] ?? '', m[2] ?? '') >= 0, `${e.query} references a missing table`);
    }
    for (const s of [
      'SELECT',
      'CREATE_TABLE_AS_SELECT',
      'INSERT',
      'CREATE_VIEW',
      'DROP_TABLE',
      'ALTER_TABLE_ADD_PARTITION',
      'MSCK_REPAIR_TABLE',
    ])
      assert.ok(subs.has(s), s);
    assert.ok(states.has('FAILED') && states.has('SUCCEEDED'));
    assert.equal(seed.findExecution(seed.executionAt(99_999).id), 99_999);

    const server = await startAthenaLocal({ seed });
    const athena = client(server.endpoint);
    try {
      let token: string | undefined;
      for (let p = 0; p < 3; p++) {
        const r = await athena.send(
          new ListTableMetadataCommand({ CatalogName: 'AwsDataCatalog', DatabaseName: 'product', MaxResults: 50, NextToken: token }),
        );
        assert.equal(r.TableMetadataList?.length, 50);
        assert.ok((r.TableMetadataList?.[0]?.Columns?.length ?? 0) >= 8);
        token = r.NextToken;
      }
      const first = await athena.send(new ListQueryExecutionsCommand({ WorkGroup: 'primary' }));
      const got = await athena.send(new BatchGetQueryExecutionCommand({ QueryExecutionIds: first.QueryExecutionIds }));
      assert.equal(got.QueryExecutions?.length, 50);
      // Athena keeps 45 days: older executions are gone, even by id.
      const old = seed.executionAt(10);
      assert.ok(old.submittedAt.getTime() < now.getTime() - 45 * 86_400_000);
      assert.ok(
        (await rejection(athena.send(new GetQueryExecutionCommand({ QueryExecutionId: old.id })))) instanceof InvalidRequestException,
      );
      const recent = seed.executionAt(99_990);
      const qe = (await athena.send(new GetQueryExecutionCommand({ QueryExecutionId: recent.id }))).QueryExecution;
      assert.equal(qe?.Query, recent.query);
      assert.equal(qe?.Status?.SubmissionDateTime?.getTime(), recent.submittedAt.getTime());
      const heapMb = (process.memoryUsage().heapUsed - heap0) / 1e6;
      assert.ok(heapMb < 60, `heap grew ${heapMb.toFixed(1)} MB`);

      // information_schema.columns is computed by SQL in DuckDB; it must match the metadata API exactly.
      const table = seed.tableAt('AwsDataCatalog', 'risk', 321);
      const { QueryExecutionId: id } = await athena.send(
        new StartQueryExecutionCommand({
          QueryString: `SELECT column_name, data_type, comment, extra_info FROM information_schema.columns WHERE table_schema = 'risk' AND table_name = '${table.name}' ORDER BY ordinal_position`,
        }),
      );
      assert.equal((await finished(athena, id ?? '')).Status?.State, 'SUCCEEDED');
      const rows = (await athena.send(new GetQueryResultsCommand({ QueryExecutionId: id }))).ResultSet?.Rows?.map(cells) ?? [];
      const meta = (
        await athena.send(new GetTableMetadataCommand({ CatalogName: 'AwsDataCatalog', DatabaseName: 'risk', TableName: table.name }))
      ).TableMetadata;
      const want = [
        ...(meta?.Columns ?? []).map((c) => [c.Name, genTrino(c.Type ?? ''), c.Comment ?? null, null]),
        ...(meta?.PartitionKeys ?? []).map((c) => [c.Name, 'varchar', null, 'partition key']),
      ];
      assert.deepEqual(rows.slice(1), want);
      const count = await athena.send(new StartQueryExecutionCommand({ QueryString: 'SELECT count(*) FROM information_schema.columns' }));
      await finished(athena, count.QueryExecutionId ?? '');
      const n = Number(
        (await athena.send(new GetQueryResultsCommand({ QueryExecutionId: count.QueryExecutionId }))).ResultSet?.Rows?.[1]?.Data?.[0]
          ?.VarCharValue,
      );
      assert.ok(n > 900_000, `${n} columns`);
    } finally {
      athena.destroy();
      await server.close();
    }
  });
});

function genTrino(hive: string): string {
  const m = /^(array|map)<(.*)>$/.exec(hive);
  if (m) return m[1] === 'array' ? `array(${genTrino(m[2] ?? '')})` : `map(${(m[2] ?? '').split(',').map(genTrino).join(', ')})`;
  return trino(hive);
}

describe('athena-local seed files, live history and the runnable entry', () => {
  test('fixtures/demo.yaml is the demo seed; bad files name the bad field', () => {
    const now = new Date(Math.floor(Date.now() / 1000) * 1000 + 123);
    assert.deepEqual(parseSeedData(YAML.parse(readFileSync(FIXTURE, 'utf8')), now), demoSeedData(now));
    const seed: AthenaSeed = loadSeedFile(FIXTURE, now);
    assert.ok(seed.tableCount('AwsDataCatalog', 'sales') > 50);
    assert.equal(seed.executionCount(), 52);

    assert.equal(parseSeedTime('-1d2h3m4s', now)?.getTime(), now.getTime() - (86_400 + 7_200 + 180 + 4) * 1000);
    assert.equal(parseSeedTime('2025-03-01T10:00:00Z', now)?.toISOString(), '2025-03-01T10:00:00.000Z');
    assert.equal(parseSeedTime('yesterday', now), undefined);
    assert.throws(
      () =>
        parseSeedData({
          catalogs: [
            {
              name: 'AwsDataCatalog',
              databases: [{ name: 'db', tables: [{ name: 't', createTime: 'yesterday', columns: ['justaname'] }] }],
            },
          ],
        }),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.issues.some((i) => i.startsWith('catalogs.0.databases.0.tables.0.createTime: "yesterday" is not a time')) &&
        e.issues.some((i) => i.startsWith('catalogs.0.databases.0.tables.0.columns.0: bad column "justaname"')),
    );
    assert.throws(
      () =>
        parseSeedData({
          catalogs: [{ name: 'AwsDataCatalog' }],
          executions: [{ id: 'x', query: 'SELECT 1', submittedAt: '-1h', workgroup: 'missing' }],
        }),
      (e: unknown) => e instanceof ConfigError && e.issues.some((i) => i.startsWith('executions.0.workgroup: no workgroup "missing"')),
    );
  });

  test('liveQueriesEveryMs appends new history while serving', async () => {
    const server = await startAthenaLocal({ seed: demoSeed(new Date()), liveQueriesEveryMs: 25 });
    const athena = client(server.endpoint);
    const all = async () =>
      (
        await Promise.all(
          ['primary', 'analytics', 'etl', 'adhoc'].map(async (wg) =>
            (await collect(paginateListQueryExecutions({ client: athena }, { WorkGroup: wg }))).flatMap((p) => p.QueryExecutionIds ?? []),
          ),
        )
      ).flat();
    try {
      const before = new Set(await all());
      const t0 = Date.now();
      await waitFor('live executions', async () => (await all()).length >= before.size + 3, 5000);
      const fresh = (await all()).filter((id) => !before.has(id));
      const got = await athena.send(new BatchGetQueryExecutionCommand({ QueryExecutionIds: fresh.slice(0, 50) }));
      for (const q of got.QueryExecutions ?? []) {
        assert.ok(['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(q.Status?.State ?? ''));
        assert.ok((q.Status?.CompletionDateTime?.getTime() ?? 0) >= t0 - 50);
        assert.ok(q.Query && q.StatementType);
      }
    } finally {
      athena.destroy();
      await server.close();
    }
  });

  test('main.ts prints its endpoint, serves, and stops on SIGTERM', async () => {
    const p = startProcess(
      process.execPath,
      [
        '--import',
        'tsx',
        join(ROOT, 'tools', 'athena-local', 'main.ts'),
        '--port',
        '0',
        '--generate',
        'tables=300,columns=5,executions=200,databases=3',
      ],
      { cwd: ROOT },
    );
    try {
      await waitFor('the endpoint line', () => /\{"endpoint"/.test(p.output()), 20_000);
      const line =
        p
          .output()
          .split('\n')
          .find((l) => l.startsWith('{')) ?? '';
      const { endpoint } = JSON.parse(line) as { endpoint: string };
      const athena = client(endpoint);
      const r = await athena.send(new ListTableMetadataCommand({ CatalogName: 'AwsDataCatalog', DatabaseName: 'marketing' }));
      assert.equal(r.TableMetadataList?.length, 50);
      athena.destroy();
      await p.stop('SIGTERM');
      assert.equal(p.proc.exitCode, 0);
    } finally {
      await p.stop('SIGKILL');
    }
  });
});
