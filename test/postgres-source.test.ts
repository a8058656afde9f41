/**
 * The postgres source against a real PostgreSQL server (test/support/postgres.ts): the source contract
 * suite, then what the catalog gets (tables, partitions, views, materialized views, foreign tables,
 * column types, keys, comments), lineage from pg_depend, schema filters and grants, test-connection, and
 * every bad input the issue names, each a clear error.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { AuthError, ConfigError, TransientError } from '../src/contracts/errors';
import type { ExtractContext, Row, SourceContext } from '../src/index';
import { postgresConfigSchema, postgresSource, type PostgresConfig } from '../src/connectors/postgres';
import { PostgresSessions } from '../src/connectors/postgres/client';
import { sourceConformance } from './conformance/source';
import { postgresCollectorsYaml, startPostgres, type TestPostgres } from './support/postgres';
import { startCollectorEnv } from './support/collector-env';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunSummary } from '../src/run/types';
import { COLLECT_WORKFLOW } from '../workflows/messages';
import { cursorView } from '../src/hwm/cursor';

const log = pino({ level: 'silent' });
const COLLECTOR_PASSWORD = 'collector-pw-7f3a';
const WINDOW = { start: '2026-11-01T00:00:00.000Z', end: '2026-11-02T00:00:00.000Z' };

let pg: TestPostgres;
const ready = (async () => {
  pg = await startPostgres();
  // One statement each: CREATE DATABASE cannot run in the implicit transaction of a multi-statement query.
  for (const statement of [
    `CREATE ROLE collector LOGIN PASSWORD '${COLLECTOR_PASSWORD}'`,
    'CREATE DATABASE shop',
    'CREATE DATABASE other',
    'CREATE DATABASE locked',
    'REVOKE CONNECT ON DATABASE locked FROM PUBLIC',
  ]) {
    await pg.sql(statement);
  }
  await pg.sql(
    `
    CREATE SCHEMA sales;
    CREATE SCHEMA hidden;
    CREATE TYPE sales.order_status AS ENUM ('new', 'paid', 'shipped');
    CREATE DOMAIN sales.email AS text CHECK (VALUE LIKE '%@%');
    CREATE TABLE sales.customers (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      email sales.email NOT NULL UNIQUE,
      tags text[],
      name text NOT NULL DEFAULT 'anonymous',
      name_upper text GENERATED ALWAYS AS (upper(name)) STORED
    );
    COMMENT ON TABLE sales.customers IS 'people who buy';
    COMMENT ON COLUMN sales.customers.email IS 'where receipts go';
    CREATE TABLE sales.orders (
      id bigint NOT NULL,
      customer_id bigint NOT NULL REFERENCES sales.customers (id),
      status sales.order_status NOT NULL DEFAULT 'new',
      ordered_at date NOT NULL,
      amount numeric(12, 2)
    ) PARTITION BY RANGE (ordered_at);
    CREATE TABLE sales.orders_2026 PARTITION OF sales.orders FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
    CREATE TABLE sales.orders_2027 PARTITION OF sales.orders FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');
    CREATE VIEW sales.customer_orders AS
      SELECT c.email, o.ordered_at, o.amount FROM sales.customers c JOIN sales.orders o ON o.customer_id = c.id;
    CREATE MATERIALIZED VIEW sales.daily AS SELECT ordered_at, sum(amount) AS total FROM sales.orders GROUP BY ordered_at;
    CREATE VIEW sales.customer_summary AS
      WITH recent AS (SELECT customer_id, amount FROM sales.orders WHERE ordered_at > '2026-06-01')
      SELECT c.id, upper(c.name) AS shout, t.spent
        FROM sales.customers c
        JOIN (SELECT customer_id, sum(amount) AS spent FROM recent GROUP BY customer_id) t ON t.customer_id = c.id
      UNION ALL
      SELECT id, email, NULL FROM sales.customers;
    CREATE EXTENSION postgres_fdw;
    CREATE SERVER legacy FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host 'legacy.internal', dbname 'crm');
    CREATE FOREIGN TABLE sales.legacy_accounts (account_id int, owner text) SERVER legacy;
    CREATE TABLE hidden.payroll (employee text, salary numeric);
    GRANT USAGE ON SCHEMA sales TO collector;
    INSERT INTO sales.customers (email, tags) VALUES ('a@example.com', '{vip}');
    `,
    'shop',
  );
  await pg.sql(
    `CREATE TABLE public.notes (id int PRIMARY KEY, body text); CREATE VIEW public.note_ids AS SELECT id FROM public.notes;`,
    'other',
  );
})();

function config(over: Partial<PostgresConfig> = {}): PostgresConfig {
  return postgresConfigSchema.parse({
    type: 'postgres',
    host: '127.0.0.1',
    port: pg.port,
    user: 'collector',
    password: '${PG_PASSWORD}',
    sslmode: 'disable',
    ...over,
  } as Record<string, unknown>);
}

/** The config as the runtime hands it to the plugin: secrets resolved. */
function resolved(over: Partial<PostgresConfig> = {}): PostgresConfig {
  const { password = COLLECTOR_PASSWORD, ...rest } = over;
  return { ...config(rest), password };
}

const sourceCtx = (signal = new AbortController().signal): SourceContext => ({ log, signal, apiCall: () => undefined });

async function extract(cfg: PostgresConfig): Promise<{ rows: Record<string, Row[]>; warnings: string[]; units: string[] }> {
  const source = postgresSource.create(cfg, sourceCtx());
  const rows: Record<string, Row[]> = { tables: [], metadata: [], linkages: [], databaselog: [], events: [] };
  const warnings: string[] = [];
  const units: string[] = [];
  const ctx: ExtractContext = {
    log,
    signal: new AbortController().signal,
    window: WINDOW,
    warn: (m) => warnings.push(m),
    count: () => undefined,
    cursor: cursorView({}),
  };
  try {
    for await (const unit of source.units(ctx)) {
      units.push(unit.key);
      await unit.run({ write: async (kind, row) => void rows[kind]!.push(row), setCursor: () => undefined });
    }
  } finally {
    await source.close();
  }
  return { rows, warnings, units };
}

after(async () => {
  await ready.catch(() => undefined);
  await pg?.stop();
});

sourceConformance('postgres', async () => {
  await ready;
  return { plugin: postgresSource, config: resolved({ databases: ['shop', 'other'] }), window: WINDOW, secrets: [COLLECTOR_PASSWORD] };
});

describe('postgres source on a real server', { timeout: 300_000 }, () => {
  before(() => ready);

  it('metadata: every relation kind, column types, defaults, identity, generated, keys, comments, partitions', async () => {
    const { rows, units } = await extract(resolved({ databases: ['shop'] }));
    // public is empty but readable; hidden has no USAGE for the collector.
    assert.deepEqual(units, ['usage:pg_stat_statements', 'metadata:shop.public', 'metadata:shop.sales', 'lineage:shop', 'events:shop']);
    const table = (name: string) => rows.metadata!.filter((r) => r.table_name === name);
    const col = (t: string, c: string) => table(t).find((r) => r.column_name === c)!;
    const tableRow = (name: string) => rows.tables!.find((r) => r.table_name === name)!;
    const types = Object.fromEntries(rows.tables!.map((r) => [r.table_name, r.table_type]));
    assert.deepEqual(types, {
      customers: 'BASE TABLE',
      orders: 'PARTITIONED TABLE',
      orders_2026: 'BASE TABLE',
      orders_2027: 'BASE TABLE',
      customer_orders: 'VIEW',
      customer_summary: 'VIEW',
      daily: 'MATERIALIZED VIEW',
      legacy_accounts: 'FOREIGN TABLE',
    });
    for (const r of [...rows.tables!, ...rows.metadata!]) assert.equal(r.catalog, 'shop');
    for (const r of [...rows.tables!, ...rows.metadata!]) assert.equal(r.database, 'sales');
    for (const t of rows.tables!) assert.equal(t.column_count, table(String(t.table_name)).length, `${t.table_name}: column_count`);
    assert.deepEqual(
      table('customers').map((r) => r.column_name),
      ['id', 'email', 'tags', 'name', 'name_upper'],
    );
    assert.equal(col('customers', 'id').data_type, 'bigint');
    assert.deepEqual(col('customers', 'id').column_parameters, { identity: 'ALWAYS' });
    assert.equal(col('customers', 'id').is_nullable, false);
    assert.deepEqual(col('customers', 'email').column_parameters, { domain_of: 'text' });
    assert.equal(col('customers', 'email').column_comment, 'where receipts go');
    assert.deepEqual(col('customers', 'tags').column_parameters, { array_of: 'text' });
    assert.equal(col('customers', 'tags').data_type, 'text[]');
    assert.equal(col('customers', 'name').column_default, "'anonymous'::text");
    assert.deepEqual(col('customers', 'name_upper').column_parameters, { generated: { stored: true, expression: 'upper(name)' } });
    assert.equal(col('customers', 'name_upper').column_default, null);
    assert.deepEqual(col('orders', 'status').column_parameters, { enum_values: ['new', 'paid', 'shipped'] });
    assert.equal(col('orders', 'ordered_at').is_partition_key, true);
    assert.equal(col('orders', 'amount').is_partition_key, false);
    assert.equal(col('orders', 'amount').data_type, 'numeric(12,2)');
    const customers = tableRow('customers');
    assert.equal(customers.table_comment, 'people who buy');
    const params = customers.table_parameters as { owner: string; constraints: { type: string; definition: string }[] };
    assert.equal(params.owner, 'postgres');
    assert.deepEqual(params.constraints.map((c) => c.type).sort(), ['PRIMARY KEY', 'UNIQUE']);
    const orders = tableRow('orders').table_parameters as { partition_key: string; constraints: { type: string; definition: string }[] };
    assert.equal(orders.partition_key, 'RANGE (ordered_at)');
    assert.match(orders.constraints.find((c) => c.type === 'FOREIGN KEY')!.definition, /REFERENCES sales\.customers\(id\)/);
    const partition = tableRow('orders_2026').table_parameters as { partition_of: string; partition_bound: string };
    assert.equal(partition.partition_of, 'sales.orders');
    assert.equal(partition.partition_bound, "FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')");
    assert.match(String(tableRow('customer_orders').view_definition), /JOIN sales\.orders o ON/);
    assert.equal((tableRow('legacy_accounts').table_parameters as { foreign_server: string }).foreign_server, 'legacy');
  });

  it("lineage of views and materialized views comes from the server's dependency records", async () => {
    const { rows } = await extract(resolved({ databases: ['shop', 'other'] }));
    const edges = rows
      .linkages!.filter((r) => r.target_column === null)
      .map(
        (r) =>
          `${r.source_catalog}.${r.source_database}.${r.source_table} -> ${r.target_catalog}.${r.target_database}.${r.target_table} (${r.target_type})`,
      )
      .sort();
    assert.deepEqual(edges, [
      'other.public.notes -> other.public.note_ids (VIEW)',
      'shop.sales.customers -> shop.sales.customer_orders (VIEW)',
      'shop.sales.customers -> shop.sales.customer_summary (VIEW)',
      'shop.sales.orders -> shop.sales.customer_orders (VIEW)',
      'shop.sales.orders -> shop.sales.customer_summary (VIEW)',
      'shop.sales.orders -> shop.sales.daily (MATERIALIZED_VIEW)',
    ]);
    for (const r of rows.linkages!) assert.equal(r.origin, 'VIEW_DEFINITION');
    // Column level: the view's query read with PostgreSQL's parser, each pair confirmed by pg_depend.
    const columns = (view: string) =>
      rows
        .linkages!.filter((r) => r.target_table === view && r.target_column !== null)
        .map((r) => `${r.source_database}.${r.source_table}.${r.source_column} -> ${r.target_column} (${r.transformation})`)
        .sort();
    assert.deepEqual(columns('customer_orders'), [
      'sales.customers.email -> email (identity)',
      'sales.orders.amount -> amount (identity)',
      'sales.orders.ordered_at -> ordered_at (identity)',
    ]);
    assert.deepEqual(columns('daily'), ['sales.orders.amount -> total (aggregate)', 'sales.orders.ordered_at -> ordered_at (identity)']);
    // Through a CTE, a grouped subquery and UNION ALL; conditions (ordered_at, the join keys) feed no column.
    assert.deepEqual(columns('customer_summary'), [
      'sales.customers.email -> shout (expression)',
      'sales.customers.id -> id (identity)',
      'sales.customers.name -> shout (expression)',
      'sales.orders.amount -> spent (aggregate)',
    ]);
    // Unqualified in the server's printout (public is on the search path): resolved through pg_depend.
    assert.deepEqual(columns('note_ids'), ['public.notes.id -> id (identity)']);
  });

  it('reads every database it may connect to by default; a schema without USAGE is a warning naming the grant, never read', async () => {
    await pg.sql('GRANT USAGE ON SCHEMA hidden TO collector; REVOKE USAGE ON SCHEMA hidden FROM collector;', 'shop');
    const { units, warnings, rows } = await extract(resolved());
    assert.ok(
      units.includes('metadata:shop.sales') && units.includes('metadata:other.public') && units.includes('metadata:postgres.public'),
    );
    assert.ok(!units.some((u) => u.includes('locked')), 'a database without CONNECT is not listed');
    assert.ok(![...rows.tables!, ...rows.metadata!].some((r) => r.table_name === 'payroll'));
    assert.ok(
      warnings.some((w) => /database shop: no USAGE on schema\(s\) hidden/.test(w)),
      warnings.join('\n'),
    );
    const filtered = await extract(
      resolved({ databases: ['shop'], usage: false, ddlEvents: false, schemas: { include: ['sal.*'], exclude: ['hidden'] } }),
    );
    assert.deepEqual(filtered.units, ['metadata:shop.sales', 'lineage:shop']);
    assert.deepEqual(filtered.warnings, []);
  });

  it('test-connection: one check per need, a failed one naming the GRANT', async () => {
    const source = postgresSource.create(resolved({ databases: ['shop', 'locked'] }), sourceCtx());
    try {
      const checks = await source.testConnection();
      const by = (name: RegExp) => checks.find((c) => name.test(c.name))!;
      assert.equal(by(/^connect to 127\.0\.0\.1/).ok, true);
      assert.match(by(/^connect to/).detail!, /PostgreSQL 18\.\d+, read-only session: on/);
      const hidden = by(/database shop: USAGE/);
      assert.equal(hidden.ok, false);
      assert.equal(hidden.grant, 'GRANT USAGE ON SCHEMA "hidden" TO "collector";');
      const locked = by(/database locked/);
      assert.equal(locked.ok, false);
      assert.equal(locked.grant, 'GRANT CONNECT ON DATABASE "locked" TO "collector";');
      assert.ok(!JSON.stringify(checks).includes(COLLECTOR_PASSWORD));
    } finally {
      await source.close();
    }
  });

  it('bad input: wrong password, unreachable server, TLS required but not offered, missing database: clear, typed errors', async () => {
    const failure = async (cfg: PostgresConfig) => {
      const r = await extract(cfg).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(r instanceof Error, 'the extract must fail');
      return r;
    };
    const wrong = await failure(resolved({ databases: ['shop'], password: 'not-the-password' }));
    assert.ok(wrong instanceof AuthError && wrong.nonRetryable);
    assert.match(wrong.message, /password authentication failed for user "collector" at 127\.0\.0\.1:\d+: check source\.password/);
    assert.ok(!wrong.message.includes('not-the-password'));

    const down = await failure(resolved({ databases: ['shop'], port: 1 }));
    assert.ok(down instanceof TransientError && !down.nonRetryable, String(down));
    assert.match(down.message, /cannot reach 127\.0\.0\.1:1 \(ECONNREFUSED\): check source\.host and source\.port/);

    const tls = await failure(resolved({ databases: ['shop'], sslmode: 'require' }));
    assert.ok(tls instanceof ConfigError, String(tls));
    assert.match(tls.message, /does not offer TLS but source\.sslmode is require: enable ssl on the server, or set sslmode: disable/);

    const missing = await failure(resolved({ databases: ['nope'] }));
    assert.ok(missing instanceof ConfigError);
    assert.match(missing.message, /database "nope" does not exist: check source\.databases/);
  });

  it('sessions are read-only and bounded by the statement timeout, which is a retryable error naming the setting', async () => {
    const s = new PostgresSessions(resolved({ databases: ['shop'], statementTimeout: '1s' }));
    try {
      await assert.rejects(s.query('shop', 'write probe', 'CREATE TABLE sales.intruder (x int)', []), /read-only transaction/);
      const slow = await s.query('shop', 'slow probe', 'SELECT pg_sleep(3)', []).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(slow instanceof TransientError);
      assert.match(slow.message, /statement timeout \(1s\): raise source\.statementTimeout/);
    } finally {
      await s.close();
    }
  });

  it('config: sslmode defaults to verify-full; ca only with verification; a plain password is refused', () => {
    const parsed = postgresConfigSchema.parse({ type: 'postgres', host: 'db', user: 'u', password: '${P}' });
    assert.equal(parsed.sslmode, 'verify-full');
    assert.equal(parsed.port, 5432);
    const bad = postgresConfigSchema.safeParse({
      type: 'postgres',
      host: 'db',
      user: 'u',
      password: 'hunter2',
      sslmode: 'require',
      ca: '${CA}',
    });
    assert.ok(!bad.success);
    const issues = bad.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    assert.ok(
      issues.some((i) => /^password: must be a secret reference/.test(i)),
      issues.join('\n'),
    );
    assert.ok(
      issues.some((i) => /^ca: is only used with sslmode verify-ca or verify-full/.test(i)),
      issues.join('\n'),
    );
  });
});

describe('postgres through the collect workflow (real Temporal, real PostgreSQL, filesystem landing)', { timeout: 300_000 }, () => {
  it('lands the four files and the manifest, the password resolved only inside the worker, and advances the HWM', async () => {
    await ready;
    const env = await startCollectorEnv();
    try {
      process.env.E2E_PG_PASSWORD = COLLECTOR_PASSWORD;
      writeFileSync(
        env.configPath,
        postgresCollectorsYaml(pg, { name: 'pg-shop', passwordVar: 'E2E_PG_PASSWORD', databases: ['shop'], landingDir: env.landingDir }),
      );
      await env.inProcessWorker(['collectors']);
      const handle = await env.temporal.client.workflow.start(COLLECT_WORKFLOW, {
        taskQueue: 'collectors',
        workflowId: 'pg-e2e',
        args: [{ collector: 'pg-shop' }],
      });
      const summary = (await handle.result()) as RunSummary;
      assert.equal(summary.status, 'completed');
      const byKind = Object.fromEntries(summary.files.map((f) => [f.kind, f.rows]));
      // 5 table-level edges of the three views and 9 column-level ones (see the lineage test above).
      assert.ok(byKind.metadata! > 20 && byKind.linkages === 14, JSON.stringify(byKind));
      const manifest = env.landed().find((f) => f.includes('_manifest_'))!;
      const doc = JSON.parse(readFileSync(join(env.landingDir, manifest), 'utf8')) as { sourceType: string; formatVersion: string };
      assert.equal(doc.sourceType, 'postgres');
      assert.equal(env.hwm('pg-shop'), summary.window.end);
      const history = JSON.stringify(await handle.fetchHistory());
      assert.ok(!history.includes(COLLECTOR_PASSWORD), 'the password never reaches workflow history');
    } finally {
      await env.stop();
    }
  });
});
