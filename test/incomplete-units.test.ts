/**
 * The extract's unit runner with units a source gives up on (UnitIncompleteError): the run goes on
 * without their rows, counts or cursor entries, lists them (scrubbed, bounded) for the manifest, and a
 * resumed attempt tries them again. Any other error still fails the extract.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import pino from 'pino';
import { INCOMPLETE_UNITS_FILE, runUnits, type ExtractCheckpoint } from '../src/extracts/run-units';
import { UnitIncompleteError } from '../src/contracts/errors';
import type { ExtractUnit, Source } from '../src/contracts/plugin';

const SECRET = 'sekrit-value-123';

/** Three databases; `broken` writes and counts, then gives up (or fails, with `fatal`). */
function source(broken: Set<string>, runs: string[], fatal = false): Source {
  return {
    concurrency: 2,
    async *units(): AsyncIterable<ExtractUnit> {
      for (const db of ['a', 'b', 'c']) {
        yield {
          key: `metadata:cat/${db}`,
          async run(out) {
            runs.push(db);
            for (let i = 0; i < 500; i++) {
              await out.write('metadata', { catalog: 'cat', database: db, table_name: `t${i}`, column_name: 'c', ordinal_position: 1 });
            }
            out.setCursor(`seen:${db}`, true);
            if (!broken.has(db)) return;
            if (fatal) throw new Error(`boom in ${db}`);
            throw new UnitIncompleteError(`connector of ${db} down (token ${SECRET}) ${'x'.repeat(2000)}`, {
              catalog: 'cat',
              database: db,
            });
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

async function run(broken: Set<string>, runs: string[], fatal = false) {
  const dir = mkdtempSync(join(tmpdir(), 'iu-'));
  let last: ExtractCheckpoint | undefined;
  const result = await runUnits({
    source: source(broken, runs, fatal),
    sourceType: 'tiny',
    collector: 'c',
    stamp: 's',
    compress: false,
    dir,
    ctx: { log: pino({ level: 'silent' }), signal: new AbortController().signal, window: { start: 'a', end: 'b' } },
    knownSecrets: [SECRET],
    onUnitDone(cp) {
      last = structuredClone(cp);
    },
  });
  return { ...result, last, dir };
}

describe('incomplete units', () => {
  it('the run goes on without their rows or cursor entries, and lists them scrubbed and bounded', async () => {
    const runs: string[] = [];
    const x = await run(new Set(['b']), runs);
    const metadata = readFileSync(x.files.find((f) => f.kind === 'metadata')!.path, 'utf8');
    assert.equal(x.files.find((f) => f.kind === 'metadata')!.rows, 1000);
    assert.doesNotMatch(metadata, /,b,/);
    assert.deepEqual(Object.keys(x.cursor).sort(), ['seen:a', 'seen:c']);
    assert.equal(x.incomplete.length, 1);
    const u = x.incomplete[0]!;
    assert.deepEqual([u.key, u.catalog, u.database], ['metadata:cat/b', 'cat', 'b']);
    assert.ok(!u.reason.includes(SECRET), 'secrets scrubbed from the reason');
    assert.ok(u.reason.length <= 500, `reason bounded (${u.reason.length})`);
    assert.equal(x.checkpoint.counters.units_incomplete, 1);
    assert.match(x.checkpoint.warnings.join('\n'), /1 unit\(s\) incomplete.*metadata:cat\/b \(connector of b down/);
    assert.deepEqual(JSON.parse(readFileSync(join(x.dir, INCOMPLETE_UNITS_FILE), 'utf8')), x.incomplete);
    // Not in the heartbeat checkpoint, so a resumed attempt runs the unit again rather than skipping it.
    assert.deepEqual(x.last!.units.map((d) => d.key).sort(), ['metadata:cat/a', 'metadata:cat/c']);
    assert.deepEqual(runs.sort(), ['a', 'b', 'c']);
  });

  it('any other error of a unit still fails the extract', async () => {
    await assert.rejects(run(new Set(['b']), [], true), /boom in b/);
  });
});
