/**
 * The azure-blob and s3 HWM stores against Azurite and moto: the file store's text format, ETag
 * compare-and-set, a race of two runs from one version (exactly one wins), removal, and a lost
 * write response (the retry recognises its own write).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { HwmConflictError } from '../src/contracts/errors';
import { azureBlobHwmPlugin } from '../src/connectors/azure-blob/hwm';
import { s3HwmPlugin } from '../src/connectors/s3/hwm';
import { formatHwmText } from '../src/hwm/text';
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

async function azureStore(viaProxy = false): Promise<HwmStore> {
  const parsed = azureBlobHwmPlugin.configSchema.parse({
    type: 'azure-blob',
    serviceUrl: viaProxy ? `${azProxy.url}/${az.account}` : az.serviceUrl,
    container: CONTAINER,
    path: 'state/hwm',
    sasToken: '${HWM_SAS}',
    requestTimeout: '5s',
  });
  // The documented least grant for the store: read, create, write, delete.
  const config = await new SecretResolver({ env: { HWM_SAS: az.containerSas(CONTAINER, 'rcwd') } }).resolveDeep(parsed);
  return azureBlobHwmPlugin.create(config, ctx());
}

async function s3Store(viaProxy = false): Promise<HwmStore> {
  const parsed = s3HwmPlugin.configSchema.parse({
    type: 's3',
    bucket: BUCKET,
    prefix: 'state/hwm',
    region: moto.region,
    endpoint: viaProxy ? s3Proxy.url : moto.endpoint,
    forcePathStyle: true,
    accessKeyId: '${K}',
    secretAccessKey: '${S}',
    requestTimeout: '5s',
  });
  const config = await new SecretResolver({ env: { K: moto.credentials.accessKeyId, S: moto.credentials.secretAccessKey } }).resolveDeep(parsed);
  return s3HwmPlugin.create(config, ctx());
}

async function rawText(kind: 'azure' | 's3', collector: string): Promise<string> {
  if (kind === 'azure') {
    return (await az.service.getContainerClient(CONTAINER).getBlockBlobClient(`state/hwm/${collector}_hwm.txt`).downloadToBuffer()).toString('utf8');
  }
  const r = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: `state/hwm/${collector}_hwm.txt` }));
  return r.Body!.transformToString();
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

  describe(`${kind} HWM store`, () => {
    it('starts empty, creates once, then compares-and-sets on the ETag', async () => {
      const store = await make();
      assert.deepEqual(await store.get('athena-prod'), { value: null, version: null });
      const v1 = await store.compareAndSet('athena-prod', null, '2024-03-01T00:00:00Z');
      assert.equal(v1.value, '2024-03-01T00:00:00.000Z');
      assert.ok(v1.version);
      assert.equal(await rawText(kind, 'athena-prod'), formatHwmText('2024-03-01T00:00:00Z'), 'same text as the file store');
      assert.deepEqual(await store.get('athena-prod'), v1);
      await assert.rejects(store.compareAndSet('athena-prod', null, '2024-03-02T00:00:00Z'), HwmConflictError);
      const v2 = await store.compareAndSet('athena-prod', v1.version, '2024-03-02T00:00:00Z');
      assert.notEqual(v2.version, v1.version);
      await assert.rejects(store.compareAndSet('athena-prod', v1.version, '2024-03-03T00:00:00Z'), HwmConflictError, 'a stale version loses');
      assert.equal((await store.get('athena-prod')).value, '2024-03-02T00:00:00.000Z');
    });

    it('two runs racing from the same version: exactly one wins, every time', { timeout: 60_000 }, async () => {
      const [a, b] = await Promise.all([make(), make()]);
      let version = (await a.compareAndSet('race', null, '2024-01-01T00:00:00Z')).version;
      for (let round = 1; round <= 15; round++) {
        const day = String(round + 1).padStart(2, '0');
        const results = await Promise.allSettled([
          a.compareAndSet('race', version, `2024-01-${day}T00:00:00Z`),
          b.compareAndSet('race', version, `2024-01-${day}T12:00:00Z`),
        ]);
        const won = results.filter((r) => r.status === 'fulfilled');
        const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        assert.equal(won.length, 1, `round ${round}: ${results.map((r) => r.status).join(', ')}`);
        assert.ok(lost[0]!.reason instanceof HwmConflictError, String(lost[0]!.reason));
        const now = await a.get('race');
        assert.deepEqual(now, (won[0] as PromiseFulfilledResult<typeof now>).value);
        version = now.version;
      }
    });

    it('removes only the version it was given', async () => {
      const store = await make();
      const v = await store.compareAndSet('rm', null, '2024-05-01T00:00:00Z');
      await assert.rejects(store.remove('rm', '"0x8D0000000000000"'), HwmConflictError);
      await assert.rejects(store.remove('rm', null), HwmConflictError);
      await store.remove('rm', v.version);
      assert.deepEqual(await store.get('rm'), { value: null, version: null });
      await store.remove('rm', null);
    });

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

    it('refuses a corrupt HWM with a message saying how to fix it', async () => {
      const store = await make();
      if (kind === 'azure') await az.service.getContainerClient(CONTAINER).getBlockBlobClient('state/hwm/bad_hwm.txt').upload('yesterday\n', 10);
      else {
        const { PutObjectCommand } = await import('@aws-sdk/client-s3');
        await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'state/hwm/bad_hwm.txt', Body: 'yesterday\n' }));
      }
      await assert.rejects(store.get('bad'), /collector hwm set/);
    });
  });
}
