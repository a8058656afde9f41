/**
 * Step timing and failure counting for the activity interceptor (activities/interceptor.ts: around the
 * failure conversion, so they see the Temporal failure type and retryability the workflow sees), run
 * outcomes for the workflow's sink, and attributes on the activity span that
 * @temporalio/interceptors-opentelemetry opens (no-ops when tracing is off).
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { trace, type Attributes } from '@opentelemetry/api';
import type { Window } from '../contracts/window';
import { activityDuration, activityFailures, runDuration, runsTotal, type RunOutcome, type StepName } from './metrics';

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
      trace.getActiveSpan()?.setAttribute('collector.failure_type', f.type);
    }
    throw err;
  }
}

/**
 * Counts a run as its workflow ended it (the sink of workflows/sinks.ts); a completed or dry run's
 * duration runs from the run's start, which the workflow's info carries.
 */
export function recordRunEnd(collector: string, outcome: RunOutcome, runStartTime: Date): void {
  runsTotal.inc({ collector, outcome });
  if (outcome === 'completed' || outcome === 'dry_run')
    runDuration.observe({ collector, outcome }, Math.max(0, (Date.now() - runStartTime.getTime()) / 1000));
}

/** Attributes on the current activity span: which collector, which window, how much. */
export function annotateSpan(attrs: {
  collector?: string;
  runId?: string;
  window?: Window;
  rows?: number;
  bytes?: number;
  files?: number;
  objects?: number;
}): void {
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
