/**
 * PostgreSQL usage from pg_stat_statements on a real server: per statement, the calls between two runs
 * from the snapshot kept in the source's cursor; resets and evictions reported; texts masked by the
 * server's own lexer; the collector's own statements left out; other users' hidden statements named with
 * the GRANT. Then through the collect workflow: the cursor is committed with the HWM, never reaches
 * history, and a failed run leaves both as they were.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import type { CursorValue, ExtractContext } from '../src/contracts/plugin';
import type { Row } from '../src/contracts/extract-format';
import { postgresConfigSchema, postgresSource, type PostgresConfig } from '../src/connectors/postgres';
import { maskPostgresText, loadPostgresParser } from '../src/connectors/postgres/sql-text';
import { USAGE_CURSOR_KEY, usageDeltas } from '../src/connectors/postgres/usage';
import { applyCursorChanges, cursorView, parseCursor, type CursorChanges } from '../src/hwm/cursor';
import type { RunSummary } from '../src/run/types';
import { COLLECT_WORKFLOW, progressQuery, rejectSignal } from '../workflows/messages';
import { startCollectorEnv } from './support/collector-env';
import { postgresCollectorsYaml, startPostgres, type TestPostgres } from './support/postgres';

const log = pino({ level: 'silent' });
const PW = 'usage-collector-pw-51c9';
const WINDOW = { start: '2026-11-01T00:00:00.000Z', end: '2026-11-02T00:00:00.000Z' };
let pg: TestPostgres;

before(async () => {
  pg = await startPostgres();
  for (const statement of [
    `CREATE ROLE collector LOGIN PASSWORD '${PW}'`,
    'CREATE ROLE app LOGIN',
    'GRANT pg_read_all_stats TO collector',
    'CREATE DATABASE shop',
    'CREATE EXTENSION pg_stat_statements',
  ]) {
    await pg.sql(statement);
  }
  await pg.sql(
    `CREATE TABLE public.orders (id int PRIMARY KEY, amount numeric, note text); GRANT ALL ON public.orders TO app; GRANT CREATE ON SCHEMA public TO app;`,
    'shop',
  );
});

after(async () => {
  await pg?.stop();
});

function config(over: Record<string, unknown> = {}): PostgresConfig {
  return {
    ...postgresConfigSchema.parse({ type: 'postgres', host: '127.0.0.1', port: pg.port, user: 'collector', sslmode: 'disable', ...over }),
    password: PW,
  };
}

/** Runs the source's usage unit once from `cursor`; returns its rows, warnings, counters and next cursor. */
async function collectUsage(cursor: Record<string, CursorValue>, over: Record<string, unknown> = {}) {
  const source = postgresSource.create(config({ databases: ['shop'], ...over }), {
    log,
    signal: new AbortController().signal,
    apiCall: () => undefined,
  });
  const rows: Row[] = [];
  const linkages: Row[] = [];
  const warnings: string[] = [];
  const counters: Record<string, number> = {};
  const changes: CursorChanges = {};
  const ctx: ExtractContext = {
    log,
    signal: new AbortController().signal,
    window: WINDOW,
    cursor: cursorView(cursor),
    warn: (m) => void warnings.push(m),
    count: (n, k = 1) => void (counters[n] = (counters[n] ?? 0) + k),
  };
  try {
    for await (const unit of source.units(ctx)) {
      if (!unit.key.startsWith('usage:')) continue;
      await unit.run({
        write: async (kind, row) => void (kind === 'usage' ? rows.push(row) : kind === 'linkages' && linkages.push(row)),
        setCursor: (k, v) => void (changes[k] = v),
      });
    }
  } finally {
    await source.close();
  }
  return { rows, linkages, warnings, counters, next: parseCursor(applyCursorChanges(cursor, changes)) };
}

/** Runs `sql` `times` times as the role `app` (a user of the database, not the collector). */
async function traffic(sql: string, times: number): Promise<void> {
  const c = await pg.connect('shop');
  try {
    await c.query('SET ROLE app');
    for (let i = 0; i < times; i++) await c.query(sql.replaceAll('$i', String(i)));
  } finally {
    await c.end();
  }
}

const callsOf = (rows: Row[], fragment: string) =>
  rows.filter((r) => String(r.query_text).includes(fragment)).reduce((n, r) => n + Number(r.calls), 0);

describe('postgres usage from pg_stat_statements (real server)', { timeout: 300_000 }, () => {
  it('first run: totals since the statistics began; next run: exactly the calls in between, from the snapshot in the cursor', async () => {
    await pg.sql('GRANT pg_read_all_stats TO collector');
    await traffic(`SELECT amount FROM public.orders WHERE id = $i`, 5);
    const first = await collectUsage({});
    assert.equal(callsOf(first.rows, 'SELECT amount FROM public.orders WHERE id ='), 5);
    const row = first.rows.find((r) => String(r.query_text).includes('SELECT amount'))!;
    assert.equal(row.catalog, 'shop');
    assert.equal(row.user_name, 'app');
    assert.equal(row.statement_type, 'SELECT');
    assert.ok(row.period_start instanceof Date && row.period_end instanceof Date && row.period_start < row.period_end);
    assert.ok(first.next[USAGE_CURSOR_KEY], 'the snapshot is kept for the next run');

    await traffic(`SELECT amount FROM public.orders WHERE id = $i`, 3);
    await traffic(`INSERT INTO public.orders VALUES ($i + 100, 1.5, 'n')`, 2);
    const second = await collectUsage(first.next);
    assert.equal(callsOf(second.rows, 'SELECT amount FROM public.orders WHERE id ='), 3, 'only the calls since the previous snapshot');
    assert.equal(callsOf(second.rows, 'INSERT INTO public.orders'), 2);
    const select = second.rows.find((r) => String(r.query_text).includes('SELECT amount'))!;
    assert.equal((select.period_start as Date).toISOString(), (first.next[USAGE_CURSOR_KEY] as { at: string }).at);

    // Nothing ran since: no rows; a failed run (its cursor never committed) means the next one starts from
    // the older snapshot and counts both periods once.
    const third = await collectUsage(second.next);
    assert.equal(callsOf(third.rows, 'public.orders'), 0);
    await traffic(`SELECT amount FROM public.orders WHERE id = $i`, 4);
    const retried = await collectUsage(first.next);
    assert.equal(callsOf(retried.rows, 'SELECT amount FROM public.orders WHERE id ='), 7);
  });

  it("leaves out the collector's own statements, and masks every constant, utility statements included", async () => {
    await traffic(`CREATE TABLE public.tmp_$i AS SELECT 'ssn-123-45-6789'::text AS secret /* owner: jane@example.com */`, 1);
    await pg.sql(`ALTER ROLE app PASSWORD 'hunter2-secret'`, 'shop');
    const { rows } = await collectUsage({});
    const text = JSON.stringify(rows);
    for (const leaked of ['ssn-123-45-6789', 'hunter2-secret', 'jane@example.com']) assert.ok(!text.includes(leaked), leaked);
    // pg_stat_statements normalised this one itself ($1); either way the literal is gone.
    assert.ok(
      rows.some((r) => r.query_text === `CREATE TABLE public.tmp_0 AS SELECT $1::text AS secret`),
      text.slice(0, 2000),
    );
    assert.ok(rows.some((r) => /^ALTER ROLE app PASSWORD \?$/.test(String(r.query_text))));
    assert.ok(rows.length > 0 && !rows.some((r) => r.user_name === 'collector'), "the collector's own queries are not usage");
    await loadPostgresParser();
    assert.equal(
      maskPostgresText(`SELECT $$a 'b'$$, E'\\n', 1.5e3, x'ff', B'01', U&'d0061', $1 -- c\nFROM t`),
      `SELECT ?, ?, ?, ?, ?, ?, $1\nFROM t`,
    );
  });

  it('writes among the statements get QUERY lineage, table and column level, in the run that counts their calls', async () => {
    const base = (await collectUsage({})).next;
    await traffic('CREATE TABLE public.big_orders AS SELECT id, amount * 2 AS doubled FROM public.orders WHERE amount > 1', 1);
    await traffic('INSERT INTO public.big_orders (id, doubled) SELECT o.id, o.amount FROM public.orders o WHERE o.id > $i', 2);
    await traffic('INSERT INTO public.big_orders (id, doubled) VALUES (1, 2)', 1);
    const { rows, linkages, next } = await collectUsage(base);
    const idOf = (fragment: string) => String(rows.find((r) => String(r.query_text).includes(fragment))!.query_id);
    const shape = (fragment: string) =>
      linkages
        .filter((l) => l.query_id === idOf(fragment))
        .map((l) =>
          `${l.source_database}.${l.source_table}.${l.source_column ?? '*'} -> ${l.target_database}.${l.target_table}.${l.target_column ?? '*'} ${l.transformation ?? ''}`.trim(),
        )
        .sort();
    assert.deepEqual(shape('CREATE TABLE public.big_orders'), [
      'public.orders.* -> public.big_orders.*',
      'public.orders.amount -> public.big_orders.doubled expression',
      'public.orders.id -> public.big_orders.id identity',
    ]);
    assert.deepEqual(shape('SELECT o.id, o.amount'), [
      'public.orders.* -> public.big_orders.*',
      'public.orders.amount -> public.big_orders.doubled identity',
      'public.orders.id -> public.big_orders.id identity',
    ]);
    for (const l of linkages) {
      assert.equal(l.origin, 'QUERY');
      assert.equal(l.source_catalog, 'shop');
      assert.ok(l.observed_at instanceof Date);
    }
    assert.ok(!linkages.some((l) => l.query_id === idOf('VALUES')), 'an INSERT of VALUES moves no data between tables');
    // The next run: no new calls, so neither usage nor lineage again.
    const again = await collectUsage(next);
    assert.deepEqual(again.linkages, []);
  });

  it('a reset of the statistics between runs is a warning, and counts restart from it', async () => {
    const before = await collectUsage({});
    await pg.sql('SELECT pg_stat_statements_reset()');
    await traffic(`SELECT note FROM public.orders WHERE id = $i`, 2);
    const after = await collectUsage(before.next);
    assert.ok(
      after.warnings.some((w) => /pg_stat_statements was reset at .*not counted/.test(w)),
      after.warnings.join('\n'),
    );
    assert.equal(callsOf(after.rows, 'SELECT note FROM public.orders'), 2);
  });

  it("another user's statements hidden without pg_read_all_stats are counted and named with the GRANT", async () => {
    await pg.sql('REVOKE pg_read_all_stats FROM collector');
    try {
      await traffic(`SELECT id FROM public.orders WHERE amount > $i`, 1);
      const { rows, warnings, counters } = await collectUsage({});
      assert.ok(
        warnings.some((w) => w.includes('GRANT pg_read_all_stats TO collector')),
        warnings.join('\n'),
      );
      assert.ok((counters.usage_statements_hidden ?? 0) > 0);
      assert.equal(callsOf(rows, 'amount >'), 0);
    } finally {
      await pg.sql('GRANT pg_read_all_stats TO collector');
    }
  });

  it('without the extension: a warning naming what to install, no rows, the cursor unchanged; usage: false turns it off', async () => {
    await pg.sql('DROP EXTENSION pg_stat_statements');
    try {
      const kept = { [USAGE_CURSOR_KEY]: { at: '2026-01-01T00:00:00.000Z', statsReset: null, dealloc: 0, entries: [] } };
      const r = await collectUsage(kept);
      assert.deepEqual(r.rows, []);
      assert.ok(
        r.warnings.some((w) => /CREATE EXTENSION pg_stat_statements/.test(w)),
        r.warnings.join('\n'),
      );
      assert.deepEqual(r.next, kept);
      const off = await collectUsage({}, { usage: false });
      assert.deepEqual([off.rows, off.warnings], [[], []]);
    } finally {
      await pg.sql('CREATE EXTENSION pg_stat_statements');
    }
  });

  it('deltas: an entry whose counters went down or that was added again counts whole; evictions are reported', () => {
    const at0 = '2026-11-01T00:00:00.000Z';
    const at1 = '2026-11-01T01:00:00.000Z';
    const before = {
      at: at0,
      statsReset: null,
      dealloc: 2,
      entries: [
        ['a', 10, 100, 10, null],
        ['b', 10, 100, 10, '2026-10-01T00:00:00.000Z'],
        ['c', 10, 100, 10, null],
      ] as [string, number, number, number, string | null][],
    };
    const now = {
      at: at1,
      statsReset: null,
      dealloc: 5,
      entries: [
        ['a', 4, 40, 4, null], // reset by pg_stat_statements_reset(userid, dbid, queryid)
        ['b', 12, 120, 12, '2026-11-01T00:30:00.000Z'], // evicted and added again at 00:30
        ['c', 15, 150, 15, null],
        ['d', 1, 5, 0, null],
      ] as [string, number, number, number, string | null][],
    };
    const { deltas, warnings, entryResets } = usageDeltas(before, now);
    assert.deepEqual(Object.fromEntries(deltas), {
      a: { calls: 4, execUs: 40, rows: 4, since: at0 },
      b: { calls: 12, execUs: 120, rows: 12, since: '2026-11-01T00:30:00.000Z' },
      c: { calls: 5, execUs: 50, rows: 5, since: at0 },
      d: { calls: 1, execUs: 5, rows: 0, since: at0 },
    });
    assert.equal(entryResets, 2);
    assert.ok(warnings.some((w) => /3 statement\(s\) were evicted.*pg_stat_statements\.max/.test(w)));
  });
});

describe('postgres usage through the collect workflow (real Temporal, filesystem landing and HWM)', { timeout: 300_000 }, () => {
  it('commits the snapshot with the HWM (never in history); a failed run moves neither; the next run counts both periods once', async () => {
    await pg.sql('GRANT pg_read_all_stats TO collector');
    const env = await startCollectorEnv();
    try {
      process.env.USAGE_PG_PASSWORD = PW;
      writeFileSync(
        env.configPath,
        postgresCollectorsYaml(pg, { name: 'pg-usage', passwordVar: 'USAGE_PG_PASSWORD', databases: ['shop'], landingDir: env.landingDir }),
      );
      await env.inProcessWorker(['collectors']);
      const run = async (id: string) => {
        const handle = await env.temporal.client.workflow.start(COLLECT_WORKFLOW, {
          taskQueue: 'collectors',
          workflowId: id,
          args: [{ collector: 'pg-usage' }],
        });
        return { handle, result: handle.result() as Promise<RunSummary> };
      };
      const usageRows = (summary: RunSummary) => {
        const name = summary.files.find((f) => f.kind === 'usage')!.name;
        return readFileSync(join(env.landingDir, name), 'utf8');
      };

      await traffic(`SELECT amount FROM public.orders WHERE id = $i`, 3);
      const first = await run('usage-1');
      const s1 = await first.result;
      assert.equal(s1.status, 'completed');
      assert.match(usageRows(s1), /SELECT amount FROM public\.orders WHERE id = \$1/);
      const cursor1 = env.hwmCursor('pg-usage');
      const snapshot1 = cursor1?.[USAGE_CURSOR_KEY] as { at: string; entries: unknown[] } | undefined;
      assert.ok(snapshot1 && snapshot1.entries.length > 0, 'the snapshot is stored with the HWM');
      assert.equal(env.hwm('pg-usage'), s1.window.end);
      const history = JSON.stringify(await first.handle.fetchHistory());
      assert.ok(!history.includes(snapshot1.at), 'the cursor never reaches workflow history');
      assert.deepEqual(env.hwmDirEntries(), ['pg-usage_hwm.txt'], 'no parked cursor left behind');

      // A run that extracts but never commits (rejected at approval: the same path as a failed upload).
      // Its cursor waits parked in the store meanwhile; afterwards HWM and cursor are as they were.
      await traffic(`SELECT amount FROM public.orders WHERE id = $i`, 2);
      const held = await env.temporal.client.workflow.start(COLLECT_WORKFLOW, {
        taskQueue: 'collectors',
        workflowId: 'usage-2',
        args: [{ collector: 'pg-usage', requireApproval: true }],
      });
      for (let i = 0; (await held.query(progressQuery)).phase !== 'awaiting-approval'; i++) {
        const phase = (await held.query(progressQuery)).phase;
        // A run that ended instead says why at once, rather than after the test's whole timeout.
        if (phase === 'failed' || phase === 'done') await held.result();
        assert.ok(i < 1500, `the run reaches the approval step: ${JSON.stringify(await held.query(progressQuery))}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.equal(env.hwmDirEntries().filter((f) => f.startsWith('pg-usage_cursor-')).length, 1, 'the next cursor is parked');
      await held.signal(rejectSignal, { by: 'test', reason: 'not now' });
      assert.equal(((await held.result()) as RunSummary).status, 'rejected');
      assert.equal(env.hwm('pg-usage'), s1.window.end);
      assert.deepEqual(env.hwmCursor('pg-usage'), cursor1, 'a run that does not commit leaves the cursor as it was');
      assert.deepEqual(env.hwmDirEntries(), ['pg-usage_hwm.txt'], "cleanup removed the uncommitted run's parked cursor");

      await traffic(`SELECT amount FROM public.orders WHERE id = $i`, 4);
      const s3 = await (await run('usage-3')).result;
      const line = usageRows(s3)
        .split('\r\n')
        .find((l) => l.includes('SELECT amount FROM public.orders WHERE id'))!;
      // calls is the third column from the end (calls, total_exec_us, rows).
      assert.equal(Number(line.split(',').at(-3)), 6, `the calls of both periods, once: ${line}`);
    } finally {
      await env.stop();
    }
  });
});
