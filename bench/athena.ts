/**
 * Athena end-to-end benchmark on a realistic local endpoint: per-call latency with jitter, query queue and
 * run time, and server-side token buckets at Athena's quotas answering ThrottlingException. Our source
 * through the extract activity's own path (`runUnits`: all units, bounded concurrency, client-side quotas,
 * rows streamed to per-unit parts, assembled into one file per kind, then every file validated with the
 * activity's own `validateFiles`; Iceberg metadata files read over the endpoint's S3 GETs) against two
 * baselines:
 *  - information_schema: one `SELECT * FROM information_schema.columns`, paged through GetQueryResults
 *    1,000 rows at a time, buffered in memory, then written;
 *  - peer-style, as DataHub's and OpenMetadata's Athena sources do: list tables, then GetTableMetadata per
 *    table and `SHOW CREATE VIEW` per view, one after another. Sequential per-table cost is linear, so it
 *    runs on the first `--peer-tables` tables and its wall time is extrapolated (printed as such).
 *
 *   node --import tsx bench/athena.ts [--tables 20000] [--columns 50] [--executions 100000]
 *     [--latencies 50,100,150] [--jitter 0.5] [--queue-ms 300] [--run-ms 700] [--peer-tables 400]
 *     [--incremental 100,1000,10000] [--small-columns 10000] [--mid-columns 100000 (0: skip)]
 *     [--concurrency N (default: the source's maxConcurrency default)]
 *     [--quick] [--skip-baseline] [--skip-history] [--v8-defaults]
 *   (or env ATHENA_BENCH_TABLES, _COLUMNS, _EXECUTIONS, _LATENCY_MS (one latency), _SMALL_COLUMNS,
 *    _MID_COLUMNS, _CONCURRENCY, _QUICK=1; ATHENA_BENCH_ICEBERG='"query"' or 'false' sets our runs'
 *    icebergPartitionSpecs, for diagnosis)
 *
 * Latency L means each call takes uniformly 0.75L..1.25L (jitter 0.5: L x (1 - j/2) plus up to L x j):
 * real Athena answers ListTableMetadata and a 1,000-row GetQueryResults in roughly 100-500 ms. The quota
 * floor of a run is, over operations, the most of (successful calls - burst) / quota rate: no client can
 * finish those calls sooner against Athena's quotas, however fast it is.
 *
 * Scenarios: metadata of `tables` x `columns` at each latency; the full retained history of `executions`
 * (window: the last 46 days); incremental runs over N freshly appended executions (window: the 10 minutes
 * before, so the executions of the earlier incremental runs fall in too). A run with nothing new measures
 * the constant c of the history listing (ListQueryExecutions + BatchGetQueryExecution); each incremental
 * run's listing calls are compared with 2 x executions-in-window / 50 + c, and its column-lineage lookups
 * (GetTableMetadata, GetPreparedStatement: bounded per run) are printed beside them.
 *
 * The local Athena endpoint runs in a child process so its memory is not counted. Each measured run is
 * also its own child process: V8 does not hand memory back promptly, so a run after the baseline's
 * buffering would inherit its peak, and a run before it would lend it ours. Separate processes give each
 * a clean peak RSS and the same warm-up costs (SDK load, first connections). Peak RSS is the kernel's
 * high-water mark for the child (VmHWM), so short spikes between samples count too. CPU seconds are the
 * child's own process.cpuUsage (user + system), from its start of work to its end.
 *
 * Our runs use the V8 profile the `collector` command and the container image use (src/v8-profile.ts);
 * `--v8-defaults` measures them on Node's defaults instead. The baselines always run on the defaults, as
 * a hand-written collector would.
 *
 * The last line: `ratio_vs_baseline=R peak_rss_mb=M quota_floor_ratio=Q validate_mb_s=V ratio_vs_peer=P
 * rss_growth=G incremental_calls_ratio=I`: R = the information_schema baseline's wall / ours (end to end)
 * at 100 ms (or the middle latency swept), M = our peak RSS there, Q = our end-to-end wall / its quota
 * floor, V = validation MB/s of our files, P = the peer-style collector's extrapolated wall / ours, G =
 * our peak RSS at the full catalog / at the smallest, I = the largest incremental listing-calls ratio.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { finished } from 'node:stream/promises';
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  GetTableMetadataCommand,
  StartQueryExecutionCommand,
  paginateListDatabases,
  paginateListTableMetadata,
  type GetQueryResultsCommandOutput,
} from '@aws-sdk/client-athena';
import { stringify as stringifySync } from 'csv-stringify/sync';
import pino from 'pino';
import { COLUMNS, type ExtractKind, type Row } from '../src/contracts/extract-format';
import { CSV_CAST } from '../src/extracts/part-writer';
import { runUnits, type ExtractedFile } from '../src/extracts/run-units';
import { athenaSource } from '../src/connectors/athena/index';
import { DEFAULT_QUOTAS, type AthenaOperation } from '../src/connectors/athena/quotas';
import { validateFiles, type FileToValidate } from '../src/extracts/validate';
import { STARTUP_NODE_OPTIONS, V8_PROFILE_ENV, applyCollectorV8Profile } from '../src/v8-profile';

interface Options {
  tables: number;
  columns: number;
  executions: number;
  latencies: number[];
  jitter: number;
  queueMs: number;
  runMs: number;
  peerTables: number;
  incremental: number[];
  smallColumns: number;
  midColumns: number;
  concurrency: number;
  skipBaseline: boolean;
  skipHistory: boolean;
  v8Defaults: boolean;
  quick: boolean;
}

type Role = 'ours' | 'baseline' | 'peer';
type Scenario = 'metadata' | 'history';

/** What a child run does: its role, and for ours which units over which window. */
interface ChildArgs {
  role: Role;
  endpoint: string;
  concurrency: number;
  scenario: Scenario;
  windowStart: string;
  windowEnd: string;
  peerTables: number;
}

interface RunResult {
  role: string;
  /** Extraction (and writing) only. */
  extractMs: number;
  /** Validation of every written file, as the activity does before upload (ours only; 0 for baselines). */
  validateMs: number;
  validateBytes: number;
  /** End to end: extract + write + validate. */
  wallMs: number;
  cpuMs: number;
  peakRssMb: number;
  peakHeapMb: number;
  rows: Record<string, number>;
  /** Bytes written per kind (ours: the validated files). */
  bytes?: Record<string, number>;
  /** Tables the peer baseline covered (it runs on a sample). */
  sampledTables?: number;
  calls: Record<string, number>;
}

const REGION = 'us-east-1';
const OUTPUT = 's3://bench-results/athena/';
const DAY = 86_400_000;

const list = (v: string) => v.split(',').filter(Boolean).map(Number);

function parseOptions(argv: string[]): Options & Partial<ChildArgs> {
  const env = (k: string) => process.env[`ATHENA_BENCH_${k}`];
  const quick = argv.includes('--quick') || env('QUICK') === '1';
  const latency = env('LATENCY_MS');
  const o: Options & Partial<ChildArgs> = {
    tables: Number(env('TABLES') ?? (quick ? 2000 : 20000)),
    columns: Number(env('COLUMNS') ?? 50),
    executions: Number(env('EXECUTIONS') ?? (quick ? 10000 : 100000)),
    latencies: latency ? [Number(latency)] : quick ? [100] : [50, 100, 150],
    jitter: 0.5,
    queueMs: 300,
    runMs: 700,
    peerTables: quick ? 40 : 400,
    incremental: quick ? [100, 1000] : [100, 1000, 10000],
    smallColumns: Number(env('SMALL_COLUMNS') ?? 10000),
    midColumns: Number(env('MID_COLUMNS') ?? (quick ? 0 : 100000)),
    concurrency: Number(env('CONCURRENCY') ?? athenaSource.configSchema.parse({ type: 'athena', region: REGION }).maxConcurrency),
    skipBaseline: argv.includes('--skip-baseline'),
    skipHistory: argv.includes('--skip-history'),
    v8Defaults: argv.includes('--v8-defaults'),
    quick,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = () => argv[++i] ?? '';
    if (a === '--tables') o.tables = Number(v());
    else if (a === '--columns') o.columns = Number(v());
    else if (a === '--executions') o.executions = Number(v());
    else if (a === '--latency-ms' || a === '--latencies') o.latencies = list(v());
    else if (a === '--jitter') o.jitter = Number(v());
    else if (a === '--queue-ms') o.queueMs = Number(v());
    else if (a === '--run-ms') o.runMs = Number(v());
    else if (a === '--peer-tables') o.peerTables = Number(v());
    else if (a === '--incremental') o.incremental = list(v());
    else if (a === '--small-columns') o.smallColumns = Number(v());
    else if (a === '--mid-columns') o.midColumns = Number(v());
    else if (a === '--concurrency') o.concurrency = Number(v());
    else if (a === '--role') o.role = v() as Role;
    else if (a === '--endpoint') o.endpoint = v();
    else if (a === '--scenario') o.scenario = v() as Scenario;
    else if (a === '--window-start') o.windowStart = v();
    else if (a === '--window-end') o.windowEnd = v();
    else if (!['--quick', '--skip-baseline', '--skip-history', '--v8-defaults'].includes(a)) throw new Error(`unknown option ${a}`);
  }
  for (const k of [
    'tables',
    'columns',
    'executions',
    'queueMs',
    'runMs',
    'peerTables',
    'smallColumns',
    'midColumns',
    'concurrency',
  ] as const) {
    if (!Number.isInteger(o[k]) || o[k] < 0) throw new Error(`--${k} must be a non-negative integer`);
  }
  for (const [k, xs] of [
    ['latencies', o.latencies],
    ['incremental', o.incremental],
  ] as const) {
    if (!xs.length || xs.some((x) => !Number.isInteger(x) || x < 0))
      throw new Error(`--${k} must be a comma-separated list of non-negative integers`);
  }
  if (!(o.jitter >= 0 && o.jitter <= 2)) throw new Error('--jitter must be between 0 and 2 (a fraction of the latency)');
  return o;
}

// ---------------------------------------------------------------- measuring (inside a run's process)

/**
 * Peak RSS (the kernel's high-water mark for this process, which catches spikes shorter than a sample)
 * and peak V8 heap in use (live objects plus not-yet-collected garbage, sampled), in MB.
 */
function rssSampler(): { stop(): { peakRssMb: number; peakHeapMb: number } } {
  let rss = 0;
  let heap = 0;
  const sample = () => {
    const m = process.memoryUsage();
    rss = Math.max(rss, m.rss);
    heap = Math.max(heap, m.heapUsed);
  };
  sample();
  const timer = setInterval(sample, 10);
  return {
    stop() {
      clearInterval(timer);
      sample();
      const peak = Math.max(rss, kernelPeakRss());
      return { peakRssMb: peak / (1024 * 1024), peakHeapMb: heap / (1024 * 1024) };
    },
  };
}

/**
 * This process's peak RSS as the kernel tracks it (VmHWM, bytes), or 0 where /proc is missing. Not
 * getrusage's ru_maxrss: on Linux a child inherits its parent's value across fork/exec, so a child of
 * a large orchestrator would report at least the orchestrator's size.
 */
function kernelPeakRss(): number {
  try {
    const kb = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    return kb ? Number(kb) * 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * The bench's sink: one CSV file per kind, in the extract format's column order and value casts. Rows are
 * stringified by csv-stringify in small batches (bounded: 256 rows), the file stream's backpressure
 * respected; both runs use it, so it costs them the same.
 */
class CsvFiles {
  private readonly out = new Map<ExtractKind, { file: WriteStream; batch: unknown[][]; names: string[] }>();
  readonly rows: Record<string, number> = {};

  constructor(private readonly dir: string) {}

  async write(kind: ExtractKind, row: Row): Promise<void> {
    let w = this.out.get(kind);
    if (!w) {
      const names = COLUMNS[kind].map((c) => c.name);
      w = { file: createWriteStream(join(this.dir, `${kind}.csv`)), batch: [], names };
      w.file.write(stringifySync([names], { record_delimiter: '\r\n' }));
      this.out.set(kind, w);
    }
    this.rows[kind] = (this.rows[kind] ?? 0) + 1;
    w.batch.push(w.names.map((n) => row[n]));
    if (w.batch.length >= 256) await this.flush(w);
  }

  private async flush(w: { file: WriteStream; batch: unknown[][] }): Promise<void> {
    const text = stringifySync(w.batch, { cast: CSV_CAST, record_delimiter: '\r\n' });
    w.batch = [];
    if (!w.file.write(text)) await once(w.file, 'drain');
  }

  /** The written files, as the activity hands them to validation. */
  files(): FileToValidate[] {
    return [...this.out.keys()].map((kind) => ({
      kind,
      name: `${kind}.csv`,
      path: join(this.dir, `${kind}.csv`),
      rows: this.rows[kind] ?? 0,
    }));
  }

  async close(): Promise<void> {
    for (const w of this.out.values()) {
      if (w.batch.length) await this.flush(w);
      w.file.end();
      await finished(w.file);
    }
  }
}

type Measured = Omit<RunResult, 'role' | 'calls'>;

/** Times `work` in this process: wall, CPU (user + system) and peak memory. */
async function measured(
  work: () => Promise<Pick<RunResult, 'rows' | 'bytes' | 'validateMs' | 'validateBytes'> & { extractMs: number; sampledTables?: number }>,
): Promise<Measured> {
  const sampler = rssSampler();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await work();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { ...r, wallMs, cpuMs: (cpu.user + cpu.system) / 1000, ...sampler.stop() };
}

/** Our extraction: every unit, `concurrency` at once, each row streamed to its CSV file; then validation. */
async function runOurs(a: ChildArgs, dir: string): Promise<Measured> {
  const config = athenaSource.configSchema.parse({
    type: 'athena',
    region: REGION,
    endpoint: a.endpoint,
    s3Endpoint: a.endpoint,
    // For diagnosis: where Iceberg partition specs come from (true, metadata-file, query, false).
    ...(process.env.ATHENA_BENCH_ICEBERG ? { icebergPartitionSpecs: JSON.parse(process.env.ATHENA_BENCH_ICEBERG) as unknown } : {}),
    outputLocation: OUTPUT,
    maxConcurrency: a.concurrency,
    queryHistory: a.scenario === 'history',
    // History alone: no database matches, so metadata costs only the catalog and database listings.
    ...(a.scenario === 'history' ? { databases: { include: ['__bench_no_database__'] } } : {}),
  });
  const log = pino({ level: 'warn' });
  const signal = new AbortController().signal;
  return measured(async () => {
    const t0 = performance.now();
    // The extract activity's own path: units in parallel into per-unit parts, assembled into one file per
    // kind with the format's encoder, then the validate activity's check of the bytes that would be uploaded.
    const source = athenaSource.create(config, { log, signal, apiCall: () => undefined });
    let files: ExtractedFile[];
    try {
      ({ files } = await runUnits({
        source,
        sourceType: 'athena',
        collector: 'bench',
        stamp: '20261201T000000Z',
        compress: false,
        dir,
        ctx: { log, signal, window: { start: a.windowStart, end: a.windowEnd } },
        onUnitDone: () => undefined,
      }));
    } finally {
      await source.close();
    }
    const extractMs = performance.now() - t0;
    const v0 = performance.now();
    const validated = await validateFiles(files);
    return {
      extractMs,
      validateMs: performance.now() - v0,
      validateBytes: validated.reduce((n, f) => n + f.bytes, 0),
      rows: Object.fromEntries(files.map((f) => [f.kind, f.rows])),
      bytes: Object.fromEntries(validated.map((f) => [f.kind, f.bytes])),
    };
  });
}

/** Starts a query and waits for it, polling as a hand-written client would. */
async function runQuery(client: AthenaClient, sql: string, database?: string): Promise<string> {
  const started = await client.send(
    new StartQueryExecutionCommand({
      QueryString: sql,
      QueryExecutionContext: { Catalog: 'AwsDataCatalog', ...(database ? { Database: database } : {}) },
      WorkGroup: 'primary',
      ResultConfiguration: { OutputLocation: OUTPUT },
    }),
  );
  const id = started.QueryExecutionId!;
  for (;;) {
    const r = await client.send(new GetQueryExecutionCommand({ QueryExecutionId: id }));
    const state = r.QueryExecution?.Status?.State;
    if (state === 'SUCCEEDED') return id;
    if (state === 'FAILED' || state === 'CANCELLED') throw new Error(`query ${state}: ${r.QueryExecution?.Status?.StateChangeReason}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}

/** The naive way: one big information_schema query, every result page held in memory, then written. */
async function runBaseline(a: ChildArgs, dir: string): Promise<Measured> {
  // The SDK's standard retry (3 attempts) is what a hand-written client gets against throttling.
  const client = new AthenaClient({ region: REGION, endpoint: a.endpoint });
  return measured(async () => {
    const t0 = performance.now();
    const id = await runQuery(client, 'SELECT * FROM information_schema.columns');
    const rows: (string | null)[][] = [];
    let token: string | undefined;
    let first = true;
    do {
      const page: GetQueryResultsCommandOutput = await client.send(
        new GetQueryResultsCommand({ QueryExecutionId: id, MaxResults: 1000, NextToken: token }),
      );
      const data = page.ResultSet?.Rows ?? [];
      for (let i = first ? 1 : 0; i < data.length; i++) rows.push((data[i]!.Data ?? []).map((d) => d.VarCharValue ?? null));
      first = false;
      token = page.NextToken;
    } while (token);
    // information_schema.columns has no table properties or view SQL: only the column fields can be filled.
    const files = new CsvFiles(dir);
    const names = COLUMNS.metadata.map((c) => c.name);
    for (const r of rows) {
      const row: Row = Object.fromEntries(names.map((n) => [n, null]));
      [row.catalog, row.database, row.table_name, row.column_name, row.ordinal_position, , , row.data_type, row.column_comment] = r;
      await files.write('metadata', row);
    }
    await files.close();
    client.destroy();
    return { extractMs: performance.now() - t0, validateMs: 0, validateBytes: 0, rows: files.rows };
  });
}

/**
 * As the peers' Athena sources do (through PyAthena's SQLAlchemy dialect): list databases and table names,
 * then one GetTableMetadata per table and one `SHOW CREATE VIEW` per view, sequentially; rows written as
 * they come. Stops after `peerTables` tables: the orchestrator extrapolates.
 */
async function runPeer(a: ChildArgs, dir: string): Promise<Measured> {
  const client = new AthenaClient({ region: REGION, endpoint: a.endpoint });
  return measured(async () => {
    const t0 = performance.now();
    const files = new CsvFiles(dir);
    const names = COLUMNS.metadata.map((c) => c.name);
    let done = 0;
    outer: for await (const dbPage of paginateListDatabases({ client }, { CatalogName: 'AwsDataCatalog' })) {
      for (const db of dbPage.DatabaseList ?? []) {
        for await (const tPage of paginateListTableMetadata({ client }, { CatalogName: 'AwsDataCatalog', DatabaseName: db.Name! })) {
          for (const listed of tPage.TableMetadataList ?? []) {
            if (done >= a.peerTables) break outer;
            done++;
            const t = (
              await client.send(
                new GetTableMetadataCommand({ CatalogName: 'AwsDataCatalog', DatabaseName: db.Name!, TableName: listed.Name! }),
              )
            ).TableMetadata!;
            let viewSql: string | null = null;
            if (t.TableType === 'VIRTUAL_VIEW') {
              const id = await runQuery(client, `SHOW CREATE VIEW ${db.Name}.${t.Name}`, db.Name);
              const res = await client.send(new GetQueryResultsCommand({ QueryExecutionId: id }));
              viewSql = res.ResultSet?.Rows?.[1]?.Data?.[0]?.VarCharValue ?? null;
            }
            await files.write('tables', {
              catalog: 'AwsDataCatalog',
              database: db.Name,
              table_name: t.Name,
              table_type: t.TableType,
              column_count: t.Columns?.length ?? 0,
              view_definition: viewSql,
            });
            for (const [i, c] of (t.Columns ?? []).entries()) {
              const row: Row = Object.fromEntries(names.map((n) => [n, null]));
              Object.assign(row, {
                catalog: 'AwsDataCatalog',
                database: db.Name,
                table_name: t.Name,
                column_name: c.Name,
                ordinal_position: i + 1,
                data_type: c.Type,
                column_comment: c.Comment ?? null,
              });
              await files.write('metadata', row);
            }
          }
        }
      }
    }
    await files.close();
    client.destroy();
    return { extractMs: performance.now() - t0, validateMs: 0, validateBytes: 0, rows: files.rows, sampledTables: done };
  });
}

// ---------------------------------------------------------------- orchestration (parent process)

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

/** Starts a child and resolves with its first stdout line that parses as JSON. */
function spawnJson<T>(args: string[], label: string, env: NodeJS.ProcessEnv = process.env): Promise<{ child: ChildProcess; value: T }> {
  const child = spawn(process.execPath, [...process.execArgv, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  children.add(child);
  child.on('exit', () => children.delete(child));
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-4000);
  });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      try {
        resolve({ child, value: JSON.parse(line) as T });
      } catch {
        // not our line
      }
    });
    child.once('exit', (code) =>
      reject(
        new Error(
          `${label} exited with ${code}: ${err
            .split('\n')
            .filter((l) => !/NodeVersionSupport|node >=22|a\.co\//.test(l))
            .join('\n')}`,
        ),
      ),
    );
  });
}

async function startServer(tables: number, columns: number, executions: number): Promise<{ child: ChildProcess; endpoint: string }> {
  const main = require.resolve(join(__dirname, '..', 'tools', 'athena-local', 'main'));
  const spec = `tables=${tables},columns=${columns},executions=${executions},databases=${Math.min(20, Math.max(1, Math.ceil(tables / 50)))}`;
  const { child, value } = await spawnJson<{ endpoint: string }>([main, '--port', '0', '--generate', spec], 'athena-local');
  return { child, endpoint: value.endpoint };
}

async function control(endpoint: string, path: string, method: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${endpoint}/_local/${path}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  if (!res.ok) throw new Error(`athena-local ${method} ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

/**
 * Resets counters, faults and quota buckets (full again, as after an idle minute), then sets this run's
 * latency with jitter, Athena's quotas, and query queue and run time.
 */
async function configureServer(endpoint: string, o: Options, latencyMs: number): Promise<void> {
  await control(endpoint, 'reset', 'POST');
  const latency = { latencyMs: Math.round(latencyMs * (1 - o.jitter / 2)), latencyJitterMs: Math.round(latencyMs * o.jitter) };
  await control(endpoint, 'faults', 'POST', { operation: '*', ...latency, quotas: true });
  await control(endpoint, 'faults', 'POST', { operation: 'StartQueryExecution', queueMs: o.queueMs, runMs: o.runMs });
}

/** Calls per operation that went through, and throttles, from the server's counters. */
function splitCalls(counters: Record<string, number>): { ok: Record<string, number>; throttled: number; total: number } {
  const ok: Record<string, number> = {};
  let throttled = 0;
  let total = 0;
  for (const [k, v] of Object.entries(counters)) {
    if (k.endsWith(':throttled')) throttled += v;
    else total += v;
  }
  for (const [k, v] of Object.entries(counters)) if (!k.includes(':')) ok[k] = v - (counters[`${k}:throttled`] ?? 0);
  return { ok, throttled, total };
}

/**
 * The least time Athena's quotas allow for these calls: over operations, the most of (calls - burst) /
 * rate, a full bucket at the start (e.g. 400 ListTableMetadata: (400 - 40) / 20 = 18 s).
 */
function quotaFloor(ok: Record<string, number>): { seconds: number; binding: string } {
  let best = { seconds: 0, binding: 'every operation within its burst' };
  for (const [op, n] of Object.entries(ok)) {
    const q = DEFAULT_QUOTAS[op as AthenaOperation];
    const s = q ? Math.max(0, n - q.burst) / q.perSecond : 0;
    if (q && s > best.seconds) best = { seconds: s, binding: `${op} (${n} - ${q.burst}) / ${q.perSecond} per s` };
  }
  return best;
}

/** The environment of a measured child: ours as the container image runs it, unless --v8-defaults. */
function runEnv(role: 'ours' | 'baseline', v8Defaults: boolean): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_OPTIONS;
  if (role === 'ours' && !v8Defaults) {
    env.NODE_OPTIONS = STARTUP_NODE_OPTIONS;
    env[V8_PROFILE_ENV] = 'lean';
  } else env[V8_PROFILE_ENV] = 'default';
  return env;
}

async function measure(role: Role, endpoint: string, o: Options, extra: Partial<ChildArgs> = {}): Promise<RunResult> {
  await control(endpoint, 'counters', 'DELETE');
  const now = Date.now();
  const a: ChildArgs = {
    role,
    endpoint,
    concurrency: o.concurrency,
    scenario: 'metadata',
    windowStart: new Date(now - DAY).toISOString(),
    windowEnd: new Date(now).toISOString(),
    peerTables: o.peerTables,
    ...extra,
  };
  const args = [
    __filename,
    ...Object.entries(a).flatMap(([k, v]) => [`--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`, String(v)]),
  ];
  const { value } = await spawnJson<Omit<RunResult, 'calls'>>(args, role, runEnv(role === 'ours' ? 'ours' : 'baseline', o.v8Defaults));
  return { ...value, calls: (await control(endpoint, 'counters', 'GET')) as Record<string, number> };
}

const sec = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

/** One run's figures; returns its quota floor (s). */
function report(label: string, r: RunResult): number {
  const rows = Object.entries(r.rows)
    .map(([k, v]) => `${k}=${v}${r.bytes?.[k] !== undefined ? ` (${(r.bytes[k] / 1e6).toFixed(1)} MB)` : ''}`)
    .join(' ');
  const { ok, throttled, total } = splitCalls(r.calls);
  const floor = quotaFloor(ok);
  const calls = Object.entries(ok)
    .sort(([x], [y]) => x.localeCompare(y))
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const vsFloor = floor.seconds > 0 ? `, x${(r.wallMs / 1000 / floor.seconds).toFixed(2)}` : '';
  const validate = r.validateMs > 0 ? ` (extract ${sec(r.extractMs)} + validate ${sec(r.validateMs)})` : '';
  process.stdout.write(
    `${label.padEnd(26)} wall ${sec(r.wallMs)}${validate}  cpu ${sec(r.cpuMs)}  quota floor ${floor.seconds.toFixed(1)}s (${floor.binding}${vsFloor})\n` +
      `${' '.repeat(27)}peak RSS ${r.peakRssMb.toFixed(0)} MB  heap ${r.peakHeapMb.toFixed(0)} MB  rows: ${rows}\n` +
      `${' '.repeat(27)}API calls ${total} (throttled ${throttled}): ${calls}\n`,
  );
  return floor.seconds;
}

async function withServer<T>(tables: number, columns: number, executions: number, work: (endpoint: string) => Promise<T>): Promise<T> {
  const server = await startServer(tables, columns, executions);
  try {
    return await work(server.endpoint);
  } finally {
    server.child.kill('SIGTERM');
  }
}

async function orchestrate(o: Options): Promise<void> {
  const totalColumns = o.tables * o.columns;
  process.stdout.write(
    `athena bench${o.quick ? ' (--quick)' : ''}: ${o.tables} tables x ${o.columns} columns (${totalColumns} columns), ${o.executions} executions; ` +
      `latency ${o.latencies.join('/')} ms per call +-${(o.jitter * 50).toFixed(0)}%, queries queued ${o.queueMs} ms + running >= ${o.runMs} ms, ` +
      `server-side quota buckets on, concurrency ${o.concurrency}\n` +
      `V8 profile of our runs: ${o.v8Defaults ? "Node's defaults (--v8-defaults)" : `collector (NODE_OPTIONS=${STARTUP_NODE_OPTIONS}, runtime flags from src/v8-profile.ts)`}; baselines: Node's defaults\n`,
  );
  const mid = o.latencies[Math.floor(o.latencies.length / 2)]!;
  const headline = o.latencies.includes(100) ? 100 : mid;
  let ours: RunResult | undefined;
  let oursFloor = NaN;
  let baseline: RunResult | undefined;
  let peerScaledMs: number | undefined;
  let incrementalRatio = 0;

  process.stdout.write(`\n== metadata: ${o.tables} x ${o.columns}\n`);
  await withServer(o.tables, o.columns, 0, async (endpoint) => {
    for (const latency of o.latencies) {
      await configureServer(endpoint, o, latency);
      const r = await measure('ours', endpoint, o);
      const floor = report(`ours @${latency}ms`, r);
      if (latency === headline) [ours, oursFloor] = [r, floor];
      if (o.skipBaseline) continue;
      await configureServer(endpoint, o, latency);
      const b = await measure('baseline', endpoint, o);
      report(`information_schema @${latency}ms`, b);
      process.stdout.write(`${' '.repeat(27)}ours vs information_schema: x${(b.wallMs / r.wallMs).toFixed(2)}\n`);
      if (latency === headline) baseline = b;
    }
    if (!o.skipBaseline && ours) {
      await configureServer(endpoint, o, headline);
      const p = await measure('peer', endpoint, o);
      report(`peer @${headline}ms (${p.sampledTables} tables)`, p);
      const extrapolated = (p.wallMs * o.tables) / Math.max(1, p.sampledTables ?? 1);
      peerScaledMs = extrapolated;
      process.stdout.write(
        `${' '.repeat(27)}peer extrapolated to ${o.tables} tables: ${sec(extrapolated)}; ours vs peer: x${(extrapolated / ours.wallMs).toFixed(1)}\n`,
      );
    }
  });

  if (!o.skipHistory) process.stdout.write(`\n== history @${headline}ms: ${o.executions} executions generated over 60 days, 45 retained\n`);
  if (!o.skipHistory)
    await withServer(Math.max(1, Math.round(o.tables / 20)), 5, o.executions, async (endpoint) => {
      const now = Date.now();
      await configureServer(endpoint, o, headline);
      const full = await measure('ours', endpoint, o, {
        scenario: 'history',
        windowStart: new Date(now - 46 * DAY).toISOString(),
        windowEnd: new Date(now).toISOString(),
      });
      report('ours full history', full);
      // History listing calls only: column-lineage lookups (GetTableMetadata, GetPreparedStatement) are a
      // separate, bounded cost (at most 2,000 per run), reported beside them.
      const listing = (r: RunResult) =>
        (splitCalls(r.calls).ok.ListQueryExecutions ?? 0) + (splitCalls(r.calls).ok.BatchGetQueryExecution ?? 0);
      const lookups = (r: RunResult) => (splitCalls(r.calls).ok.GetTableMetadata ?? 0) + (splitCalls(r.calls).ok.GetPreparedStatement ?? 0);
      let constant: number | undefined;
      for (const n of [0, ...o.incremental]) {
        const before = Date.now();
        // Appended on the server as just finished, like queries run since the last collection.
        for (let i = 0; i < n; i += 100) {
          await Promise.all(Array.from({ length: Math.min(100, n - i) }, () => control(endpoint, 'executions', 'POST')));
        }
        await configureServer(endpoint, o, headline);
        const r = await measure('ours', endpoint, o, {
          scenario: 'history',
          windowStart: new Date(before - 600_000).toISOString(),
          windowEnd: new Date(Date.now() + 1000).toISOString(),
        });
        report(`ours incremental +${n}`, r);
        const inWindow = r.rows.databaselog ?? 0;
        // The run with nothing new measures the constant: per workgroup, its first listing page and the
        // margin page that proves the window is passed.
        if (n === 0) {
          constant = listing(r);
          process.stdout.write(`${' '.repeat(27)}constant c = ${constant} listing calls (${inWindow} executions in window)\n`);
          continue;
        }
        const target = (2 * inWindow) / 50 + constant!;
        const ratio = listing(r) / target;
        incrementalRatio = Math.max(incrementalRatio, ratio);
        process.stdout.write(
          `${' '.repeat(27)}${inWindow} executions in window (${n} new): listing calls ${listing(r)} vs 2 x ${inWindow}/50 + c = ${target.toFixed(0)}: x${ratio.toFixed(3)}; ` +
            `column-lineage lookups ${lookups(r)}\n`,
        );
      }
    });

  // Smaller catalogs, same shape, for how memory scales (ours only).
  const scaled: RunResult[] = [];
  for (const columns of [o.smallColumns, o.midColumns].filter((c) => c > 0 && c < totalColumns)) {
    const tables = Math.max(1, Math.round(columns / o.columns));
    await withServer(tables, o.columns, 0, async (endpoint) => {
      await configureServer(endpoint, o, headline);
      const r = { ...(await measure('ours', endpoint, o)), role: `${tables * o.columns}` };
      report(`ours @${tables * o.columns} columns`, r);
      scaled.push(r);
    });
  }
  if (!ours) throw new Error('no run at the headline latency');
  const top = ours;
  if (scaled.length)
    process.stdout.write(
      `peak RSS ours by catalog size: ${[...scaled, { ...top, role: String(totalColumns) }].map((p) => `${p.role} columns ${p.peakRssMb.toFixed(0)} MB`).join(', ')}; ` +
        `${totalColumns} vs ${scaled[0]!.role}: x${(top.peakRssMb / scaled[0]!.peakRssMb).toFixed(2)}\n`,
    );
  const ratio = baseline ? baseline.wallMs / top.wallMs : NaN;
  const peerRatio = peerScaledMs !== undefined ? peerScaledMs / top.wallMs : NaN;
  const validateMbS = top.validateMs > 0 ? top.validateBytes / (1024 * 1024) / (top.validateMs / 1000) : NaN;
  process.stdout.write(
    `ratio_vs_baseline=${ratio.toFixed(2)} peak_rss_mb=${top.peakRssMb.toFixed(0)} quota_floor_ratio=${(top.wallMs / 1000 / oursFloor).toFixed(2)} validate_mb_s=${validateMbS.toFixed(1)}` +
      ` ratio_vs_peer=${peerRatio.toFixed(1)} rss_growth=${scaled.length ? (top.peakRssMb / scaled[0]!.peakRssMb).toFixed(2) : 'NaN'} incremental_calls_ratio=${incrementalRatio.toFixed(3)}\n`,
  );
}

async function child(o: ReturnType<typeof parseOptions>): Promise<void> {
  // As the collector command does first thing; a no-op when the parent chose Node's defaults.
  applyCollectorV8Profile();
  const a = o as ChildArgs;
  const dir = mkdtempSync(join(tmpdir(), `athena-bench-${a.role}-`));
  try {
    const run = a.role === 'baseline' ? runBaseline : a.role === 'peer' ? runPeer : runOurs;
    const r = await run(a, dir);
    process.stdout.write(`${JSON.stringify({ role: a.role, ...r })}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const opts = parseOptions(process.argv.slice(2));
// Dummy credentials: the local endpoint accepts any signature, and real ones have no business here.
process.env.AWS_ACCESS_KEY_ID = 'bench';
process.env.AWS_SECRET_ACCESS_KEY = 'bench';
delete process.env.AWS_SESSION_TOKEN;
delete process.env.AWS_PROFILE;
(opts.role ? child(opts) : orchestrate(opts)).then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
