/**
 * The local Athena endpoint's bench realism, through the real @aws-sdk/client-athena: server-side quota
 * buckets answering ThrottlingException, a query's queue and run time, latency jitter, SHOW CREATE VIEW.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  ListTableMetadataCommand,
  ListWorkGroupsCommand,
  StartQueryExecutionCommand,
  AthenaServiceException,
  type QueryExecutionState,
} from '@aws-sdk/client-athena';
import { generateSeed, startAthenaLocal, type AthenaLocal } from '../tools/athena-local/index';

const OUTPUT = { OutputLocation: 's3://results/' };

describe('athena-local bench options', () => {
  let server: AthenaLocal;
  let athena: AthenaClient;
  before(async () => {
    const seed = generateSeed({
      catalogs: 1,
      databasesPerCatalog: 1,
      tablesPerDatabase: 40,
      columnsPerTable: 3,
      workgroups: 1,
      executions: 10,
      now: new Date(),
      seed: 5,
    });
    server = await startAthenaLocal({ seed });
    athena = new AthenaClient({
      endpoint: server.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' },
      maxAttempts: 1,
    });
  });
  after(async () => {
    athena.destroy();
    await server.close();
  });

  test('quotas: a burst beyond the bucket is throttled as Athena does, and counted', async () => {
    server.clearFaults();
    server.resetCounters();
    server.setFaults('*', { quotas: true });
    // ListWorkGroups: 20/s, burst 40. 60 calls at once cannot all fit.
    const results = await Promise.allSettled(Array.from({ length: 60 }, () => athena.send(new ListWorkGroupsCommand({}))));
    const throttled = results.filter((r) => r.status === 'rejected');
    assert.ok(throttled.length >= 15, `expected >= 15 throttles, got ${throttled.length}`);
    for (const r of throttled) {
      // Not a modeled Athena error: the SDK gives its generic exception, named by the error code.
      assert.ok(r.status === 'rejected' && r.reason instanceof AthenaServiceException);
      assert.equal((r.reason as AthenaServiceException).name, 'ThrottlingException');
      assert.equal((r.reason as AthenaServiceException).message, 'Rate exceeded');
    }
    assert.equal(server.counters()['ListWorkGroups:throttled'], throttled.length);
    assert.equal(server.counters().ListWorkGroups, 60);
    server.clearFaults();
    // Without the option the same burst passes.
    const again = await Promise.allSettled(Array.from({ length: 60 }, () => athena.send(new ListWorkGroupsCommand({}))));
    assert.equal(again.filter((r) => r.status === 'rejected').length, 0);
  });

  test('queueMs and runMs: a started query is QUEUED, then RUNNING, then SUCCEEDED', async () => {
    server.clearFaults();
    server.setFaults('StartQueryExecution', { queueMs: 300, runMs: 300 });
    const { QueryExecutionId } = await athena.send(
      new StartQueryExecutionCommand({
        QueryString: 'SELECT 1',
        ResultConfiguration: OUTPUT,
        QueryExecutionContext: { Catalog: 'AwsDataCatalog' },
      }),
    );
    const seen: QueryExecutionState[] = [];
    for (;;) {
      const s = (await athena.send(new GetQueryExecutionCommand({ QueryExecutionId }))).QueryExecution?.Status?.State;
      assert.ok(s);
      if (seen.at(-1) !== s) seen.push(s);
      if (s === 'SUCCEEDED' || s === 'FAILED') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual(seen, ['QUEUED', 'RUNNING', 'SUCCEEDED']);
    server.clearFaults();
  });

  test('latencyJitterMs is validated like the other fields', () => {
    assert.throws(() => server.setFaults('*', { latencyJitterMs: -1 }));
    server.setFaults('ListTableMetadata', { latencyMs: 1, latencyJitterMs: 5 });
    server.clearFaults();
  });

  test('SHOW CREATE VIEW answers a view with its SQL and fails for a table', async () => {
    server.clearFaults();
    const db = 'sales';
    const list = await athena.send(new ListTableMetadataCommand({ CatalogName: 'AwsDataCatalog', DatabaseName: db, MaxResults: 50 }));
    const view = list.TableMetadataList?.find((t) => t.TableType === 'VIRTUAL_VIEW');
    const table = list.TableMetadataList?.find((t) => t.TableType !== 'VIRTUAL_VIEW');
    assert.ok(view?.Name && table?.Name);
    const run = async (sql: string) => {
      const { QueryExecutionId } = await athena.send(
        new StartQueryExecutionCommand({
          QueryString: sql,
          ResultConfiguration: OUTPUT,
          QueryExecutionContext: { Catalog: 'AwsDataCatalog', Database: db },
        }),
      );
      for (;;) {
        const q = (await athena.send(new GetQueryExecutionCommand({ QueryExecutionId }))).QueryExecution;
        const s = q?.Status?.State;
        if (s === 'SUCCEEDED') return (await athena.send(new GetQueryResultsCommand({ QueryExecutionId }))).ResultSet?.Rows ?? [];
        if (s === 'FAILED') throw new Error(q?.Status?.StateChangeReason);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const rows = await run(`SHOW CREATE VIEW ${db}.${view.Name}`);
    assert.equal(rows[0]?.Data?.[0]?.VarCharValue, 'Create View Statement');
    const text = rows[1]?.Data?.[0]?.VarCharValue ?? '';
    assert.match(text, new RegExp(`^CREATE VIEW "${db}"."${view.Name}" AS\\n SELECT|^CREATE VIEW "${db}"."${view.Name}" AS\\nSELECT`));
    await assert.rejects(run(`SHOW CREATE VIEW ${table.Name}`), /NOT_SUPPORTED.*not a view/);
    await assert.rejects(run(`SHOW CREATE VIEW no_such_view`), /TABLE_NOT_FOUND/);
  });
});
