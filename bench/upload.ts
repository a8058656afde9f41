/**
 * Upload throughput of our azure-blob landing `put` against a bare `BlockBlobClient.uploadFile` loop
 * (default options), same files, same Azurite, same SAS, same run. Prints each side's wall time and
 * MB/s, then exactly one line `upload_ratio_vs_raw=<raw wall / ours>` (>= 1 means we are as fast).
 *
 * BENCH_MIB: total size (default 1024), split over four files; BENCH_ROUNDS: rounds per side (default 2);
 * BENCH_BLOCK_MIB / BENCH_CONCURRENCY: override our block size and per-file concurrency (tuning).
 */
import { makeOutgoingFile } from '../test/support/outgoing-file';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AnonymousCredential, ContainerClient } from '@azure/storage-blob';
import pino from 'pino';
import { azureBlobLanding } from '../src/connectors/azure-blob';
import type { OutgoingFile } from '../src/contracts/plugin';
import { startAzurite } from '../test/support/azurite';

const MiB = 1024 * 1024;
const TOTAL_MIB = Number(process.env.BENCH_MIB ?? 1024);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
// A mix around the SDK's 256 MiB single-shot limit, as real extracts vary in size.
const SHARES = [0.5, 0.25, 0.1875, 0.0625];

const makeFile = (dir: string, name: string, size: number): Promise<OutgoingFile> =>
  makeOutgoingFile(join(dir, name), size, 0, { runid: 'bench' });

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-upload-'));
  const az = await startAzurite();
  try {
    const container = 'bench';
    await az.createContainer(container);
    const sas = az.containerSas(container, 'cw');
    const tuning = {
      ...(process.env.BENCH_BLOCK_MIB ? { blockSizeMiB: Number(process.env.BENCH_BLOCK_MIB) } : {}),
      ...(process.env.BENCH_CONCURRENCY ? { concurrency: Number(process.env.BENCH_CONCURRENCY) } : {}),
    };
    const files: OutgoingFile[] = [];
    for (const [i, share] of SHARES.entries()) files.push(await makeFile(dir, `f${i}.csv`, Math.round(TOTAL_MIB * share) * MiB));
    const bytes = files.reduce((n, f) => n + f.bytes, 0);
    console.log(
      `files: ${files.map((f) => `${f.bytes / MiB} MiB`).join(', ')} (${bytes / MiB} MiB) x ${ROUNDS} round(s) per side ${JSON.stringify(tuning)}`,
    );

    const raw = new ContainerClient(`${az.serviceUrl}/${container}?${sas}`, new AnonymousCredential());
    // Parsed with a reference, as collectors.yaml holds it; create() gets the resolved value, as in the worker.
    const config = azureBlobLanding.configSchema.parse({
      type: 'azure-blob',
      serviceUrl: az.serviceUrl,
      container,
      path: 'ours',
      sasToken: '${SAS}',
      ...tuning,
    });
    const ours = azureBlobLanding.create(
      { ...config, sasToken: sas },
      { log: pino({ level: 'silent' }), signal: new AbortController().signal },
    );

    // Warm-up: connections, JIT, Azurite's first extent.
    const warm = await makeFile(dir, 'warm.csv', 16 * MiB);
    await raw.getBlockBlobClient('warm/raw.csv').uploadFile(warm.path);
    await ours.put(warm, 'warm/ours.csv', { signal: new AbortController().signal });

    // Interleaved file by file (and alternating who goes first) so a noisy neighbour on shared cores
    // or the server's disk write-back hits both sides alike.
    const wall = { raw: 0, ours: 0 };
    const cpu = { raw: 0, ours: 0 };
    let turn = 0;
    for (let round = 0; round < ROUNDS; round++) {
      for (const f of files) {
        const order = turn++ % 2 === 0 ? (['raw', 'ours'] as const) : (['ours', 'raw'] as const);
        for (const side of order) {
          const name = `r${round}/${side}/${f.path.split('/').pop()}`;
          const c0 = process.cpuUsage();
          const t0 = process.hrtime.bigint();
          if (side === 'raw') await raw.getBlockBlobClient(name).uploadFile(f.path);
          else {
            const outcome = await ours.put(f, name, { signal: new AbortController().signal });
            if (outcome !== 'created') throw new Error(`unexpected ${outcome} for ${name}`);
          }
          wall[side] += Number(process.hrtime.bigint() - t0) / 1e9;
          const c = process.cpuUsage(c0);
          cpu[side] += (c.user + c.system) / 1e6;
        }
      }
      console.log(`after round ${round + 1}: raw ${wall.raw.toFixed(2)} s, ours ${wall.ours.toFixed(2)} s`);
    }
    const total = bytes * ROUNDS;
    console.log(
      `raw  (BlockBlobClient.uploadFile, defaults): ${wall.raw.toFixed(2)} s, ${(total / 1e6 / wall.raw).toFixed(1)} MB/s (client CPU ${cpu.raw.toFixed(1)} s)`,
    );
    console.log(
      `ours (azure-blob landing put):              ${wall.ours.toFixed(2)} s, ${(total / 1e6 / wall.ours).toFixed(1)} MB/s (client CPU ${cpu.ours.toFixed(1)} s)`,
    );
    console.log(`upload_ratio_vs_raw=${(wall.raw / wall.ours).toFixed(3)}`);
    await ours.close();
  } finally {
    await az.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
