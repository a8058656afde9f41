/**
 * The source contract as a test, written once: `sourceConformance(name, setup)` inside a test file
 * checks what every source must do for the collector to run it (src/contracts/plugin.ts,
 * docs/plugins.md). A new source calls it with a config that extracts at least two units of rows.
 *
 * It drives the source the way the extract activity does: through runUnits (src/extracts/run-units.ts)
 * into part files, validated by src/extracts/validate.ts, with the source closed in a `finally`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import {
  API_OUTCOMES,
  type ApiOutcome,
  type ExtractContext,
  type ExtractUnit,
  type Source,
  type SourcePlugin,
  type UnitOutput,
} from '../../src/contracts/plugin';
import type { Window } from '../../src/contracts/window';
import { runUnits, type ExtractCheckpoint, type ExtractedFile } from '../../src/extracts/run-units';
import { validateFiles } from '../../src/extracts/validate';
import { cursorView } from '../../src/hwm/cursor';

export interface SourceConformanceSetup<C> {
  plugin: SourcePlugin<C>;
  /** A resolved config (secrets replaced) whose extract of `window` lists at least two units and writes rows. */
  config: C;
  window: Window;
  /** The resolved secret values in `config`: none may appear in what testConnection returns. */
  secrets: string[];
  teardown?(): Promise<void>;
}

const TARGET_KINDS = new Set(['endpoint', 'path', 'role', 'ambient-credentials']);

export function sourceConformance<C>(name: string, setup: () => SourceConformanceSetup<C> | Promise<SourceConformanceSetup<C>>): void {
  describe(`source contract: ${name}`, () => {
    let s: SourceConformanceSetup<C>;
    const reported: [string, ApiOutcome][] = [];
    const dirs: string[] = [];
    const staging = () => {
      const d = mkdtempSync(join(tmpdir(), 'source-contract-'));
      dirs.push(d);
      return d;
    };
    const create = (signal: AbortSignal = new AbortController().signal): Source =>
      s.plugin.create(s.config, {
        log: pino({ level: 'silent' }),
        signal,
        apiCall: (operation, outcome) => void reported.push([operation, outcome]),
      });
    const extract = (
      source: Source,
      dir: string,
      signal: AbortSignal,
      checkpoint?: ExtractCheckpoint,
      onUnitDone: (cp: ExtractCheckpoint) => void = () => undefined,
    ) =>
      runUnits({
        source,
        sourceType: s.plugin.type,
        collector: 'conformance',
        stamp: '20261102T000000Z',
        compress: false,
        dir,
        ctx: { log: pino({ level: 'silent' }), signal, window: s.window },
        checkpoint,
        onUnitDone,
      });
    /** The unit keys a fresh source lists for the setup's config and window (nothing is run). */
    const listKeys = async (): Promise<string[]> => {
      const source = create();
      try {
        const keys: string[] = [];
        for await (const unit of source.units(extractCtx(s.window, new AbortController().signal))) keys.push(unit.key);
        return keys;
      } finally {
        await source.close();
      }
    };
    /** Sorted data lines of each file: the comparison of two extracts that ran units in other orders. */
    const contents = (files: ExtractedFile[]) =>
      Object.fromEntries(files.map((f) => [f.kind, readFileSync(f.path, 'utf8').split('\r\n').slice(1).sort()]));
    let clean: { files: ExtractedFile[]; contents: Record<string, string[]> };

    before(async () => {
      s = await setup();
    });
    after(async () => {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
      await s?.teardown?.();
    });

    it('declares what it reaches (targets)', () => {
      assert.equal(typeof s.plugin.targets, 'function', `${name} declares no targets(): recipes could never use it`);
      const targets = s.plugin.targets!(s.config);
      assert.ok(Array.isArray(targets));
      for (const t of targets) {
        assert.ok(TARGET_KINDS.has(t.kind), `target kind ${t.kind}`);
        assert.ok(t.field && t.value, `target ${JSON.stringify(t)} names its field and value`);
      }
    });

    it('lists unique unit keys, the same for the same config and window', async () => {
      const first = await listKeys();
      assert.ok(first.length >= 2, `the conformance config must list at least two units, got ${first.length}`);
      assert.equal(new Set(first).size, first.length, `duplicate keys in ${JSON.stringify(first)}`);
      assert.deepEqual([...(await listKeys())].sort(), [...first].sort(), 'a second listing gave other keys');
    });

    it('writes only rows valid for their kind, then closes (twice)', async () => {
      const source = create();
      assert.ok(Number.isInteger(source.concurrency) && source.concurrency >= 1, `concurrency ${source.concurrency}`);
      let files: ExtractedFile[];
      try {
        ({ files } = await extract(source, staging(), new AbortController().signal));
      } finally {
        await source.close();
      }
      await source.close();
      assert.ok(files.reduce((n, f) => n + f.rows, 0) > 0, 'the conformance config must write rows');
      await validateFiles(files);
      clean = { files, contents: contents(files) };
      for (const [operation, outcome] of reported) {
        assert.ok(operation.length > 0 && (API_OUTCOMES as readonly string[]).includes(outcome), `apiCall(${operation}, ${outcome})`);
      }
    });

    it('a retry with the checkpoint runs only the units not done, with the same output', async () => {
      assert.ok(clean, 'needs the clean extract above');
      const keys = await listKeys();
      const failing = keys[keys.length - 1]!;
      const dir = staging();
      let checkpoint: ExtractCheckpoint | undefined;
      const first = create();
      try {
        await assert.rejects(
          extract(failUnit(first, failing), dir, new AbortController().signal, undefined, (cp) => (checkpoint = structuredClone(cp))),
          /conformance: unit failed on purpose/,
        );
      } finally {
        await first.close();
      }
      await first.close();
      const done = new Set((checkpoint?.units ?? []).map((u) => u.key));
      // Running units finish before runUnits gives up, so the units before the failing one are done.
      assert.ok(done.size >= 1 && !done.has(failing), `checkpoint ${JSON.stringify(checkpoint)}`);

      const ran: string[] = [];
      const second = create();
      let files: ExtractedFile[];
      try {
        ({ files } = await extract(recordUnits(second, ran), dir, new AbortController().signal, checkpoint));
      } finally {
        await second.close();
      }
      assert.deepEqual(ran.sort(), keys.filter((k) => !done.has(k)).sort(), 'exactly the units the checkpoint does not list ran again');
      assert.deepEqual(contents(files), clean.contents);
    });

    it('stops on cancellation: no unit starts after it, a unit started cancelled writes nothing, nothing writes after the extract returns', async () => {
      const stop = new AbortController();
      const source = create(stop.signal);
      const started: { key: string; afterAbort: boolean; writes: number }[] = [];
      let settled = false;
      let writesAfterSettled = 0;
      const watched = mapUnits(source, (unit) => ({
        key: unit.key,
        run(out) {
          const entry = { key: unit.key, afterAbort: stop.signal.aborted, writes: 0 };
          started.push(entry);
          // The first unit to start cancels the extract before it does anything.
          if (started.length === 1) stop.abort(new Error('conformance: cancelled'));
          const counted: UnitOutput = {
            setCursor: () => undefined,
            write(kind, row) {
              entry.writes++;
              if (settled) writesAfterSettled++;
              return out.write(kind, row);
            },
          };
          return unit.run(counted);
        },
      }));
      try {
        await assert.rejects(extract(watched, staging(), stop.signal));
      } finally {
        settled = true;
        await source.close();
      }
      await source.close();
      assert.ok(started.length >= 1);
      assert.equal(started[0]!.writes, 0, 'the unit that started cancelled wrote rows');
      assert.deepEqual(
        started.filter((u) => u.afterAbort).map((u) => u.key),
        [],
        'units started after the cancellation',
      );
      // Let anything the source left behind run, then check it wrote nothing.
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(writesAfterSettled, 0);
    });

    it('testConnection returns checks with required set and no secret, and the source closes after it', async () => {
      const source = create();
      let checks;
      try {
        checks = await source.testConnection();
      } finally {
        await source.close();
      }
      assert.ok(Array.isArray(checks) && checks.length > 0, 'at least one check');
      for (const c of checks) {
        assert.equal(typeof c.name, 'string');
        assert.equal(typeof c.ok, 'boolean', `${c.name}: ok`);
        assert.equal(typeof c.required, 'boolean', `${c.name}: required`);
        const text = `${c.name} ${c.detail ?? ''} ${c.grant ?? ''}`;
        for (const secret of s.secrets) assert.ok(!text.includes(secret), `${c.name} shows a secret`);
      }
    });
  });
}

function extractCtx(window: Window, signal: AbortSignal): ExtractContext {
  return { log: pino({ level: 'silent' }), signal, window, cursor: cursorView({}), warn: () => undefined, count: () => undefined };
}

/** The same source, except that the unit `key` fails once its turn comes. */
function failUnit(source: Source, key: string): Source {
  return mapUnits(source, (unit) =>
    unit.key === key ? { key, run: () => Promise.reject(new Error('conformance: unit failed on purpose')) } : unit,
  );
}

/** The same source, recording the key of every unit that runs. */
function recordUnits(source: Source, ran: string[]): Source {
  return mapUnits(source, (unit) => ({ key: unit.key, run: (out) => (ran.push(unit.key), unit.run(out)) }));
}

function mapUnits(source: Source, map: (unit: ExtractUnit) => ExtractUnit): Source {
  return {
    concurrency: source.concurrency,
    testConnection: () => source.testConnection(),
    close: () => source.close(),
    async *units(ctx) {
      for await (const unit of source.units(ctx)) yield map(unit);
    },
  };
}
