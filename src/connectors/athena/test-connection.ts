/**
 * `collector test-connection` for Athena: one check per permission the source needs, each naming the IAM
 * action to grant when it fails. Every catalog and every workgroup the run would read is checked (not a
 * sample: a federated catalog without lambda:InvokeFunction, or a second workgroup that denies
 * ListQueryExecutions, must show here rather than in a run). Every check runs even if an earlier one
 * failed (with fallbacks for names).
 */
import {
  BatchGetQueryExecutionCommand,
  ListDatabasesCommand,
  ListQueryExecutionsCommand,
  ListTableMetadataCommand,
  type ListQueryExecutionsCommandOutput,
} from '@aws-sdk/client-athena';
import { AuthError, errorMessage } from '../../contracts/errors';
import type { Check, SourceContext } from '../../contracts/plugin';
import { AthenaSession } from './client';
import { databaseFilter, queryWorkgroupOf, type AthenaConfig } from './config';
import { enabledWorkgroups, isReadByDefault, listCatalogs, type CatalogSummary } from './discovery';
import { DEFAULT_CATALOG } from './history';
import { s3Location } from './iceberg-metadata';
import { outputLocation, queryRows, runQuery } from './query';
import { tableFormat } from './table-format';

/** Catalogs that answer through a Lambda function: reading them needs lambda:InvokeFunction too. */
const viaConnector = (type: string | undefined): boolean => type !== undefined && type !== 'GLUE';

export async function testAthenaConnection(config: AthenaConfig, ctx: SourceContext): Promise<Check[]> {
  // Few attempts: a person is waiting, and a persistent throttle is worth reporting as such.
  const session = new AthenaSession(
    { ...config, retry: { ...config.retry, maxAttempts: Math.min(3, config.retry.maxAttempts) } },
    ctx.apiCall,
  );
  const { signal } = ctx;
  const checks: Check[] = [];
  /** Runs one check; the line is returned (not pushed) so checks run at once keep their order. */
  const probe = async <T>(
    name: string,
    grant: string,
    required: boolean,
    fn: () => Promise<T>,
    describe: (v: T) => string,
  ): Promise<{ line: Check; value?: T }> => {
    try {
      const value = await fn();
      return { line: { name, ok: true, detail: describe(value), grant, required }, value };
    } catch (err) {
      if (signal.aborted) throw err;
      const action = err instanceof AuthError && typeof err.details?.action === 'string' ? err.details.action : grant;
      return { line: { name, ok: false, detail: errorMessage(err), grant: action, required } };
    }
  };
  const check = async <T>(name: string, grant: string, required: boolean, fn: () => Promise<T>, describe: (v: T) => string) => {
    const { line, value } = await probe(name, grant, required, fn, describe);
    checks.push(line);
    return value;
  };
  const collect = async <T>(items: AsyncIterable<T>): Promise<T[]> => {
    const all: T[] = [];
    for await (const item of items) all.push(item);
    return all;
  };
  try {
    const historyRequired = config.queryHistory;
    // Needed by the run only to find the workgroups (catalogs) it was not given.
    const workgroups = await check(
      'list workgroups',
      'athena:ListWorkGroups',
      historyRequired && !config.workgroups,
      () => collect(enabledWorkgroups(session, signal)),
      (names) => `${names.length} enabled workgroup(s)`,
    );
    const catalogs = await check(
      'list data catalogs',
      'athena:ListDataCatalogs',
      !config.catalogs,
      () => collect(listCatalogs(session, signal)),
      (all) => `${all.length} catalog(s), ${all.filter(isReadByDefault).length} of them Glue catalogs (read unless catalogs are listed)`,
    );

    // Each catalog the run reads: its databases, and one database's tables (both invoke a federated
    // catalog's connector). Checked one after another: a slow connector must not crowd out the rest.
    const typeOf = new Map((catalogs ?? []).map((c: CatalogSummary) => [c.name.toLowerCase(), c.type]));
    const read = config.catalogs ?? (catalogs ? catalogs.filter(isReadByDefault).map((c) => c.name) : [DEFAULT_CATALOG]);
    const keep = databaseFilter(config);
    for (const catalog of read) {
      const type = typeOf.get(catalog.toLowerCase());
      const connector = viaConnector(type) ? ` (${type} catalog: through its Lambda connector)` : '';
      const grant = (action: string) => (viaConnector(type) ? `${action} and lambda:InvokeFunction on the connector` : action);
      const databases = await check(
        `list databases of ${catalog}${connector}`,
        grant('athena:ListDatabases'),
        true,
        () =>
          session.call(
            'ListDatabases',
            (o) => session.client.send(new ListDatabasesCommand({ CatalogName: catalog, MaxResults: 50 }), o),
            signal,
          ),
        (r) => `${r.DatabaseList?.length ?? 0} database(s) on the first page`,
      );
      if (!databases) continue;
      const names = (databases.DatabaseList ?? []).map((d) => d.Name ?? '').filter(Boolean);
      const database = names.find((n) => keep(catalog, n)) ?? names[0];
      if (!database) continue;
      await check(
        `list table metadata of ${catalog}.${database}`,
        grant('athena:ListTableMetadata'),
        true,
        () =>
          session.call(
            'ListTableMetadata',
            (o) => session.client.send(new ListTableMetadataCommand({ CatalogName: catalog, DatabaseName: database, MaxResults: 1 }), o),
            signal,
          ),
        (r) => (r.TableMetadataList?.length ? `read ${r.TableMetadataList[0]!.Name}` : 'no tables'),
      );
      if (config.icebergPartitionSpecs === true || config.icebergPartitionSpecs === 'metadata-file') {
        const line = await icebergFileCheck(session, catalog, database, config.icebergPartitionSpecs === 'metadata-file', signal);
        if (line) checks.push(line);
      }
    }

    // Each workgroup whose history the run reads, at once (the rate limiter paces them).
    const historyOf = config.workgroups ?? (workgroups?.length ? workgroups : [queryWorkgroupOf(config)]);
    const listed = await Promise.all(
      historyOf.map((workgroup) =>
        probe(
          `list query executions of workgroup ${workgroup}`,
          'athena:ListQueryExecutions',
          historyRequired,
          () =>
            session.call(
              'ListQueryExecutions',
              (o) => session.client.send(new ListQueryExecutionsCommand({ WorkGroup: workgroup, MaxResults: 1 }), o),
              signal,
            ),
          (r: ListQueryExecutionsCommandOutput) => `${r.QueryExecutionIds?.length ?? 0} execution(s) seen`,
        ),
      ),
    );
    for (const { line } of listed) checks.push(line);
    const sampleIds = listed.flatMap(({ value }) => value?.QueryExecutionIds ?? []);
    // Any id proves the permission: an unknown one comes back as unprocessed, not denied.
    const sampleId = sampleIds[0] ?? '00000000-0000-0000-0000-000000000000';
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

/**
 * Reads the metadata file of the first Iceberg table on the database's first page of tables, as a run
 * would for its partition spec; none when that page has no Iceberg table. Required only when S3 is the
 * one way the run may take (`icebergPartitionSpecs: metadata-file`): otherwise a denial costs a query
 * per table, not the specs.
 */
async function icebergFileCheck(
  session: AthenaSession,
  catalog: string,
  database: string,
  required: boolean,
  signal: AbortSignal,
): Promise<Check | undefined> {
  let page;
  try {
    page = await session.call(
      'ListTableMetadata',
      (o) => session.client.send(new ListTableMetadataCommand({ CatalogName: catalog, DatabaseName: database, MaxResults: 50 }), o),
      signal,
    );
  } catch {
    return undefined; // the listing check above already says why
  }
  const table = (page.TableMetadataList ?? []).find(
    (t) => tableFormat(t.Parameters ?? {}, false, catalog) === 'ICEBERG' && t.Parameters?.metadata_location,
  );
  if (!table) return undefined;
  const location = table.Parameters!.metadata_location!;
  const at = s3Location(location);
  const name = `read the Iceberg metadata file of ${catalog}.${database}.${table.Name}`;
  const grant = `s3:GetObject on ${at ? `arn:aws:s3:::${at.bucket}/*/metadata/*` : location}`;
  const read = await session.icebergFiles.read(location, signal);
  if (read.kind === 'spec') return { name, ok: true, detail: `partition spec of ${read.spec.length} field(s)`, grant, required };
  const detail =
    read.kind === 'denied'
      ? `access denied to bucket ${read.bucket}${required ? '' : ': the run asks SHOW CREATE TABLE per Iceberg table instead'}`
      : read.reason;
  return { name, ok: false, detail, grant, required };
}
