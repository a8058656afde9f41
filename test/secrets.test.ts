import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AuthError, ConfigError, SecretError } from '../src/contracts/errors';
import { clearSecretCache, secretRefsIn, SecretResolver } from '../src/secrets/resolve';
import { startMoto, type Moto } from './support/moto';

const tmp = mkdtempSync(join(tmpdir(), 'secrets-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function dir(name: string): string {
  const d = join(tmp, name);
  mkdirSync(d, { recursive: true });
  return d;
}

async function rejectsWith(p: Promise<unknown>, check: (e: Error) => void): Promise<Error> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof Error);
    check(e);
    return e;
  }
  assert.fail('expected a rejection');
}

describe('environment provider', () => {
  test('resolves ${NAME} from the environment, inside larger strings and deep structures', async () => {
    const r = new SecretResolver({ env: { DB_USER: 'alice', DB_PASS: 'p@ss word' }, secretDir: dir('empty-env') });
    const out = await r.resolveDeep({
      source: { user: '${DB_USER}', dsn: 'postgres://${DB_USER}:${DB_PASS}@db/x', list: ['${env:DB_PASS}', 3, true, null] },
    });
    assert.deepEqual(out, { source: { user: 'alice', dsn: 'postgres://alice:p@ss word@db/x', list: ['p@ss word', 3, true, null] } });
    assert.deepEqual(r.resolvedValues().sort(), ['alice', 'p@ss word']);
  });

  test('an empty variable counts as unset; env: rejects names that are not variable names', async () => {
    const r = new SecretResolver({ env: { EMPTY: '' }, secretDir: dir('empty-env2') });
    await rejectsWith(r.resolve('env:EMPTY', 'x'), (e) => assert.match(e.message, /EMPTY \(set but empty\)/));
    await rejectsWith(r.resolve('env:a-b', 'x'), (e) => assert.match(e.message, /not an environment variable name/));
  });

  test('leaves non-plain objects and numbers alone', async () => {
    const d = new Date(0);
    const r = new SecretResolver({ env: {} });
    const out = await r.resolveDeep({ at: d, n: 1 });
    assert.equal(out.at, d);
  });

  test('secretRefsIn lists references without resolving them', () => {
    assert.deepEqual(secretRefsIn({ a: 'x ${A} ${aws-sm:p/q#k}', b: ['${A}'], c: 1 }), ['A', 'aws-sm:p/q#k']);
  });
});

describe('file provider', () => {
  test('reads NAME from the secret directory after the environment, trimming exactly one trailing newline', async () => {
    const d = dir('files');
    writeFileSync(join(d, 'DB_PASS'), 'from-file\n\n');
    writeFileSync(join(d, 'CRLF'), 'windows\r\n');
    writeFileSync(join(d, 'SHADOWED'), 'file-value');
    const r = new SecretResolver({ env: { SHADOWED: 'env-value' }, secretDir: d });
    assert.equal(await r.resolve('DB_PASS'), 'from-file\n');
    assert.equal(await r.resolve('CRLF'), 'windows');
    assert.equal(await r.resolve('SHADOWED'), 'env-value', 'environment comes first');
    assert.equal(await r.resolve('file:SHADOWED'), 'file-value');
  });

  test('COLLECTOR_SECRET_DIR and COLLECTOR_SECRET_MAXLEN come from the environment', async () => {
    const d = dir('maxlen');
    writeFileSync(join(d, 'small'), '1234567890');
    writeFileSync(join(d, 'big'), 'TOP-SECRET-MARKER-123');
    const r = new SecretResolver({ env: { COLLECTOR_SECRET_DIR: d, COLLECTOR_SECRET_MAXLEN: '10' } });
    assert.equal(await r.resolve('small'), '1234567890');
    await rejectsWith(r.resolve('big', 'source.password'), (e) => {
      assert.ok(e instanceof SecretError);
      assert.match(e.message, /source\.password: .*big.*COLLECTOR_SECRET_MAXLEN \(10\); refused/);
      assert.doesNotMatch(e.message + e.stack, /MARKER/);
    });
    assert.throws(() => new SecretResolver({ env: { COLLECTOR_SECRET_MAXLEN: 'lots' } }), ConfigError);
  });

  test('the Kubernetes Secret volume layout (..data symlinks inside the directory) works', async () => {
    // What the kubelet writes: a timestamped directory, ..data -> it, and each key -> ..data/key.
    const d = dir('k8s');
    mkdirSync(join(d, '..2024_05_01_10_00_00.123456'));
    writeFileSync(join(d, '..2024_05_01_10_00_00.123456', 'athena-password'), 'k8s-secret\n');
    symlinkSync('..2024_05_01_10_00_00.123456', join(d, '..data'));
    symlinkSync('..data/athena-password', join(d, 'athena-password'));
    const r = new SecretResolver({ env: {}, secretDir: d });
    assert.equal(await r.resolve('athena-password'), 'k8s-secret');
    assert.equal(await r.resolve('file:..data/athena-password'), 'k8s-secret');
    // The mount point itself may be a symlink too.
    symlinkSync(d, join(tmp, 'k8s-link'));
    assert.equal(await new SecretResolver({ env: {}, secretDir: join(tmp, 'k8s-link') }).resolve('athena-password'), 'k8s-secret');
  });

  test('symlinks escaping the directory and names with .. or / are refused', async () => {
    const outside = dir('outside');
    writeFileSync(join(outside, 'x'), 'OUTSIDE-VALUE');
    const d = dir('escape');
    symlinkSync(join(outside, 'x'), join(d, 'abs-link'));
    symlinkSync('../outside/x', join(d, 'rel-link'));
    symlinkSync(outside, join(d, 'dir-link'));
    const r = new SecretResolver({ env: {}, secretDir: d });
    for (const ref of ['abs-link', 'rel-link', 'file:dir-link/x']) {
      await rejectsWith(r.resolve(ref), (e) => {
        assert.ok(e instanceof SecretError, ref);
        assert.match(e.message, /resolves outside .*refused/);
        assert.doesNotMatch(e.message, /OUTSIDE-VALUE/);
      });
    }
    for (const ref of ['file:../outside/x', 'file:/etc/hostname', 'file:a/../../outside/x', 'file:./x']) {
      await rejectsWith(r.resolve(ref), (e) => assert.match(e.message, /must be a relative path inside/, ref));
    }
  });

  test('non-UTF-8, empty and dangling files are refused clearly', async () => {
    const d = dir('bad-files');
    writeFileSync(join(d, 'bin'), Buffer.from([0xff, 0xfe, 0x00, 0x80]));
    writeFileSync(join(d, 'empty'), '\n');
    symlinkSync('nowhere', join(d, 'dangling'));
    const r = new SecretResolver({ env: {}, secretDir: d });
    await rejectsWith(r.resolve('bin'), (e) => assert.match(e.message, /not UTF-8 text/));
    await rejectsWith(r.resolve('empty'), (e) => assert.match(e.message, /is empty/));
    await rejectsWith(r.resolve('dangling'), (e) => assert.match(e.message, /symlink to a missing file/));
  });
});

describe('missing references and injection safety', () => {
  test('a missing secret is a non-retryable SecretError naming the reference, the field and where it looked', async () => {
    const d = dir('missing');
    const r = new SecretResolver({ env: { OTHER: 'VISIBLE-VALUE' }, secretDir: d });
    const e = await rejectsWith(r.resolveDeep({ landing: { sas: 'https://a/c?${NOPE}' }, x: '${OTHER}' }), () => {});
    assert.ok(e instanceof SecretError);
    assert.equal(e.nonRetryable, true);
    assert.equal(e.name, 'SecretError');
    assert.match(e.message, /^landing\.sas: secret \$\{NOPE\} not found; looked for environment variable NOPE, then file .*missing\/NOPE/);
    assert.doesNotMatch(e.message, /VISIBLE-VALUE/);
    await rejectsWith(new SecretResolver({ env: {}, secretDir: join(tmp, 'no-such-dir') }).resolve('X'), (e2) =>
      assert.match(e2.message, /directory .*no-such-dir does not exist; set COLLECTOR_SECRET_DIR/),
    );
    await rejectsWith(r.resolve('vault:x'), (e3) => assert.match(e3.message, /unknown secret provider "vault"/));
  });

  test('a resolved value containing ${...} or $& is used literally, never resolved again', async () => {
    const r = new SecretResolver({ env: { A: '${B}', B: 'must-not-appear', C: "p$&q$1$'" }, secretDir: dir('inj') });
    assert.equal(await r.resolveDeep('x ${A} y ${C} ${A}'), "x ${B} y p$&q$1$' ${B}");
    assert.deepEqual(await r.resolveDeep(['${A}']), ['${B}']);
    assert.ok(!r.resolvedValues().includes('must-not-appear'));
  });

  test('the whole ${...} form is accepted by resolve()', async () => {
    assert.equal(await new SecretResolver({ env: { K: 'v' } }).resolve('${K}'), 'v');
  });
});

describe('AWS Secrets Manager provider (moto)', () => {
  let moto: Moto;
  let sm: SecretsManagerClient;
  let env: NodeJS.ProcessEnv;
  let athenaArn: string;

  before(async () => {
    moto = await startMoto();
    sm = new SecretsManagerClient({ region: moto.region, endpoint: moto.endpoint, credentials: moto.credentials });
    env = {
      AWS_REGION: moto.region,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: moto.endpoint,
      AWS_ACCESS_KEY_ID: moto.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: moto.credentials.secretAccessKey,
    };
    await sm.send(new CreateSecretCommand({ Name: 'plain', SecretString: 'plain-value' }));
    const athena = await sm.send(
      new CreateSecretCommand({
        Name: 'prod/athena',
        SecretString: JSON.stringify({ username: 'svc', password: 'pw-123', port: 5432, nested: { a: 1 } }),
      }),
    );
    athenaArn = athena.ARN!;
    await sm.send(new CreateSecretCommand({ Name: 'not-json', SecretString: 'NOT-JSON-SECRET-VALUE' }));
    await sm.send(new CreateSecretCommand({ Name: 'bin-utf8', SecretBinary: Buffer.from('bin-text-é') }));
    await sm.send(new CreateSecretCommand({ Name: 'bin-raw', SecretBinary: Buffer.from([0xff, 0xfe, 0x01]) }));
    await sm.send(new CreateSecretCommand({ Name: 'rotating', SecretString: 'v1' }));
  });
  after(async () => {
    sm?.destroy();
    await moto?.stop();
  });
  beforeEach(() => clearSecretCache());

  test('plain string, JSON key, numeric JSON value and ARN form', async () => {
    const r = new SecretResolver({ env });
    assert.equal(await r.resolve('aws-sm:plain'), 'plain-value');
    assert.equal(await r.resolve('aws-sm:prod/athena#password'), 'pw-123');
    assert.equal(await r.resolve('aws-sm:prod/athena#port'), '5432');
    assert.match(athenaArn, /^arn:aws:secretsmanager:us-east-1:\d+:secret:prod\/athena-/);
    assert.equal(await r.resolve(`aws-sm:${athenaArn}#username`), 'svc');
    assert.equal(
      await r.resolveDeep('jdbc:x://h;UID=${aws-sm:prod/athena#username};PWD=${aws-sm:prod/athena#password}'),
      'jdbc:x://h;UID=svc;PWD=pw-123',
    );
    assert.ok(r.resolvedValues().includes('pw-123'));
  });

  test('AWS_ENDPOINT_URL is the fallback endpoint', async () => {
    const r = new SecretResolver({ env: { ...env, AWS_ENDPOINT_URL_SECRETS_MANAGER: undefined, AWS_ENDPOINT_URL: moto.endpoint } });
    assert.equal(await r.resolve('aws-sm:plain'), 'plain-value');
  });

  test('SecretBinary is decoded as UTF-8 or refused', async () => {
    const r = new SecretResolver({ env });
    assert.equal(await r.resolve('aws-sm:bin-utf8'), 'bin-text-é');
    await rejectsWith(r.resolve('aws-sm:bin-raw'), (e) => {
      assert.ok(e instanceof SecretError);
      assert.match(e.message, /binary data that is not UTF-8 text/);
    });
  });

  test('missing secret, missing key, non-JSON secret and a non-string key: SecretErrors without values', async () => {
    const r = new SecretResolver({ env });
    await rejectsWith(r.resolve('aws-sm:prod/nope#password', 'source.password'), (e) => {
      assert.ok(e instanceof SecretError);
      assert.equal(e.nonRetryable, true);
      assert.match(
        e.message,
        /^source\.password: secret \$\{aws-sm:prod\/nope#password\} not found: no AWS Secrets Manager secret "prod\/nope" in us-east-1 at http:\/\/127\.0\.0\.1:/,
      );
    });
    await rejectsWith(r.resolve('aws-sm:prod/athena#pasword'), (e) => {
      assert.ok(e instanceof SecretError);
      assert.match(e.message, /has no key "pasword" .*\(its keys: username, password, port, nested\)/);
      assert.doesNotMatch(e.message, /pw-123|svc|5432/);
    });
    await rejectsWith(r.resolve('aws-sm:not-json#k'), (e) => {
      assert.match(e.message, /is not a JSON object, so \$\{aws-sm:not-json#k\} cannot read key "k"/);
      assert.doesNotMatch(e.message + String(e.stack), /NOT-JSON-SECRET-VALUE/);
    });
    await rejectsWith(r.resolve('aws-sm:prod/athena#nested'), (e) => assert.match(e.message, /is not a string/));
    await rejectsWith(new SecretResolver({ env: { ...env, AWS_REGION: undefined } }).resolve('aws-sm:plain'), (e) =>
      assert.match(e.message, /needs an AWS region: set AWS_REGION/),
    );
  });

  test('an unreachable endpoint is a retryable TransientError, not a missing secret', async () => {
    const r = new SecretResolver({ env: { ...env, AWS_ENDPOINT_URL_SECRETS_MANAGER: 'http://127.0.0.1:1' } });
    await rejectsWith(r.resolve('aws-sm:plain'), (e) => {
      assert.equal(e.name, 'TransientError', 'a connection failure is worth a retry');
      assert.equal(e instanceof AuthError, false);
    });
  });

  test('values are cached across resolvers for the TTL, then fetched again; failures are not cached', async () => {
    const ttl = new SecretResolver({ env: { ...env, COLLECTOR_SECRET_CACHE_TTL: '1' } });
    assert.equal(await ttl.resolve('aws-sm:rotating'), 'v1');
    await sm.send(new PutSecretValueCommand({ SecretId: 'rotating', SecretString: 'v2' }));
    // A new resolver (the next activity attempt) within the TTL still sees the cached value.
    assert.equal(await new SecretResolver({ env: { ...env, COLLECTOR_SECRET_CACHE_TTL: '1' } }).resolve('aws-sm:rotating'), 'v1');
    assert.equal(await new SecretResolver({ env, cacheTtlMs: 0 }).resolve('aws-sm:rotating'), 'v2', 'TTL 0 bypasses the cache');
    await new Promise((r) => setTimeout(r, 1_100));
    assert.equal(await new SecretResolver({ env: { ...env, COLLECTOR_SECRET_CACHE_TTL: '1s' } }).resolve('aws-sm:rotating'), 'v2');

    await rejectsWith(ttl.resolve('aws-sm:later'), (e) => assert.ok(e instanceof SecretError));
    await sm.send(new CreateSecretCommand({ Name: 'later', SecretString: 'now-exists' }));
    assert.equal(await ttl.resolve('aws-sm:later'), 'now-exists');
    assert.throws(() => new SecretResolver({ env: { COLLECTOR_SECRET_CACHE_TTL: 'soon' } }), ConfigError);
  });
});
