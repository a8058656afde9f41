/**
 * `collector test-connection` for Athena: one check per permission the source needs, each naming the IAM
 * action to grant when it fails. Every check runs even if an earlier one failed (with fallbacks for names).
 */
import {
  BatchGetQueryExecutionCommand,
  ListDatabasesCommand,
  ListDataCatalogsCommand,
  ListQueryExecutionsCommand,
  ListTableMetadataCommand,
  ListWorkGroupsCommand,
} from '@aws-sdk/client-athena';
import { AuthError, errorMessage } from '../../contracts/errors';
import type { Check, SourceContext } from '../../contracts/plugin';
import { AthenaSession } from './client';
import { databaseFilter, queryWorkgroupOf, type AthenaConfig } from './config';
import { DEFAULT_CATALOG } from './history';
import { outputLocation, queryRows, runQuery } from './query';

export async function testAthenaConnection(config: AthenaConfig, ctx: SourceContext): Promise<Check[]> {
  // Few attempts: a person is waiting, and a persistent throttle is worth reporting as such.
  const session = new AthenaSession(
    { ...config, retry: { ...config.retry, maxAttempts: Math.min(3, config.retry.maxAttempts) } },
    ctx.apiCall,
  );
  const { signal } = ctx;
  const checks: Check[] = [];
  const check = async <T>(name: string, grant: string, required: boolean, fn: () => Promise<T>, describe: (v: T) => string) => {
    try {
      const v = await fn();
      checks.push({ name, ok: true, detail: describe(v), grant, required });
      return v;
    } catch (err) {
      if (signal.aborted) throw err;
      const action = err instanceof AuthError && typeof err.details?.action === 'string' ? err.details.action : grant;
      checks.push({ name, ok: false, detail: errorMessage(err), grant: action, required });
      return undefined;
    }
  };
  try {
    const workgroups = await check(
      'list workgroups',
      'athena:ListWorkGroups',
      true,
      () => session.call('ListWorkGroups', (o) => session.client.send(new ListWorkGroupsCommand({ MaxResults: 50 }), o), signal),
      (r) => `${r.WorkGroups?.length ?? 0} workgroup(s) on the first page`,
    );
    const catalogs = await check(
      'list data catalogs',
      'athena:ListDataCatalogs',
      true,
      () => session.call('ListDataCatalogs', (o) => session.client.send(new ListDataCatalogsCommand({ MaxResults: 50 }), o), signal),
      (r) => `${r.DataCatalogsSummary?.length ?? 0} catalog(s) on the first page`,
    );
    const catalog = config.catalogs?.[0] ?? catalogs?.DataCatalogsSummary?.[0]?.CatalogName ?? DEFAULT_CATALOG;
    const databases = await check(
      `list databases of ${catalog}`,
      'athena:ListDatabases',
      true,
      () =>
        session.call(
          'ListDatabases',
          (o) => session.client.send(new ListDatabasesCommand({ CatalogName: catalog, MaxResults: 50 }), o),
          signal,
        ),
      (r) => `${r.DatabaseList?.length ?? 0} database(s) on the first page`,
    );
    const keep = databaseFilter(config);
    const names = (databases?.DatabaseList ?? []).map((d) => d.Name ?? '');
    const database = names.find((n) => n && keep(catalog, n)) ?? names[0] ?? 'default';
    await check(
      `list table metadata of ${catalog}.${database}`,
      'athena:ListTableMetadata',
      true,
      () =>
        session.call(
          'ListTableMetadata',
          (o) => session.client.send(new ListTableMetadataCommand({ CatalogName: catalog, DatabaseName: database, MaxResults: 1 }), o),
          signal,
        ),
      (r) => (r.TableMetadataList?.length ? `read ${r.TableMetadataList[0]!.Name}` : 'no tables'),
    );
    const historyRequired = config.queryHistory;
    const workgroup =
      config.workgroups?.[0] ?? workgroups?.WorkGroups?.find((w) => w.State !== 'DISABLED')?.Name ?? queryWorkgroupOf(config);
    const listed = await check(
      `list query executions of workgroup ${workgroup}`,
      'athena:ListQueryExecutions',
      historyRequired,
      () =>
        session.call(
          'ListQueryExecutions',
          (o) => session.client.send(new ListQueryExecutionsCommand({ WorkGroup: workgroup, MaxResults: 1 }), o),
          signal,
        ),
      (r) => `${r.QueryExecutionIds?.length ?? 0} execution(s) seen`,
    );
    // Any id proves the permission: an unknown one comes back as unprocessed, not denied.
    const sampleId = listed?.QueryExecutionIds?.[0] ?? '00000000-0000-0000-0000-000000000000';
    await check(
      'read query executions',
      'athena:BatchGetQueryExecution',
      historyRequired,
      () =>
        session.call(
          'BatchGetQueryExecution',
          (o) => session.client.send(new BatchGetQueryExecutionCommand({ QueryExecutionIds: [sampleId] }), o),
          signal,
        ),
      (r) => `${r.QueryExecutions?.length ?? 0} read`,
    );
    const location = await check(
      'find the query result location',
      'athena:GetWorkGroup',
      true,
      async () => (await outputLocation(session, signal)) ?? 'managed query results',
      (l) => l,
    );
    // A query that started but could not write its result proves StartQueryExecution; the write is its own check.
    let writeDenied: AuthError | undefined;
    const ran = await check(
      `run SELECT 1 in workgroup ${queryWorkgroupOf(config)}`,
      'athena:StartQueryExecution',
      true,
      async () => {
        try {
          return { id: await runQuery(session, 'SELECT 1', { signal }) };
        } catch (err) {
          if (!(err instanceof AuthError && err.details?.action === 's3:PutObject')) throw err;
          writeDenied = err;
          return { started: String(err.details.queryExecutionId) };
        }
      },
      (r) => ('id' in r ? `query ${r.id} succeeded` : `query ${r.started} started, then could not write its result (below)`),
    );
    const queryId = ran && 'id' in ran ? ran.id : undefined;
    // Without a result there is nothing to read: reported, but not as a permission to grant.
    await check(
      'read query results',
      'athena:GetQueryResults',
      Boolean(queryId),
      async () => {
        if (!queryId) throw new Error('not checked: SELECT 1 produced no result to read');
        const rows: (string | null)[][] = [];
        for await (const r of queryRows(session, queryId, signal)) rows.push(r);
        return rows;
      },
      (rows) => `${rows.length} row(s)`,
    );
    checks.push({
      name: `write query results to ${location ?? 'the output location'}`,
      ok: Boolean(queryId),
      detail: queryId
        ? 'Athena wrote the SELECT 1 result there'
        : (writeDenied?.message ?? 'not checked: SELECT 1 did not run (see above)'),
      grant: 's3:PutObject',
      required: true,
    });
    return checks;
  } finally {
    session.close();
  }
}
