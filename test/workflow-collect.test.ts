/**
 * Every branch of the collect workflow, fast: the time-skipping test server with mocked activities
 * (test/support/collect-harness.ts). A lost host is simulated by test/support/lost-hosts.ts, which answers
 * steps on `…@lost` queues with the schedule-to-start timeout this server never fires by itself.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { WorkflowHandle } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { approveSignal, approveUpdate, progressQuery, rejectSignal, rejectUpdate } from '../workflows/messages';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { PlanRequest } from '../src/run/types';
import { EXECUTOR, planFor, runCollect, startHarness, type Harness } from './support/collect-harness';
import { ROOT } from './support/processes';

let h: Harness;
const DAY_MS = 24 * 3600_000;
const SCHEDULED_START = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);
const input = { collector: 'c1' };
const HAPPY = [
  'planRun',
  'claimHost',
  'extract',
  'validate',
  'acquirePublishLease',
  'upload',
  'commitHwm',
  'releasePublishLease',
  'cleanup',
];

async function until(what: string, check: () => Promise<boolean> | boolean): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`timed out waiting for ${what}`);
}

const phase = async (handle: WorkflowHandle) => (await handle.query(progressQuery)).phase;

describe('collect workflow: every branch (time-skipping server, mocked activities)', { timeout: 120_000 }, () => {
  before(async () => {
    h = await startHarness([join(ROOT, 'test', 'support', 'lost-hosts.ts')]);
  });
  after(async () => h?.env.teardown());

  it('an empty window ends after planning: no host, no upload, HWM unchanged', async () => {
    const r = await runCollect(h, [input], {
      overrides: () => ({ planRun: async (req: PlanRequest) => ({ ...planFor(req), empty: true }) }),
    });
    assert.ok(r.ok, r.ok ? '' : r.message);
    assert.equal(r.summary.status, 'empty-window');
    assert.deepEqual(r.calls, ['planRun']);
    assert.deepEqual(r.ended, ['c1:empty']);
    assert.deepEqual(r.summary.hwm, { before: null, after: null, store: 'file:///hwm' });
    assert.equal(r.progress?.phase, 'done');
  });

  it('a run that succeeds: every step in order, the summary carries files, warnings, counters and the new HWM', async () => {
    const r = await runCollect(h, [input], {
      overrides: () => ({
        planRun: async (req: PlanRequest) => ({ ...planFor(req), warnings: ['w-plan'], hwmBefore: '2026-01-01T00:00:00.000Z' }),
      }),
    });
    assert.ok(r.ok, r.ok ? '' : r.message);
    assert.deepEqual(r.calls, HAPPY);
    assert.deepEqual(r.ended, ['c1:completed'], 'the run outcome is reported once, by the workflow');
    const s = r.summary;
    assert.equal(s.status, 'completed');
    assert.equal(s.collector, 'c1');
    assert.equal(s.workflowId, (await r.handle.describe()).workflowId);
    assert.deepEqual(s.window, { start: '2026-01-01T00:00:00.000Z', end: '2026-01-02T00:00:00.000Z' });
    assert.deepEqual(s.hwm, { before: '2026-01-01T00:00:00.000Z', after: '2026-01-02T00:00:00.000Z', store: 'file:///hwm' });
    assert.deepEqual(s.files, [{ kind: 'metadata', name: 'm.csv', rows: 1, bytes: 1, sha256: 'a' }]);
    assert.equal(s.manifest, 'manifest.json');
    assert.deepEqual(s.warnings, ['w-plan', 'w-extract']);
    assert.deepEqual(s.counters, { units: 1 });
    assert.equal(s.hostAttempts, 1);
    assert.equal(s.approval, undefined);
    assert.equal(r.progress?.phase, 'done');
    assert.equal(r.progress?.step, 7);
  });

  it('a dry run stops after validation: no lease, no upload, no commit, staging kept for inspection', async () => {
    const r = await runCollect(h, [{ ...input, dryRun: true }]);
    assert.ok(r.ok, r.ok ? '' : r.message);
    assert.equal(r.summary.status, 'dry-run');
    assert.deepEqual(r.calls, ['planRun', 'claimHost', 'extract', 'validate']);
    assert.equal(r.summary.hwm.after, null);
    assert.deepEqual(r.ended, ['c1:dry_run']);
  });

  it('approval: waits at the gate, then an approve signal lets the upload go', async () => {
    const r = await runCollect(h, [{ ...input, requireApproval: true }], {
      drive: async (handle, calls) => {
        await until('the approval gate', async () => (await phase(handle)) === 'awaiting-approval');
        assert.ok(!calls.includes('upload'), 'nothing uploaded before the approval');
        await handle.signal(approveSignal, { by: 'ops', reason: 'looked fine' });
      },
    });
    assert.ok(r.ok, r.ok ? '' : r.message);
    assert.equal(r.summary.status, 'completed');
    assert.deepEqual(r.summary.approval, { decision: 'approved', by: 'ops', reason: 'looked fine' });
    assert.deepEqual(r.calls, HAPPY);
  });

  it('approval as an Update: refused with the reason before the gate, taken at the gate, refused once decided', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const refusal = async (p: Promise<unknown>, type: RegExp) => {
      const e = await p.then(
        () => undefined,
        (err: unknown) => err,
      );
      assert.ok(e instanceof WorkflowUpdateFailedError, String(e));
      assert.ok(e.cause instanceof ApplicationFailure);
      assert.match(`${e.cause.type}: ${e.cause.message}`, type);
    };
    const r = await runCollect(h, [{ ...input, requireApproval: true }], {
      overrides: () => ({
        async extract() {
          await held;
          return { files: [{ kind: 'metadata', name: 'm.csv', rows: 1 }], warnings: [], counters: {}, unitsDone: 1, unitsResumed: 0 };
        },
      }),
      drive: async (handle, calls) => {
        await until('the extract', () => calls.includes('extract'));
        // Too early: a signal here would silently pre-approve; the Update is refused and says why.
        await refusal(
          handle.executeUpdate(approveUpdate, { args: [{ by: 'early' }] }),
          /^NotAwaitingApproval: this run is not waiting for approval \(it is extracting\)/,
        );
        release();
        await until('the approval gate', async () => (await phase(handle)) === 'awaiting-approval');
        await refusal(handle.executeUpdate(approveUpdate, { args: [{ by: 'x'.repeat(1001) }] }), /^ConfigError: by: must be a string/);
        assert.deepEqual(await handle.executeUpdate(approveUpdate, { args: [{ by: 'ops' }] }), { decision: 'approved', by: 'ops' });
        await refusal(handle.executeUpdate(rejectUpdate, { args: [{ by: 'late' }] }), /^AlreadyDecided: this run was already approved/);
      },
    });
    assert.ok(r.ok, r.ok ? '' : r.message);
    assert.equal(r.summary.status, 'completed');
    assert.deepEqual(r.summary.approval, { decision: 'approved', by: 'ops' });
    assert.deepEqual(r.calls, HAPPY);
  });

  it('the run keeps current details for the Web UI, following its progress', async () => {
    const details: string[] = [];
    const r = await runCollect(h, [{ ...input, requireApproval: true }], {
      drive: async (handle) => {
        await until('the approval gate', async () => (await phase(handle)) === 'awaiting-approval');
        const meta = await handle.query<temporal.api.sdk.v1.IWorkflowMetadata>('__temporal_workflow_metadata');
        details.push(meta.currentDetails ?? '');
        await handle.executeUpdate(rejectUpdate, { args: [{ by: 'ops', reason: 'not today' }] });
      },
    });
    assert.ok(r.ok, r.ok ? '' : r.message);
    assert.equal(r.summary.status, 'rejected');
    assert.match(details[0]!, /^\*\*waiting for approval\*\* \(step 4 of 7\)/);
    assert.match(details[0]!, /collector `c1`/);
    assert.match(details[0]!, /window 2026-01-01T00:00:00\.000Z → 2026-01-02T00:00:00\.000Z/);
    assert.match(details[0]!, /`collector approve wf-\d+`/);
  });

  it('approval: a reject signal ends the run without uploading; staging is cleaned up', async () => {
    const r = await runCollect(h, [{ ...input, requireApproval: true }], {
      drive: async (handle) => {
        await until('the approval gate', async () => (await phase(handle)) === 'awaiting-approval');
        await handle.signal(rejectSignal, { by: 'ops', reason: 'too many rows' });
      },
    });
    assert.ok(r.ok, r.ok ? '' : r.message);
    assert.equal(r.summary.status, 'rejected');
    assert.deepEqual(r.summary.approval, { decision: 'rejected', by: 'ops', reason: 'too many rows' });
    assert.deepEqual(r.calls, ['planRun', 'claimHost', 'extract', 'validate', 'cleanup']);
    assert.equal(r.summary.hwm.after, null);
    assert.deepEqual(r.ended, ['c1:rejected']);
  });

  it('approval: an approve sent with the start counts at the gate (the first decision wins)', async () => {
    const r = await runCollect(h, [], {
      start: (workflowId) =>
        h.env.client.workflow.signalWithStart('collect', {
          taskQueue: EXECUTOR,
          workflowId,
          args: [{ ...input, requireApproval: true }],
          signal: approveSignal,
          signalArgs: [{ by: 'early' }],
        }),
      drive: async (handle) => {
        await until('the run to finish', async () => (await phase(handle)) === 'done');
        await handle.signal(rejectSignal, { by: 'late' }).catch(() => undefined);
      },
    });
    assert.ok(r.ok, r.ok ? '' : r.message);
    assert.equal(r.summary.status, 'completed');
    assert.deepEqual(r.summary.approval, { decision: 'approved', by: 'early' });
    assert.deepEqual(r.calls, HAPPY);
  });

  it('approval: no decision in 24 h fails the run with ApprovalTimeout, in seconds of test time', async () => {
    const started = Date.now();
    const r = await runCollect(h, [{ ...input, requireApproval: true }], {
      overrides: () => ({ planRun: async (req: PlanRequest) => planFor(req, { approvalTimeoutMs: DAY_MS }) }),
    });
    assert.ok(!r.ok);
    assert.match(r.message, /^ApprovalTimeout: no approve or reject signal within 86400000 ms; nothing was uploaded/);
    assert.deepEqual(r.ended, ['c1:failed']);
    assert.deepEqual(r.calls, ['planRun', 'claimHost', 'extract', 'validate', 'cleanup']);
    // The server skipped the day: the run's own clock moved 24 h while the test took far less.
    const { closeTime, startTime } = await r.handle.describe();
    assert.ok(
      closeTime && closeTime.getTime() - startTime.getTime() >= DAY_MS,
      `closed ${String(closeTime)} after start ${String(startTime)}`,
    );
    assert.ok(Date.now() - started < DAY_MS);
  });

  it('a host lost before the upload: the whole attempt runs again on another host', async () => {
    const hosts = ['lost', 'h'];
    const r = await runCollect(h, [input], {
      overrides: () => ({
        planRun: async (req: PlanRequest) => planFor(req, { maxHostAttempts: 2 }),
        claimHost: async () => {
          const host = hosts.shift()!;
          return { hostQueue: `${EXECUTOR}@${host}`, host };
        },
      }),
    });
    assert.ok(r.ok, r.ok ? '' : r.message);
    assert.equal(r.summary.status, 'completed');
    assert.equal(r.summary.hostAttempts, 2);
    // The lost host's extract never ran and its staging is not cleaned (it is swept when it restarts).
    assert.deepEqual(r.calls, ['planRun', 'claimHost', ...HAPPY.slice(1)]);
  });

  it('a host lost on every attempt: the run fails after maxHostAttempts, nothing uploaded', async () => {
    const r = await runCollect(h, [input], {
      overrides: () => ({
        planRun: async (req: PlanRequest) => planFor(req, { maxHostAttempts: 3 }),
        claimHost: async () => ({ hostQueue: `${EXECUTOR}@lost`, host: 'lost' }),
      }),
    });
    assert.ok(!r.ok);
    assert.match(r.message, /ScheduleToStart/);
    assert.deepEqual(r.calls, ['planRun', 'claimHost', 'claimHost', 'claimHost']);
    assert.equal(r.progress?.hostAttempt, 3);
    assert.equal(r.progress?.phase, 'failed');
  });

  it('a host lost during the upload: HostLostDuringUpload, no commit, no retry elsewhere, the lease released', async () => {
    const r = await runCollect(h, [input], {
      hostQueues: [`${EXECUTOR}@lost-upload`],
      overrides: () => ({
        planRun: async (req: PlanRequest) => planFor(req, { maxHostAttempts: 3 }),
        claimHost: async () => ({ hostQueue: `${EXECUTOR}@lost-upload`, host: 'lost-upload' }),
      }),
    });
    assert.ok(!r.ok);
    assert.match(r.message, /^HostLostDuringUpload: the worker host lost-upload was lost while uploading; the HWM is unchanged/);
    assert.deepEqual(r.calls, ['planRun', 'claimHost', 'extract', 'validate', 'acquirePublishLease', 'releasePublishLease']);
  });

  it('a publish lease held by another run: nothing is uploaded, the HWM stays, staging is cleaned up', async () => {
    const r = await runCollect(h, [input], {
      overrides: () => ({
        acquirePublishLease: async () => {
          throw ApplicationFailure.create({ type: 'HwmConflictError', message: 'another run of "c1" is uploading', nonRetryable: true });
        },
      }),
    });
    assert.ok(!r.ok);
    assert.match(r.message, /^HwmConflictError: another run of "c1" is uploading/);
    assert.deepEqual(r.calls, ['planRun', 'claimHost', 'extract', 'validate', 'acquirePublishLease', 'releasePublishLease', 'cleanup']);
  });

  it('the HWM commit is retried until it lands (retryable failures do not give up on uploaded files)', async () => {
    let failures = 3;
    const r = await runCollect(h, [input], {
      overrides: () => ({
        commitHwm: async () => {
          if (failures-- > 0) throw ApplicationFailure.create({ type: 'TransientError', message: 'store busy' });
          return { hwm: '2026-01-02T00:00:00.000Z', advanced: true };
        },
      }),
    });
    assert.ok(r.ok, r.ok ? '' : r.message);
    assert.equal(r.summary.status, 'completed');
    assert.equal(r.calls.filter((c) => c === 'commitHwm').length, 4);
    assert.equal(r.summary.hwm.after, '2026-01-02T00:00:00.000Z');
  });

  it('a failed step fails the run, and staging is still cleaned up', async () => {
    const r = await runCollect(h, [input], {
      overrides: () => ({
        upload: async () => {
          throw ApplicationFailure.create({ type: 'ConflictError', message: 'different content under m.csv', nonRetryable: true });
        },
      }),
    });
    assert.ok(!r.ok);
    assert.match(r.message, /^ConflictError: different content under m\.csv/);
    assert.deepEqual(r.calls, [
      'planRun',
      'claimHost',
      'extract',
      'validate',
      'acquirePublishLease',
      'upload',
      'releasePublishLease',
      'cleanup',
    ]);
  });

  it('a cleanup that fails does not fail a completed run', async () => {
    const r = await runCollect(h, [input], {
      overrides: () => ({
        cleanup: async () => {
          throw ApplicationFailure.create({ type: 'Error', message: 'disk gone', nonRetryable: true });
        },
      }),
    });
    assert.ok(r.ok, r.ok ? '' : r.message);
    assert.equal(r.summary.status, 'completed');
  });

  it('cancelled mid-extract: the extract stops first, then staging is cleaned up; nothing uploaded', async () => {
    const r = await runCollect(h, [input], {
      overrides: (calls) => ({
        planRun: async (req: PlanRequest) => planFor(req, { heartbeatTimeoutMs: 1_000 }),
        extract: async () => {
          const ctx = Context.current();
          try {
            for (;;) {
              ctx.heartbeat();
              await ctx.sleep(50);
            }
          } catch (e) {
            calls.push(e instanceof CancelledFailure ? 'extract stopped' : `extract failed: ${String(e)}`);
            throw e;
          }
        },
      }),
      drive: async (handle, calls) => {
        await until('the extract to start', () => calls.includes('extract'));
        await handle.cancel();
      },
    });
    assert.ok(!r.ok);
    assert.ok(r.error.cause instanceof CancelledFailure, String(r.error.cause));
    assert.deepEqual(r.calls, ['planRun', 'claimHost', 'extract', 'extract stopped', 'cleanup']);
    assert.deepEqual(r.ended, ['c1:cancelled']);
  });

  it("a scheduled run's window ends at the schedule's nominal time (TemporalScheduledStartTime), others at their start", async () => {
    const asked: string[] = [];
    const overrides = () => ({
      planRun: async (req: PlanRequest) => {
        asked.push(req.nominalEnd);
        return planFor(req);
      },
    });
    // The test server knows no system attributes; registered here so a start can carry what a schedule sets.
    await h.env.connection.operatorService.addSearchAttributes({
      namespace: h.env.namespace ?? 'default',
      searchAttributes: { TemporalScheduledStartTime: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DATETIME },
    });
    const nominal = new Date('2026-03-04T05:06:07.000Z');
    const scheduled = await runCollect(h, [input], {
      overrides,
      start: (workflowId) =>
        h.env.client.workflow.start('collect', {
          taskQueue: EXECUTOR,
          workflowId,
          args: [input],
          typedSearchAttributes: [{ key: SCHEDULED_START, value: nominal }],
        }),
    });
    assert.ok(scheduled.ok, scheduled.ok ? '' : scheduled.message);
    const plain = await runCollect(h, [input], { overrides });
    assert.ok(plain.ok, plain.ok ? '' : plain.message);
    assert.equal(asked[0], nominal.toISOString());
    // The run's own start time as the workflow sees it; the server's describe() may stamp it a few
    // milliseconds apart, so they are compared as instants of one start, not as equal strings.
    const started = (await plain.handle.describe()).startTime.getTime();
    assert.ok(Math.abs(Date.parse(asked[1]!) - started) < 1000, `${asked[1]} is the run's start (${new Date(started).toISOString()})`);
  });

  it('a run started without input fails with a ConfigError before any step', async () => {
    const r = await runCollect(h, []);
    assert.ok(!r.ok);
    assert.match(r.message, /^ConfigError: input: missing/);
    assert.deepEqual(r.calls, []);
    assert.equal(r.progress, undefined, 'failed before it could answer queries');
    assert.deepEqual(r.ended, ['(unknown):failed']);
  });
});
