import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { once } from 'node:events';
import pino from 'pino';
import { runUnits, type ExtractCheckpoint } from '../src/extracts/run-units';
import { validateFiles } from '../src/extracts/validate';
import { ValidationError } from '../src/contracts/errors';
import { COLUMNS, EXTRACT_KINDS, FORMAT_VERSION } from '../src/contracts/extract-format';
import type { ExtractUnit, Source } from '../src/contracts/plugin';
import { applyCursorChanges, cursorView } from '../src/hwm/cursor';

// A narrow in-test source: three databases' worth of metadata rows, one of which can be made to fail.
function tinySource(failOn?: string, runs: string[] = []): Source {
  return {
    concurrency: 2,
    async *units(ctx): AsyncIterable<ExtractUnit> {
      ctx.count('tiny_listings');
      for (const db of ['sales', 'finance', 'hr']) {
        yield {
          key: `metadata:cat/${db}`,
          async run(out) {
            runs.push(db);
            await new Promise((r) => setTimeout(r, db === 'finance' ? 20 : 1));
            ctx.count('tiny_tables'); // counted before the failure below: it must not survive it
            if (db === failOn) throw new Error(`boom in ${db}`);
            for (let i = 1; i < 3; i++) ctx.count('tiny_tables');
            for (let i = 0; i < 3; i++) {
              await out.write('tables', {
                catalog: 'cat',
                database: db,
                table_name: `t${i}`,
                table_type: 'EXTERNAL_TABLE',
                column_count: 1,
                table_create_time: new Date('2026-01-01T00:00:00Z'),
                table_parameters: { a: '1' },
              });
              await out.write('metadata', {
                catalog: 'cat',
                database: db,
                table_name: `t${i}`,
                column_name: 'c, "quoted"\nnewline',
                ordinal_position: 1,
                is_partition_key: false,
              });
            }
          },
        };
      }
    },
    async testConnection() {
      return [];
    },
    async close() {},
  };
}

const ctx = () => ({
  log: pino({ level: 'silent' }),
  signal: new AbortController().signal,
  window: { start: '2026-11-01T00:00:00.000Z', end: '2026-11-02T00:00:00.000Z' },
});

describe('extract: units, checkpoint, assembly, validation', () => {
  it('writes one RFC 4180 file per kind with a header, and validation accepts it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'x-'));
    const { files } = await runUnits({
      source: tinySource(),
      sourceType: 'tiny',
      collector: 'c1',
      stamp: '20261102T000000Z',
      compress: false,
      dir,
      ctx: ctx(),
      onUnitDone() {},
    });
    assert.deepEqual(
      files.map((f) => [f.name, f.rows]),
      [
        ['c1_tables_20261102T000000Z.csv', 9],
        ['c1_metadata_20261102T000000Z.csv', 9],
        ['c1_databaselog_20261102T000000Z.csv', 0],
        ['c1_linkages_20261102T000000Z.csv', 0],
        ['c1_events_20261102T000000Z.csv', 0],
        ['c1_usage_20261102T000000Z.csv', 0],
      ],
    );
    const tables = readFileSync(files[0]!.path, 'utf8');
    assert.ok(tables.startsWith('catalog,database,table_name,table_type,column_count,location,'));
    assert.ok(tables.includes('2026-01-01T00:00:00.000Z'));
    assert.ok(tables.includes('"{""a"":""1""}"'));
    const text = readFileSync(files[1]!.path, 'utf8');
    assert.ok(text.startsWith('catalog,database,table_name,column_name,ordinal_position,'));
    assert.ok(text.includes('"c, ""quoted""\nnewline"'), 'quotes and newlines escaped per RFC 4180');
    // Parts are assembled in unit-key order, so the same extract gives the same bytes.
    assert.ok(text.indexOf('finance') < text.indexOf('hr') && text.indexOf('hr') < text.indexOf('sales'));
    const validated = await validateFiles(files);
    assert.equal(validated[1]!.rows, 9);
    assert.match(validated[1]!.sha256, /^[0-9a-f]{64}$/);
    assert.equal(existsSync(join(dir, 'parts')), false, 'parts are removed after assembly');
  });

  it('cursor entries: those of finished units count, never those of a failed one; kept across a resume, never in the checkpoint', async () => {
    // Each unit counts its runs in the cursor, starting from what the previous run left.
    const counting = (failOn?: string): Source => ({
      concurrency: 1,
      async *units(c): AsyncIterable<ExtractUnit> {
        for (const db of ['a', 'b', 'c']) {
          yield {
            key: `u/${db}`,
            async run(out) {
              const before = c.cursor.get(`seen:${db}`);
              out.setCursor(`seen:${db}`, (typeof before === 'number' ? before : 0) + 1);
              out.setCursor('gone', null);
              await out.write('events', {
                event_time: new Date('2026-11-01T00:00:00Z'),
                event_type: 'x',
                object_type: 'table',
                query_id: db,
                state: 'SUCCEEDED',
              });
              if (db === failOn) throw new Error(`boom in ${db}`);
            },
          };
        }
      },
      testConnection: async () => [],
      close: async () => {},
    });
    const dir = mkdtempSync(join(tmpdir(), 'x-'));
    const previous = cursorView({ 'seen:a': 4, gone: 'x', kept: [1] });
    let checkpoint: ExtractCheckpoint | undefined;
    const base = { sourceType: 't', collector: 'c1', stamp: 's', compress: false, dir };
    await assert.rejects(
      runUnits({
        ...base,
        source: counting('c'),
        ctx: { ...ctx(), cursor: previous },
        onUnitDone: (cp) => (checkpoint = structuredClone(cp)),
      }),
      /boom in c/,
    );
    assert.deepEqual(
      checkpoint?.units.map((u) => [u.key, u.cursor]),
      [
        ['u/a', true],
        ['u/b', true],
      ],
    );
    assert.ok(!JSON.stringify(checkpoint).includes('seen:'), 'cursor values stay on disk, out of heartbeats');
    const { cursor } = await runUnits({ ...base, source: counting(), ctx: { ...ctx(), cursor: previous }, checkpoint, onUnitDone() {} });
    // a and b come from the first attempt (not run again), c from the second; `gone` removed.
    assert.deepEqual(cursor, { 'seen:a': 5, gone: null, 'seen:b': 1, 'seen:c': 1 });
    assert.equal(applyCursorChanges({ 'seen:a': 4, gone: 'x', kept: [1] }, cursor), '{"seen:a":5,"kept":[1],"seen:b":1,"seen:c":1}');
  });

  it('resumes from a checkpoint: done units are not run again, output is the same', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'x-'));
    let checkpoint: ExtractCheckpoint | undefined;
    const firstRuns: string[] = [];
    await assert.rejects(
      runUnits({
        source: tinySource('hr', firstRuns),
        sourceType: 'tiny',
        collector: 'c1',
        stamp: 's',
        compress: true,
        dir,
        ctx: ctx(),
        onUnitDone: (cp) => (checkpoint = structuredClone(cp)),
      }),
      /boom in hr/,
    );
    assert.ok(checkpoint && checkpoint.units.length >= 1);
    const doneBefore = checkpoint.units.map((u) => u.key.split('/')[1]);
    assert.equal(checkpoint.counters.tiny_tables, 3 * checkpoint.units.length, 'only finished units count in a checkpoint');
    assert.equal(checkpoint.counters.tiny_listings, undefined, 'listing counts are per attempt, not checkpointed');
    const secondRuns: string[] = [];
    const { files, checkpoint: final } = await runUnits({
      source: tinySource(undefined, secondRuns),
      sourceType: 'tiny',
      collector: 'c1',
      stamp: 's',
      compress: true,
      dir,
      ctx: ctx(),
      checkpoint,
      onUnitDone() {},
    });
    for (const db of doneBefore) assert.ok(!secondRuns.includes(db!), `${db} was already done and must not run again`);
    assert.ok(secondRuns.includes('hr'));
    assert.deepEqual(final.counters, { tiny_tables: 9, tiny_listings: 1 }, 'counters as a clean run has them');
    assert.equal(files[0]!.rows, 9);
    const csv = gunzipSync(readFileSync(files[0]!.path)).toString();
    assert.equal(csv.split('\r\n').filter((l) => l.startsWith('cat,')).length, 9);
    await validateFiles(files);
  });

  it('a checkpoint written in another extract format is not resumed: every unit runs again, in this format', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'x-'));
    let checkpoint: ExtractCheckpoint | undefined;
    await assert.rejects(
      runUnits({
        source: tinySource('hr'),
        sourceType: 'tiny',
        collector: 'c1',
        stamp: 's',
        compress: false,
        dir,
        ctx: ctx(),
        onUnitDone: (cp) => (checkpoint = structuredClone(cp)),
      }),
      /boom in hr/,
    );
    assert.ok(checkpoint && checkpoint.units.length >= 1);
    assert.equal(checkpoint.formatVersion, FORMAT_VERSION);
    // As a build of another format would have left it (older builds wrote no version at all).
    const { formatVersion: _dropped, ...older } = checkpoint;
    const runs: string[] = [];
    const { files, reused } = await runUnits({
      source: tinySource(undefined, runs),
      sourceType: 'tiny',
      collector: 'c1',
      stamp: 's',
      compress: false,
      dir,
      ctx: ctx(),
      checkpoint: older,
      onUnitDone() {},
    });
    assert.equal(reused, 0);
    assert.deepEqual([...runs].sort(), ['finance', 'hr', 'sales']);
    assert.equal(files[0]!.rows, 9);
    await validateFiles(files);
  });

  it('beyond inlineUnits the checkpoint points into the staging journal; a resume from it matches a clean run', async () => {
    // Twelve units; unit 9 fails on the first attempt, after most others finished.
    const manyUnits = (failOn: number | undefined, runs: number[]): Source => ({
      ...tinySource(),
      async *units(ctx): AsyncIterable<ExtractUnit> {
        for (let i = 0; i < 12; i++) {
          yield {
            key: `metadata:cat/db${String(i).padStart(2, '0')}`,
            async run(out) {
              runs.push(i);
              await new Promise((r) => setTimeout(r, i === failOn ? 30 : 1));
              if (i === failOn) throw new Error(`boom in ${i}`);
              ctx.count('tables', 2);
              for (let t = 0; t < 2; t++)
                await out.write('tables', {
                  catalog: 'cat',
                  database: `db${i}`,
                  table_name: `t${t}`,
                  table_type: 'EXTERNAL_TABLE',
                  column_count: 0,
                });
            },
          };
        }
      },
    });
    const run = (dir: string, source: Source, checkpoint?: ExtractCheckpoint, seen?: (cp: ExtractCheckpoint, rows: number) => void) =>
      runUnits({
        source,
        sourceType: 'tiny',
        collector: 'c1',
        stamp: 's',
        compress: false,
        dir,
        ctx: ctx(),
        checkpoint,
        inlineUnits: 4,
        onUnitDone: seen ?? (() => undefined),
      });

    const clean = await run(mkdtempSync(join(tmpdir(), 'j-')), manyUnits(undefined, []));
    const dir = mkdtempSync(join(tmpdir(), 'j-'));
    let checkpoint: ExtractCheckpoint | undefined;
    let rowsSeen = 0;
    await assert.rejects(
      run(dir, manyUnits(9, []), undefined, (cp, rows) => ((checkpoint = structuredClone(cp)), (rowsSeen = rows))),
      /boom in 9/,
    );
    assert.ok(checkpoint);
    const n = checkpoint.journaled!;
    assert.ok(n > 4, `journaled ${n}`);
    assert.deepEqual(checkpoint.units, [], 'past inlineUnits the heartbeat carries a count, not the list');
    assert.equal(rowsSeen, 2 * n);
    assert.equal(checkpoint.counters.tables, 2 * n);
    const journal = readFileSync(join(dir, 'parts', 'units.jsonl'), 'utf8')
      .trim()
      .split('\n');
    assert.ok(journal.length >= n);

    // Units that finished after the last recorded heartbeat (lines past its count) are not trusted: they
    // run again. Here the heartbeat lags two units behind the journal, which ends in a torn line.
    writeFileSync(join(dir, 'parts', 'units.jsonl'), `${journal.slice(0, n).join('\n')}\n{"torn`);
    const lagging: ExtractCheckpoint = { ...checkpoint, journaled: n - 2, counters: { tables: 2 * (n - 2) } };
    const untrusted = journal.slice(n - 2, n).map((l) => Number((JSON.parse(l) as { key: string }).key.slice(-2)));
    const runs: number[] = [];
    const resumed = await run(dir, manyUnits(undefined, runs), lagging);
    assert.equal(runs.length, 12 - (n - 2), `only the units past the checkpoint run again: ${runs.join(',')}`);
    for (const i of [9, ...untrusted]) assert.ok(runs.includes(i), `unit ${i} runs again`);
    assert.deepEqual(
      resumed.files.map((f) => [f.name, f.rows]),
      clean.files.map((f) => [f.name, f.rows]),
    );
    assert.equal(readFileSync(resumed.files[0]!.path, 'utf8'), readFileSync(clean.files[0]!.path, 'utf8'));
    assert.deepEqual(resumed.checkpoint.counters, clean.checkpoint.counters);
    assert.deepEqual(resumed.checkpoint.counters, { tables: 24 });

    // A journal shorter than its checkpoint says cannot be trusted at all: start over.
    const dir2 = mkdtempSync(join(tmpdir(), 'j-'));
    await assert.rejects(
      run(dir2, manyUnits(9, []), undefined, (cp) => (checkpoint = structuredClone(cp))),
      /boom in 9/,
    );
    writeFileSync(join(dir2, 'parts', 'units.jsonl'), '');
    const again: number[] = [];
    const restarted = await run(dir2, manyUnits(undefined, again), checkpoint);
    assert.equal(again.length, 12);
    assert.deepEqual(restarted.checkpoint.counters, { tables: 24 });
  });

  it('warnings carry no resolved secret value (they reach heartbeats, the run summary and the manifest)', async () => {
    const leaky: Source = {
      ...tinySource(),
      async *units(ctx): AsyncIterable<ExtractUnit> {
        yield {
          key: 'metadata:cat/leaky',
          async run() {
            ctx.warn('endpoint https://user:Tr0ub4dor-and-3@example.test refused the listing');
          },
        };
      },
    };
    const dir = mkdtempSync(join(tmpdir(), 'w-'));
    const { checkpoint } = await runUnits({
      source: leaky,
      sourceType: 'tiny',
      collector: 'c1',
      stamp: 's',
      compress: false,
      dir,
      ctx: ctx(),
      knownSecrets: ['Tr0ub4dor-and-3'],
      onUnitDone() {},
    });
    assert.equal(checkpoint.warnings.length, 1);
    assert.ok(!checkpoint.warnings[0]!.includes('Tr0ub4dor-and-3'), checkpoint.warnings[0]);
  });

  it('an aborted extract returns only once every running unit has stopped writing', async () => {
    const stop = new AbortController();
    let running = 0;
    let peak = 0;
    const slowToStop: Source = {
      ...tinySource(),
      async *units(ctx): AsyncIterable<ExtractUnit> {
        for (let i = 0; i < 10; i++) {
          ctx.signal.throwIfAborted(); // a lazily paging listing fails once aborted
          yield {
            key: `metadata:cat/slow${i}`,
            async run() {
              running++;
              peak = Math.max(peak, running);
              try {
                if (!ctx.signal.aborted) await once(ctx.signal, 'abort');
                await new Promise((r) => setTimeout(r, i === 0 ? 5 : 300)); // one unit takes a while to unwind
              } finally {
                running--;
              }
            },
          };
        }
      },
    };
    const dir = mkdtempSync(join(tmpdir(), 'a-'));
    const extract = runUnits({
      source: slowToStop,
      sourceType: 'tiny',
      collector: 'c1',
      stamp: 's',
      compress: false,
      dir,
      ctx: { ...ctx(), signal: stop.signal },
      onUnitDone() {},
    });
    await new Promise((r) => setTimeout(r, 20));
    stop.abort(new Error('superseded'));
    await assert.rejects(extract);
    assert.equal(peak, 2, 'two units were running');
    assert.equal(running, 0, 'none still running when runUnits returned');
  });

  it('validation catches a wrong header, bad types, missing required values, wrong counts and corrupt gzip', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'v-'));
    const bad = join(dir, 'c_metadata_s.csv');
    writeFileSync(bad, 'catalog,database\r\n');
    const header =
      'query_id,query_text,statement_type,state,error_message,catalog,database,submission_time,completion_time,data_scanned_bytes,engine_execution_ms,queue_ms,planning_ms,total_execution_ms,workgroup,user_name,query_tags\r\n';
    const log = join(dir, 'c_databaselog_s.csv');
    writeFileSync(
      log,
      `${header}q1,select 1,DML,SUCCEEDED,,c,d,yesterday,,12x,,,,,wg,u,\r\n,select 2,DML,SUCCEEDED,,c,d,2026-11-01T00:00:00.000Z,,1,,,,,wg,u,\r\n`,
    );
    const gz = join(dir, 'c_events_s.csv.gz');
    writeFileSync(gz, Buffer.from('not gzip at all'));
    await assert.rejects(
      validateFiles([
        { kind: 'metadata', name: 'c_metadata_s.csv', path: bad, rows: 0 },
        { kind: 'databaselog', name: 'c_databaselog_s.csv', path: log, rows: 5 },
        { kind: 'events', name: 'c_events_s.csv.gz', path: gz, rows: 0 },
      ]),
      (e: unknown) => {
        assert.ok(e instanceof ValidationError);
        const m = e.message;
        assert.match(m, /c_metadata_s\.csv: header is "catalog,database"/);
        assert.match(m, /row 1, column submission_time: not an ISO-8601 UTC timestamp: "yesterday"/);
        assert.match(m, /row 1, column data_scanned_bytes: not an integer: "12x"/);
        assert.match(m, /row 2, column query_id: required but empty/);
        assert.match(m, /holds 2 rows but the extract reported 5/);
        assert.match(m, /c_events_s\.csv\.gz: gzip is corrupt/);
        assert.match(m, /nothing was uploaded and the HWM is unchanged/);
        return true;
      },
    );
  });

  it('the format in code is the one docs/extract-format.md documents; per-source columns are never required', async () => {
    const doc = readFileSync(join(__dirname, '..', 'docs', 'extract-format.md'), 'utf8');
    assert.match(doc, new RegExp(`^# Extract format \\(version ${FORMAT_VERSION}\\)$`, 'm'));
    assert.match(doc, new RegExp(`"formatVersion": "${FORMAT_VERSION}"`));
    for (const kind of EXTRACT_KINDS) {
      const section = doc.split(`### \`${kind}\``)[1]!.split('\n### ')[0]!;
      const rows = [...section.matchAll(/^\| `([a-z_]+)` \| (\w+) \| ([a-z ]*?) ?\|$/gm)].map((m) => [m[1], m[2], m[3]]);
      const expected = COLUMNS[kind].map((c) => [c.name, c.type, c.required ? 'yes' : c.sourceSpecific ? 'per source' : '']);
      assert.deepEqual(rows, expected, `${kind} columns as documented`);
      for (const c of COLUMNS[kind]) assert.ok(!(c.required && c.sourceSpecific), `${kind}.${c.name}`);
    }
    // A source without workgroups (or Athena's query statistics) writes valid rows.
    const dir = mkdtempSync(join(tmpdir(), 'f-'));
    const path = join(dir, 'c_databaselog_s.csv');
    const header = COLUMNS.databaselog.map((c) => c.name).join(',');
    const row = COLUMNS.databaselog
      .map((c) => ({ query_id: 'q1', state: 'SUCCEEDED', submission_time: '2026-11-01T00:00:00.000Z', user_name: 'alice' })[c.name] ?? '')
      .join(',');
    writeFileSync(path, `${header}\r\n${row}\r\n`);
    await validateFiles([{ kind: 'databaselog', name: 'c_databaselog_s.csv', path, rows: 1 }]);
  });
});
