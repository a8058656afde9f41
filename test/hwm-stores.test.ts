/**
 * The azure-blob and s3 HWM stores against Azurite and moto: the HWM-store conformance suite (the file
 * store's text format, ETag compare-and-set, races, removal, the probe), a lost write response (the
 * retry recognises its own write), and the probe naming the grant a store lacks.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { azureBlobHwmPlugin } from '../src/connectors/azure-blob/hwm';
import { s3HwmPlugin } from '../src/connectors/s3/hwm';
import { hwmStoreConformance } from './conformance/hwm-store';
import type { HwmStore } from '../src/contracts/plugin';
import { SecretResolver } from '../src/secrets/resolve';
import { startAzurite, type Azurite } from './support/azurite';
import { first, startFaultProxy, type FaultProxy } from './support/fault-proxy';
import { startMoto, type Moto } from './support/moto';

const BUCKET = 'hwm-bucket';
const CONTAINER = 'hwm';
let az: Azurite;
let moto: Moto;
let s3: S3Client;
let azProxy: FaultProxy;
let s3Proxy: FaultProxy;

const ctx = () => ({ log: pino({ level: 'silent' }), signal: new AbortController().signal });

async function azureStore(viaProxy = false, path = 'state/hwm', permissions = 'rcwd'): Promise<HwmStore> {
  const parsed = azureBlobHwmPlugin.configSchema.parse({
    type: 'azure-blob',
    serviceUrl: viaProxy ? `${azProxy.url}/${az.account}` : az.serviceUrl,
    container: CONTAINER,
    path,
    sasToken: '${HWM_SAS}',
    requestTimeout: '5s',
  });
  // The documented least grant for the store: read, create, write, delete.
  const config = await new SecretResolver({ env: { HWM_SAS: az.containerSas(CONTAINER, permissions) } }).resolveDeep(parsed);
  return azureBlobHwmPlugin.create(config, ctx());
}

async function s3Store(viaProxy = false, prefix = 'state/hwm'): Promise<HwmStore> {
  const parsed = s3HwmPlugin.configSchema.parse({
    type: 's3',
    bucket: BUCKET,
    prefix,
    region: moto.region,
    endpoint: viaProxy ? s3Proxy.url : moto.endpoint,
    forcePathStyle: true,
    accessKeyId: '${K}',
    secretAccessKey: '${S}',
    requestTimeout: '5s',
  });
  const config = await new SecretResolver({ env: { K: moto.credentials.accessKeyId, S: moto.credentials.secretAccessKey } }).resolveDeep(
    parsed,
  );
  return s3HwmPlugin.create(config, ctx());
}

let seq = 0;

/** Raw access to a store's objects, behind its back. */
function raw(kind: 'azure' | 's3', prefix: string) {
  const container = () => az.service.getContainerClient(CONTAINER);
  return {
    async read(collector: string): Promise<string | undefined> {
      const name = `${prefix}/${collector}_hwm.txt`;
      try {
        if (kind === 'azure') return (await container().getBlockBlobClient(name).downloadToBuffer()).toString('utf8');
        return await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: name }))).Body!.transformToString();
      } catch (e) {
        if ((e as { statusCode?: number }).statusCode === 404 || (e as { name?: string }).name === 'NoSuchKey') return undefined;
        throw e;
      }
    },
    async write(collector: string, text: string): Promise<void> {
      const name = `${prefix}/${collector}_hwm.txt`;
      if (kind === 'azure') await container().getBlockBlobClient(name).upload(text, Buffer.byteLength(text));
      else await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: name, Body: text }));
    },
    async list(): Promise<string[]> {
      const out: string[] = [];
      if (kind === 'azure') for await (const b of container().listBlobsFlat({ prefix: `${prefix}/` })) out.push(b.name);
      else
        out.push(
          ...((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${prefix}/` }))).Contents ?? []).map((o) => o.Key!),
        );
      return out.sort();
    },
  };
}

before(async () => {
  [az, moto] = await Promise.all([startAzurite({ inMemory: true }), startMoto()]);
  await az.createContainer(CONTAINER);
  s3 = new S3Client({ region: moto.region, endpoint: moto.endpoint, forcePathStyle: true, credentials: moto.credentials });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  azProxy = await startFaultProxy(`http://127.0.0.1:${az.port}`);
  s3Proxy = await startFaultProxy(moto.endpoint);
});

after(async () => {
  await azProxy?.close();
  await s3Proxy?.close();
  s3?.destroy();
  await Promise.all([az?.stop(), moto?.stop()]);
});

for (const kind of ['azure', 's3'] as const) {
  const make = (viaProxy = false) => (kind === 'azure' ? azureStore(viaProxy) : s3Store(viaProxy));

  hwmStoreConformance(kind === 'azure' ? 'azure-blob' : 's3', {
    // moto checks If-Match and then writes without a lock: under load two racing writers both succeed.
    atomicConditionalWrites: kind === 'azure',
    async fixture() {
      const prefix = `conformance/${seq++}`;
      const r = raw(kind, prefix);
      return {
        store: () => (kind === 'azure' ? azureStore(false, prefix) : s3Store(false, prefix)),
        readRaw: r.read,
        writeRaw: r.write,
        list: r.list,
        secrets:
          kind === 'azure' ? [new URLSearchParams(az.containerSas(CONTAINER, 'rcwd')).get('sig')!] : [moto.credentials.secretAccessKey],
      };
    },
  });

  describe(`${kind} HWM store`, () => {
    it('a lost write response is recognised as its own write on retry', async () => {
      const proxy = kind === 'azure' ? azProxy : s3Proxy;
      const store = await make(true);
      const v1 = await store.compareAndSet('lost', null, '2024-06-01T00:00:00Z');
      proxy.setPlan(first(1, (r) => r.method === 'PUT', 'drop-response'));
      const v2 = await store.compareAndSet('lost', v1.version, '2024-06-02T00:00:00Z');
      assert.equal(v2.value, '2024-06-02T00:00:00.000Z');
      assert.deepEqual(await store.get('lost'), v2);
      assert.ok(proxy.log.some((e) => e.fault === 'drop-response'));
      proxy.setPlan(() => 'pass');
    });
  });
}

describe('azure-blob HWM store probe', () => {
  it('names the SAS permission a read-less SAS lacks, and moves nothing', async () => {
    const full = await azureStore(false, 'probe-grants');
    const v = await full.compareAndSet('kept', null, '2024-05-01T00:00:00Z');
    const checks = await (await azureStore(false, 'probe-grants', 'cw')).testConnection();
    const read = checks.find((c) => c.name === 'HWM read');
    assert.equal(read?.ok, false, JSON.stringify(checks));
    assert.match(read?.grant ?? '', /SAS permission r/);
    assert.deepEqual(await full.get('kept'), v);
  });
});
