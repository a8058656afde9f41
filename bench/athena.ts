/**
 * Athena extraction benchmark: our source (all units, bounded concurrency, client-side quotas, rows
 * streamed to CSV) against a naive baseline (one `SELECT * FROM information_schema.columns`, paged through
 * GetQueryResults 1,000 rows at a time, buffered in memory, then written).
 *
 *   node --import tsx bench/athena.ts [--tables 20000] [--columns 50] [--executions 100000]
 *     [--latency-ms 100] [--small-columns 10000] [--mid-columns 100000 (0: skip)]
 *     [--concurrency N (default: the source's maxConcurrency default)]
 *     [--quick] [--skip-baseline] [--v8-defaults]
 *   (or env ATHENA_BENCH_TABLES, _COLUMNS, _EXECUTIONS, _LATENCY_MS, _SMALL_COLUMNS, _MID_COLUMNS,
 *    _CONCURRENCY, _QUICK=1)
 *
 * Every API call gets `latency-ms` of server-side delay: real Athena answers ListTableMetadata and a
 * 1,000-row GetQueryResults in roughly 100-500 ms, so the default 100 ms is the kind end for the baseline.
 *
 * The local Athena endpoint runs in a child process so its memory is not counted. Each measured run is
 * also its own child process: V8 does not hand memory back promptly, so a run after the baseline's
 * buffering would inherit its peak, and a run before it would lend it ours. Separate processes give each
 * a clean peak RSS and the same warm-up costs (SDK load, first connections). Peak RSS is the kernel's
 * high-water mark for the child (VmHWM), so short spikes between samples count too.
 *
 * Our runs use the V8 profile the `collector` command and the container image use (src/v8-profile.ts);
 * `--v8-defaults` measures them on Node's defaults instead. The baseline always runs on the defaults, as
 * a hand-written collector would.
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
  StartQueryExecutionCommand,
  type GetQueryResultsCommandOutput,
} from '@aws-sdk/client-athena';
import { stringify as stringifySync } from 'csv-stringify/sync';
import pino from 'pino';
import { COLUMNS, type ExtractKind, type Row } from '../src/contracts/extract-format';
import { CSV_CAST } from '../src/extracts/part-writer';
import type { ExtractContext, ExtractUnit, UnitOutput } from '../src/contracts/plugin';
import { athenaSource } from '../src/connectors/athena/index';
import { STARTUP_NODE_OPTIONS, V8_PROFILE_ENV, applyCollectorV8Profile } from '../src/v8-profile';
import { cursorView } from '../src/hwm/cursor';

interface Options {
  tables: number;
  columns: number;
  executions: number;
  latencyMs: number;
  smallColumns: number;
  midColumns: number;
  concurrency: number;
  skipBaseline: boolean;
  v8Defaults: boolean;
}

interface RunResult {
  role: string;
  wallMs: number;
  peakRssMb: number;
  peakHeapMb: number;
  rows: Record<string, number>;
  calls: Record<string, number>;
}

const REGION = 'us-east-1';
const OUTPUT = 's3://bench-results/athena/';

function parseOptions(argv: string[]): Options & { role?: string; endpoint?: string } {
  const env = (k: string) => process.env[`ATHENA_BENCH_${k}`];
  const quick = argv.includes('--quick') || env('QUICK') === '1';
  const o: Options & { role?: string; endpoint?: string } = {
    tables: Number(env('TABLES') ?? (quick ? 2000 : 20000)),
    columns: Number(env('COLUMNS') ?? 50),
    executions: Number(env('EXECUTIONS') ?? (quick ? 10000 : 100000)),
    latencyMs: Number(env('LATENCY_MS') ?? 100),
    smallColumns: Number(env('SMALL_COLUMNS') ?? 10000),
    midColumns: Number(env('MID_COLUMNS') ?? 100000),
    concurrency: Number(env('CONCURRENCY') ?? athenaSource.configSchema.parse({ type: 'athena', region: REGION }).maxConcurrency),
    skipBaseline: argv.includes('--skip-baseline'),
    v8Defaults: argv.includes('--v8-defaults'),
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = () => argv[++i] ?? '';
    if (a === '--tables') o.tables = Number(v());
    else if (a === '--columns') o.columns = Number(v());
    else if (a === '--executions') o.executions = Number(v());
    else if (a === '--latency-ms') o.latencyMs = Number(v());
    else if (a === '--small-columns') o.smallColumns = Number(v());
    else if (a === '--mid-columns') o.midColumns = Number(v());
    else if (a === '--concurrency') o.concurrency = Number(v());
    else if (a === '--role') o.role = v();
    else if (a === '--endpoint') o.endpoint = v();
    else if (a !== '--quick' && a !== '--skip-baseline' && a !== '--v8-defaults') throw new Error(`unknown option ${a}`);
  }
  for (const k of ['tables', 'columns', 'executions', 'latencyMs', 'smallColumns', 'midColumns', 'concurrency'] as const) {
    if (!Number.isInteger(o[k]) || o[k] < 0) throw new Error(`${k} must be a non-negative integer`);
  }
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

  async close(): Promise<void> {
    for (const w of this.out.values()) {
      if (w.batch.length) await this.flush(w);
      w.file.end();
      await finished(w.file);
    }
  }
}

async function serverCounters(endpoint: string, reset = false): Promise<Record<string, number>> {
  const res = await fetch(`${endpoint}/_local/counters`, { method: reset ? 'DELETE' : 'GET' });
  return (await res.json()) as Record<string, number>;
}

/** Our extraction: every unit, `concurrency` at once, each row streamed to its CSV file. */
async function runOurs(endpoint: string, concurrency: number, dir: string): Promise<Omit<RunResult, 'role' | 'calls'>> {
  const config = athenaSource.configSchema.parse({
    type: 'athena',
    region: REGION,
    endpoint,
    outputLocation: OUTPUT,
    maxConcurrency: concurrency,
  });
  const now = Date.now();
  const ctx: ExtractContext = {
    log: pino({ level: 'warn' }),
    signal: new AbortController().signal,
    window: { start: new Date(now - 86_400_000).toISOString(), end: new Date(now).toISOString() },
    warn: (m) => process.stderr.write(`warning: ${m}\n`),
    count: () => undefined,
    cursor: cursorView({}),
  };
  const files = new CsvFiles(dir);
  const out: UnitOutput = { write: (kind, row) => files.write(kind, row), setCursor: () => undefined };
  const sampler = rssSampler();
  const t0 = performance.now();
  const running = new Set<Promise<void>>();
  const source = athenaSource.create(config, { log: ctx.log, signal: ctx.signal, apiCall: () => undefined });
  const limit = source.concurrency;
  const start = (unit: ExtractUnit) => {
    const p: Promise<void> = unit.run(out).finally(() => running.delete(p));
    running.add(p);
  };
  for await (const unit of source.units(ctx)) {
    start(unit);
    if (running.size >= limit) await Promise.race(running);
  }
  await Promise.all(running);
  await files.close();
  await source.close();
  return { wallMs: performance.now() - t0, ...sampler.stop(), rows: files.rows };
}

/** The naive way: one big information_schema query, every result page held in memory, then written. */
async function runBaseline(endpoint: string, dir: string): Promise<Omit<RunResult, 'role' | 'calls'>> {
  const client = new AthenaClient({ region: REGION, endpoint });
  const sampler = rssSampler();
  const t0 = performance.now();
  const started = await client.send(
    new StartQueryExecutionCommand({
      QueryString: 'SELECT * FROM information_schema.columns',
      QueryExecutionContext: { Catalog: 'AwsDataCatalog' },
      WorkGroup: 'primary',
      ResultConfiguration: { OutputLocation: OUTPUT },
    }),
  );
  const id = started.QueryExecutionId!;
  for (;;) {
    const r = await client.send(new GetQueryExecutionCommand({ QueryExecutionId: id }));
    const state = r.QueryExecution?.Status?.State;
    if (state === 'SUCCEEDED') break;
    if (state === 'FAILED' || state === 'CANCELLED')
      throw new Error(`baseline query ${state}: ${r.QueryExecution?.Status?.StateChangeReason}`);
    await new Promise((res) => setTimeout(res, 200));
  }
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
    row.table_type = 'TABLE';
    await files.write('metadata', row);
  }
  await files.close();
  client.destroy();
  return { wallMs: performance.now() - t0, ...sampler.stop(), rows: files.rows };
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

async function startServer(
  tables: number,
  columns: number,
  executions: number,
  latencyMs: number,
): Promise<{ child: ChildProcess; endpoint: string }> {
  const main = require.resolve(join(__dirname, '..', 'tools', 'athena-local', 'main'));
  const spec = `tables=${tables},columns=${columns},executions=${executions},databases=${Math.min(20, Math.max(1, Math.ceil(tables / 50)))}`;
  const args = [main, '--port', '0', '--generate', spec, ...(latencyMs ? ['--latency-ms', String(latencyMs)] : [])];
  const { child, value } = await spawnJson<{ endpoint: string }>(args, 'athena-local');
  return { child, endpoint: value.endpoint };
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

async function measure(role: 'ours' | 'baseline', endpoint: string, o: Options): Promise<RunResult> {
  await serverCounters(endpoint, true);
  const args = [__filename, '--role', role, '--endpoint', endpoint, '--concurrency', String(o.concurrency)];
  const { value } = await spawnJson<Omit<RunResult, 'calls'>>(args, role, runEnv(role, o.v8Defaults));
  return { ...value, calls: await serverCounters(endpoint) };
}

function report(r: RunResult): void {
  const rows = Object.entries(r.rows)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const calls = Object.entries(r.calls)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  process.stdout.write(
    `${r.role.padEnd(14)} wall ${(r.wallMs / 1000).toFixed(1)}s  peak RSS ${r.peakRssMb.toFixed(0)} MB  peak heap ${r.peakHeapMb.toFixed(0)} MB  rows: ${rows}\n${' '.repeat(15)}API calls: ${calls}\n`,
  );
}

async function orchestrate(o: Options): Promise<void> {
  const totalColumns = o.tables * o.columns;
  process.stdout.write(
    `athena bench: ${o.tables} tables x ${o.columns} columns (${totalColumns} columns), ${o.executions} executions, ${o.latencyMs} ms per API call, concurrency ${o.concurrency}\n` +
      `V8 profile of our runs: ${o.v8Defaults ? "Node's defaults (--v8-defaults)" : `collector (NODE_OPTIONS=${STARTUP_NODE_OPTIONS}, runtime flags from src/v8-profile.ts)`}; baseline: Node's defaults\n`,
  );
  const big = await startServer(o.tables, o.columns, o.executions, o.latencyMs);
  let ours: RunResult;
  let baseline: RunResult | undefined;
  try {
    ours = await measure('ours', big.endpoint, o);
    report(ours);
    if (!o.skipBaseline) {
      baseline = await measure('baseline', big.endpoint, o);
      report(baseline);
    }
  } finally {
    big.child.kill('SIGTERM');
  }
  // Smaller catalogs, same shape (columns per table, executions per table), for how memory scales.
  const scaled = async (columns: number): Promise<RunResult> => {
    const tables = Math.max(1, Math.round(columns / o.columns));
    const server = await startServer(tables, o.columns, Math.round((o.executions * tables) / Math.max(1, o.tables)), o.latencyMs);
    try {
      const r = { ...(await measure('ours', server.endpoint, o)), role: `ours@${tables * o.columns}` };
      report(r);
      return r;
    } finally {
      server.child.kill('SIGTERM');
    }
  };
  const small = await scaled(o.smallColumns);
  const mid = o.midColumns > 0 && o.midColumns < totalColumns ? await scaled(o.midColumns) : undefined;
  const points = [small, ...(mid ? [mid] : []), { ...ours, role: `ours@${totalColumns}` }];
  process.stdout.write(
    `peak RSS ours by catalog size: ${points.map((p) => `${p.role.slice(5)} columns ${p.peakRssMb.toFixed(0)} MB (heap ${p.peakHeapMb.toFixed(0)} MB)`).join(', ')}; ` +
      `${totalColumns} vs ${small.role.slice(5)}: x${(ours.peakRssMb / small.peakRssMb).toFixed(2)}` +
      (mid ? `, vs ${mid.role.slice(5)}: x${(ours.peakRssMb / mid.peakRssMb).toFixed(2)}\n` : '\n'),
  );
  const ratio = baseline ? baseline.wallMs / ours.wallMs : NaN;
  process.stdout.write(`ratio_vs_baseline=${ratio.toFixed(2)} peak_rss_mb=${ours.peakRssMb.toFixed(0)}\n`);
}

async function child(o: ReturnType<typeof parseOptions>): Promise<void> {
  // As the collector command does first thing; a no-op when the parent chose Node's defaults.
  applyCollectorV8Profile();
  const dir = mkdtempSync(join(tmpdir(), `athena-bench-${o.role}-`));
  try {
    const r = o.role === 'baseline' ? await runBaseline(o.endpoint!, dir) : await runOurs(o.endpoint!, o.concurrency, dir);
    process.stdout.write(`${JSON.stringify({ role: o.role, ...r })}\n`);
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
