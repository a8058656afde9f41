/**
 * Validation throughput on generated `tables` and `metadata` CSVs (default ~200 MB each, BENCH_MB), written by the
 * PartWriter into a temp dir and deleted after. Prints MB/s of the validator (sha256 + MD5 + the
 * structural and typed checks), best and median of BENCH_ROUNDS (default 3), plain and gzip, and for
 * reference csv-parse alone over the first 20 MB (a lower bound on the old validator's cost).
 */
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { parse } from 'csv-parse';
import { headerLine } from '../src/extracts/csv-encoder';
import { PartWriter } from '../src/extracts/part-writer';
import { validateFile } from '../src/extracts/validate';
import { bestAndMedian, catalogRows } from './csv-rows';

const TARGET_MB = Number(process.env.BENCH_MB ?? 200);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-validate-'));
  try {
    let path = '';
    for (const [kind, rowBytes] of [
      ['tables', 480],
      ['metadata', 95],
    ] as const) {
      const part = join(dir, 'part.csv');
      const w = new PartWriter(kind, part);
      for (const r of catalogRows(kind, Math.ceil((TARGET_MB * 1e6) / rowBytes))) await w.write(r);
      await w.close();
      const name = `x_${kind}_s.csv`;
      path = join(dir, name);
      writeFileSync(path, headerLine(kind));
      await pipeline(createReadStream(part), createWriteStream(path, { flags: 'a' }));
      rmSync(part);
      const gz = `${path}.gz`;
      await pipeline(createReadStream(path), createGzip({ level: 6 }), createWriteStream(gz));
      const size = statSync(path).size;
      console.log(`${kind}: file ${(size / 1e6).toFixed(0)} MB, ${w.rows} rows; gzip ${(statSync(gz).size / 1e6).toFixed(1)} MB`);

      for (const [label, file, p] of [
        ['plain', name, path],
        ['gzip', `${name}.gz`, gz],
      ] as const) {
        const mbs: number[] = [];
        for (let round = 0; round < ROUNDS; round++) {
          const t0 = process.hrtime.bigint();
          const { problems } = await validateFile({ kind, name: file, path: p, rows: w.rows });
          const s = Number(process.hrtime.bigint() - t0) / 1e9;
          if (problems.length) throw new Error(`the generated file failed validation: ${problems.join('; ')}`);
          mbs.push(size / 1e6 / s);
        }
        const f = bestAndMedian(mbs);
        console.log(`${kind} validate ${label.padEnd(5)} MB/s (of CSV) best ${f.best.toFixed(1)} median ${f.median.toFixed(1)}`);
      }
      rmSync(gz);
    }

    // The first ~20 MB, cut after a whole record.
    const head = readFileSync(path).subarray(0, 20e6);
    const sliceBytes = head.lastIndexOf('\r\n') + 2;
    const slice = join(dir, 'slice.csv');
    writeFileSync(slice, head.subarray(0, sliceBytes));
    const t0 = process.hrtime.bigint();
    await pipeline(
      createReadStream(slice),
      parse({ bom: false, relax_column_count: true, relax_quotes: true }),
      async (rows: AsyncIterable<string[]>) => {
        for await (const r of rows) void r;
      },
    );
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    console.log(`csv-parse alone (before; no hashing, no cell checks) MB/s ${(sliceBytes / 1e6 / s).toFixed(1)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
