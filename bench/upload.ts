/**
 * Upload throughput of every landing's `put` against the raw tool, same files, same server, same run:
 *  - azure-blob on Azurite: BlockBlobClient.uploadStream at our block size and concurrency, and
 *    BlockBlobClient.uploadFile at the SDK's defaults;
 *  - s3 on moto: a plain @aws-sdk/client-s3 multipart upload (CreateMultipartUpload, UploadPart with
 *    `concurrency` parts in flight, CompleteMultipartUpload; one PutObject up to one part) at our part size
 *    and concurrency, and @aws-sdk/lib-storage's Upload (the SDK's own uploader, a dev dependency) at our
 *    part size and concurrency and at its defaults (5 MiB parts, 4 in flight);
 *  - filesystem: `cp` then fsync of the copy (ours fsyncs before publishing), and plain `cp` (no fsync).
 * Prints each side's wall time, MB/s and client CPU, the ratio ours/raw (MB/s; >= 1 means we are as fast)
 * for each raw variant, and last one line `upload_ratio_vs_raw=<lowest ratio at equal settings>
 * azure=<r> s3=<r> filesystem=<r>`.
 *
 * BENCH_MIB: total size (default 1024; 128 with --quick), split over four files; BENCH_ROUNDS: rounds per
 * side (default 2; 1 with --quick); BENCH_BLOCK_MIB / BENCH_CONCURRENCY: our block (part) size and
 * per-file concurrency (default: the landings' defaults, 16 MiB and 4); BENCH_LANDINGS: a comma-separated
 * subset of azure,s3,filesystem.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AnonymousCredential, ContainerClient } from '@azure/storage-blob';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import pino from 'pino';
import { azureBlobLanding } from '../src/connectors/azure-blob';
import { filesystemLanding } from '../src/connectors/filesystem';
import { s3Landing } from '../src/connectors/s3';
import type { LandingZone, OutgoingFile } from '../src/contracts/plugin';
import { startAzurite } from '../test/support/azurite';
import { startMoto } from '../test/support/moto';
import { makeOutgoingFile } from '../test/support/outgoing-file';

const MiB = 1024 * 1024;
const QUICK = process.argv.includes('--quick');
const TOTAL_MIB = Number(process.env.BENCH_MIB ?? (QUICK ? 128 : 1024));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 1 : 2));
const BLOCK_MIB = Number(process.env.BENCH_BLOCK_MIB ?? 16);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
const LANDINGS = (process.env.BENCH_LANDINGS ?? 'azure,s3,filesystem').split(',');
// A mix around the Azure SDK's 256 MiB single-shot limit, as real extracts vary in size.
const SHARES = [0.5, 0.25, 0.1875, 0.0625];

const context = () => ({ log: pino({ level: 'silent' }), signal: new AbortController().signal });

/** One way of putting a file under a name. */
type Put = (f: OutgoingFile, name: string) => Promise<void>;

const oursPut =
  (landing: LandingZone): Put =>
  async (f, name) => {
    const outcome = await landing.put(f, name, { signal: new AbortController().signal });
    if (outcome !== 'created') throw new Error(`unexpected ${outcome} for ${name}`);
  };

/**
 * Runs every side over every file, interleaved file by file and rotating who goes first, so a noisy
 * neighbour on shared cores or the server's disk write-back hits all sides alike. Returns ours/raw
 * (MB/s) per raw side.
 */
async function compare(
  label: string,
  files: OutgoingFile[],
  sides: Record<string, Put>,
  warm: OutgoingFile,
): Promise<Record<string, number>> {
  const names = Object.keys(sides);
  // Warm-up: connections, JIT, the server's first writes.
  for (const side of names) await sides[side]!(warm, `warm/${side}/${warm.path.split('/').pop()}`);
  const wall: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
  const cpu: Record<string, number> = { ...wall };
  let turn = 0;
  for (let round = 0; round < ROUNDS; round++) {
    for (const f of files) {
      const k = turn++ % names.length;
      for (const side of [...names.slice(k), ...names.slice(0, k)]) {
        const c0 = process.cpuUsage();
        const t0 = process.hrtime.bigint();
        await sides[side]!(f, `r${round}/${side}/${f.path.split('/').pop()}`);
        wall[side]! += Number(process.hrtime.bigint() - t0) / 1e9;
        const c = process.cpuUsage(c0);
        cpu[side]! += (c.user + c.system) / 1e6;
      }
    }
  }
  const total = files.reduce((n, f) => n + f.bytes, 0) * ROUNDS;
  const mbs = (side: string) => total / 1e6 / wall[side]!;
  console.log(`\n== ${label}`);
  for (const side of names)
    console.log(`${side.padEnd(44)} ${wall[side]!.toFixed(2)} s  ${mbs(side).toFixed(1)} MB/s  (client CPU ${cpu[side]!.toFixed(1)} s)`);
  const ratios: Record<string, number> = {};
  for (const side of names.filter((n) => n !== 'ours')) {
    ratios[side] = mbs('ours') / mbs(side);
    console.log(`ours / ${side}: ${ratios[side].toFixed(3)}`);
  }
  return ratios;
}

/** A multipart upload on the bare client, `queue` parts in flight, as lib-storage's Upload does it. */
function rawS3(client: S3Client, bucket: string, partSize: number, queue: number): Put {
  return async (f, key) => {
    if (f.bytes <= partSize) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: await readFile(f.path) }));
      return;
    }
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
    const fh = await open(f.path, 'r');
    try {
      const count = Math.ceil(f.bytes / partSize);
      const etags: string[] = new Array<string>(count);
      let next = 0;
      const worker = async () => {
        for (let i = next++; i < count; i = next++) {
          const len = Math.min(partSize, f.bytes - i * partSize);
          const buf = Buffer.allocUnsafe(len);
          await fh.read(buf, 0, len, i * partSize);
          const r = await client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: i + 1, Body: buf }));
          etags[i] = r.ETag!;
        }
      };
      await Promise.all(Array.from({ length: Math.min(queue, count) }, worker));
      await client.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId,
          MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
        }),
      );
    } finally {
      await fh.close();
    }
  };
}

/** The SDK's own managed upload, from a file stream; at its defaults when no part size is given. */
function libStorage(client: S3Client, bucket: string, partSize?: number, queueSize?: number): Put {
  return async (f, key) => {
    const upload = new Upload({
      client,
      params: { Bucket: bucket, Key: key, Body: createReadStream(f.path) },
      ...(partSize ? { partSize, queueSize } : {}),
    });
    await upload.done();
  };
}

async function cp(from: string, to: string, fsync: boolean): Promise<void> {
  const child = spawn('cp', [from, to], { stdio: 'inherit' });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`cp exited with ${code}`);
  if (fsync) {
    const fh = await open(to, 'r');
    await fh.sync().finally(() => fh.close());
  }
}

async function azure(files: OutgoingFile[], warm: OutgoingFile): Promise<Record<string, number>> {
  const az = await startAzurite();
  try {
    const container = 'bench';
    await az.createContainer(container);
    const sas = az.containerSas(container, 'cw');
    const raw = new ContainerClient(`${az.serviceUrl}/${container}?${sas}`, new AnonymousCredential());
    // Parsed with a reference, as collectors.yaml holds it; create() gets the resolved value, as in the worker.
    const config = azureBlobLanding.configSchema.parse({
      type: 'azure-blob',
      serviceUrl: az.serviceUrl,
      container,
      path: 'ours',
      sasToken: '${SAS}',
      blockSizeMiB: BLOCK_MIB,
      concurrency: CONCURRENCY,
    });
    const ours = azureBlobLanding.create({ ...config, sasToken: sas }, context());
    try {
      return await compare(
        `azure-blob on Azurite (ours: ${BLOCK_MIB} MiB blocks, ${CONCURRENCY} in flight)`,
        files,
        {
          ours: oursPut(ours),
          [`raw uploadStream ${BLOCK_MIB} MiB x ${CONCURRENCY}`]: async (f, name) => {
            await raw
              .getBlockBlobClient(name)
              .uploadStream(createReadStream(f.path, { highWaterMark: BLOCK_MIB * MiB }), BLOCK_MIB * MiB, CONCURRENCY);
          },
          'raw uploadFile (SDK defaults)': async (f, name) => {
            await raw.getBlockBlobClient(name).uploadFile(f.path);
          },
        },
        warm,
      );
    } finally {
      await ours.close();
    }
  } finally {
    await az.stop();
  }
}

async function s3(files: OutgoingFile[], warm: OutgoingFile): Promise<Record<string, number>> {
  const moto = await startMoto();
  try {
    const bucket = 'bench';
    const client = new S3Client({ endpoint: moto.endpoint, region: moto.region, credentials: moto.credentials, forcePathStyle: true });
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    const config = s3Landing.configSchema.parse({
      type: 's3',
      bucket,
      region: moto.region,
      endpoint: moto.endpoint,
      forcePathStyle: true,
      prefix: 'ours',
      accessKeyId: '${AWS_KEY}',
      secretAccessKey: '${AWS_SECRET}',
      partSizeMiB: BLOCK_MIB,
      concurrency: CONCURRENCY,
    });
    const ours = s3Landing.create({ ...config, ...moto.credentials }, context());
    try {
      return await compare(
        `s3 on moto (ours: ${BLOCK_MIB} MiB parts, ${CONCURRENCY} in flight)`,
        files,
        {
          ours: oursPut(ours),
          [`raw multipart ${BLOCK_MIB} MiB x ${CONCURRENCY}`]: rawS3(client, bucket, BLOCK_MIB * MiB, CONCURRENCY),
          [`lib-storage Upload ${BLOCK_MIB} MiB x ${CONCURRENCY}`]: libStorage(client, bucket, BLOCK_MIB * MiB, CONCURRENCY),
          'lib-storage Upload (defaults)': libStorage(client, bucket),
        },
        warm,
      );
    } finally {
      await ours.close();
      client.destroy();
    }
  } finally {
    await moto.stop();
  }
}

async function filesystem(files: OutgoingFile[], warm: OutgoingFile, dir: string): Promise<Record<string, number>> {
  const root = join(dir, 'landing');
  mkdirSync(root);
  const ours = filesystemLanding.create(filesystemLanding.configSchema.parse({ type: 'filesystem', path: root }), context());
  const to = (name: string) => {
    const path = join(root, 'raw', name.replace(/\//g, '_'));
    mkdirSync(join(root, 'raw'), { recursive: true });
    return path;
  };
  try {
    return await compare(
      'filesystem (same disk)',
      files,
      {
        ours: oursPut(ours),
        'cp + fsync': (f, name) => cp(f.path, to(name), true),
        'cp (no fsync)': (f, name) => cp(f.path, to(`nosync_${name}`), false),
      },
      warm,
    );
  } finally {
    await ours.close();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-upload-'));
  try {
    const files: OutgoingFile[] = [];
    for (const [i, share] of SHARES.entries())
      files.push(await makeOutgoingFile(join(dir, `f${i}.csv`), Math.round(TOTAL_MIB * share) * MiB, 0, { runid: 'bench' }));
    const warm = await makeOutgoingFile(join(dir, 'warm.csv'), 16 * MiB, 0, { runid: 'bench' });
    const bytes = files.reduce((n, f) => n + f.bytes, 0);
    console.log(
      `upload bench${QUICK ? ' (--quick)' : ''}: files ${files.map((f) => `${f.bytes / MiB} MiB`).join(', ')} (${bytes / MiB} MiB) x ${ROUNDS} round(s) per side; landings ${LANDINGS.join(', ')}`,
    );
    const equal: Record<string, number> = {};
    // The first raw side of each landing is the one at our settings.
    const first = (r: Record<string, number>) => Object.values(r)[0]!;
    if (LANDINGS.includes('azure')) equal.azure = first(await azure(files, warm));
    if (LANDINGS.includes('s3')) equal.s3 = first(await s3(files, warm));
    if (LANDINGS.includes('filesystem')) equal.filesystem = first(await filesystem(files, warm, dir));
    console.log(
      `upload_ratio_vs_raw=${Math.min(...Object.values(equal)).toFixed(3)} ${Object.entries(equal)
        .map(([k, v]) => `${k}=${v.toFixed(3)}`)
        .join(' ')}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
