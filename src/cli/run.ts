/** `collector run`: start a collect workflow, follow its progress query, print the summary. */
import { runMemo, runSummaryLine } from '../run/describe';
import { WorkflowFailedError, type Client, type WorkflowHandle, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { WorkflowIdConflictPolicy } from '@temporalio/common';
import { SingleBar, Presets } from 'cli-progress';
import type { CollectInput, Progress, RunSummary } from '../run/types';
import { parseCollectInput } from '../run/collect-input';
import { ConfigError } from '../contracts/errors';
import { COLLECT_WORKFLOW, progressQuery } from '../../workflows/messages';

export const WORKFLOW_TYPE = COLLECT_WORKFLOW;

export function runWorkflowId(collector: string): string {
  return `collect-${collector}`;
}

/** A run with this workflow id is already open: the caller may follow it instead. */
export class RunInProgress extends Error {
  constructor(
    readonly workflowId: string,
    cause: unknown,
  ) {
    super(
      `a run with workflow id ${workflowId} is already in progress; wait for it or cancel it ("temporal workflow cancel -w ${workflowId}")`,
      { cause },
    );
  }
}

export async function startRun(
  client: Client,
  input: CollectInput,
  taskQueue: string,
  workflowId: string,
): Promise<WorkflowHandleWithFirstExecutionRunId> {
  // The workflow's own schema, so a run the workflow would refuse is never started.
  const parsed = parseCollectInput(input);
  if (!parsed.ok) throw new ConfigError(parsed.message);
  try {
    return await client.workflow.start(WORKFLOW_TYPE, {
      taskQueue,
      workflowId,
      args: [input],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
      // What the Web UI shows before the run has said anything itself.
      staticSummary: runSummaryLine(input),
      memo: runMemo(input),
    });
  } catch (e) {
    if ((e as Error).name === 'WorkflowExecutionAlreadyStartedError') throw new RunInProgress(workflowId, e);
    throw e;
  }
}

/** The innermost failure message: the activity's own words, not "Activity task failed". */
export function failureMessage(err: unknown): string {
  let e: unknown = err;
  let message = err instanceof Error ? err.message : String(err);
  while (e instanceof Error && (e as { cause?: unknown }).cause) {
    e = (e as { cause?: unknown }).cause;
    if (e instanceof Error && e.message) message = e.message;
  }
  const type = (e as { type?: string }).type;
  return type ? `${type}: ${message}` : message;
}

/**
 * Shows the run's progress until it ends (its summary) or `stop` aborts (undefined; the run is not
 * touched). The bar is gone before either returns, so what the caller says next stands on its own line.
 */
export async function followUntil(
  handle: WorkflowHandle,
  say: (m: string) => void,
  interactive: boolean,
  stop?: AbortSignal,
): Promise<RunSummary | undefined> {
  // Interrupted before following began (while the run was being started).
  if (stop?.aborted) return undefined;
  const bar = interactive
    ? new SingleBar(
        { format: ' {bar} {phase} | step {value}/{total} | {detail}', hideCursor: true, clearOnComplete: true },
        Presets.shades_classic,
      )
    : undefined;
  let lastPhase = '';
  let barStarted = false;
  const show = (p: Progress) => {
    const detail = [
      p.host ? `host ${p.host}` : '',
      p.rows !== undefined ? `${p.rows} rows` : '',
      p.hostAttempt > 1 ? `attempt ${p.hostAttempt}` : '',
    ]
      .filter(Boolean)
      .join(', ');
    if (bar) {
      if (!barStarted) {
        bar.start(p.steps, p.step, { phase: p.phase, detail });
        barStarted = true;
      }
      bar.update(p.step, { phase: p.phase, detail });
    } else if (p.phase !== lastPhase) {
      say(`  ${p.phase}${detail ? ` (${detail})` : ''}`);
    }
    lastPhase = p.phase;
  };
  // Every call of this follower is cancelled when it ends, and it waits for the one query in flight:
  // the SDK retries a refused query on a timer, and a retry after the caller closed the connection
  // throws where nothing can catch it.
  const calls = new AbortController();
  const call = <T>(fn: () => Promise<T>) => handle.client.withAbortSignal(calls.signal, fn);
  let following = true;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;
  // One query at a time: overlapping ones pile up on a busy server, which then refuses them.
  const poll = () => {
    inFlight = call(() => handle.query(progressQuery))
      .then(
        (p) => (following ? show(p) : undefined),
        () => undefined, // not started yet, or finished between polls
      )
      .finally(() => {
        inFlight = undefined;
        if (following) timer = setTimeout(poll, 300);
      });
  };
  timer = setTimeout(poll, 300);
  stop?.addEventListener('abort', () => calls.abort(), { once: true });
  try {
    return await call(() => handle.result() as Promise<RunSummary>);
  } catch (e) {
    // Stopped: the call was cancelled, the run was not.
    if (stop?.aborted) return undefined;
    throw e;
  } finally {
    following = false;
    clearTimeout(timer);
    calls.abort();
    if (inFlight) await settledWithin(inFlight, 5000);
    if (barStarted) bar?.stop();
  }
}

/** Waits for `p` (its outcome ignored), at most `ms`. */
async function settledWithin(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p.catch(() => undefined), new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

export function printSummary(s: RunSummary, say: (m: string) => void): void {
  say(`${s.collector}: ${s.status} | window [${s.window.start}, ${s.window.end}) from ${s.windowOrigin}`);
  for (const f of s.files)
    say(`  ${f.name.padEnd(48)} ${String(f.rows).padStart(8)} rows ${String(f.bytes).padStart(10)} B  sha256 ${f.sha256.slice(0, 16)}…`);
  if (s.manifest) say(`  ${s.manifest}`);
  say(`  landing: ${s.landing}`);
  say(`  HWM: ${s.hwm.before ?? 'none'} -> ${s.hwm.after ?? 'none'} (${s.hwm.store})`);
  if (s.startedBy)
    say(
      `  started by: ${s.startedBy.origin}${s.startedBy.scheduleId ? ` ${s.startedBy.scheduleId}` : ''}${s.startedBy.identity ? ` (${s.startedBy.identity})` : ''}`,
    );
  const d = s.durationsMs;
  say(
    `  took ${(d.total / 1000).toFixed(1)}s (extract ${(d.extract / 1000).toFixed(1)}s, validate ${(d.validate / 1000).toFixed(1)}s, upload ${(d.upload / 1000).toFixed(1)}s), host attempts ${s.hostAttempts}`,
  );
  for (const w of s.warnings) say(`  WARNING: ${w}`);
  for (const [k, v] of Object.entries(s.counters)) say(`  ${k}: ${v}`);
}

export function isWorkflowFailure(e: unknown): e is WorkflowFailedError {
  return e instanceof WorkflowFailedError;
}
