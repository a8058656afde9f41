import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { ApplicationFailure, type Payload } from '@temporalio/common';
import {
  decodeOptionalFailureToOptionalError,
  encodeErrorToFailure,
  encodeToPayload,
  loadDataConverter,
  decodeFromPayloadsAtIndex,
} from '@temporalio/common/lib/internal-non-workflow';
import { encryptedDataConverter, dataConverterFromConfig, FAILURE_CONVERTER_PATH } from '../src/codec/data-converter';
import {
  CodecError,
  createEncryptionCodec,
  EncryptionCodec,
  ENCRYPTED_ENCODING,
  generateEncryptionKey,
  KEY_ID_METADATA,
} from '../src/codec/encryption-codec';
import { payloadFromJson, payloadToJson, startCodecServer, type CodecServer, type JsonPayload } from '../src/codec/server';
import { ConfigError, SecretError } from '../src/contracts/errors';
import { createLogger } from '../src/log';
import { SecretResolver } from '../src/secrets/resolve';
import { insecureConnectionWarning } from '../src/temporal/tls-warning';

const K1 = randomBytes(32);
const K2 = randomBytes(32);
const text = (b: Uint8Array | null | undefined) => Buffer.from(b ?? []).toString('utf8');
const jsonPayload = (v: unknown): Payload => ({ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(JSON.stringify(v)) });

describe('EncryptionCodec', () => {
  test('round trip: metadata names the key, data is opaque, every payload gets a fresh IV', async () => {
    const codec = new EncryptionCodec([{ id: 'k1', key: K1 }]);
    const original = jsonPayload({ collector: 'athena-prod', note: 'plain-marker' });
    const [a, b] = await codec.encode([original, original]);
    assert.equal(text(a!.metadata!.encoding), ENCRYPTED_ENCODING);
    assert.equal(text(a!.metadata![KEY_ID_METADATA]), 'k1');
    assert.deepEqual(Object.keys(a!.metadata!).sort(), ['encoding', KEY_ID_METADATA].sort(), 'the inner encoding is hidden too');
    assert.ok(!Buffer.from(a!.data!).includes('plain-marker'));
    assert.notDeepEqual(Buffer.from(a!.data!).subarray(0, 12), Buffer.from(b!.data!).subarray(0, 12));
    const [back] = await codec.decode([a!]);
    assert.equal(text(back!.metadata!.encoding), 'json/plain');
    assert.deepEqual(JSON.parse(text(back!.data)), { collector: 'athena-prod', note: 'plain-marker' });
    assert.deepEqual(await codec.encode([]), []);
  });

  test('rotation: the newest key encrypts, old keys still decrypt, an unknown key id is a clear error', async () => {
    const before = new EncryptionCodec([{ id: 'k1', key: K1 }]);
    const after = new EncryptionCodec([
      { id: 'k2', key: K2 },
      { id: 'k1', key: K1 },
    ]);
    const [old] = await before.encode([jsonPayload('old')]);
    assert.equal(JSON.parse(text((await after.decode([old!]))[0]!.data)), 'old');
    const [fresh] = await after.encode([jsonPayload('new')]);
    assert.equal(text(fresh!.metadata![KEY_ID_METADATA]), 'k2');
    await assert.rejects(before.decode([fresh!]), (e: Error) => {
      assert.ok(e instanceof CodecError);
      assert.match(e.message, /encrypted with key id "k2", which is not configured here \(configured: k1\)/);
      return true;
    });
  });

  test('tampered ciphertext, relabelled key id, truncated data and a wrong key all fail authentication', async () => {
    const codec = new EncryptionCodec([
      { id: 'k2', key: K2 },
      { id: 'k1', key: K1 },
    ]);
    const [p] = await codec.encode([jsonPayload({ amount: 100 })]);
    const flipped = Buffer.from(p!.data!);
    flipped[20]! ^= 0x01;
    await assert.rejects(codec.decode([{ ...p, data: flipped }]), /failed authentication/);
    // Same ciphertext claimed to be under k1: the key id is authenticated data, so this cannot pass.
    await assert.rejects(
      codec.decode([{ metadata: { ...p!.metadata, [KEY_ID_METADATA]: Buffer.from('k1') }, data: p!.data }]),
      /failed authentication/,
    );
    await assert.rejects(codec.decode([{ ...p, data: Buffer.from(p!.data!).subarray(0, 20) }]), /truncated/);
    const impostor = new EncryptionCodec([{ id: 'k2', key: randomBytes(32) }]);
    await assert.rejects(impostor.decode([p!]), /wrong key material for that id, or the data was altered/);
    await assert.rejects(
      codec.decode([{ metadata: { encoding: Buffer.from(ENCRYPTED_ENCODING) }, data: p!.data }]),
      /no "encryption-key-id"/,
    );
  });

  test('unencrypted payloads (history from before encryption was on) decode unchanged', async () => {
    const codec = new EncryptionCodec([{ id: 'k1', key: K1 }]);
    const plain = jsonPayload(1);
    assert.deepEqual(await codec.decode([plain]), [plain]);
  });

  test('keys come from secret references: base64 or hex, 32 bytes; bad material never quoted', async () => {
    const hex = randomBytes(32).toString('hex');
    const resolver = new SecretResolver({
      env: { CODEC_KEY_2: generateEncryptionKey(), CODEC_KEY_1: `${hex}\n`, SHORT: 'c2hvcnQta2V5LW1hdGVyaWFs' },
    });
    const codec = await createEncryptionCodec(
      {
        keys: [
          { id: 'k2', key: '${CODEC_KEY_2}' },
          { id: 'k1', key: '${CODEC_KEY_1}' },
        ],
      },
      resolver,
    );
    assert.equal(codec.encryptionKeyId, 'k2');
    assert.deepEqual(codec.keyIds, ['k2', 'k1']);
    const k1Only = new EncryptionCodec([{ id: 'k1', key: Buffer.from(hex, 'hex') }]);
    const [p] = await k1Only.encode([jsonPayload('x')]);
    assert.equal(JSON.parse(text((await codec.decode([p!]))[0]!.data)), 'x');

    await assert.rejects(createEncryptionCodec({ keys: [{ id: 'k', key: '${SHORT}' }] }, resolver), (e: Error) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /must be 32 random bytes written as base64 \(44 characters\) or hex \(64 characters\); got 24 characters/);
      assert.doesNotMatch(e.message, /c2hvcnQ/);
      return true;
    });
    await assert.rejects(createEncryptionCodec({ keys: [{ id: 'k', key: 'plain-key-in-yaml' }] }, resolver), (e: Error) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /encryption\.keys\.0\.key: must be a secret reference/);
      return true;
    });
    await assert.rejects(
      createEncryptionCodec(
        {
          keys: [
            { id: 'a', key: '${CODEC_KEY_2}' },
            { id: 'a', key: '${CODEC_KEY_1}' },
          ],
        },
        resolver,
      ),
      /duplicate key id "a"/,
    );
    await assert.rejects(
      createEncryptionCodec({ keys: [{ id: 'k', key: '${NOT_SET}' }] }, new SecretResolver({ env: {}, secretDir: '/nonexistent' })),
      SecretError,
    );
  });
});

describe('encrypted DataConverter', () => {
  test('failure messages and stacks are encoded, then encrypted, and decode back', async () => {
    const dc = encryptedDataConverter(new EncryptionCodec([{ id: 'k1', key: K1 }]));
    assert.equal(dc.failureConverterPath, FAILURE_CONVERTER_PATH);
    const loaded = loadDataConverter(dc);
    const err = ApplicationFailure.nonRetryable('upload to landing zone acct-42 failed: quota', 'ConflictError');
    const failure = await encodeErrorToFailure(loaded, err);
    assert.equal(failure.message, 'Encoded failure');
    assert.equal(failure.stackTrace, '');
    const attrs = failure.encodedAttributes!;
    assert.equal(text(attrs.metadata!.encoding), ENCRYPTED_ENCODING);
    assert.ok(!Buffer.from(attrs.data!).includes('acct-42'));
    assert.equal(failure.applicationFailureInfo?.type, 'ConflictError', 'the type stays readable for retry policies');

    const back = await decodeOptionalFailureToOptionalError(loaded, failure);
    assert.ok(back instanceof ApplicationFailure);
    assert.equal(back.message, 'upload to landing zone acct-42 failed: quota');

    // Without the codec the cluster (and a codec-less client) sees only the placeholder.
    const plain = await encodeErrorToFailure(loadDataConverter(), err);
    assert.equal(plain.message, 'upload to landing zone acct-42 failed: quota');
  });

  test('payloads round trip through the loaded converter; no config means no converter', async () => {
    const loaded = loadDataConverter(encryptedDataConverter(new EncryptionCodec([{ id: 'k1', key: K1 }])));
    const p = await encodeToPayload(loaded, { collector: 'athena-prod' });
    assert.equal(text(p.metadata!.encoding), ENCRYPTED_ENCODING);
    assert.deepEqual(await decodeFromPayloadsAtIndex(loaded, 0, [p]), { collector: 'athena-prod' });
    assert.equal(await dataConverterFromConfig(undefined), undefined);
  });
});

describe('codec server (real HTTP)', () => {
  const ORIGIN = 'http://localhost:8233';
  const TOKEN = 'codec-test-token';
  const codec = new EncryptionCodec([{ id: 'k1', key: K1 }]);
  const logLines: string[] = [];
  let server: CodecServer;

  before(async () => {
    const destination = new Writable({
      write(chunk: Buffer, _enc, cb) {
        logLines.push(chunk.toString());
        cb();
      },
    });
    server = await startCodecServer({
      port: 0,
      codec,
      corsOrigins: [ORIGIN, 'https://cloud.temporal.io/'],
      bearerToken: TOKEN,
      log: createLogger({ level: 'debug', destination }),
    });
  });
  after(() => server.close());

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${TOKEN}`, 'X-Namespace': 'default', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  test('encode then decode in the proto-JSON wire format (base64 metadata values and data)', async () => {
    const input: JsonPayload = {
      metadata: { encoding: Buffer.from('json/plain').toString('base64') },
      data: Buffer.from('{"collector":"athena-prod"}').toString('base64'),
    };
    const enc = await post('/encode', { payloads: [input] });
    assert.equal(enc.status, 200);
    assert.match(enc.headers.get('content-type')!, /application\/json/);
    const encoded = (await enc.json()) as { payloads: JsonPayload[] };
    assert.equal(Buffer.from(encoded.payloads[0]!.metadata!.encoding!, 'base64').toString(), ENCRYPTED_ENCODING);
    assert.equal(Buffer.from(encoded.payloads[0]!.metadata![KEY_ID_METADATA]!, 'base64').toString(), 'k1');

    for (const path of ['/decode', '/default/decode']) {
      const dec = await post(path, encoded);
      assert.equal(dec.status, 200, path);
      assert.deepEqual(await dec.json(), { payloads: [input] });
    }
  });

  test('behind a reverse-proxy prefix: the last path segment is the operation', async () => {
    const input: JsonPayload = {
      metadata: { encoding: Buffer.from('json/plain').toString('base64') },
      data: Buffer.from('"proxied"').toString('base64'),
    };
    const enc = await post('/any/prefix/encode', { payloads: [input] });
    assert.equal(enc.status, 200);
    const encoded = (await enc.json()) as { payloads: JsonPayload[] };
    assert.equal(Buffer.from(encoded.payloads[0]!.metadata!.encoding!, 'base64').toString(), ENCRYPTED_ENCODING);
    for (const path of ['/codec/default/decode', '/codec/default/decode/', '/a/b/c/decode?x=1']) {
      const dec = await post(path, encoded);
      assert.equal(dec.status, 200, path);
      assert.deepEqual(await dec.json(), { payloads: [input] }, path);
    }
    const pre = await fetch(`${server.url}/codec/default/decode`, {
      method: 'OPTIONS',
      headers: { Origin: ORIGIN, 'Access-Control-Request-Method': 'POST' },
    });
    assert.equal(pre.status, 204);
    for (const path of ['/codec/default/decoder', '/codec/decode/more', '/xdecode']) {
      assert.equal((await post(path, { payloads: [] })).status, 404, path);
    }
  });

  test('decodes what a worker with the same converter wrote', async () => {
    const loaded = loadDataConverter(encryptedDataConverter(codec));
    const p = await encodeToPayload(loaded, { window: { start: '2024-01-01T00:00:00Z' } });
    const res = await post('/decode', { payloads: [payloadToJson(p)] });
    const { payloads } = (await res.json()) as { payloads: JsonPayload[] };
    const decoded = payloadFromJson(payloads[0]!);
    assert.deepEqual(JSON.parse(text(decoded.data)), { window: { start: '2024-01-01T00:00:00Z' } });
  });

  test('CORS preflight for the configured UI origins only; credentials allowed; private network access', async () => {
    const pre = await fetch(`${server.url}/decode`, {
      method: 'OPTIONS',
      headers: {
        Origin: ORIGIN,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type,x-namespace,authorization,authorization-extras',
        'Access-Control-Request-Private-Network': 'true',
      },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), ORIGIN);
    assert.equal(pre.headers.get('access-control-allow-credentials'), 'true');
    assert.equal(pre.headers.get('access-control-allow-private-network'), 'true');
    const allowed = pre.headers.get('access-control-allow-headers')!.toLowerCase().split(/,\s*/);
    // authorization-extras: sent by the Web UI with SSO and "pass access token".
    for (const h of ['x-namespace', 'content-type', 'authorization', 'authorization-extras']) assert.ok(allowed.includes(h), h);
    assert.match(pre.headers.get('access-control-allow-methods')!, /POST/);

    const cloud = await fetch(`${server.url}/decode`, { method: 'OPTIONS', headers: { Origin: 'https://cloud.temporal.io' } });
    assert.equal(cloud.status, 204, 'a trailing slash in the configured origin does not matter');

    const evil = await fetch(`${server.url}/decode`, { method: 'OPTIONS', headers: { Origin: 'https://evil.example' } });
    assert.equal(evil.status, 403);
    assert.equal(evil.headers.get('access-control-allow-origin'), null);
    const evilPost = await post('/decode', { payloads: [] }, { Origin: 'https://evil.example' });
    assert.equal(evilPost.status, 403);

    const ok = await post('/decode', { payloads: [] }, { Origin: ORIGIN });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('access-control-allow-origin'), ORIGIN);
  });

  test('bearer token required; bad requests answered clearly', async () => {
    const none = await post('/decode', { payloads: [] }, { Authorization: '' });
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate')!, /Bearer/);
    assert.equal((await post('/decode', { payloads: [] }, { Authorization: 'Bearer wrong' })).status, 401);
    assert.equal((await post('/decode', { payloads: [] }, { Authorization: `Basic ${TOKEN}` })).status, 401);

    assert.equal((await post('/decode', { payloads: [] }, { 'Content-Type': 'text/plain' })).status, 415);
    assert.equal((await post('/decode', '{nope')).status, 400);
    assert.equal((await post('/decode', { payload: [] })).status, 400);
    assert.equal((await post('/decode', { payloads: [{ data: 5 }] })).status, 400);
    assert.equal((await fetch(`${server.url}/decode`, { headers: { Authorization: `Bearer ${TOKEN}` } })).status, 405);
    assert.equal((await post('/other', { payloads: [] })).status, 404);
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);

    const foreign = await new EncryptionCodec([{ id: 'k9', key: K2 }]).encode([jsonPayload(1)]);
    const res = await post('/decode', { payloads: foreign.map(payloadToJson) });
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { error: string }).error, /key id "k9", which is not configured here/);
  });

  test('bodies over the limit get 413; no token configured means none needed', async () => {
    const small = await startCodecServer({ port: 0, codec, corsOrigins: [], log: createLogger({ level: 'silent' }), maxBodyBytes: 1024 });
    try {
      const big = await fetch(`${small.url}/decode`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ payloads: [{ data: 'A'.repeat(100_000) }] }),
      });
      assert.equal(big.status, 413);
      const ok = await fetch(`${small.url}/decode`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: '{"payloads":[]}',
      });
      assert.deepEqual(await ok.json(), { payloads: [] });
    } finally {
      await small.close();
    }
  });

  test('logs requests without payload contents or the token', () => {
    const all = logLines.join('');
    assert.match(all, /codec server listening/);
    assert.match(all, /"namespace":"default"/);
    assert.ok(!all.includes(TOKEN));
    assert.ok(!all.includes('athena-prod') && !all.includes(Buffer.from('{"collector":"athena-prod"}').toString('base64')));
  });
});

describe('insecureConnectionWarning', () => {
  test('warns for non-loopback addresses without TLS only', () => {
    for (const a of [
      'temporal.internal:7233',
      '10.0.0.5:7233',
      '[2001:db8::1]:7233',
      'my-ns.a1b2c.tmprl.cloud:7233',
      'http://temporal:7233',
      '0.0.0.0:7233',
    ]) {
      const w = insecureConnectionWarning(a, undefined);
      assert.ok(w, a);
      assert.match(w, new RegExp(`${a.replace(/[.[\]]/g, '\\$&')} without TLS`));
      assert.match(w, /TEMPORAL_TLS/);
      assert.equal(insecureConnectionWarning(a, true), undefined);
      assert.equal(insecureConnectionWarning(a, { serverNameOverride: 'x' }), undefined);
      assert.ok(insecureConnectionWarning(a, false));
    }
    for (const a of [
      'localhost:7233',
      'LOCALHOST',
      '127.0.0.1:7233',
      '127.1.2.3:7233',
      '[::1]:7233',
      '::1',
      '[::ffff:127.0.0.1]:7233',
      'temporal.localhost:7233',
      '[0:0:0:0:0:0:0:1]:7233',
    ]) {
      assert.equal(insecureConnectionWarning(a, false), undefined, a);
    }
  });
});
