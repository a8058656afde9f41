/**
 * One broken catalog or database does not stop the Athena collector (issue 12, points 2, 3, 9 and 10):
 * a federated catalog's connector timing out, throttled, denied or gone, a Lake Formation deny on one
 * database, a "not found" in the middle of a database, a catalog that does not exist: each makes its unit
 * incomplete, the run completes and its manifest lists the unit. Errors about the whole collector still
 * fail the run. Through the real extract pipeline (runUnits) and the real AWS SDK against the local
 * endpoint, whose fault controls model each case; one run goes through the real collect workflow.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import pino from 'pino';
import { athenaLocalControl, demoSeed, startAthenaLocal, type AthenaLocal } from '../tools/athena-local/index';
import { athenaSource, ATHENA_OPERATIONS, type AthenaConfigInput } from '../src/connectors/athena/index';
import { classify, isRetryable } from '../src/connectors/athena/faults';
import { readIncompleteUnits, writeManifest } from '../src/extracts/manifest';
import { validateFiles } from '../src/extracts/validate';
import { AuthError, ConfigError, TransientError } from '../src/contracts/errors';
import { FORMAT_VERSION, type IncompleteUnit } from '../src/contracts/extract-format';
import type { RunSummary } from '../src/run/types';
import { collectorRegistry } from '../src/observability/metrics';
import { startCollectorEnv, type CollectorEnv } from './support/collector-env';
import { extractToCsv, localAthenaConfig, type ExtractedFiles } from './support/athena-extract';

const log = pino({ level: 'silent' });
const HOUR = 3_600_000;
const NOW = Date.now();
const WINDOW = { start: new Date(NOW - 48 * HOUR).toISOString(), end: new Date(NOW - 60_000).toISOString() };

let local: AthenaLocal;

function configFor(endpoint: string, over: Partial<AthenaConfigInput> = {}) {
  return localAthenaConfig(endpoint, { workgroups: ['primary'], retry: { maxAttempts: 3, baseDelay: '5ms', maxDelay: '20ms' }, ...over });
}

/** One extract as the extract activity runs it: every unit through runUnits into real files. */
const extract = (over: Partial<AthenaConfigInput> = {}): Promise<ExtractedFiles> =>
  extractToCsv(
    athenaSource.create(configFor(local.endpoint, over), { log, signal: new AbortController().signal, apiCall: () => undefined }),
    WINDOW,
  );

const databasesIn = (x: ExtractedFiles) => [...new Set(x.rows.tables!.map((r) => `${r.catalog}.${r.database}`))].sort();
const BOTH = { catalogs: ['AwsDataCatalog', 'hive_onprem'] };

describe('athena: one broken catalog or database does not fail the run', () => {
  before(async () => {
    local = await startAthenaLocal({ seed: demoSeed(new Date(NOW)), randomSeed: 5 });
  });
  after(async () => local?.close());
  beforeEach(() => {
    local.clearFaults();
    local.resetCounters();
  });

  it('a federated catalog whose connector times out is an incomplete unit, retried first; the rest completes', async () => {
    local.setResourceFault({ catalog: 'hive_onprem', kind: 'lambda-timeout' });
    const x = await extract(BOTH);
    assert.deepEqual(
      x.incomplete.map(({ key, catalog, database }) => ({ key, catalog, database })),
      [{ key: 'metadata:hive_onprem', catalog: 'hive_onprem', database: undefined }],
    );
    assert.match(
      x.incomplete[0]!.reason,
      /catalog hive_onprem: listing its databases failed: its Lambda connector kept failing \(server\) after 3 attempt/,
    );
    assert.match(x.incomplete[0]!.reason, /Task timed out/);
    // A timeout is retried like a 5xx (not a ConfigError): every attempt reached the endpoint.
    assert.equal(local.counters().ListDatabases, 1 + 3, 'AwsDataCatalog once, hive_onprem three times');
    assert.deepEqual(databasesIn(x), ['awsdatacatalog.finance', 'awsdatacatalog.marketing', 'awsdatacatalog.sales']);
    assert.ok(x.rows.databaselog!.length > 0, 'history is read while a catalog is broken');
    assert.equal(x.counters.units_incomplete, 1);
    assert.ok(x.warnings.some((w) => /1 unit\(s\) incomplete.*not deleted: metadata:hive_onprem \(catalog hive_onprem/.test(w)));
  });

  it('a connector that times out once and then answers leaves the run complete', async () => {
    local.setResourceFault({ catalog: 'hive_onprem', kind: 'lambda-timeout', times: 2 });
    const x = await extract(BOTH);
    assert.deepEqual(x.incomplete, []);
    assert.ok(databasesIn(x).includes('hive_onprem.legacy_dw'));
    assert.equal(x.counters.units_incomplete, undefined);
  });

  it('a connector throttled, denied or gone on one database: that database is incomplete, naming what to do', async () => {
    const cases = [
      { kind: 'lambda-throttle', reason: /kept failing \(throttle\) after 3 attempt\(s\).*TooManyRequestsException/ },
      { kind: 'lambda-denied', reason: /may not invoke its Lambda connector: grant lambda:InvokeFunction on the function.*athena-hms/ },
      {
        kind: 'lambda-missing',
        reason: /answered "not found".*Function not found: arn:aws:lambda:us-east-1:000000000000:function:athena-hms/,
      },
    ] as const;
    for (const c of cases) {
      local.clearFaults();
      local.setResourceFault({ catalog: 'hive_onprem', database: 'legacy_dw', kind: c.kind });
      const x = await extract(BOTH);
      assert.deepEqual(
        x.incomplete.map((u) => [u.key, u.catalog, u.database]),
        [['metadata:hive_onprem/legacy_dw', 'hive_onprem', 'legacy_dw']],
        c.kind,
      );
      assert.match(x.incomplete[0]!.reason, c.reason, c.kind);
      assert.ok(!databasesIn(x).includes('hive_onprem.legacy_dw'), c.kind);
      assert.equal(databasesIn(x).length, 3, c.kind);
    }
  });

  it('a Lake Formation deny on one database: that database is incomplete, the others complete', async () => {
    local.setResourceFault({ catalog: 'AwsDataCatalog', database: 'finance', kind: 'lake-formation-denied' });
    const x = await extract();
    assert.deepEqual(
      x.incomplete.map((u) => [u.key, u.catalog, u.database]),
      [['metadata:AwsDataCatalog/finance', 'awsdatacatalog', 'finance']],
    );
    assert.match(
      x.incomplete[0]!.reason,
      /Lake Formation denied ListTableMetadata: grant the collector's role DESCRIBE on the database in Lake Formation/,
    );
    assert.deepEqual(databasesIn(x), ['awsdatacatalog.marketing', 'awsdatacatalog.sales']);
    // Denials are not retried.
    assert.equal(local.counters().ListTableMetadata, 2 /* sales */ + 1 /* marketing */ + 1 /* finance */);
  });

  it('"Requested resource not found" after the first page is no drop: the database is incomplete, none of its rows kept', async () => {
    local.setResourceFault({ catalog: 'AwsDataCatalog', database: 'sales', kind: 'connector-not-found', afterFirstPage: true });
    const x = await extract();
    assert.deepEqual(
      x.incomplete.map((u) => u.key),
      ['metadata:AwsDataCatalog/sales'],
    );
    assert.match(x.incomplete[0]!.reason, /database AwsDataCatalog\.sales after 1 page\(s\) of tables: .*Requested resource not found/);
    assert.ok(!databasesIn(x).includes('awsdatacatalog.sales'), 'the first page of sales is not written as if it were all');
    assert.ok(!x.rows.linkages!.some((r) => r.target_database === 'sales' && r.origin === 'VIEW_DEFINITION'));
    assert.ok(!x.warnings.some((w) => /disappeared/.test(w)), 'not reported as a dropped database');
    assert.ok(!('athena_tables' in x.counters) || x.counters.athena_tables! < 60, "the incomplete unit's counts are dropped");
  });

  it('a Glue database dropped after it was listed is skipped with a warning, not incomplete', async () => {
    local.setResourceFault({ catalog: 'AwsDataCatalog', database: 'finance', kind: 'dropped' });
    const x = await extract();
    assert.deepEqual(x.incomplete, []);
    assert.deepEqual(databasesIn(x), ['awsdatacatalog.marketing', 'awsdatacatalog.sales']);
    assert.ok(x.warnings.includes('Athena database AwsDataCatalog.finance disappeared during extraction; skipped'));
    // The same answer after the first page is no drop: that database is incomplete.
    local.clearFaults();
    local.setResourceFault({ catalog: 'AwsDataCatalog', database: 'sales', kind: 'dropped', afterFirstPage: true });
    const mid = await extract();
    assert.deepEqual(
      mid.incomplete.map((u) => u.key),
      ['metadata:AwsDataCatalog/sales'],
    );
  });

  it('the fault controls work over HTTP too, and refuse a fault they cannot apply', async () => {
    const control = athenaLocalControl(local.endpoint);
    await control.setResourceFault({ catalog: 'AwsDataCatalog', database: 'finance', kind: 'lake-formation-denied' });
    assert.deepEqual(
      (await extract()).incomplete.map((u) => u.key),
      ['metadata:AwsDataCatalog/finance'],
    );
    await assert.rejects(control.setResourceFault({ workgroup: 'etl', kind: 'lambda-timeout' }), /400.*a workgroup fault is access-denied/);
    await assert.rejects(control.setResourceFault({ kind: 'dropped', catalog: 'AwsDataCatalog' }), /400.*names its database/);
    await control.clearFaults();
    assert.deepEqual((await extract()).incomplete, []);
  });

  it('a catalog named in catalogs that does not exist is an incomplete unit', async () => {
    const x = await extract({ catalogs: ['AwsDataCatalog', 'no_such_catalog'] });
    assert.deepEqual(
      x.incomplete.map((u) => [u.key, u.catalog]),
      [['metadata:no_such_catalog', 'no_such_catalog']],
    );
    assert.match(x.incomplete[0]!.reason, /Data catalog no_such_catalog does not exist/);
    assert.equal(databasesIn(x).length, 3);
  });

  it('errors about the whole collector still fail the run', async () => {
    // A missing athena: permission is the collector role's, for every catalog alike.
    local.setFaults('ListTableMetadata', { accessDenied: true });
    await assert.rejects(extract(), (e: unknown) => e instanceof AuthError && /athena:ListTableMetadata/.test(e.message));
    // Athena itself still throttling after the retries: the extract fails retryably (Temporal retries it).
    local.clearFaults();
    local.setFaults('ListTableMetadata', { throttleRate: 1 });
    await assert.rejects(extract(), (e: unknown) => e instanceof TransientError);
    // No query result location for the collector's own queries (sales has views whose SQL needs one).
    local.clearFaults();
    await assert.rejects(
      extract({ queryWorkgroup: 'adhoc' }),
      (e: unknown) => e instanceof ConfigError && /no query result location/.test(e.message),
    );
    // A history failure fails the run: its window must be read again, so the HWM must not move.
    local.setResourceFault({ workgroup: 'primary', kind: 'access-denied' });
    await assert.rejects(extract(), (e: unknown) => e instanceof AuthError && /athena:ListQueryExecutions/.test(e.message));
  });

  it('by default reads Glue catalogs only; a Lambda or Hive catalog when listed', async () => {
    // Were hive_onprem read, this fault would make it incomplete.
    local.setResourceFault({ catalog: 'hive_onprem', kind: 'lambda-timeout' });
    const x = await extract();
    assert.deepEqual(x.incomplete, []);
    assert.deepEqual(databasesIn(x), ['awsdatacatalog.finance', 'awsdatacatalog.marketing', 'awsdatacatalog.sales']);
    assert.equal(local.counters().ListDatabases, 1, 'the Hive catalog was not called');
    assert.equal(x.counters.athena_catalogs_not_read, 1);
    assert.ok(x.warnings.some((w) => /catalogs hive_onprem \(HIVE\) not read: only Glue catalogs are read by default/.test(w)));
    local.clearFaults();
    const listed = await extract(BOTH);
    assert.ok(databasesIn(listed).includes('hive_onprem.legacy_dw'));
    assert.equal(listed.counters.athena_catalogs_not_read, undefined);
  });

  it('the manifest lists every incomplete unit with its reason, since format version 5', async () => {
    local.setResourceFault({ catalog: 'hive_onprem', kind: 'lambda-missing' });
    local.setResourceFault({ catalog: 'AwsDataCatalog', database: 'finance', kind: 'lake-formation-denied' });
    const x = await extract(BOTH);
    const files = await validateFiles(x.files);
    const { manifest } = await writeManifest(
      x.dir,
      's',
      {
        collector: 'c',
        sourceType: 'athena',
        workflowId: 'w',
        runId: 'r',
        window: WINDOW,
        warnings: x.warnings,
        counters: x.counters,
        incompleteUnits: await readIncompleteUnits(x.dir, x.incomplete.length),
      },
      files,
      WINDOW.end,
    );
    // incompleteUnits came with format 5; any later format keeps it.
    assert.ok(Number(FORMAT_VERSION) >= 5);
    assert.equal(manifest.formatVersion, FORMAT_VERSION);
    assert.deepEqual(
      manifest.incompleteUnits.map((u) => u.key),
      ['metadata:AwsDataCatalog/finance', 'metadata:hive_onprem'],
    );
    assert.ok(manifest.incompleteUnits.every((u) => u.reason.length > 20));
    assert.equal(manifest.counters.units_incomplete, 2);
    // The count the extract reported must match what the staging directory holds.
    await assert.rejects(readIncompleteUnits(x.dir, 3), /lists 2 incomplete unit\(s\) but the extract reported 3/);
  });
});

describe('athena: test-connection checks every catalog and workgroup the run reads', () => {
  before(async () => {
    local = await startAthenaLocal({ seed: demoSeed(new Date(NOW)), randomSeed: 5 });
  });
  after(async () => local?.close());

  it('names lambda:InvokeFunction for a federated catalog and athena:ListQueryExecutions for a second workgroup', async () => {
    local.setResourceFault({ catalog: 'hive_onprem', kind: 'lambda-denied' });
    local.setResourceFault({ workgroup: 'etl', kind: 'access-denied' });
    const source = athenaSource.create(configFor(local.endpoint, { ...BOTH, workgroups: ['primary', 'analytics', 'etl'] }), {
      log,
      signal: new AbortController().signal,
      apiCall: () => undefined,
    });
    const checks = await source.testConnection().finally(() => source.close());
    const failed = checks.filter((c) => !c.ok).map((c) => [c.name, c.grant, c.required]);
    assert.deepEqual(failed, [
      ['list databases of hive_onprem (HIVE catalog: through its Lambda connector)', 'lambda:InvokeFunction', true],
      ['list query executions of workgroup etl', 'athena:ListQueryExecutions', true],
    ]);
    const names = checks.filter((c) => c.ok).map((c) => c.name);
    for (const n of [
      'list databases of AwsDataCatalog',
      'list table metadata of AwsDataCatalog.sales',
      'list query executions of workgroup primary',
      'list query executions of workgroup analytics',
    ])
      assert.ok(names.includes(n), n);
    assert.match(checks.find((c) => c.name.startsWith('list databases of hive_onprem'))!.detail!, /lambda:InvokeFunction/);

    // Without catalogs or workgroups: every Glue catalog and every enabled workgroup, and nothing else.
    local.clearFaults();
    const all = athenaSource.create(configFor(local.endpoint, { workgroups: undefined }), {
      log,
      signal: new AbortController().signal,
      apiCall: () => undefined,
    });
    const every = await all.testConnection().finally(() => all.close());
    assert.deepEqual(
      every.filter((c) => c.name.startsWith('list query executions')).map((c) => c.name),
      ['primary', 'analytics', 'etl', 'adhoc'].map((w) => `list query executions of workgroup ${w}`),
    );
    assert.deepEqual(
      every.filter((c) => c.name.startsWith('list databases')).map((c) => c.name),
      ['list databases of AwsDataCatalog'],
    );
    assert.deepEqual(
      every.filter((c) => !c.ok),
      [],
    );
  });
});

describe('athena: failure classification and the documented IAM policy', () => {
  const err = (name: string, message: string) => Object.assign(new Error(message), { name, $fault: 'client' as const });

  it('a connector timeout or throttle is retryable; a Lake Formation deny is a denial', () => {
    const timeout = err(
      'MetadataException',
      'Failed to invoke lambda function due to x.LambdaFunctionException: Task timed out after 900.00 seconds',
    );
    assert.equal(classify(timeout), 'server');
    assert.ok(isRetryable(classify(timeout)));
    const throttled = err('MetadataException', 'Failed to invoke lambda function due to x.TooManyRequestsException: Rate Exceeded.');
    assert.equal(classify(throttled), 'throttle');
    assert.equal(classify(err('AccessDeniedException', 'Insufficient Lake Formation permission(s) on finance')), 'denied');
    assert.equal(classify(err('InvalidRequestException', 'Data catalog nope does not exist.')), 'notFound');
    assert.equal(classify(err('InvalidRequestException', 'No output location provided.')), 'invalid');
  });

  it('docs/athena.md asks for exactly the athena: actions the code calls', () => {
    const doc = readFileSync(join(__dirname, '..', 'docs', 'athena.md'), 'utf8');
    const policy = doc.split('## IAM policy')[1]!.split('```')[1]!;
    const asked = [...policy.matchAll(/"athena:([A-Za-z]+)"/g)].map((m) => m[1]).sort();
    assert.deepEqual(asked, [...ATHENA_OPERATIONS].sort());
    assert.doesNotMatch(doc, /GetDataCatalog/);
  });
});

describe('athena: an incomplete unit through the collect workflow', { timeout: 300_000 }, () => {
  let env: CollectorEnv;
  before(async () => {
    env = await startCollectorEnv();
    env.writeConfig({
      iso: {
        source: {
          catalogs: ['AwsDataCatalog', 'hive_onprem'],
          workgroups: ['primary'],
          retry: { maxAttempts: 2, baseDelay: '10ms', maxDelay: '50ms' },
        },
      },
    });
  });
  after(async () => env?.stop());
  afterEach(() => env.athena.clearFaults());

  it('completes, moves the HWM, and lists the incomplete units in the manifest, the summary and the metrics', async () => {
    env.athena.setResourceFault({ catalog: 'hive_onprem', kind: 'lambda-timeout' });
    env.athena.setResourceFault({ catalog: 'AwsDataCatalog', database: 'finance', kind: 'lake-formation-denied' });
    const w = await env.inProcessWorker(['collectors']);
    try {
      const h = await env.temporal.client.workflow.start('collect', {
        taskQueue: 'collectors',
        workflowId: 'iso-1',
        args: [{ collector: 'iso' }],
      });
      const s = (await h.result()) as RunSummary;
      assert.equal(s.status, 'completed');
      assert.equal(env.hwm('iso'), s.window.end, 'the HWM moves: history was read whole');
      assert.equal(s.counters.units_incomplete, 2);
      assert.deepEqual(
        s.incomplete?.units.map((u) => u.key),
        ['metadata:AwsDataCatalog/finance', 'metadata:hive_onprem'],
      );
      assert.equal(s.incomplete?.total, 2);
      const manifest = JSON.parse(readFileSync(join(env.landingDir, s.manifest!), 'utf8')) as {
        formatVersion: string;
        incompleteUnits: IncompleteUnit[];
      };
      assert.equal(manifest.formatVersion, FORMAT_VERSION);
      assert.deepEqual(
        manifest.incompleteUnits.map((u) => [u.key, u.catalog, u.database]),
        [
          ['metadata:AwsDataCatalog/finance', 'awsdatacatalog', 'finance'],
          ['metadata:hive_onprem', 'hive_onprem', undefined],
        ],
      );
      const metrics = await collectorRegistry.getSingleMetricAsString('collector_units_incomplete_total');
      assert.match(metrics, /collector_units_incomplete_total\{collector="iso"\} 2/);
      const metadata = readFileSync(join(env.landingDir, s.files.find((f) => f.name.includes('_metadata_'))!.name), 'utf8');
      assert.doesNotMatch(metadata, /,finance,|hive_onprem/);
      assert.match(metadata, /awsdatacatalog,sales,/);
    } finally {
      await w.stop();
    }
  });
});
