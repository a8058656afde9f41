/**
 * DDL events of the postgres source on a real server: the audit script exactly as docs/postgres.md gives
 * it is installed, DDL runs, and the extract's `events` say what changed, renames with both names,
 * statements masked, only inside the window and only for the schemas read. A database without the
 * table gives a warning naming the docs, not a failure.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import type { ExtractContext, Row } from '../src/index';
import { postgresConfigSchema, postgresSource } from '../src/connectors/postgres';
import { cursorView } from '../src/hwm/cursor';
import { ROOT } from './support/processes';
import { startPostgres, type TestPostgres } from './support/postgres';

const log = pino({ level: 'silent' });
const PASSWORD = 'events-reader-pw';
let pg: TestPostgres;
let ddlStart: string;
let ddlEnd: string;

/** The script from the docs, with the role the docs call metadata_reader. */
const AUDIT_SQL = (() => {
  const docs = readFileSync(join(ROOT, 'docs', 'postgres.md'), 'utf8');
  const m = /```sql\n(-- collector DDL audit[\s\S]*?)```/.exec(docs);
  assert.ok(m, 'docs/postgres.md gives the audit script');
  assert.equal(m[1], readFileSync(join(ROOT, 'docs', 'postgres-ddl-audit.sql'), 'utf8'), 'the page and the file give the same script');
  return m[1]!;
})();

before(async () => {
  pg = await startPostgres();
  await pg.sql(`CREATE ROLE metadata_reader LOGIN PASSWORD '${PASSWORD}'`);
  await pg.sql('CREATE DATABASE shop');
  await pg.sql('CREATE DATABASE plain');
  await pg.sql(AUDIT_SQL, 'shop');
  await pg.sql('CREATE SCHEMA sales; CREATE SCHEMA scratch; GRANT USAGE ON SCHEMA sales, scratch TO metadata_reader;', 'shop');
  // Window bounds on the server's clock, which is this machine's: the schemas above stay before the window.
  await new Promise((r) => setTimeout(r, 20));
  ddlStart = new Date().toISOString();
  // One statement per call, as clients send them; then one text of several, as a migration script may.
  for (const statement of [
    'CREATE TABLE sales.orders (id int PRIMARY KEY, amount numeric)',
    "ALTER TABLE sales.orders ADD COLUMN note text DEFAULT 'secret note'",
    'ALTER TABLE sales.orders RENAME COLUMN note TO remark',
    "CREATE TABLE sales.staging AS SELECT 1 AS id, 'card 4111-1111' AS pan",
    'ALTER TABLE sales.staging RENAME TO loaded',
    'CREATE VIEW sales.v_orders AS SELECT id FROM sales.orders',
    "COMMENT ON TABLE sales.orders IS 'orders'",
    'CREATE INDEX orders_amount ON sales.orders (amount)',
    'DROP VIEW sales.v_orders',
    'CREATE TABLE scratch.tmp (x int)',
  ]) {
    await pg.sql(statement, 'shop');
  }
  await pg.sql('ALTER TABLE sales.loaded ADD COLUMN extra int; ALTER TABLE sales.loaded RENAME COLUMN extra TO more;', 'shop');
  ddlEnd = new Date(Date.now() + 1000).toISOString();
});
after(async () => pg?.stop());

async function extract(window: { start: string; end: string }, over: Record<string, unknown> = {}) {
  const config = {
    ...postgresConfigSchema.parse({
      type: 'postgres',
      host: '127.0.0.1',
      port: pg.port,
      user: 'metadata_reader',
      password: '${PG_PASSWORD}',
      sslmode: 'disable',
      usage: false,
      ...over,
    }),
    password: PASSWORD,
  };
  const source = postgresSource.create(config, { log, signal: new AbortController().signal, apiCall: () => undefined });
  const events: Row[] = [];
  const warnings: string[] = [];
  const counters: Record<string, number> = {};
  const ctx: ExtractContext = {
    log,
    signal: new AbortController().signal,
    window,
    warn: (m) => warnings.push(m),
    count: (name, n = 1) => void (counters[name] = (counters[name] ?? 0) + n),
    cursor: cursorView({}),
  };
  try {
    for await (const unit of source.units(ctx)) {
      if (!unit.key.startsWith('events:')) continue;
      await unit.run({ write: async (kind, row) => void (kind === 'events' && events.push(row)), setCursor: () => undefined });
    }
  } finally {
    await source.close();
  }
  return { events, warnings, counters };
}

describe('postgres DDL events from the audit table (a real server)', { timeout: 120_000 }, () => {
  it('each change of the window, renames with both names, statements masked; schemas not read are left out', async () => {
    const { events, warnings, counters } = await extract(
      { start: ddlStart, end: ddlEnd },
      { databases: ['shop', 'plain'], schemas: { exclude: ['scratch', 'collector_audit'] } },
    );
    const shape = events.map((e) => [
      e.event_type,
      e.object_type,
      `${e.catalog}.${e.database}.${e.object_name}`,
      e.new_object_name,
      e.column_name,
      e.new_column_name,
    ]);
    assert.deepEqual(shape, [
      ['CREATE_TABLE', 'TABLE', 'shop.sales.orders', null, null, null],
      ['ALTER_TABLE', 'TABLE', 'shop.sales.orders', null, null, null],
      ['RENAME_COLUMN', 'TABLE', 'shop.sales.orders', null, 'note', 'remark'],
      ['CREATE_TABLE_AS_SELECT', 'TABLE', 'shop.sales.staging', null, null, null],
      ['RENAME_TABLE', 'TABLE', 'shop.sales.staging', 'loaded', null, null],
      ['CREATE_VIEW', 'VIEW', 'shop.sales.v_orders', null, null, null],
      ['ALTER_TABLE', 'TABLE', 'shop.sales.orders', null, null, null],
      ['DROP_VIEW', 'VIEW', 'shop.sales.v_orders', null, null, null],
      // Two statements of one text alter `loaded`: neither is taken for a rename (no guess).
      ['ALTER_TABLE', 'TABLE', 'shop.sales.loaded', null, null, null],
      ['ALTER_TABLE', 'TABLE', 'shop.sales.loaded', null, null, null],
    ]);
    for (const e of events) {
      assert.equal(e.state, 'SUCCEEDED');
      assert.equal(e.user_name, 'postgres');
      assert.match(String(e.query_id), /^collector_audit\.ddl_events:\d+$/);
      assert.ok(!String(e.query_text).includes('secret note') && !String(e.query_text).includes('4111'), String(e.query_text));
    }
    assert.equal(counters.ddl_events_other, 2, 'the indexes (orders_pkey, orders_amount) are no catalog change of this format');
    // The database without the audit table: a warning naming the docs, no failure.
    assert.deepEqual(
      warnings.filter((w) => w.includes('DDL events')),
      [
        'database plain: no DDL events, collector_audit.ddl_events is not installed (docs/postgres.md, "DDL events"; ddlEvents: false stops this warning)',
      ],
    );
  });

  it('only the window: an earlier one has none of them; ddlEvents: false reads nothing and warns of nothing', async () => {
    const before = await extract({ start: '2026-01-01T00:00:00.000Z', end: ddlStart }, { databases: ['shop'] });
    assert.deepEqual(
      before.events.map((e) => [e.event_type, e.object_type, e.catalog, e.database, e.object_name]),
      [
        ['CREATE_DATABASE', 'DATABASE', 'shop', 'sales', null],
        ['CREATE_DATABASE', 'DATABASE', 'shop', 'scratch', null],
      ],
      'the schemas, created before the window, and nothing of it',
    );
    const off = await extract({ start: ddlStart, end: ddlEnd }, { databases: ['shop', 'plain'], ddlEvents: false });
    assert.deepEqual(off.events, []);
    assert.deepEqual(off.warnings, []);
  });

  it('a reader without SELECT on the audit table is told the GRANT', async () => {
    await pg.sql('REVOKE SELECT ON collector_audit.ddl_events FROM metadata_reader', 'shop');
    try {
      const r = await extract({ start: ddlStart, end: ddlEnd }, { databases: ['shop'] });
      assert.deepEqual(r.events, []);
      assert.match(r.warnings.join('\n'), /database shop: no DDL events, metadata_reader may not read collector_audit\.ddl_events: GRANT/);
    } finally {
      await pg.sql('GRANT SELECT ON collector_audit.ddl_events TO metadata_reader', 'shop');
    }
  });
});
