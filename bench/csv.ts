/**
 * CPU per row of the extract writer: the PartWriter (our encoder) against csv-stringify with the same
 * options streamed to a file (what PartWriter did before), on realistic `tables` and `metadata` rows.
 * Prints rows/s, MB/s of CSV written and CPU seconds per side and kind, best and median of BENCH_ROUNDS
 * (default 3) rounds.
 *
 * BENCH_ROWS: rows per round (default 500,000).
 */
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import type { ExtractKind, Row } from '../src/contracts/extract-format';
import { csvOptions, PartWriter } from '../src/extracts/part-writer';
import { bestAndMedian, catalogRows } from './csv-rows';

const ROWS = Number(process.env.BENCH_ROWS ?? 500_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

async function viaCsvStringify(kind: ExtractKind, rows: Row[], path: string): Promise<void> {
  const file = createWriteStream(path);
  const s = stringify(csvOptions(kind, false));
  s.pipe(file);
  for (const r of rows) if (!s.write(r)) await once(s, 'drain');
  s.end();
  await finished(file);
}

async function viaPartWriter(kind: ExtractKind, rows: Row[], path: string): Promise<void> {
  const w = new PartWriter(kind, path);
  for (const r of rows) await w.write(r);
  await w.close();
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-csv-'));
  try {
    console.log(`rows=${ROWS} rounds=${ROUNDS} (best / median)`);
    const speedups: string[] = [];
    for (const kind of ['tables', 'metadata'] as const) {
      const rows = [...catalogRows(kind, ROWS)];
      const sides = { 'csv-stringify': viaCsvStringify, encoder: viaPartWriter };
      const figures: Record<string, { rps: number[]; mbs: number[]; cpu: number[] }> = {};
      for (let round = 0; round < ROUNDS; round++) {
        for (const [name, run] of Object.entries(sides)) {
          const path = join(dir, `${name}.csv`);
          const cpu0 = process.cpuUsage();
          const t0 = process.hrtime.bigint();
          await run(kind, rows, path);
          const s = Number(process.hrtime.bigint() - t0) / 1e9;
          const cpu = process.cpuUsage(cpu0);
          const f = (figures[name] ??= { rps: [], mbs: [], cpu: [] });
          f.rps.push(rows.length / s);
          f.mbs.push(statSync(path).size / 1e6 / s);
          f.cpu.push((cpu.user + cpu.system) / 1e6);
          rmSync(path);
        }
      }
      for (const [name, f] of Object.entries(figures)) {
        const r = bestAndMedian(f.rps);
        const m = bestAndMedian(f.mbs);
        const c = bestAndMedian(f.cpu.map((x) => -x));
        console.log(
          `${kind.padEnd(9)} ${name.padEnd(14)} rows/s ${r.best.toFixed(0)} / ${r.median.toFixed(0)}   MB/s ${m.best.toFixed(1)} / ${m.median.toFixed(1)}   cpu_s ${(-c.best).toFixed(2)} / ${(-c.median).toFixed(2)}`,
        );
      }
      const speedup = bestAndMedian(figures.encoder!.rps).median / bestAndMedian(figures['csv-stringify']!.rps).median;
      speedups.push(`csv_speedup_${kind}=${speedup.toFixed(2)}`);
    }
    console.log(speedups.join(' '));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
