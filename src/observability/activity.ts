/**
 * Hooks the activities call: step timing and failure counting (around `adapt`, so they see the Temporal
 * failure type and retryability the workflow sees), run outcomes, and attributes on the activity span
 * that @temporalio/interceptors-opentelemetry opens (no-ops when tracing is off).
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { trace, type Attributes } from '@opentelemetry/api';
import type { Window } from '../contracts/window';
import { activityDuration, activityFailures, runDuration, runsTotal, type RunOutcome, type StepName } from './metrics';

/** Steps whose terminal failure fails the run (cleanup failures are logged by the workflow, nothing more). */
const RUN_STEPS: ReadonlySet<StepName> = new Set(['planRun', 'extract', 'validate', 'upload', 'commitHwm']);

function failureOf(err: unknown): { type: string; retryable: boolean; cancelled: boolean } {
  if (err instanceof CancelledFailure) return { type: 'Cancelled', retryable: false, cancelled: true };
  if (err instanceof ApplicationFailure) return { type: err.type ?? 'Error', retryable: !err.nonRetryable, cancelled: false };
  return { type: err instanceof Error ? err.name || 'Error' : 'Error', retryable: true, cancelled: false };
}

/** True when Temporal will not schedule another attempt of this activity. */
function lastAttempt(): boolean {
  const { attempt, retryPolicy } = Context.current().info;
  const max = retryPolicy?.maximumAttempts;
  return typeof max === 'number' && max > 0 && attempt >= max;
}

/**
 * Times one attempt of `step` and counts its failure by type. `collector` is read at the end, so a step
 * that learns the name while running (planning) labels its series with it.
 */
export async function observeStep<T>(step: StepName, collector: () => string, body: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const seconds = () => (performance.now() - started) / 1000;
  try {
    const out = await body();
    activityDuration.observe({ collector: collector(), activity: step, outcome: 'success' }, seconds());
    return out;
  } catch (err) {
    const f = failureOf(err);
    const name = collector();
    activityDuration.observe({ collector: name, activity: step, outcome: f.cancelled ? 'cancelled' : 'failure' }, seconds());
    if (!f.cancelled) {
      const terminal = !f.retryable || lastAttempt();
      activityFailures.inc({ collector: name, activity: step, type: f.type, terminal: String(terminal) });
      if (terminal && RUN_STEPS.has(step)) runsTotal.inc({ collector: name, outcome: 'failed' });
      trace.getActiveSpan()?.setAttribute('collector.failure_type', f.type);
    }
    throw err;
  }
}

/**
 * Counts a run that ended on this worker; its duration (from the workflow's start, which only Temporal
 * knows) is observed when a describe answers, off the activity's path and bounded by a timeout.
 */
export function recordRunEnd(collector: string, outcome: Exclude<RunOutcome, 'failed'>): void {
  runsTotal.inc({ collector, outcome });
  if (outcome === 'empty') return;
  let ctx: Context;
  try {
    ctx = Context.current();
    void ctx.client;
  } catch {
    return;
  }
  const execution = ctx.info.workflowExecution;
  if (!execution) return;
  const { workflowId, runId } = execution;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), 5_000)));
  const startedAt = ctx.client.workflow
    .getHandle(workflowId, runId)
    .describe()
    .then((d) => d.startTime.getTime())
    .catch(() => undefined);
  void Promise.race([startedAt, timeout]).then((t) => {
    clearTimeout(timer);
    if (t !== undefined) runDuration.observe({ collector, outcome }, Math.max(0, (Date.now() - t) / 1000));
  });
}

/** Attributes on the current activity span: which collector, which window, how much. */
export function annotateSpan(attrs: { collector?: string; runId?: string; window?: Window; rows?: number; bytes?: number; files?: number; objects?: number }): void {
  const span = trace.getActiveSpan();
  if (!span) return;
  const out: Attributes = {};
  if (attrs.collector !== undefined) out['collector.name'] = attrs.collector;
  if (attrs.runId !== undefined) out['collector.run_id'] = attrs.runId;
  if (attrs.window) {
    out['collector.window.start'] = attrs.window.start;
    out['collector.window.end'] = attrs.window.end;
  }
  if (attrs.rows !== undefined) out['collector.rows'] = attrs.rows;
  if (attrs.bytes !== undefined) out['collector.bytes'] = attrs.bytes;
  if (attrs.files !== undefined) out['collector.files'] = attrs.files;
  if (attrs.objects !== undefined) out['collector.objects'] = attrs.objects;
  span.setAttributes(out);
}
