/**
 * RDS IAM authentication for the postgres source. No RDS runs here, so the two halves are checked
 * apart: the token is checked against an independent SigV4 computation (the canonical request, string to
 * sign and signing key as AWS documents them), and a real PostgreSQL server over TLS is given, as the
 * user's password, the token signed at a known instant: a session signed at that instant gets in, one
 * signed at another does not, with an error naming what to grant.
 */
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { AuthError } from '../src/contracts/errors';
import { postgresConfigSchema, postgresSource, type PostgresConfig } from '../src/connectors/postgres';
import { PostgresSessions } from '../src/connectors/postgres/client';
import { rdsTokenSource, TOKEN_LIFETIME_SECONDS } from '../src/connectors/postgres/rds-iam';
import { startPostgres, type TestPostgres } from './support/postgres';

const KEY_ID = 'AKIDEXAMPLEIAMTEST';
const SECRET = 'iam-test-secret/with+chars';
const SIGNED_AT = new Date('2026-12-03T10:20:30Z');
let pg: TestPostgres;
const saved = { ...process.env };

before(async () => {
  // The default credential chain reads the environment first: the worker's identity, here a test one.
  process.env.AWS_ACCESS_KEY_ID = KEY_ID;
  process.env.AWS_SECRET_ACCESS_KEY = SECRET;
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  pg = await startPostgres({ tls: true });
  await pg.sql('CREATE ROLE iam_reader LOGIN');
  await pg.sql('CREATE DATABASE shop');
});
after(async () => {
  await pg?.stop();
  process.env = saved;
});

function config(over: Record<string, unknown> = {}): PostgresConfig {
  return postgresConfigSchema.parse({
    type: 'postgres',
    host: 'localhost',
    port: pg.port,
    user: 'iam_reader',
    databases: ['shop'],
    sslmode: 'require',
    iam: { region: 'eu-west-1' },
    ...over,
  });
}

const hex = (b: Buffer) => b.toString('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();
/** RFC 3986 encoding, as SigV4's canonical query string wants it. */
const enc = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** The signature SigV4 gives the token's own parameters, computed here from the AWS documentation. */
function expectedSignature(token: string): { signature: string; params: URLSearchParams } {
  const [authority, query] = token.split('/?') as [string, string];
  const params = new URLSearchParams(query);
  const signed = [...params.entries()].filter(([k]) => k !== 'X-Amz-Signature');
  const canonicalQuery = signed
    .map(([k, v]) => [enc(k), enc(v)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const canonicalRequest = [
    'GET',
    '/',
    canonicalQuery,
    `host:${authority}`,
    '',
    'host',
    hex(createHash('sha256').update('').digest()),
  ].join('\n');
  const amzDate = params.get('X-Amz-Date')!;
  const scope = `${amzDate.slice(0, 8)}/eu-west-1/rds-db/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, hex(createHash('sha256').update(canonicalRequest).digest())].join('\n');
  let key = hmac(`AWS4${SECRET}`, amzDate.slice(0, 8));
  for (const part of ['eu-west-1', 'rds-db', 'aws4_request']) key = hmac(key, part);
  return { signature: hex(hmac(key, toSign)), params };
}

describe('postgres with RDS IAM authentication', { timeout: 120_000 }, () => {
  it('the token is a SigV4-presigned connect request for the user, valid 15 minutes, whose signature checks out', async () => {
    const token = await rdsTokenSource(
      { host: 'db.abc.eu-west-1.rds.amazonaws.com', port: 5432, user: 'iam_reader' },
      {},
      () => SIGNED_AT,
    ).token();
    assert.ok(token.startsWith('db.abc.eu-west-1.rds.amazonaws.com:5432/?'), token);
    const { signature, params } = expectedSignature(token);
    assert.equal(params.get('Action'), 'connect');
    assert.equal(params.get('DBUser'), 'iam_reader');
    assert.equal(params.get('X-Amz-Algorithm'), 'AWS4-HMAC-SHA256');
    assert.equal(params.get('X-Amz-Credential'), `${KEY_ID}/20261203/eu-west-1/rds-db/aws4_request`, 'the region came from the host name');
    assert.equal(params.get('X-Amz-Date'), '20261203T102030Z');
    assert.equal(params.get('X-Amz-Expires'), String(TOKEN_LIFETIME_SECONDS));
    assert.equal(params.get('X-Amz-SignedHeaders'), 'host');
    assert.equal(params.get('X-Amz-Signature'), signature);
    assert.ok(!token.includes(SECRET));
  });

  it('the server receives the token as the password of each new session', async () => {
    const token = await rdsTokenSource(
      { host: 'localhost', port: pg.port, user: 'iam_reader' },
      { region: 'eu-west-1' },
      () => SIGNED_AT,
    ).token();
    assert.equal(expectedSignature(token).params.get('X-Amz-Signature'), expectedSignature(token).signature);
    // Stand-in for RDS's check: the role's password is the token signed at that instant.
    await pg.sql(`ALTER ROLE iam_reader PASSWORD '${token.replace(/'/g, "''")}'`);

    const good = new PostgresSessions(config(), undefined, () => SIGNED_AT);
    try {
      const [row] = await good.query<{ who: string; ssl: boolean }>(
        'shop',
        'who am i',
        'SELECT current_user AS who, (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()) AS ssl',
        [],
      );
      assert.deepEqual(row, { who: 'iam_reader', ssl: true });
    } finally {
      await good.close();
    }

    const later = new PostgresSessions(config(), undefined, () => new Date(SIGNED_AT.getTime() + 60_000));
    try {
      const err = await later.query('shop', 'who am i', 'SELECT 1', []).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof AuthError && err.nonRetryable, String(err));
      assert.match(err.message, /refused the IAM token of user "iam_reader".*GRANT rds_iam.*rds-db:connect.*source\.iam/);
      assert.ok(!err.message.includes('X-Amz-Signature'), 'the token is never in a message');
    } finally {
      await later.close();
    }
  });

  it('config: iam excludes a password and plain connections, and needs a region unless the host names one', () => {
    const issues = (over: Record<string, unknown>) => {
      const r = postgresConfigSchema.safeParse({ type: 'postgres', host: 'db.internal', user: 'u', iam: { region: 'us-east-1' }, ...over });
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    assert.deepEqual(issues({}), []);
    assert.ok(issues({ password: '${PG_PASSWORD}' }).includes('password: is not used with iam: remove one of them'));
    assert.ok(issues({ sslmode: 'disable' }).some((i) => i.startsWith('sslmode: must not be disable with iam')));
    assert.ok(issues({ iam: {} }).some((i) => i.startsWith('iam.region: is required: the host is not an RDS endpoint name')));
    assert.deepEqual(issues({ host: 'orders.cluster-ro-abc.ap-southeast-2.rds.amazonaws.com', iam: {} }), []);
    assert.ok(
      issues({ iam: { region: 'us-east-1', roleArn: 'not-an-arn' } }).some((i) => i.startsWith('iam.roleArn: must be an IAM role ARN')),
    );
    assert.ok(issues({ iam: { region: 'us-east-1', keys: 1 } }).some((i) => i.startsWith('iam: ')));
  });

  it('declares the AWS identity it signs with, for the recipe policy', () => {
    const plain = postgresSource.targets!(config()).map((t) => `${t.kind} ${t.field}`);
    assert.ok(plain.includes('ambient-credentials iam.accessKeyId'), plain.join(', '));
    const role = postgresSource.targets!(config({ iam: { region: 'eu-west-1', roleArn: 'arn:aws:iam::123456789012:role/reader' } }));
    assert.ok(role.some((t) => t.kind === 'role' && t.value === 'arn:aws:iam::123456789012:role/reader'));
    assert.ok(!role.some((t) => t.field === 'password'), 'no ambient PGPASSWORD with iam');
  });
});
