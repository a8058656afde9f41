/**
 * The s3 landing against a real moto server: the landing conformance suite in both verification modes,
 * sizes up to 300 MiB (multipart), an IAM user allowed only s3:PutObject on the prefix (moto
 * enforcing IAM), AssumeRole, unsafe names, and faults on the wire.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { makeOutgoingFile } from './support/outgoing-file';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { AuthError, ConflictError } from '../src/contracts/errors';
import { s3Landing } from '../src/connectors/s3';
import type { LandingZone, OutgoingFile, PluginContext } from '../src/contracts/plugin';
import { SecretResolver } from '../src/secrets/resolve';
import { startMoto, type Moto } from './support/moto';
import { landingConformance } from './conformance/landing';
import { cycle, first, startFaultProxy, type FaultProxy } from './support/fault-proxy';

const MiB = 1024 * 1024;
const BUCKET = 'landing-bucket';
let moto: Moto;
let dir: string;
let s3: S3Client;

function ctx(signal = new AbortController().signal): PluginContext {
  return { log: pino({ level: 'silent' }), signal };
}

const makeFile = (name: string, size: number, seed = 0): Promise<OutgoingFile> => makeOutgoingFile(join(dir, name), size, seed);

async function landing(fields: Record<string, unknown>, env: Record<string, string> = {}): Promise<LandingZone> {
  const parsed = s3Landing.configSchema.parse({ type: 's3', bucket: BUCKET, region: moto.region, forcePathStyle: true, ...fields });
  const resolved = await new SecretResolver({ env, secretDir: dir }).resolveDeep(parsed);
  return s3Landing.create(resolved, ctx());
}

const keys = () => ({ AWS_KEY: moto.credentials.accessKeyId, AWS_SECRET: moto.credentials.secretAccessKey });
const motoLanding = (prefix: string, extra: Record<string, unknown> = {}, endpoint = moto.endpoint) =>
  landing({ endpoint, prefix, accessKeyId: '${AWS_KEY}', secretAccessKey: '${AWS_SECRET}', ...extra }, keys());

async function objectSha256(key: string, client = s3): Promise<string> {
  const r = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  const h = createHash('sha256');
  for await (const chunk of r.Body as AsyncIterable<Buffer>) h.update(chunk);
  return h.digest('hex');
}

async function keysUnder(prefix: string): Promise<string[]> {
  const r = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  return (r.Contents ?? []).map((o) => o.Key!).sort();
}

const put = (lz: LandingZone, f: OutgoingFile, name: string) => lz.put(f, name, { signal: new AbortController().signal });

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lz-s3-'));
  moto = await startMoto();
  s3 = new S3Client({ region: moto.region, endpoint: moto.endpoint, forcePathStyle: true, credentials: moto.credentials });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  counter = await startFaultProxy(moto.endpoint);
});

after(async () => {
  await counter?.close();
  s3?.destroy();
  await moto?.stop();
  rmSync(dir, { recursive: true, force: true });
});

let seq = 0;
let counter: FaultProxy;

for (const mode of ['auto', 'write-only'] as const) {
  landingConformance(`s3 (verifyExisting ${mode})`, {
    // moto checks If-None-Match and then writes without a lock: two racing creates can both succeed there.
    atomicCreate: false,
    keepsMetadata: true,
    multiBlockBytes: 12 * MiB + 5,
    async fixture() {
      const prefix = `conformance-${mode}-${seq++}`;
      return {
        // Through a counting proxy: name checks must send nothing.
        landing: () => motoLanding(prefix, { verifyExisting: mode, partSizeMiB: 5 }, counter.url),
        list: async () => (await keysUnder(`${prefix}/`)).map((k) => k.slice(prefix.length + 1)),
        read: async (name) =>
          Buffer.from(
            await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: `${prefix}/${name}` }))).Body!.transformToByteArray(),
          ),
        metadata: async (name) => (await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `${prefix}/${name}` }))).Metadata ?? {},
        requests: () => counter.log.length,
        secrets: [moto.credentials.secretAccessKey],
      };
    },
  });
}

describe('s3 config', () => {
  it('checks keys, roles and unknown fields', () => {
    const s = s3Landing.configSchema;
    const base = { type: 's3', bucket: BUCKET, region: 'eu-west-1', prefix: 'lz/athena' };
    assert.equal(s.safeParse(base).success, true);
    assert.equal(s.safeParse({ ...base, accessKeyId: '${K}', secretAccessKey: '${S}', sessionToken: '${T}' }).success, true);
    assert.equal(s.safeParse({ ...base, accessKeyId: '${K}' }).success, false);
    assert.equal(s.safeParse({ ...base, secretAccessKey: 'plain-secret' }).success, false);
    assert.equal(
      s.safeParse({ ...base, roleArn: 'arn:aws:iam::123456789012:role/lz', externalId: 'x1', roleSessionDuration: '1h' }).success,
      true,
    );
    assert.equal(s.safeParse({ ...base, externalId: 'x1' }).success, false);
    assert.equal(s.safeParse({ ...base, roleArn: 'arn:aws:iam::123456789012:role/lz', roleSessionDuration: '13h' }).success, false);
    assert.equal(s.safeParse({ ...base, prefix: '/abs' }).success, false);
    assert.equal(s.safeParse({ ...base, partSizeMiB: 4 }).success, false);
    assert.equal(s.safeParse({ ...base, nope: true }).success, false);
  });
});

describe('s3 uploads', () => {
  it('uploads 0 B, 1 KiB and 300 MiB (multipart) byte-identically, with checksums and metadata', { timeout: 300_000 }, async () => {
    const lz = await motoLanding('lz/athena/landing');
    assert.equal(lz.describe(), `s3://${BUCKET}/lz/athena/landing`);
    for (const [name, size] of [
      ['empty.csv', 0],
      ['small.csv', 1024],
      ['big.csv', 300 * MiB],
    ] as const) {
      const f = await makeFile(name, size);
      let progress = 0;
      const t0 = Date.now();
      assert.equal(await lz.put(f, `2024/${name}`, { signal: new AbortController().signal, onProgress: (n) => (progress = n) }), 'created');
      const ms = Date.now() - t0;
      assert.equal(progress, size);
      const key = `lz/athena/landing/2024/${name}`;
      const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
      assert.equal(head.ContentLength, size);
      assert.equal(head.Metadata?.sha256, f.sha256);
      assert.equal(head.ContentType, 'text/csv; charset=utf-8');
      assert.equal(await objectSha256(key), f.sha256, `${name} differs after download`);
      if (size > MiB) console.log(`# s3: ${size / MiB} MiB in ${ms} ms (${(size / MiB / (ms / 1000)).toFixed(0)} MiB/s)`);
    }
  });

  it('assumes a role through STS (credentials from the provider chain, refreshed by the SDK)', async () => {
    const lz = await motoLanding('role', {
      roleArn: 'arn:aws:iam::123456789012:role/landing-writer',
      externalId: 'ext-1',
      stsEndpoint: moto.endpoint,
    });
    const f = await makeFile('role.csv', 2048);
    assert.equal(await put(lz, f, 'r.csv'), 'created');
    assert.equal(await objectSha256('role/r.csv'), f.sha256);
  });
});

describe('s3 least privilege (moto enforcing IAM): only s3:PutObject on the prefix', () => {
  let iamMoto: Moto;
  let writer: { id: string; secret: string };
  let admin: S3Client;
  /** Lists the bucket (and nothing else), to see what the writer left. */
  let lister: S3Client;

  /** An IAM Query API call; moto routes on the service in the credential scope and checks no signature yet. */
  async function iam(params: Record<string, string>): Promise<string> {
    const res = await fetch(iamMoto.endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: 'AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=x',
      },
      body: new URLSearchParams({ ...params, Version: '2010-05-08' }).toString(),
    });
    const text = await res.text();
    assert.ok(res.ok, text);
    return text;
  }

  before(async () => {
    iamMoto = await startMoto();
    admin = new S3Client({ region: iamMoto.region, endpoint: iamMoto.endpoint, forcePathStyle: true, credentials: iamMoto.credentials });
    await admin.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await iam({ Action: 'CreateUser', UserName: 'lz-writer' });
    const policy = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 's3:PutObject', Resource: `arn:aws:s3:::${BUCKET}/lz/*` }],
    };
    await iam({ Action: 'PutUserPolicy', UserName: 'lz-writer', PolicyName: 'put-only', PolicyDocument: JSON.stringify(policy) });
    const key = await iam({ Action: 'CreateAccessKey', UserName: 'lz-writer' });
    writer = { id: /<AccessKeyId>([^<]+)/.exec(key)![1]!, secret: /<SecretAccessKey>([^<]+)/.exec(key)![1]! };
    await iam({ Action: 'CreateUser', UserName: 'lz-lister' });
    const listPolicy = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 's3:ListBucket', Resource: `arn:aws:s3:::${BUCKET}` }],
    };
    await iam({ Action: 'PutUserPolicy', UserName: 'lz-lister', PolicyName: 'list-only', PolicyDocument: JSON.stringify(listPolicy) });
    const listKey = await iam({ Action: 'CreateAccessKey', UserName: 'lz-lister' });
    lister = new S3Client({
      region: iamMoto.region,
      endpoint: iamMoto.endpoint,
      forcePathStyle: true,
      credentials: {
        accessKeyId: /<AccessKeyId>([^<]+)/.exec(listKey)![1]!,
        secretAccessKey: /<SecretAccessKey>([^<]+)/.exec(listKey)![1]!,
      },
    });
    // From here on every request is authenticated and authorized.
    assert.ok((await fetch(`${iamMoto.endpoint}/moto-api/reset-auth`, { method: 'POST', body: '0' })).ok);
  });

  after(async () => {
    admin?.destroy();
    lister?.destroy();
    await iamMoto?.stop();
  });

  const writerLanding = async (prefix: string, extra: Record<string, unknown> = {}) => {
    const parsed = s3Landing.configSchema.parse({
      type: 's3',
      bucket: BUCKET,
      region: iamMoto.region,
      endpoint: iamMoto.endpoint,
      forcePathStyle: true,
      prefix,
      accessKeyId: '${K}',
      secretAccessKey: '${S}',
      ...extra,
    });
    return s3Landing.create(await new SecretResolver({ env: { K: writer.id, S: writer.secret } }).resolveDeep(parsed), ctx());
  };

  it('uploads single and multipart objects, verifies retries write-only, and detects conflicts', { timeout: 60_000 }, async () => {
    const lz = await writerLanding('lz/in', { partSizeMiB: 5 });
    for (const [label, size] of [
      ['single', 4096],
      ['multipart', 11 * MiB],
    ] as const) {
      const f = await makeFile(`lp-${label}.csv`, size);
      assert.equal(await put(lz, f, `${label}.csv`), 'created');
      // auto mode: HeadObject is refused (no s3:GetObject), so the retry is verified write-only.
      assert.equal(await put(lz, f, `${label}.csv`), 'already-present');
      await assert.rejects(put(lz, await makeFile(`lp-${label}-x.csv`, size, 9), `${label}.csv`), ConflictError);
    }
  });

  it('testConnection passes the required checks and reports the probe left behind', async () => {
    const checks = await (await writerLanding('lz/probe')).testConnection();
    for (const c of checks.filter((x) => x.required)) assert.ok(c.ok, `${c.name}: ${c.detail}`);
    const del = checks.find((c) => c.name.startsWith('delete probe'));
    assert.equal(del?.ok, false);
    assert.match(del?.grant ?? '', /s3:DeleteObject/);
    // Without s3:DeleteObject the probes stay, under the one prefix consumers are told to ignore.
    const left = ((await lister.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'lz/probe/' }))).Contents ?? [])
      .map((o) => o.Key!)
      .sort();
    assert.equal(left.length, 2, left.join(', '));
    for (const key of left) assert.match(key, /^lz\/probe\/\.collector-tmp\/probe-[0-9a-f-]{36}(-multipart)?\.txt$/);
  });

  it('outside the granted prefix: a non-retryable AuthError naming the grant, with no secret in it', async () => {
    const lz = await writerLanding('elsewhere');
    await assert.rejects(put(lz, await makeFile('denied.csv', 100), 'd.csv'), (e: unknown) => {
      assert.ok(e instanceof AuthError, String(e));
      assert.equal(e.nonRetryable, true);
      assert.match(e.message, /s3:PutObject on arn:aws:s3:::landing-bucket\/elsewhere\/\*/);
      assert.ok(!e.message.includes(writer.secret));
      return true;
    });
    const checks = await lz.testConnection();
    const create = checks.find((c) => c.name === 'create object');
    assert.equal(create?.ok, false);
    assert.match(create?.grant ?? '', /s3:PutObject/);
  });

  it('a wrong secret key is an AuthError, not retried', async () => {
    // Through a proxy that counts the requests: a retried auth failure would show as more of them.
    const counter = await startFaultProxy(iamMoto.endpoint);
    const parsed = s3Landing.configSchema.parse({
      type: 's3',
      bucket: BUCKET,
      region: iamMoto.region,
      endpoint: counter.url,
      forcePathStyle: true,
      prefix: 'lz/x',
      accessKeyId: '${K}',
      secretAccessKey: '${S}',
    });
    const bad = 'wrong-secret-value-123456';
    const lz = s3Landing.create(await new SecretResolver({ env: { K: writer.id, S: bad } }).resolveDeep(parsed), ctx());
    try {
      await assert.rejects(put(lz, await makeFile('badkey.csv', 100), 'b.csv'), (e: unknown) => {
        assert.ok(e instanceof AuthError, String(e));
        assert.ok(!e.message.includes(bad));
        return true;
      });
      assert.equal(counter.log.length, 1, `no retries: ${JSON.stringify(counter.log)}`);
    } finally {
      await counter.close();
    }
  });
});

describe('s3 through faults', () => {
  let proxy: FaultProxy;
  before(async () => {
    proxy = await startFaultProxy(moto.endpoint);
  });
  after(async () => proxy?.close());

  it('503s, resets, stalls and lost responses end with byte-identical objects, once', { timeout: 180_000 }, async () => {
    const lz = await motoLanding('faults', { partSizeMiB: 5, concurrency: 4, requestTimeout: '2s', maxRetries: 8 }, proxy.url);
    const isComplete = (r: { method: string; url: string }) => r.method === 'POST' && r.url.includes('uploadId=');
    proxy.setPlan(
      first(
        1,
        isComplete,
        'drop-response',
        cycle([{ status: 503, code: 'SlowDown' }, { reset: 64 * 1024 }, { stall: 128 * 1024 }, { status: 500 }, { reset: 0 }], 3),
      ),
    );
    const big = await makeFile('faulty.csv', 40 * MiB + 321);
    // A lost complete response is retried with the same upload id: S3 (and moto) answer it idempotently.
    assert.equal(await put(lz, big, 'big.csv'), 'created');
    assert.equal(await objectSha256('faults/big.csv'), big.sha256);

    const isPut = (r: { method: string; url: string }) => r.method === 'PUT' && !r.url.includes('uploadId');
    proxy.setPlan(first(1, isPut, 'drop-response'));
    const small = await makeFile('faulty-small.csv', 3000);
    // The lost PutObject response: the retry meets If-None-Match, finds its own object, verified.
    assert.equal(await put(lz, small, 'small.csv'), 'already-present');
    assert.equal(await objectSha256('faults/small.csv'), small.sha256);
    assert.deepEqual(await keysUnder('faults/'), ['faults/big.csv', 'faults/small.csv']);
    const seen = proxy.log.map((e) => e.fault);
    for (const kind of ['status-503', 'reset', 'stall', 'drop-response']) assert.ok(seen.includes(kind), `no ${kind}: ${seen.join(',')}`);
    proxy.setPlan(() => 'pass');
  });

  it('a 403 from the service is a non-retryable AuthError naming the grant', async () => {
    proxy.setPlan((r) => (r.method === 'PUT' ? { status: 403, code: 'AccessDenied' } : 'pass'));
    const lz = await motoLanding('denied', {}, proxy.url);
    const n = proxy.log.length;
    await assert.rejects(
      put(lz, await makeFile('d.csv', 10), 'd.csv'),
      (e: unknown) => e instanceof AuthError && /s3:PutObject/.test(e.message),
    );
    assert.equal(proxy.log.length, n + 1, 'tried once');
    proxy.setPlan(() => 'pass');
  });
});
