/**
 * PostgreSQL extraction benchmark on a real server (test/support/postgres.ts): our source (paged catalog
 * queries, bounded sessions, rows streamed to CSV through the same writer a run uses) against a naive
 * baseline (one `SELECT * FROM information_schema.columns`, buffered in memory, then written as CSV).
 *
 *   npm run bench:postgres [-- --tables 10000 --columns 30 --small-tables 1000]
 *
 * Each measured run is its own child process, so each peak RSS (the kernel's VmHWM) is its own; ours runs
 * with the collector's V8 profile (src/v8-profile.ts), the baseline on Node's defaults. Prints,
 * for each size, wall seconds, statements issued and peak RSS of both, then
 * `ratio_vs_baseline=R peak_rss_mb=M rss_growth=G` for the large size (G: our peak at the large size over
 * our peak at the small one; flat memory keeps it near 1).
 */
import { spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { stringify } from 'csv-stringify/sync';
import pino from 'pino';
import { Client } from 'pg';
import { postgresSource, postgresConfigSchema } from '../src/connectors/postgres';
import { runUnits } from '../src/extracts/run-units';
import { startPostgres } from '../test/support/postgres';
import { applyCollectorV8Profile, STARTUP_NODE_OPTIONS } from '../src/v8-profile';

interface Measure {
  role: string;
  tables: number;
  seconds: number;
  statements: number;
  rows: number;
  peakRssMb: number;
}

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};

function peakRssMb(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : process.memoryUsage().rss / 2 ** 20;
}

/** One measured run, inside a child process. */
async function child(role: string, port: number, password: string, database: string, tables: number): Promise<void> {
  const started = performance.now();
  let statements = 0;
  let rows: number;
  const dir = mkdtempSync(join(tmpdir(), 'bench-pg-'));
  if (role === 'ours') {
    applyCollectorV8Profile();
    const config = {
      ...postgresConfigSchema.parse({
        type: 'postgres',
        host: '127.0.0.1',
        port,
        user: 'postgres',
        password: '${P}',
        sslmode: 'disable',
        databases: [database],
      }),
      password,
    };
    const log = pino({ level: 'silent' });
    const source = postgresSource.create(config, {
      log,
      signal: new AbortController().signal,
      apiCall: (_op, outcome) => void (outcome === 'call' && statements++),
    });
    try {
      const { files } = await runUnits({
        source,
        sourceType: 'postgres',
        collector: 'bench',
        stamp: '20260101T000000Z',
        compress: false,
        dir,
        ctx: { log, signal: new AbortController().signal, window: { start: '2026-01-01T00:00:00.000Z', end: '2026-01-02T00:00:00.000Z' } },
        knownSecrets: [password],
        onUnitDone: () => undefined,
      });
      rows = files.filter((f) => f.kind === 'metadata').reduce((n, f) => n + f.rows, 0);
    } finally {
      await source.close();
    }
  } else {
    // What a hand-written extractor does: one query, every row in memory, then one file.
    const client = new Client({ host: '127.0.0.1', port, user: 'postgres', password, database });
    await client.connect();
    const result = await client.query(
      `SELECT * FROM information_schema.columns WHERE table_schema NOT IN ('pg_catalog', 'information_schema')`,
    );
    statements = 1;
    await client.end();
    rows = result.rows.length;
    const out = createWriteStream(join(dir, 'columns.csv'));
    out.end(stringify(result.rows, { header: true }));
    await finished(out);
  }
  rmSync(dir, { recursive: true, force: true });
  const m: Measure = { role, tables, seconds: (performance.now() - started) / 1000, statements, rows, peakRssMb: peakRssMb() };
  process.stdout.write(`${JSON.stringify(m)}\n`);
}

async function measure(role: string, port: number, password: string, database: string, tables: number): Promise<Measure> {
  // Ours runs with the collector's V8 profile, as the `collector` command and the image do; the baseline on
  // Node's defaults, as a hand-written extractor would.
  const v8 = role === 'ours' ? [STARTUP_NODE_OPTIONS] : [];
  const p = spawn(
    process.execPath,
    [...v8, '--import', 'tsx', __filename, '--child', role, String(port), password, database, String(tables)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((r) => p.once('exit', r));
  if (code !== 0) throw new Error(`${role} run failed (exit ${code})`);
  return JSON.parse(out.trim().split('\n').pop()!) as Measure;
}

async function main(): Promise<void> {
  if (process.argv.includes('--child')) {
    const [role, port, password, database, tables] = process.argv.slice(process.argv.indexOf('--child') + 1);
    return child(role!, Number(port), password!, database!, Number(tables));
  }
  const large = arg('tables', 10_000);
  const small = arg('small-tables', 1000);
  const columns = arg('columns', 30);
  const pg = await startPostgres();
  try {
    const results: Measure[] = [];
    for (const tables of [small, large]) {
      const database = `bench_${tables}`;
      await pg.sql(`CREATE DATABASE ${database}`);
      const started = performance.now();
      // Built server-side in a loop: a few seconds instead of ten thousand round trips.
      const cols = Array.from(
        { length: columns },
        (_, i) => `c${i} ${['int', 'text', 'numeric(12,2)', 'timestamptz', 'boolean'][i % 5]}`,
      ).join(', ');
      await pg.sql('CREATE SCHEMA app', database);
      // In batches: each table holds a lock until its transaction commits, and the lock table is finite.
      for (let from = 1; from <= tables; from += 500) {
        const to = Math.min(tables, from + 499);
        await pg.sql(
          `DO $$ BEGIN FOR i IN ${from}..${to} LOOP EXECUTE format('CREATE TABLE app.t%s (${cols})', i); END LOOP; END $$;`,
          database,
        );
      }
      process.stdout.write(`built ${tables} tables x ${columns} columns in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
      for (const role of ['ours', 'baseline']) {
        const m = await measure(role, pg.port, pg.password, database, tables);
        results.push(m);
        process.stdout.write(
          `${role.padEnd(8)} tables=${tables} wall_s=${m.seconds.toFixed(2)} statements=${m.statements} rows=${m.rows} peak_rss_mb=${m.peakRssMb.toFixed(0)}\n`,
        );
      }
    }
    const at = (role: string, tables: number) => results.find((r) => r.role === role && r.tables === tables)!;
    const ratio = at('baseline', large).seconds / at('ours', large).seconds;
    const growth = at('ours', large).peakRssMb / at('ours', small).peakRssMb;
    process.stdout.write(
      `ratio_vs_baseline=${ratio.toFixed(2)} peak_rss_mb=${at('ours', large).peakRssMb.toFixed(0)} rss_growth=${growth.toFixed(2)}\n`,
    );
  } finally {
    await pg.stop();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
