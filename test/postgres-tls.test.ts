/**
 * The postgres source against a real PostgreSQL server that speaks TLS with a certificate of a throwaway
 * CA, issued for the name `localhost` only: each sslmode does what libpq's does, test-connection shows
 * that TLS was negotiated, and its usage checks name what to add (the extension, pg_read_all_stats).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { ConfigError } from '../src/contracts/errors';
import type { Check } from '../src/index';
import { postgresConfigSchema, postgresSource, type PostgresConfig } from '../src/connectors/postgres';
import { startPostgres, type TestPostgres } from './support/postgres';

const log = pino({ level: 'silent' });
const PASSWORD = 'tls-collector-pw';
let pg: TestPostgres;

before(async () => {
  pg = await startPostgres({ tls: true });
  await pg.sql(`CREATE ROLE collector LOGIN PASSWORD '${PASSWORD}'`);
  await pg.sql('CREATE DATABASE shop');
  await pg.sql('CREATE TABLE public.items (id int PRIMARY KEY, label text)', 'shop');
});
after(async () => pg?.stop());

function config(over: Record<string, unknown>): PostgresConfig {
  const parsed = postgresConfigSchema.parse({
    type: 'postgres',
    host: 'localhost',
    port: pg.port,
    user: 'collector',
    password: '${PG_PASSWORD}',
    databases: ['shop'],
    ...over,
  });
  return { ...parsed, password: PASSWORD };
}

async function checks(cfg: PostgresConfig): Promise<Check[]> {
  const source = postgresSource.create(cfg, { log, signal: new AbortController().signal, apiCall: () => undefined });
  try {
    return await source.testConnection();
  } finally {
    await source.close();
  }
}

const check = (all: Check[], name: RegExp): Check => {
  const c = all.find((x) => name.test(x.name));
  assert.ok(c, `no check ${name}: ${all.map((x) => x.name).join(', ')}`);
  return c;
};

/** The first failed required check, as a run would meet it. */
async function connectError(cfg: PostgresConfig): Promise<Check> {
  const all = await checks(cfg);
  return check(all, /^connect to/);
}

describe('postgres over TLS (a real server with a certificate for localhost)', { timeout: 120_000 }, () => {
  it('verify-full with the CA: connects, and test-connection shows TLS negotiated', async () => {
    const all = await checks(config({ sslmode: 'verify-full', ca: pg.ca }));
    assert.equal(check(all, /^connect to localhost/).ok, true, JSON.stringify(all));
    const tls = check(all, /^TLS \(sslmode verify-full\)/);
    assert.equal(tls.ok, true);
    assert.equal(tls.detail, 'negotiated');
  });

  it('the CA may be given as a file path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pg-ca-'));
    writeFileSync(join(dir, 'ca.pem'), pg.ca!);
    const all = await checks(config({ sslmode: 'verify-ca', ca: join(dir, 'ca.pem') }));
    assert.equal(check(all, /^TLS/).ok, true, JSON.stringify(all));
  });

  it('verify-full refuses a certificate whose name is not the host; verify-ca checks the chain only', async () => {
    const wrongName = await connectError(config({ host: '127.0.0.1', sslmode: 'verify-full', ca: pg.ca }));
    assert.equal(wrongName.ok, false);
    assert.match(wrongName.detail!, /127\.0\.0\.1/);
    assert.match(wrongName.detail!, /sslmode/);

    const all = await checks(config({ host: '127.0.0.1', sslmode: 'verify-ca', ca: pg.ca }));
    assert.equal(check(all, /^TLS \(sslmode verify-ca\)/).ok, true, JSON.stringify(all));
  });

  it('without the CA, verification fails with a ConfigError naming `ca`; require encrypts without verifying', async () => {
    const source = postgresSource.create(config({ sslmode: 'verify-full' }), {
      log,
      signal: new AbortController().signal,
      apiCall: () => undefined,
    });
    try {
      const units = source.units({
        log,
        signal: new AbortController().signal,
        window: { start: '2026-11-01T00:00:00.000Z', end: '2026-11-02T00:00:00.000Z' },
        warn: () => undefined,
        count: () => undefined,
        cursor: { get: () => undefined, keys: () => [] },
      });
      const err = await (async () => {
        for await (const u of units) await u.run({ write: async () => undefined, setCursor: () => undefined });
      })().then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof ConfigError, String(err));
      assert.match(err.message, /\bca\b/);
      assert.ok(!err.message.includes(PASSWORD));
    } finally {
      await source.close();
    }
    const all = await checks(config({ sslmode: 'require' }));
    assert.equal(check(all, /^TLS \(sslmode require\)/).ok, true, JSON.stringify(all));
  });

  it('usage checks name the extension and the role to grant, then pass once they are there', async () => {
    const before = await checks(config({ sslmode: 'require' }));
    const ext = check(before, /^usage: pg_stat_statements/);
    assert.equal(ext.ok, false);
    assert.equal(ext.required, false, 'usage is optional: a run succeeds without it');
    assert.match(ext.grant!, /CREATE EXTENSION pg_stat_statements; in database "shop"/);
    const stats = check(before, /pg_read_all_stats/);
    assert.equal(stats.ok, false);
    assert.equal(stats.grant, 'GRANT pg_read_all_stats TO "collector";');

    await pg.sql('CREATE EXTENSION pg_stat_statements', 'shop');
    await pg.sql('GRANT pg_read_all_stats TO collector');
    const after = await checks(config({ sslmode: 'require' }));
    assert.equal(check(after, /^usage: pg_stat_statements/).ok, true, JSON.stringify(after));
    assert.match(check(after, /^usage: pg_stat_statements/).detail!, /in database shop/);
    assert.equal(check(after, /pg_read_all_stats/).ok, true);

    const off = await checks(config({ sslmode: 'require', usage: false }));
    assert.ok(!off.some((c) => c.name.startsWith('usage:')), 'usage: false checks nothing of it');
  });
});
