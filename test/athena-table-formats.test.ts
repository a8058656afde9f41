/**
 * Open table formats in Athena's metadata (issue 12, point 7): the table format column, Iceberg's hidden
 * partition spec, partition projection, and S3 Tables catalogs. Through the real extract pipeline and
 * the real AWS SDK against the local endpoint, which serves the tables' Iceberg metadata files over S3
 * GETs and answers SHOW CREATE TABLE from its seed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startAthenaLocal, type AthenaLocal } from '../tools/athena-local/index';
import { seedFromData, type SeedData, type SeedTable } from '../tools/athena-local/seed';
import type { AthenaConfigInput } from '../src/connectors/athena/index';
import {
  partitionProjection,
  partitionSpecFromCreateTable,
  partitionSpecFromMetadataFile,
  tableFormat,
} from '../src/connectors/athena/table-format';
import { IcebergMetadataFiles } from '../src/connectors/athena/iceberg-metadata';
import { localAthenaConfig } from './support/athena-extract';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { extractToCsv, localAthenaSource, type ExtractedFiles } from './support/athena-extract';
import { applyCursorChanges, parseCursor, type CursorEntries } from '../src/hwm/cursor';

const NOW = Date.now();
const DAY = 86_400_000;
const col = (name: string, type: string) => ({ name, type });
const table = (name: string, over: Partial<SeedTable> = {}): SeedTable => ({
  name,
  tableType: 'EXTERNAL_TABLE',
  columns: [col('id', 'bigint'), col('ts', 'timestamp'), col('region', 'string')],
  partitionKeys: [],
  parameters: {},
  createTime: new Date(NOW - 10 * DAY),
  location: `s3://lake/${name}/`,
  ...over,
});

const PROJECTION = {
  'projection.enabled': 'true',
  'projection.dt.type': 'date',
  'projection.dt.range': '2024-01-01,NOW',
  'projection.dt.format': 'yyyy-MM-dd',
  'projection.dt.interval': '1',
  'projection.dt.interval.unit': 'DAYS',
  'projection.shard.type': 'integer',
  'projection.shard.range': '0,15',
  'storage.location.template': 's3://logs/${shard}/${dt}/',
};

const lake: SeedTable[] = [
  table('events_iceberg', { format: 'iceberg', partitionSpec: ['day(`ts`)', 'bucket(16, id)', 'region'] }),
  table('plain_iceberg', { format: 'iceberg' }),
  table('hidden_iceberg', {
    format: 'iceberg',
    partitionSpec: ['day(ts)'],
    showCreateError: 'Insufficient Lake Formation permission(s) on hidden_iceberg',
  }),
  // Iceberg's Hive-metastore catalog exposes the spec as table properties: no query needed.
  table('hms_iceberg', {
    format: 'iceberg',
    parameters: {
      'current-schema': JSON.stringify({
        type: 'struct',
        'schema-id': 0,
        fields: [
          { id: 1, name: 'id' },
          { id: 2, name: 'TS' },
        ],
      }),
      'current-partition-spec': JSON.stringify({
        'spec-id': 0,
        fields: [{ name: 'ts_hour', transform: 'hour', 'source-id': 2, 'field-id': 1000 }],
      }),
    },
  }),
  table('orders_delta', { format: 'delta' }),
  table('clicks_hudi', { format: 'hudi' }),
  table('logs_projected', { format: 'json', partitionKeys: [col('shard', 'int'), col('dt', 'string')], parameters: PROJECTION }),
  table('plain_csv', { format: 'csv' }),
  table('v_events', { tableType: 'VIRTUAL_VIEW', viewSql: 'SELECT id FROM lake.events_iceberg', format: undefined, location: undefined }),
];

let local: AthenaLocal;
before(async () => {
  const data: SeedData = {
    historyRetentionDays: 45,
    catalogs: [
      { name: 'AwsDataCatalog', type: 'GLUE', databases: [{ name: 'lake', tables: lake }] },
      {
        // S3 Tables: a Glue catalog Athena reaches by name, not listed as a data source.
        name: 's3tablescatalog/analytics',
        type: 'GLUE',
        listed: false,
        databases: [
          {
            name: 'web',
            tables: [
              table('page_views', {
                format: 'iceberg',
                columns: [col('viewed_at', 'timestamp'), col('url', 'string')],
                partitionSpec: ['hour(viewed_at)'],
                location: 's3://0123abcd--table-s3/',
              }),
            ],
          },
        ],
      },
    ],
    workgroups: [{ name: 'primary', state: 'ENABLED', outputLocation: 's3://results/primary/', creationTime: new Date(NOW - 400 * DAY) }],
    executions: [],
  };
  local = await startAthenaLocal({ seed: seedFromData(data, 'table-formats'), randomSeed: 3 });
});
after(async () => local?.close());

const W = { start: new Date(NOW - 2 * DAY).toISOString(), end: new Date(NOW - DAY).toISOString() };
const run = (over: Partial<AthenaConfigInput> = {}) =>
  extractToCsv(
    localAthenaSource(local.endpoint, { queryHistory: false, catalogs: ['AwsDataCatalog', 's3tablescatalog/analytics'], ...over }),
    W,
  );
const tableRow = (r: ExtractedFiles, name: string) => {
  const row = r.rows.tables!.find((m) => m.table_name === name);
  assert.ok(row, `${name} extracted`);
  return row;
};
const json = (text: string | undefined): unknown => (text ? JSON.parse(text) : null);

describe('athena open table formats', { timeout: 120_000 }, () => {
  let r: ExtractedFiles;
  let calls: Record<string, number>;
  const started = new Date(Date.now() - 1000).toISOString();
  before(async () => {
    local.resetCounters();
    r = await run();
    calls = local.counters();
  });

  it('names each table format, from the parameters Athena returns', () => {
    const formats = Object.fromEntries(lake.map((t) => [t.name, tableRow(r, t.name).table_format]));
    assert.deepEqual(formats, {
      events_iceberg: 'ICEBERG',
      plain_iceberg: 'ICEBERG',
      hidden_iceberg: 'ICEBERG',
      hms_iceberg: 'ICEBERG',
      orders_delta: 'DELTA',
      clicks_hudi: 'HUDI',
      logs_projected: 'HIVE',
      plain_csv: 'HIVE',
      v_events: '',
    });
  });

  it("extracts Iceberg's hidden partition spec, which partition keys do not show", () => {
    const columns = r.rows.metadata!.filter((m) => m.table_name === 'events_iceberg');
    assert.ok(columns.length > 0);
    assert.ok(
      columns.every((m) => m.is_partition_key === 'false'),
      'hidden partitions are no partition keys',
    );
    assert.deepEqual(json(tableRow(r, 'events_iceberg').partition_spec), [
      { column: 'ts', transform: 'day' },
      { column: 'id', transform: 'bucket', width: 16 },
      { column: 'region', transform: 'identity' },
    ]);
    assert.deepEqual(json(tableRow(r, 'plain_iceberg').partition_spec), [], 'unpartitioned: an empty spec');
    assert.deepEqual(json(tableRow(r, 'hms_iceberg').partition_spec), [{ column: 'ts', transform: 'hour' }], 'from table properties');
    assert.equal(tableRow(r, 'plain_csv').partition_spec, '', 'not Iceberg: no spec');
  });

  it('reads specs from the metadata files, one S3 GET per Iceberg table and no Athena query', () => {
    assert.equal(r.counters.iceberg_partition_spec_from_file, 4, JSON.stringify(r.counters));
    assert.equal(calls.S3GetObject, 4);
    // The one query is the lake database's information_schema.views (for v_events); no SHOW CREATE TABLE.
    assert.equal(calls.StartQueryExecution, 1, JSON.stringify(calls));
    assert.deepEqual(json(tableRow(r, 'hidden_iceberg').partition_spec), [{ column: 'ts', transform: 'day' }]);
    assert.deepEqual(
      r.warnings.filter((w) => /Iceberg/.test(w)),
      [],
    );
  });

  it('where S3 denies the bucket, asks SHOW CREATE TABLE instead, saying so once; a table Athena will not describe keeps an empty spec', async () => {
    local.setS3Denied(['lake']);
    try {
      local.resetCounters();
      const denied = await run();
      const c = local.counters();
      // Three Iceberg tables of the lake bucket asked of Athena (+ the views query); S3 Tables' bucket still read.
      assert.equal(c.StartQueryExecution, 4, JSON.stringify(c));
      assert.equal(denied.counters.iceberg_partition_spec_from_file, 1);
      assert.deepEqual(json(tableRow(denied, 'events_iceberg').partition_spec), json(tableRow(r, 'events_iceberg').partition_spec));
      assert.deepEqual(json(tableRow(denied, 'plain_iceberg').partition_spec), []);
      assert.equal(tableRow(denied, 'hidden_iceberg').partition_spec, '');
      assert.equal(denied.counters.iceberg_partition_spec_unavailable, 1);
      assert.deepEqual(
        denied.warnings.filter((w) => /Iceberg partition specs/.test(w)),
        [
          "s3:GetObject denied on bucket lake: Iceberg partition specs of its tables are asked of Athena instead, one SHOW CREATE TABLE per table; grant s3:GetObject on the tables' metadata/ prefixes to read them directly",
          'Iceberg partition specs of AwsDataCatalog.lake partly unavailable (first: hidden_iceberg: Athena query failed: HIVE_METASTORE_ERROR: Insufficient Lake Formation permission(s) on hidden_iceberg)',
        ],
      );

      // metadata-file only: never a query; the denied bucket's specs stay empty, counted.
      local.resetCounters();
      const fileOnly = await run({ icebergPartitionSpecs: 'metadata-file' });
      assert.equal(local.counters().StartQueryExecution, 1);
      assert.equal(tableRow(fileOnly, 'events_iceberg').partition_spec, '');
      assert.equal(fileOnly.counters.iceberg_partition_spec_unavailable, 3);
      assert.match(fileOnly.warnings.join('\n'), /denied on bucket lake: .* are left empty \(icebergPartitionSpecs: metadata-file\)/);
    } finally {
      local.setS3Denied([]);
    }
  });

  it('test-connection reads one Iceberg metadata file per catalog, and names the grant when S3 denies it', async () => {
    const checkOf = async (over: Partial<AthenaConfigInput> = {}) => {
      const source = localAthenaSource(local.endpoint, { catalogs: ['AwsDataCatalog'], databases: { include: ['lake'] }, ...over });
      try {
        return (await source.testConnection()).filter((c) => /Iceberg metadata file/.test(c.name));
      } finally {
        await source.close();
      }
    };
    const [ok] = await checkOf();
    assert.equal(ok?.name, 'read the Iceberg metadata file of AwsDataCatalog.lake.events_iceberg');
    assert.equal(ok?.ok, true, ok?.detail);
    local.setS3Denied(['lake']);
    try {
      const [denied] = await checkOf();
      assert.deepEqual([denied?.ok, denied?.required, denied?.grant], [false, false, 's3:GetObject on arn:aws:s3:::lake/*/metadata/*']);
      assert.match(denied?.detail ?? '', /access denied to bucket lake: the run asks SHOW CREATE TABLE per Iceberg table instead/);
      const [strict] = await checkOf({ icebergPartitionSpecs: 'metadata-file' });
      assert.deepEqual([strict?.ok, strict?.required], [false, true]);
    } finally {
      local.setS3Denied([]);
    }
    assert.deepEqual(await checkOf({ icebergPartitionSpecs: 'query' }), []);
  });

  it('icebergPartitionSpecs: query asks Athena only, as before metadata files were read', async () => {
    local.resetCounters();
    const q = await run({ icebergPartitionSpecs: 'query' });
    assert.equal(local.counters().S3GetObject ?? 0, 0);
    assert.equal(local.counters().StartQueryExecution, 5, JSON.stringify(local.counters()));
    assert.deepEqual(json(tableRow(q, 'page_views').partition_spec), [{ column: 'viewed_at', transform: 'hour' }]);
    assert.deepEqual(json(tableRow(q, 'events_iceberg').partition_spec), json(tableRow(r, 'events_iceberg').partition_spec));
  });

  it("the SHOW CREATE TABLE queries are the collector's own: not read back as history", async () => {
    const history = await extractToCsv(localAthenaSource(local.endpoint, { workgroups: ['primary'], databases: { exclude: ['.*'] } }), {
      start: started,
      end: new Date(Date.now() + 60_000).toISOString(),
    });
    assert.deepEqual(history.rows.databaselog, []);
    assert.ok((history.counters.athena_own_queries_skipped ?? 0) >= 4, `${history.counters.athena_own_queries_skipped}`);
  });

  it('parses partition projection into its own column', () => {
    assert.deepEqual(json(tableRow(r, 'logs_projected').partition_projection), {
      enabled: true,
      columns: {
        dt: { type: 'date', range: '2024-01-01,NOW', format: 'yyyy-MM-dd', interval: '1', 'interval.unit': 'DAYS' },
        shard: { type: 'integer', range: '0,15' },
      },
      storage_location_template: 's3://logs/${shard}/${dt}/',
    });
    assert.equal(tableRow(r, 'plain_csv').partition_projection, '');
  });

  it('reads an S3 Tables catalog by its s3tablescatalog/ name, its tables as Iceberg with their spec', () => {
    const views = tableRow(r, 'page_views');
    assert.equal(views.catalog, 's3tablescatalog/analytics');
    assert.equal(views.database, 'web');
    assert.equal(views.table_format, 'ICEBERG');
    assert.deepEqual(json(views.partition_spec), [{ column: 'viewed_at', transform: 'hour' }]);
  });

  it('reads a metadata file again only for Iceberg tables whose metadata_location changed since the last run', async () => {
    const withCursor = (cursor: CursorEntries) =>
      extractToCsv(
        localAthenaSource(local.endpoint, { queryHistory: false, catalogs: ['AwsDataCatalog', 's3tablescatalog/analytics'] }),
        W,
        cursor,
      );
    const specsOf = (x: ExtractedFiles) =>
      Object.fromEntries(x.rows.tables!.filter((m) => m.partition_spec).map((m) => [m.table_name, m.partition_spec]));
    const first = await withCursor({});
    const cursor = parseCursor(applyCursorChanges({}, first.cursorChanges));
    local.resetCounters();
    const second = await withCursor(cursor);
    // Every spec comes from the cursor, unchanged: no file read, no query but the database's views.
    assert.equal(local.counters().S3GetObject ?? 0, 0, JSON.stringify(local.counters()));
    assert.equal(local.counters().StartQueryExecution, 1, JSON.stringify(local.counters()));
    assert.deepEqual(specsOf(second), specsOf(first));
    assert.equal(second.counters.iceberg_partition_spec_unchanged, 4);
    // A commit to events_iceberg writes a new metadata file: that table is asked again.
    const events = lake.find((t) => t.name === 'events_iceberg')!;
    events.parameters = { ...events.parameters, metadata_location: 's3://lake/events_iceberg/metadata/00001-new.metadata.json' };
    local.resetCounters();
    const third = await withCursor(parseCursor(applyCursorChanges(cursor, second.cursorChanges)));
    assert.equal(local.counters().S3GetObject, 1, JSON.stringify(local.counters()));
    assert.deepEqual(specsOf(third), specsOf(first));
  });

  it('with icebergPartitionSpecs off, asks Athena nothing and leaves specs it cannot read from parameters empty', async () => {
    const off = await run({ icebergPartitionSpecs: false });
    assert.equal(tableRow(off, 'events_iceberg').partition_spec, '');
    assert.deepEqual(json(tableRow(off, 'hms_iceberg').partition_spec), [{ column: 'ts', transform: 'hour' }]);
  });
});

describe('table-format parsing', () => {
  it('reads PARTITIONED BY in any quoting and refuses what it cannot read', () => {
    assert.deepEqual(partitionSpecFromCreateTable('CREATE TABLE t (a int)\nPARTITIONED BY (`truncate`(4, `Name`), years(ts), "b")'), [
      { column: 'name', transform: 'truncate', width: 4 },
      { column: 'ts', transform: 'year' },
      { column: 'b', transform: 'identity' },
    ]);
    assert.equal(partitionSpecFromCreateTable('CREATE TABLE t (a int) PARTITIONED BY (frobnicate(a))'), null);
    assert.equal(partitionSpecFromCreateTable("CREATE TABLE t (a int) LOCATION 's3://x/'"), null);
  });

  it('reads the current spec of a metadata file, format v1 or v2, and refuses what it cannot name', () => {
    const schema = {
      type: 'struct',
      'schema-id': 1,
      fields: [
        { id: 1, name: 'ID' },
        { id: 2, name: 'ts' },
      ],
    };
    const v2 = {
      'current-schema-id': 1,
      schemas: [{ 'schema-id': 0, fields: [{ id: 1, name: 'old' }] }, schema],
      'default-spec-id': 1,
      'partition-specs': [
        { 'spec-id': 0, fields: [{ 'source-id': 1, transform: 'identity' }] },
        {
          'spec-id': 1,
          fields: [
            { 'source-id': 2, transform: 'day' },
            { 'source-id': 1, transform: 'bucket[8]' },
          ],
        },
      ],
    };
    assert.deepEqual(partitionSpecFromMetadataFile(v2), [
      { column: 'ts', transform: 'day' },
      { column: 'id', transform: 'bucket', width: 8 },
    ]);
    // v1: one `schema` and one `partition-spec`; a dropped field stays as `void` and is not a partition.
    const v1 = {
      schema,
      'partition-spec': [
        { 'source-id': 2, transform: 'void' },
        { 'source-id': 1, transform: 'truncate[4]' },
      ],
    };
    assert.deepEqual(partitionSpecFromMetadataFile(v1), [{ column: 'id', transform: 'truncate', width: 4 }]);
    assert.equal(
      partitionSpecFromMetadataFile({ ...v2, 'partition-specs': [{ 'spec-id': 1, fields: [{ 'source-id': 9, transform: 'day' }] }] }),
      null,
    );
    assert.equal(
      partitionSpecFromMetadataFile({ ...v2, 'partition-specs': [{ 'spec-id': 1, fields: [{ 'source-id': 2, transform: 'zorder' }] }] }),
      null,
    );
    assert.equal(partitionSpecFromMetadataFile('[]'), null);
  });

  it("reads gzip-compressed metadata files; an unreadable one is unavailable, not the run's failure", async () => {
    const doc = JSON.stringify({ schema: { fields: [{ id: 1, name: 'd' }] }, 'partition-spec': [{ 'source-id': 1, transform: 'month' }] });
    const server = createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0]!;
      if (path.endsWith('.gz.metadata.json')) res.end(gzipSync(doc));
      else if (path.endsWith('broken.metadata.json')) res.end('{"schema": ');
      else {
        res.statusCode = 404;
        res.end('<Error><Code>NoSuchKey</Code></Error>');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const files = new IcebergMetadataFiles(localAthenaConfig(endpoint), { accessKeyId: 'k', secretAccessKey: 's' });
    const signal = new AbortController().signal;
    try {
      assert.deepEqual(await files.read('s3://b/t/metadata/00001-x.gz.metadata.json', signal), {
        kind: 'spec',
        spec: [{ column: 'd', transform: 'month' }],
      });
      assert.equal((await files.read('s3://b/t/metadata/broken.metadata.json', signal)).kind, 'unavailable');
      assert.equal((await files.read('s3://b/t/metadata/gone.metadata.json', signal)).kind, 'unavailable');
      assert.equal((await files.read('hdfs://nn/t/metadata/x.metadata.json', signal)).kind, 'unavailable');
    } finally {
      files.close();
      server.close();
    }
  });

  it('tells Delta and Hudi from Spark and Hudi markers, and leaves views alone', () => {
    assert.equal(tableFormat({ 'spark.sql.sources.provider': 'DELTA' }, false, 'awsdatacatalog'), 'DELTA');
    assert.equal(tableFormat({ inputformat: 'org.apache.hudi.hadoop.realtime.HoodieParquetRealtimeInputFormat' }, false, 'c'), 'HUDI');
    assert.equal(tableFormat({ table_type: 'ICEBERG' }, true, 'c'), null);
    assert.equal(tableFormat({}, false, 'c'), null);
    assert.equal(partitionProjection({ classification: 'json' }), null);
  });
});
