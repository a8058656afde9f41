/**
 * The collect workflow: the old "extract -> upload -> save HWM" DAG as durable steps.
 *
 *   plan the window -> claim a host -> extract -> validate -> [dry run stops] -> [approval]
 *   -> upload -> commit HWM -> clean up staging (always)
 *
 * Deterministic and small: it passes names, counts and hashes between activities, never data.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  log,
  patched,
  setCurrentDetails,
  setHandler,
  TimeoutFailure,
  workflowInfo,
} from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType, TimeoutType } from '@temporalio/common';
import { parseCollectInput } from '../src/run/collect-input';
import { approveSignal, approveUpdate, progressQuery, rejectSignal, rejectUpdate } from './messages';
import { currentDetails } from '../src/run/describe';
import { acquirer, committer, EXECUTOR_PICKUP, executorSteps, hostSteps, releaser } from './activity-options';
import { runs } from './sinks';
import type {
  ApprovalDecision,
  ApprovalRecord,
  CollectInput,
  CollectorRef,
  Progress,
  RunOutcome,
  RunPlan,
  RunSummary,
  ValidateResult,
} from '../src/run/types';

const STEPS = 7;
/** The publish lease outlives one upload attempt by this much, then expires if its run died. */
const LEASE_MARGIN_MS = 10 * 60_000;

const OUTCOMES: Record<RunSummary['status'], RunOutcome> = {
  completed: 'completed',
  'empty-window': 'empty',
  'dry-run': 'dry_run',
  rejected: 'rejected',
};

export async function collect(rawInput?: CollectInput): Promise<RunSummary> {
  // How the run ended goes to the worker's metrics through a sink: nothing in history, and the workflow,
  // not an activity guessing what comes next, knows.
  const named = { collector: '(unknown)' };
  try {
    const summary = await run(rawInput, named);
    runs.ended(named.collector, OUTCOMES[summary.status]);
    return summary;
  } catch (err) {
    runs.ended(named.collector, isCancellation(err) ? 'cancelled' : 'failed');
    throw err;
  }
}

async function run(rawInput: CollectInput | undefined, named: { collector: string }): Promise<RunSummary> {
  // Whoever can start a workflow writes this input: read it strictly, and fail the run (never the
  // workflow task, which would retry forever) when it is wrong.
  const parsed = parseCollectInput(rawInput);
  if (!parsed.ok) throw ApplicationFailure.create({ type: 'ConfigError', message: parsed.message, nonRetryable: true });
  const input = parsed.input;
  const info = workflowInfo();
  const startedAt = Date.now();
  const progress: Progress = { phase: 'planning', step: 0, steps: STEPS, hostAttempt: 0 };
  setHandler(progressQuery, () => progress);
  // What the Web UI shows as the run's current details follows the progress the query reports.
  const update = (p: Partial<Progress>): void => {
    Object.assign(progress, p);
    setCurrentDetails(currentDetails(progress, info.workflowId));
  };
  update({});
  let decision: ApprovalRecord | undefined;
  setHandler(approveSignal, (d) => void (decision ??= { decision: 'approved', ...d }));
  setHandler(rejectSignal, (d) => void (decision ??= { decision: 'rejected', ...d }));
  const decide = (verdict: ApprovalRecord['decision']) => (d?: ApprovalDecision) => (decision = { decision: verdict, ...d });
  const gate = {
    validator: (d?: ApprovalDecision) => {
      if (decision) throw ApplicationFailure.create({ type: 'AlreadyDecided', message: `this run was already ${decision.decision}` });
      if (progress.phase !== 'awaiting-approval') {
        throw ApplicationFailure.create({
          type: 'NotAwaitingApproval',
          message: `this run is not waiting for approval (it is ${progress.phase}); decide once it is`,
        });
      }
      // Bounded like the signal's fields, which the summary carries.
      for (const [k, v] of Object.entries(d ?? {})) {
        if (typeof v !== 'string' || v.length > 1000) {
          throw ApplicationFailure.create({ type: 'ConfigError', message: `${k}: must be a string of at most 1000 characters` });
        }
      }
    },
  };
  setHandler(approveUpdate, decide('approved'), gate);
  setHandler(rejectUpdate, decide('rejected'), gate);

  // 1. Resolve the window (on the executor's side, where collectors.yaml lives).
  const planQueue = input.executor ?? info.taskQueue;
  const plan = withOverrides(
    await pickedUp(planQueue, () =>
      executorSteps(planQueue).planRun({
        ref: collectorRef(input),
        workflowId: info.workflowId,
        runId: info.runId,
        nominalEnd: nominalEnd(),
        lastResultEnd: previousWindowEnd(),
      }),
    ),
    input,
  );
  named.collector = plan.collector;
  update({ collector: plan.collector, window: plan.window, step: 1 });
  const durations = { extract: 0, validate: 0, upload: 0, total: 0 };
  const summary = (status: RunSummary['status'], rest: Partial<RunSummary> = {}): RunSummary => ({
    collector: plan.collector,
    status,
    workflowId: info.workflowId,
    runId: info.runId,
    window: plan.window,
    windowOrigin: plan.windowOrigin,
    files: [],
    landing: plan.landing,
    hwm: { before: plan.hwmBefore, after: plan.hwmBefore, store: plan.hwmStore },
    warnings: plan.warnings,
    counters: {},
    durationsMs: { ...durations, total: Date.now() - startedAt },
    hostAttempts: progress.hostAttempt,
    ...(decision ? { approval: decision } : {}),
    ...(plan.startedBy ? { startedBy: plan.startedBy } : {}),
    ...rest,
  });
  if (plan.empty) {
    update({ phase: 'done' });
    return summary('empty-window');
  }

  for (let attempt = 1; ; attempt++) {
    update({ hostAttempt: attempt });
    // 2. Claim a host: its local staging directory holds this attempt's files.
    update({ phase: 'claiming-host' });
    const host = await pickedUp(plan.executor, () => executorSteps(plan.executor).claimHost());
    const steps = hostSteps(host, plan);
    update({ host: host.host, step: 2 });
    let keepStaging = false;
    let hostLost = false;
    let uploadStarted = false;
    // An approval covers the data it was given for: a new attempt re-extracts, so it asks again.
    if (attempt > 1) decision = undefined;
    try {
      // 3. Extract into staging.
      update({ phase: 'extracting' });
      let t = Date.now();
      const extracted = await steps.extract(plan);
      durations.extract = Date.now() - t;
      update({ step: 3, rows: extracted.files.reduce((n, f) => n + f.rows, 0), files: extracted.files.length });

      // 4. Validate every file and write the manifest.
      update({ phase: 'validating' });
      t = Date.now();
      const validated: ValidateResult = await steps.validate(plan, extracted);
      durations.validate = Date.now() - t;
      update({ step: 4 });
      const details = {
        files: validated.files,
        manifest: validated.manifest.name,
        warnings: [...plan.warnings, ...extracted.warnings],
        counters: extracted.counters,
        ...(extracted.incomplete ? { incomplete: extracted.incomplete } : {}),
      };

      if (plan.options.dryRun) {
        keepStaging = true;
        update({ phase: 'done' });
        return summary('dry-run', details);
      }
      if (plan.options.requireApproval) {
        update({ phase: 'awaiting-approval' });
        log.info('waiting for approval', { collector: plan.collector, window: plan.window });
        if (!(await condition(() => decision !== undefined, plan.options.approvalTimeoutMs))) {
          throw ApplicationFailure.create({
            type: 'ApprovalTimeout',
            message: `no approve or reject signal within ${plan.options.approvalTimeoutMs} ms; nothing was uploaded and the HWM is unchanged`,
            nonRetryable: true,
          });
        }
        if (decision?.decision === 'rejected') {
          update({ phase: 'done' });
          return summary('rejected', details);
        }
      }

      // 5. Upload, manifest last: one run of a collector at a time holds the publish lease, so two runs
      //    that planned from the same HWM never both upload. The lease outlives the bounded acquire and the
      //    whole bounded upload (every retry) by a margin meant for the commit; it is released by its own
      //    expiry value, so a release also works when the acquire's answer was lost to a cancellation.
      //    (Runs started before the lease existed replay without it.)
      const leaseUntil = new Date(Date.now() + plan.options.uploadTimeoutMs + LEASE_MARGIN_MS).toISOString();
      const leased = patched('publish-lease');
      try {
        if (leased) await acquirer(plan.executor).acquirePublishLease(plan, leaseUntil);
        update({ phase: 'uploading' });
        uploadStarted = true;
        t = Date.now();
        await steps.upload(plan, validated);
        durations.upload = Date.now() - t;
        update({ step: 5 });

        // 6. Only now does the HWM move: compare-and-set from the version this run read. Every file is in
        //    the landing zone, so the commit is not given up: not on cancellation, not after a few retries.
        update({ phase: 'committing-hwm' });
        const committed = await CancellationScope.nonCancellable(() => committer(plan.executor).commitHwm(plan));
        update({ step: 6, phase: 'done' });
        return summary('completed', { ...details, hwm: { before: plan.hwmBefore, after: committed.hwm, store: plan.hwmStore } });
      } finally {
        if (leased) {
          await CancellationScope.nonCancellable(() => releaser(plan.executor).releasePublishLease(plan, leaseUntil)).catch((e: unknown) =>
            log.warn('publish lease not released; it expires by itself', { error: String(e) }),
          );
        }
      }
    } catch (err) {
      hostLost = isHostLost(err);
      if (hostLost && uploadStarted) {
        // Part of this window may already be in the landing zone: re-extracting elsewhere could publish
        // different content under the same names. Stop, HWM unchanged; the next run collects the window.
        update({ phase: 'failed' });
        throw ApplicationFailure.create({
          type: 'HostLostDuringUpload',
          message: `the worker host ${host.host} was lost while uploading; the HWM is unchanged and the next run collects this window again (objects without a manifest may remain in ${plan.landing})`,
          nonRetryable: true,
        });
      }
      if (hostLost && attempt < plan.options.maxHostAttempts) {
        log.warn('host lost; retrying the whole attempt on another worker', { host: host.host, attempt });
        continue;
      }
      update({ phase: 'failed' });
      throw err;
    } finally {
      // 7. Clean up staging, even on failure or cancellation (a lost host is swept when it restarts).
      if (!keepStaging && !hostLost) {
        update({ phase: progress.phase === 'done' ? 'done' : 'cleaning-up' });
        await CancellationScope.nonCancellable(() => steps.cleanup(plan)).catch((e: unknown) =>
          log.warn('staging cleanup failed', { error: String(e) }),
        );
        if (progress.phase === 'done') update({ step: STEPS });
      }
    }
  }
}

/** parseCollectInput guarantees exactly one of the two. */
function collectorRef(input: CollectInput): CollectorRef {
  return input.recipe ? { recipe: input.recipe } : { collector: input.collector! };
}

function withOverrides(plan: RunPlan, input: CollectInput): RunPlan {
  const options = { ...plan.options };
  if (input.dryRun !== undefined) options.dryRun = input.dryRun;
  if (input.requireApproval !== undefined) options.requireApproval = input.requireApproval;
  return { ...plan, options };
}

/** A step no worker picked up in EXECUTOR_PICKUP: nobody polls that executor's queue. */
async function pickedUp<T>(queue: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    if (!isPickupTimeout(err)) throw err;
    throw ApplicationFailure.create({
      type: 'ExecutorUnavailable',
      nonRetryable: true,
      message: `no worker polls the executor task queue "${queue}" (nothing picked up the run's step within ${EXECUTOR_PICKUP}); start one inside that executor's network with \`collector worker --executor ${queue}\`, or fix the collector's executor; nothing was uploaded and the HWM is unchanged`,
    });
  }
}

/** A scheduled run's window ends at its scheduled time (backfills too), other runs at their start. */
function nominalEnd(): string {
  const info = workflowInfo();
  return (info.typedSearchAttributes.get(SCHEDULED_START) ?? info.runStartTime).toISOString();
}

/** Set by the server on runs a schedule starts: the action's nominal time. */
const SCHEDULED_START = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

function previousWindowEnd(): string | undefined {
  const last = workflowInfo().lastResult as RunSummary | undefined;
  return last && last.status === 'completed' ? last.window?.end : undefined;
}

/** The host queue stopped being polled: its worker died, so the next attempt starts on another. */
function isHostLost(err: unknown): boolean {
  return isPickupTimeout(err);
}

function isPickupTimeout(err: unknown): boolean {
  return err instanceof ActivityFailure && err.cause instanceof TimeoutFailure && err.cause.timeoutType === TimeoutType.SCHEDULE_TO_START;
}
