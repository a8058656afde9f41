/**
 * The collect workflow end to end on a real Temporal server, real workers, the local Athena endpoint
 * through the real AWS SDK, and a landing directory.
 */
import { unitsDone, type ExtractCheckpoint } from '../src/extracts/run-units';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ActivityFailure, WorkflowFailedError } from '@temporalio/client';
import { writeFileSync } from 'node:fs';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import type { RunSummary, Progress } from '../src/run/types';
import { buildSchedule } from '../src/cli/schedule';
import { failureMessage } from '../src/cli/run';
import { startCollectorEnv, type CollectorEnv } from './support/collector-env';
import { waitFor } from './support/processes';
import { saveHistory } from './support/histories';
import { FileHwmStore } from '../src/connectors/filesystem/hwm';
import { acquirePublishLease, leaseKey, releasePublishLease } from '../src/hwm/lease';
import { EXTRACT_KINDS } from '../src/contracts/extract-format';

let env: CollectorEnv;
const notADirectory = () => {
  const f = join(env.root, 'landing-is-a-file');
  writeFileSync(f, 'x');
  return f;
};
const start = (collector: string, id: string, extra: Record<string, unknown> = {}, taskQueue = 'collectors') =>
  env.temporal.client.workflow.start('collect', { taskQueue, workflowId: id, args: [{ collector, ...extra }] });
const landedFor = (collector: string) => env.landed().filter((f) => f.startsWith(`${collector}_`));

describe('collect workflow on a real Temporal server', { timeout: 600_000 }, () => {
  before(async () => {
    env = await startCollectorEnv();
    env.writeConfig({
      e2e: {},
      e2e2: {},
      // The landing "directory" is a regular file: every put fails, non-retryably.
      failing: { landing: { type: 'filesystem', path: notADirectory() } },
      // One unit at a time (with slow ListTableMetadata below), so a kill lands mid-extract, after a checkpoint.
      // The restarted worker must come back before the host counts as lost: on a loaded machine a worker
      // takes longer than the default 6 s of these tests to start, so this collector waits for it longer.
      killed: { source: { maxConcurrency: 1 }, options: { hostPickupTimeout: '2m' } },
      killedref: {},
      rerouted: { source: { maxConcurrency: 1 } },
      cancelled: {},
      scheduled: {},
      race: {},
      leased: {},
      gated: { options: { requireApproval: true, approvalTimeout: '1m' } },
      dry: { options: { dryRun: true } },
      apart: { executor: 'net-a' },
    });
  });
  after(async () => env?.stop());

  it('runs extract -> validate -> upload -> commit HWM, and the next run starts where it ended', async () => {
    const w = await env.inProcessWorker(['collectors']);
    try {
      const first = await start('e2e', 'e2e-1');
      const a = (await first.result()) as RunSummary;
      assert.equal(a.status, 'completed');
      assert.equal(a.windowOrigin, 'initial-lookback');
      assert.deepEqual(
        a.files.map((f) => f.name.replace(/_\d{8}T\d{6}Z/, '')),
        ['e2e_tables.csv', 'e2e_metadata.csv', 'e2e_databaselog.csv', 'e2e_linkages.csv', 'e2e_events.csv', 'e2e_usage.csv'],
      );
      assert.ok(a.files.find((f) => f.kind === 'tables')!.rows > 50, 'the demo catalog has more than one page of tables');
      assert.ok(a.files.find((f) => f.name.includes('databaselog'))!.rows > 0);
      assert.equal(env.hwm('e2e'), a.window.end);
      assert.equal(a.hwm.after, a.window.end);
      // Every file landed once, with the validated bytes, and the manifest lists them.
      assert.equal(landedFor('e2e').length, EXTRACT_KINDS.length + 1);
      for (const f of a.files) assert.equal(readFileSync(join(env.landingDir, f.name)).length, f.bytes);
      const manifest = JSON.parse(readFileSync(join(env.landingDir, a.manifest!), 'utf8'));
      assert.deepEqual(manifest.window, a.window);
      assert.deepEqual(
        manifest.files.map((f: { sha256: string }) => f.sha256),
        a.files.map((f) => f.sha256),
      );
      assert.deepEqual(
        env.stagingDirs().filter((d) => d.startsWith('e2e__')),
        [],
        'staging cleaned up',
      );
      await saveHistory(env.temporal.client, 'e2e-1', 'success');

      // Windows end on whole seconds: the next run must start in a later second to have anything to collect.
      await new Promise((r) => setTimeout(r, 1100));
      const b = (await (await start('e2e', 'e2e-2')).result()) as RunSummary;
      assert.equal(b.windowOrigin, 'hwm');
      assert.equal(b.window.start, a.window.end, 'no gap, no overlap');
      assert.equal(env.hwm('e2e'), b.window.end);
      assert.equal(landedFor('e2e').length, 2 * (EXTRACT_KINDS.length + 1));
    } finally {
      await w.stop();
    }
  });

  it('fails a run for an unknown collector, naming the known ones, without retrying', async () => {
    const w = await env.inProcessWorker(['collectors']);
    try {
      const h = await start('nope', 'unknown-1');
      await assert.rejects(h.result(), (e: unknown) => {
        assert.ok(e instanceof WorkflowFailedError);
        const msg = failureMessage(e);
        assert.match(msg, /ConfigError: unknown collector "nope".*known collectors: e2e, e2e2/);
        return true;
      });
      const desc = await h.describe();
      assert.equal(desc.status.name, 'FAILED');
    } finally {
      await w.stop();
    }
  });

  it('leaves the HWM and landing untouched when the upload fails', async () => {
    const w = await env.inProcessWorker(['collectors']);
    try {
      const h = await start('failing', 'failing-1');
      await assert.rejects(h.result(), (e: unknown) => {
        assert.ok(e instanceof WorkflowFailedError);
        assert.ok(e.cause instanceof ActivityFailure);
        assert.equal(e.cause.activityType, 'upload', 'extract and validate succeeded; the upload failed');
        assert.match(failureMessage(e), /ConfigError: filesystem landing: .* is not a directory/);
        return true;
      });
      assert.equal(env.hwm('failing'), null);
      assert.deepEqual(landedFor('failing'), []);
      assert.deepEqual(
        env.stagingDirs().filter((d) => d.startsWith('failing__')),
        [],
        'staging cleaned up after failure',
      );
    } finally {
      await w.stop();
    }
  });

  it('dry run stops after validation and keeps the staged files; nothing lands, HWM unchanged', async () => {
    const w = await env.inProcessWorker(['collectors']);
    try {
      const s = (await (await start('dry', 'dry-1')).result()) as RunSummary;
      assert.equal(s.status, 'dry-run');
      assert.equal(s.files.length, EXTRACT_KINDS.length);
      assert.equal(env.hwm('dry'), null);
      assert.deepEqual(landedFor('dry'), []);
      assert.equal(env.stagingDirs().filter((d) => d.startsWith('dry__')).length, 1, 'files kept for inspection');
    } finally {
      await w.stop();
    }
  });

  it('waits at the approval gate: reject uploads nothing, approve uploads and commits', async () => {
    const w = await env.inProcessWorker(['collectors']);
    try {
      const h1 = await start('gated', 'gated-1');
      await waitFor('awaiting-approval', async () => (await h1.query<Progress>('progress')).phase === 'awaiting-approval');
      await h1.signal('reject', { by: 'tester', reason: 'not today' });
      const r1 = (await h1.result()) as RunSummary;
      assert.equal(r1.status, 'rejected');
      assert.deepEqual(r1.approval, { decision: 'rejected', by: 'tester', reason: 'not today' });
      assert.equal(env.hwm('gated'), null);
      assert.deepEqual(landedFor('gated'), []);
      await saveHistory(env.temporal.client, 'gated-1', 'approval-rejected');

      const h2 = await start('gated', 'gated-2');
      await waitFor('awaiting-approval', async () => (await h2.query<Progress>('progress')).phase === 'awaiting-approval');
      await h2.signal('approve', { by: 'tester' });
      const r2 = (await h2.result()) as RunSummary;
      assert.equal(r2.status, 'completed');
      assert.equal(env.hwm('gated'), r2.window.end);
      await saveHistory(env.temporal.client, 'gated-2', 'approval-approved');
    } finally {
      await w.stop();
    }
  });

  it('cancel cleans staging and keeps the HWM', async () => {
    const w = await env.inProcessWorker(['collectors']);
    env.athena.setFaults('ListTableMetadata', { latencyMs: 400 });
    try {
      const h = await start('cancelled', 'cancelled-1');
      await waitFor('extract running', async () => (await h.query<Progress>('progress')).phase === 'extracting');
      await waitFor('staging created', () => env.stagingDirs().some((d) => d.startsWith('cancelled__')));
      await h.cancel();
      await assert.rejects(h.result(), WorkflowFailedError);
      assert.equal((await h.describe()).status.name, 'CANCELLED');
      assert.deepEqual(
        env.stagingDirs().filter((d) => d.startsWith('cancelled__')),
        [],
      );
      assert.equal(env.hwm('cancelled'), null);
      assert.deepEqual(landedFor('cancelled'), []);
      await saveHistory(env.temporal.client, 'cancelled-1', 'cancelled');
    } finally {
      env.athena.clearFaults();
      await w.stop();
    }
  });

  it('two concurrent runs of one collector cannot both advance the HWM', async () => {
    const w = await env.inProcessWorker(['collectors']);
    // Slow extracts, so the two runs overlap: both plan from the same HWM before either commits.
    env.athena.setFaults('ListTableMetadata', { latencyMs: 1000 });
    try {
      // A second apart: different window ends, so without the publish lease both could upload.
      const h1 = await start('race', 'race-1');
      await new Promise((r) => setTimeout(r, 1100));
      const h2 = await start('race', 'race-2');
      const results = await Promise.allSettled([h1.result(), h2.result()]);
      const won = results.filter((r): r is PromiseFulfilledResult<RunSummary> => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      assert.equal(won.length, 1, 'exactly one run completes');
      assert.equal(lost.length, 1);
      // The loser is stopped by the publish lease or, once the winner committed, by the moved HWM.
      assert.match(failureMessage(lost[0]!.reason), /^HwmConflictError: /);
      assert.equal(env.hwm('race'), won[0]!.value.window.end);
      // Only the winner's window reached the landing zone: no overlapping second copy.
      assert.deepEqual(landedFor('race').sort(), [...won[0]!.value.files.map((f) => f.name), won[0]!.value.manifest!].sort());
    } finally {
      env.athena.clearFaults();
      await w.stop();
    }
  });

  it('while another run holds the publish lease, a run uploads nothing and leaves the HWM; afterwards runs publish again', async () => {
    const w = await env.inProcessWorker(['collectors']);
    const store = new FileHwmStore(join(env.stateDir, 'hwm'));
    try {
      // Another run of "leased" is uploading right now (its lease runs for a minute).
      const until = new Date(Date.now() + 60_000).toISOString();
      await acquirePublishLease(store, 'leased', until);
      const h = await start('leased', 'leased-1');
      await assert.rejects(h.result(), (e: unknown) => {
        assert.match(failureMessage(e), /^HwmConflictError: another run of "leased" is uploading/);
        return true;
      });
      assert.deepEqual(landedFor('leased'), []);
      assert.equal(env.hwm('leased'), null);
      await releasePublishLease(store, 'leased', until);
      const s = (await (await start('leased', 'leased-2')).result()) as RunSummary;
      assert.equal(s.status, 'completed');
      assert.equal((await store.get(leaseKey('leased'))).value, null, 'the lease is released after the run');
    } finally {
      await w.stop();
    }
  });

  it('a Schedule triggered twice gives adjacent windows', async () => {
    const w = await env.inProcessWorker(['collectors']);
    const schedule = await env.temporal.client.schedule.create(
      buildSchedule('scheduled', { collector: 'scheduled' }, 'collectors', { every: '1d', paused: true }),
    );
    try {
      const windows: RunSummary['window'][] = [];
      for (let i = 1; i <= 2; i++) {
        // Windows end on whole seconds: the second trigger must fall in a later second.
        if (i === 2) await new Promise((r) => setTimeout(r, 1100));
        await schedule.trigger();
        await waitFor(`scheduled run ${i}`, async () => (await schedule.describe()).info.recentActions.length >= i);
        const d = await schedule.describe();
        const wfId = d.info.recentActions[i - 1]!.action.workflow.workflowId;
        const s = (await env.temporal.client.workflow.getHandle(wfId).result()) as RunSummary;
        assert.equal(s.status, 'completed');
        // The audit line: a scheduled run says so, with the schedule that fired it.
        assert.equal(s.startedBy?.origin, 'schedule');
        assert.equal(s.startedBy?.scheduleId, schedule.scheduleId);
        windows.push(s.window);
      }
      assert.equal(windows[1]!.start, windows[0]!.end);
      assert.equal(env.hwm('scheduled'), windows[1]!.end);
    } finally {
      await schedule.delete();
      await w.stop();
    }
  });

  it('a worker SIGKILLed during extract: a restarted worker on the same host resumes from the checkpoint; one copy of each file lands', async () => {
    env.athena.setFaults('ListTableMetadata', { latencyMs: 1500 });
    const first = await env.childWorker(['collectors'], 'host-a');
    let second: Awaited<ReturnType<CollectorEnv['childWorker']>> | undefined;
    try {
      const h = await start('killed', 'killed-1');
      await waitFor('a unit checkpointed in the heartbeat', async () => (await checkpointedUnits(h.workflowId)) >= 1, 120_000).catch(
        async (e: Error) => {
          throw new Error(
            `${e.message}\n--- pending activities ---\n${await pendingActivities(h.workflowId)}\n--- worker output ---\n${first.output().slice(-6000)}`,
          );
        },
      );
      await first.stop('SIGKILL');
      env.athena.clearFaults();
      second = await env.childWorker(['collectors'], 'host-a');
      const s = (await h.result()) as RunSummary;
      assert.equal(s.status, 'completed');
      assert.ok((s.counters.units_resumed ?? 0) > 0, `resumed from the checkpoint: ${JSON.stringify(s.counters)}`);
      assert.equal(s.hostAttempts, 1);
      assert.equal(landedFor('killed').length, EXTRACT_KINDS.length + 1, env.landed().join(', '));
      assert.equal(env.hwm('killed'), s.window.end);
      // Resumed output is what a clean run gives: the catalog part does not depend on the window, so a
      // clean run of another collector on the same seed is the reference.
      const clean = (await (await start('killedref', 'killedref-1')).result()) as RunSummary;
      for (const kind of ['tables', 'metadata']) {
        const file = (r: RunSummary) => r.files.find((f) => f.kind === kind)!;
        assert.equal(file(s).sha256, file(clean).sha256, `the resumed ${kind} extract is byte-identical to a clean run`);
      }
      for (const counter of ['athena_tables', 'athena_views']) {
        assert.equal(s.counters[counter], clean.counters[counter], `${counter} counted once per table despite the resume`);
      }
      await saveHistory(env.temporal.client, 'killed-1', 'worker-killed-resumed');
    } finally {
      env.athena.clearFaults();
      await first.stop('SIGKILL');
      await second?.stop();
    }
  });

  it('a worker SIGKILLed for good: the whole attempt moves to another host and completes', async () => {
    env.athena.setFaults('ListTableMetadata', { latencyMs: 1500 });
    const first = await env.childWorker(['collectors'], 'host-b');
    let second: Awaited<ReturnType<CollectorEnv['childWorker']>> | undefined;
    try {
      const h = await start('rerouted', 'rerouted-1');
      await waitFor(
        'extract running on host-b',
        async () => {
          const p = await h.query<Progress>('progress');
          return p.phase === 'extracting' && p.host === 'host-b';
        },
        60_000,
      );
      await first.stop('SIGKILL');
      env.athena.clearFaults();
      second = await env.childWorker(['collectors'], 'host-c');
      const s = (await h.result()) as RunSummary;
      assert.equal(s.status, 'completed');
      assert.equal(s.hostAttempts, 2);
      assert.equal(landedFor('rerouted').length, EXTRACT_KINDS.length + 1, env.landed().join(', '));
      assert.equal(env.hwm('rerouted'), s.window.end);
      await saveHistory(env.temporal.client, 'rerouted-1', 'host-lost-rerouted');
    } finally {
      env.athena.clearFaults();
      await first.stop('SIGKILL'); // already killed unless the wait above failed
      await second?.stop();
    }
  });

  it('runs with the workflow side apart from the activity side (workflows-only and activities-only workers)', async () => {
    const workflows = await env.childWorker(['net-a'], 'central', {}, ['--workflows-only']);
    const activities = await env.childWorker(['net-a'], 'network-a', {}, ['--activities-only']);
    try {
      const h = await start('apart', 'apart-1', {}, 'net-a');
      const s = (await h.result()) as RunSummary;
      assert.equal(s.status, 'completed');
      assert.equal(env.hwm('apart'), s.window.end);
      assert.match(activities.output(), /"activity":"extract"/, 'the extract ran in network A');
      assert.doesNotMatch(workflows.output(), /"activity":"extract"/, 'the workflow side ran no activity');
    } finally {
      await workflows.stop();
      await activities.stop();
    }
  });

  it('the worker logs its task queues once polling and drains on SIGTERM', async () => {
    const w = await env.childWorker(['collectors', 'other-net'], 'host-d');
    const started = w
      .output()
      .split('\n')
      .find((l) => l.includes('Starting collector worker'))!;
    const line = JSON.parse(started) as { taskQueues: string[]; level: number };
    assert.deepEqual(line.taskQueues, ['collectors', 'collectors@host-d', 'other-net', 'other-net@host-d']);
    await w.stop('SIGTERM');
    assert.equal(w.proc.exitCode, 0, w.output());
    assert.match(w.output(), /collector worker stopped/);
  });
});

/** The workflow's pending activities in brief, for failure messages. */
async function pendingActivities(workflowId: string): Promise<string> {
  const d = await env.temporal.client.workflow.getHandle(workflowId).describe();
  return JSON.stringify(
    (d.raw.pendingActivities ?? []).map((a) => ({
      type: a.activityType?.name,
      state: a.state,
      attempt: a.attempt,
      lastFailure: a.lastFailure?.message,
      worker: a.lastWorkerIdentity,
    })),
  );
}

/** Units the running extract has reported done in its last heartbeat. */
async function checkpointedUnits(workflowId: string): Promise<number> {
  const d = await env.temporal.client.workflow.getHandle(workflowId).describe();
  const payload = d.raw.pendingActivities?.find((a) => a.activityType?.name === 'extract')?.heartbeatDetails?.payloads?.[0];
  if (!payload) return 0;
  return unitsDone(defaultPayloadConverter.fromPayload<{ checkpoint: ExtractCheckpoint }>(payload as Payload).checkpoint);
}
