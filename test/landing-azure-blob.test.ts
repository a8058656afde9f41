/**
 * The azure-blob landing against a real Azurite: sizes from 0 B to 300 MiB, a create+write-only SAS,
 * retries and conflicts in both verification modes, auth failures, unsafe names, faults on the wire.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { makeOutgoingFile } from './support/outgoing-file';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import type { ContainerClient } from '@azure/storage-blob';
import { AuthError, ConflictError } from '../src/contracts/errors';
import { azureBlobLanding } from '../src/connectors/azure-blob';
import type { LandingZone, OutgoingFile, PluginContext } from '../src/contracts/plugin';
import { SecretResolver } from '../src/secrets/resolve';
import { startAzurite, type Azurite } from './support/azurite';
import { landingConformance } from './conformance/landing';
import { cycle, first, startFaultProxy, type FaultProxy } from './support/fault-proxy';

const MiB = 1024 * 1024;
let az: Azurite;
let dir: string;
let container: ContainerClient;
const CONTAINER = 'landing';

function ctx(signal = new AbortController().signal): PluginContext {
  return { log: pino({ level: 'silent' }), signal };
}

/** Writes `size` bytes of varied content (every MiB differs) and returns it as an OutgoingFile. */
const makeFile = (name: string, size: number, seed = 0): Promise<OutgoingFile> =>
  makeOutgoingFile(join(dir, name), size, seed, {
    runid: 'run-1',
    windowstart: '2024-01-01T00:00:00.000Z',
    windowend: '2024-01-02T00:00:00.000Z',
  });

/** A landing built the way the worker builds it: schema-parsed with references, then resolved. */
async function landing(fields: Record<string, unknown>, env: Record<string, string> = {}, signal?: AbortSignal): Promise<LandingZone> {
  const parsed = azureBlobLanding.configSchema.parse({ type: 'azure-blob', container: CONTAINER, ...fields });
  const resolved = await new SecretResolver({ env, secretDir: dir }).resolveDeep(parsed);
  return azureBlobLanding.create(resolved, ctx(signal));
}

const cwLanding = (path: string, extra: Record<string, unknown> = {}) =>
  landing({ serviceUrl: az.serviceUrl, path, sasToken: '${SAS}', ...extra }, { SAS: az.containerSas(CONTAINER, 'cw') });
const keyLanding = (path: string, extra: Record<string, unknown> = {}) =>
  landing({ path, connectionString: '${AZ_CS}', ...extra }, { AZ_CS: az.connectionString });

async function blobSha256(name: string): Promise<string> {
  const r = await container.getBlockBlobClient(name).download();
  const h = createHash('sha256');
  for await (const chunk of r.readableStreamBody!) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function names(prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const b of container.listBlobsFlat({ prefix })) out.push(b.name);
  return out;
}

const put = (lz: LandingZone, f: OutgoingFile, name: string, signal = new AbortController().signal) => lz.put(f, name, { signal });

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lz-azure-'));
  az = await startAzurite();
  container = await az.createContainer(CONTAINER);
  counter = await startFaultProxy(`http://127.0.0.1:${az.port}`);
});

after(async () => {
  await counter?.close();
  await az?.stop();
  rmSync(dir, { recursive: true, force: true });
});

let seq = 0;
let counter: FaultProxy;

/** Reads the container directly (account key), whatever the landing's SAS allows. */
async function listUnder(prefix: string): Promise<string[]> {
  return (await names(`${prefix}/`)).map((n) => n.slice(prefix.length + 1)).sort();
}

for (const [label, permissions] of [
  ['SAS rcwd, verified by reading', 'rcwd'],
  ['SAS cw, verified write-only', 'cw'],
] as const) {
  landingConformance(`azure-blob (${label})`, {
    atomicCreate: true,
    keepsMetadata: true,
    multiBlockBytes: 3 * MiB + 17,
    async fixture() {
      const path = `conformance-${permissions}-${seq++}`;
      const sas = az.containerSas(CONTAINER, permissions);
      return {
        // Through a counting proxy: name checks must send nothing.
        landing: () => landing({ serviceUrl: `${counter.url}/${az.account}`, path, sasToken: '${SAS}', blockSizeMiB: 1 }, { SAS: sas }),
        list: () => listUnder(path),
        read: (name) => container.getBlockBlobClient(`${path}/${name}`).downloadToBuffer(),
        metadata: async (name) => (await container.getBlockBlobClient(`${path}/${name}`).getProperties()).metadata ?? {},
        requests: () => counter.log.length,
        secrets: [sas, new URLSearchParams(sas).get('sig')!, az.accountKey],
      };
    },
  });
}

describe('azure-blob config', () => {
  const base = { type: 'azure-blob', container: CONTAINER, account: 'acct1', path: 'lz/athena' };
  it('needs exactly one auth, refuses plain secrets and unknown fields', () => {
    const s = azureBlobLanding.configSchema;
    assert.equal(s.safeParse({ ...base, sasToken: '${SAS}' }).success, true);
    assert.equal(s.safeParse({ ...base, auth: 'azure-ad', clientId: 'abc' }).success, true);
    assert.equal(s.safeParse(base).success, false);
    assert.equal(s.safeParse({ ...base, sasToken: '${SAS}', auth: 'azure-ad' }).success, false);
    assert.equal(s.safeParse({ ...base, sasToken: 'sv=2024&sig=abc' }).success, false);
    assert.equal(s.safeParse({ ...base, sasToken: '${SAS}', bogus: 1 }).success, false);
    assert.equal(s.safeParse({ ...base, sasToken: '${SAS}', path: '../up' }).success, false);
    assert.equal(s.safeParse({ type: 'azure-blob', container: CONTAINER, connectionString: '${CS}', account: 'acct1' }).success, false);
  });
});

describe('azure-blob uploads with a create+write-only (cw) container SAS', () => {
  it('uploads 0 B, 1 KiB and 300 MiB byte-identically, with MD5 and sha256 metadata', { timeout: 300_000 }, async () => {
    const lz = await cwLanding('lz/athena/landing');
    assert.ok(!lz.describe().includes('sig'), lz.describe());
    for (const [name, size] of [
      ['empty.csv', 0],
      ['small.csv', 1024],
      ['big.csv', 300 * MiB],
    ] as const) {
      const f = await makeFile(name, size);
      let progress = 0;
      const t0 = Date.now();
      const outcome = await lz.put(f, `2024/${name}`, { signal: new AbortController().signal, onProgress: (n) => (progress = n) });
      const ms = Date.now() - t0;
      assert.equal(outcome, 'created');
      assert.equal(progress, size);
      const blobName = `lz/athena/landing/2024/${name}`;
      const props = await container.getBlockBlobClient(blobName).getProperties();
      assert.equal(props.contentLength, size);
      assert.equal(props.metadata?.sha256, f.sha256);
      assert.equal(props.metadata?.runid, 'run-1');
      assert.equal(Buffer.from(props.contentMD5!).toString('base64'), f.md5);
      assert.equal(props.contentType, 'text/csv; charset=utf-8');
      assert.equal(await blobSha256(blobName), f.sha256, `${name} differs after download`);
      if (size > MiB) console.log(`# azure-blob: ${size / MiB} MiB in ${ms} ms (${(size / MiB / (ms / 1000)).toFixed(0)} MiB/s)`);
    }
  });

  it('write-only proof: a retry with another block size cannot be told from a conflict', async () => {
    const f = await makeFile('r.csv', 5 * MiB + 17);
    assert.equal(await put(await cwLanding('retry'), f, 'r.csv'), 'created');
    assert.equal(await put(await cwLanding('retry'), f, 'r.csv'), 'already-present');
    // A different block size changes the block IDs: write-only mode cannot tell it from a conflict.
    await assert.rejects(put(await cwLanding('retry', { blockSizeMiB: 1 }), f, 'r.csv'), ConflictError);
    assert.deepEqual(await names('retry/'), ['retry/r.csv']);
    assert.equal(await blobSha256('retry/r.csv'), f.sha256);
  });

  it('with read permission a retry compares metadata without rewriting', async () => {
    const lz = await keyLanding('retry-read');
    const f = await makeFile('rr.csv', 3 * MiB);
    assert.equal(await put(lz, f, 'x.csv'), 'created');
    const etag = (await container.getBlockBlobClient('retry-read/x.csv').getProperties()).etag;
    assert.equal(await put(lz, f, 'x.csv'), 'already-present');
    assert.equal((await container.getBlockBlobClient('retry-read/x.csv').getProperties()).etag, etag);
    await assert.rejects(put(lz, await makeFile('rr2.csv', 3 * MiB, 3), 'x.csv'), ConflictError);
    const empty = await makeFile('re.csv', 0);
    assert.equal(await put(lz, empty, 'e.csv'), 'created');
    await assert.rejects(put(lz, await makeFile('re2.csv', 10), 'e.csv'), ConflictError);
  });

  it('testConnection passes with cw only and names what it could not do', async () => {
    const checks = await (await cwLanding('probe-cw')).testConnection();
    for (const c of checks.filter((x) => x.required)) assert.ok(c.ok, `${c.name}: ${c.detail}`);
    const del = checks.find((c) => c.name.startsWith('delete probe'));
    assert.match(del?.detail ?? '', /stays/);
    assert.match(checks.find((c) => c.name === 'verify existing objects')?.detail ?? '', /write-only/);
    // Without d the probe stays, under the one prefix consumers are told to ignore.
    const left = await names('probe-cw/');
    assert.equal(left.length, 1);
    assert.match(left[0]!, /^probe-cw\/\.collector-tmp\/probe-[0-9a-f-]{36}\.txt$/);

    const full = await landing(
      { serviceUrl: az.serviceUrl, path: 'probe-rcwd', sasToken: '${SAS}' },
      { SAS: az.containerSas(CONTAINER, 'rcwd') },
    );
    const fullChecks = await full.testConnection();
    for (const c of fullChecks) assert.ok(c.ok, `${c.name}: ${c.detail}`);
    assert.deepEqual(await names('probe-rcwd/'), []);

    const readOnly = await landing(
      { serviceUrl: az.serviceUrl, path: 'probe-r', sasToken: '${SAS}' },
      { SAS: az.containerSas(CONTAINER, 'rl') },
    );
    const bad = await readOnly.testConnection();
    assert.equal(bad[0]?.ok, false);
    assert.match(bad[0]?.grant ?? bad[0]?.detail ?? '', /c|w/);
  });
});

describe('azure-blob failures', () => {
  let proxy: FaultProxy;
  before(async () => {
    proxy = await startFaultProxy(`http://127.0.0.1:${az.port}`);
  });
  after(async () => proxy?.close());

  it('a tampered SAS fails fast with a non-retryable AuthError that shows no signature', async () => {
    const sas = az.containerSas(CONTAINER, 'cw');
    const sig = new URLSearchParams(sas).get('sig')!;
    const tampered = sas.replace(/sig=[^&]+/, `sig=${encodeURIComponent(Buffer.from('not the signature at all').toString('base64'))}`);
    // Through the proxy, which counts the requests: a retried auth failure would show as more of them.
    const lz = await landing({ serviceUrl: `${proxy.url}/${az.account}`, path: 'auth', sasToken: '${SAS}' }, { SAS: tampered });
    const before = proxy.log.length;
    await assert.rejects(put(lz, await makeFile('a.csv', 100), 'a.csv'), (e: unknown) => {
      assert.ok(e instanceof AuthError, String(e));
      assert.equal(e.nonRetryable, true);
      assert.ok(!e.message.includes(sig) && !e.message.includes(new URLSearchParams(tampered).get('sig')!), e.message);
      assert.doesNotMatch(e.message, /sig=(?!\[redacted\])/);
      return true;
    });
    assert.equal(proxy.log.length - before, 1, `no retries on an auth failure: ${JSON.stringify(proxy.log.slice(before))}`);
  });

  it('an expired SAS fails before any request', async () => {
    const expired = az.containerSas(CONTAINER, 'cw', new Date(Date.now() - 60_000));
    const lz = await landing({ serviceUrl: `${proxy.url}/${az.account}`, path: 'auth', sasToken: '${SAS}' }, { SAS: expired });
    const before = proxy.log.length;
    await assert.rejects(put(lz, await makeFile('b.csv', 100), 'b.csv'), (e: unknown) => {
      assert.ok(e instanceof AuthError, String(e));
      assert.match(e.message, /expired/);
      assert.ok(!e.message.includes(new URLSearchParams(expired).get('sig')!));
      return true;
    });
    assert.equal(proxy.log.length, before, 'no request was sent');
    const checks = await lz.testConnection();
    assert.equal(checks[0]?.ok, false);
    assert.equal(proxy.log.length, before);
  });

  it('uploads through 503s, resets, stalls and a lost commit response end byte-identical, once', { timeout: 180_000 }, async () => {
    const f = await makeFile('faulty.csv', 40 * MiB + 123);
    const isCommit = (r: { url: string; method: string }) => r.method === 'PUT' && r.url.includes('comp=blocklist');
    for (const mode of ['cw', 'key'] as const) {
      proxy.setPlan(
        first(
          1,
          isCommit,
          'drop-response',
          cycle([{ status: 503 }, { reset: 64 * 1024 }, { stall: 256 * 1024 }, { status: 500 }, { reset: 0 }], 3),
        ),
      );
      const start = proxy.log.length;
      const lz =
        mode === 'cw'
          ? await landing(
              {
                serviceUrl: `${proxy.url}/${az.account}`,
                path: `faults-${mode}`,
                sasToken: '${SAS}',
                blockSizeMiB: 4,
                concurrency: 4,
                requestTimeout: '2s',
                maxRetries: 8,
              },
              { SAS: az.containerSas(CONTAINER, 'cw') },
            )
          : await landing(
              { path: `faults-${mode}`, connectionString: '${CS}', blockSizeMiB: 4, concurrency: 4, requestTimeout: '2s', maxRetries: 8 },
              {
                CS: `DefaultEndpointsProtocol=http;AccountName=${az.account};AccountKey=${az.accountKey};BlobEndpoint=${proxy.url}/${az.account};`,
              },
            );
      // The lost commit response makes the retry find its own object: already-present, verified.
      assert.equal(await put(lz, f, 'faulty.csv'), 'already-present');
      const seen = proxy.log.slice(start).map((e) => e.fault);
      for (const kind of ['status-503', 'reset', 'stall', 'drop-response'])
        assert.ok(seen.includes(kind), `${mode}: no ${kind} injected: ${seen.join(',')}`);
      assert.equal(await blobSha256(`faults-${mode}/faulty.csv`), f.sha256);
      assert.deepEqual(await names(`faults-${mode}/`), [`faults-${mode}/faulty.csv`]);
    }
    proxy.setPlan(() => 'pass');
  });

  it('cancellation aborts the upload and leaves nothing under the name', { timeout: 60_000 }, async () => {
    proxy.setPlan((r) => (r.method === 'PUT' ? { stall: 1 } : 'pass'));
    const lz = await landing(
      { serviceUrl: `${proxy.url}/${az.account}`, path: 'cancel', sasToken: '${SAS}', blockSizeMiB: 1 },
      { SAS: az.containerSas(CONTAINER, 'cw') },
    );
    const f = await makeFile('c.csv', 8 * MiB);
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('cancelled by test')), 300);
    await assert.rejects(put(lz, f, 'c.csv', ac.signal), /cancelled by test/);
    proxy.setPlan(() => 'pass');
    assert.deepEqual(await names('cancel/'), []);
  });
});
