/** `collector run <collector>`: start a run, show its progress, print the summary. */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { parseRecipe } from '../../config/load';
import { RECIPE_PREFIX, RECIPE_SHAPE_ONLY } from '../../config/recipe-policy';
import type { CollectInput } from '../../run/types';
import { ConfigError } from '../../contracts/errors';
import { temporalConfigured } from '../../temporal/connection';
import { interactive, note, RunFailed, say, stateDirOf, type Common } from '../common';
import { executorOf, runtimeFor } from '../context';
import { WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { failureMessage, followUntil, isWorkflowFailure, printSummary, RunInProgress, runWorkflowId, startRun } from '../run';
import { Interrupted } from '../interrupt';
import { openSession, type Session } from '../session';

export interface RunFlags extends Common {
  dryRun?: boolean;
  requireApproval?: boolean;
  recipe?: string;
  executor?: string;
  workflowId?: string;
  wait: boolean;
  /** A run already in progress under the workflow id is followed instead of refused. */
  follow?: boolean;
  /** Ctrl-C cancels the run (and waits for that to be recorded) instead of leaving it running. */
  cancelOnInterrupt?: boolean;
  json?: boolean;
}

export async function run(name: string, o: RunFlags): Promise<void> {
  if (!o.wait && !temporalConfigured()) {
    // The embedded dev server stops when this command exits: a run left behind would wait for ever.
    throw new ConfigError(
      '--no-wait needs a Temporal server that outlives this command: without TEMPORAL_ADDRESS (or a temporal.toml profile) the run would go to the embedded dev server, which stops when `collector run` returns; set one, or run without --no-wait',
    );
  }
  let input: CollectInput = { collector: name };
  let taskQueue: string;
  if (o.recipe) {
    const recipe = { name, ...(parseYaml(readFileSync(o.recipe, 'utf8')) as Record<string, unknown>) };
    // Checked here first: a recipe with a plain secret must be refused before it is sent, since
    // whatever a workflow receives is stored in its history. With an embedded worker its policy is
    // this collectors file's; a remote worker applies its own, so here only the recipe's shape counts.
    const runtime = await runtimeFor(o);
    const policy = temporalConfigured() ? RECIPE_SHAPE_ONLY : runtime.recipePolicy();
    const checked = parseRecipe(recipe, runtime.registry, policy);
    input = { recipe };
    taskQueue = o.executor ?? checked.executor;
  } else {
    taskQueue = await executorOf(o, name, o.executor);
  }
  if (o.dryRun) input.dryRun = true;
  if (o.requireApproval) input.requireApproval = true;
  // With --json, stdout carries the JSON document alone: progress and notes go to stderr.
  const out = o.json ? note : say;
  const session = await openSession({
    stateDir: stateDirOf(o),
    inProcessWorker: 'embedded',
    ...(o.config ? { configPath: o.config } : {}),
    say: note,
  });
  const workflowId = o.workflowId ?? runWorkflowId(o.recipe ? `${RECIPE_PREFIX}${name}` : name);
  try {
    const { handle, runId } = await startOrFollow(session, input, taskQueue, workflowId, o, out);
    if (!o.wait) {
      if (o.json) say(JSON.stringify({ workflowId, runId, taskQueue }));
      return;
    }
    const summary = await followUntil(handle, out, interactive && !o.json, session.interrupts.first);
    if (!summary) return await stopFollowing(handle, runId, session, o);
    if (o.json) say(JSON.stringify(summary));
    else printSummary(summary, say);
  } catch (e) {
    if (!isWorkflowFailure(e)) throw e;
    const message = failureMessage(e);
    if (o.json) say(JSON.stringify({ workflowId, status: 'failed', error: message }));
    throw new RunFailed(message);
  } finally {
    await session.close();
  }
}

/** Starts the run; when one is already open under its workflow id, follows that one if asked to (--follow, or yes at the prompt). */
async function startOrFollow(
  session: Session,
  input: CollectInput,
  taskQueue: string,
  workflowId: string,
  o: RunFlags,
  out: (m: string) => void,
): Promise<{ handle: WorkflowHandle; runId: string }> {
  try {
    const handle = await startRun(session.client, input, taskQueue, workflowId);
    out(`started ${handle.workflowId} on task queue ${taskQueue}`);
    return { handle, runId: handle.firstExecutionRunId };
  } catch (e) {
    if (!(e instanceof RunInProgress)) throw e;
    const open = await session.client.workflow.getHandle(workflowId).describe();
    const what = `a run is already in progress: workflow ${workflowId}, run ${open.runId}, started ${open.startTime.toISOString()}`;
    if (o.follow || (await askToFollow(what, session.interrupts.first))) {
      out(`following ${workflowId} (run ${open.runId}, started ${open.startTime.toISOString()})`);
      return { handle: session.client.workflow.getHandle(workflowId, open.runId), runId: open.runId };
    }
    // Not a failed run (exit 1 all the same): nothing was started.
    throw new Error(`${what}; add --follow to follow it, or cancel it ("temporal workflow cancel -w ${workflowId}")`, { cause: e });
  }
}

/** Asks on the terminal; false without one (stdin and stderr both a TTY), where the caller says how instead. */
async function askToFollow(what: string, interrupted: AbortSignal): Promise<boolean> {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return false;
  if (interrupted.aborted) throw new Interrupted('interrupted; nothing was started');
  const { createInterface } = require('node:readline/promises') as typeof import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  // The prompt reads the terminal in raw mode: its Ctrl-C arrives here, not as a signal.
  const cancel = new AbortController();
  rl.on('SIGINT', () => cancel.abort());
  interrupted.addEventListener('abort', () => cancel.abort(), { once: true });
  try {
    const answer = await rl.question(`${what}. Follow it? [Y/n] `, { signal: cancel.signal });
    return !/^\s*n/i.test(answer);
  } catch (e) {
    if (cancel.signal.aborted) throw new Interrupted('interrupted; nothing was started');
    throw e;
  } finally {
    rl.close();
  }
}

/**
 * Ctrl-C while following: says what becomes of the run, then ends with exit 130. The session is closed
 * after that (the embedded server, if any, stopped last), so the message is not lost to a dying server.
 */
async function stopFollowing(handle: WorkflowHandle, runId: string, session: Session, o: RunFlags): Promise<never> {
  const id = handle.workflowId;
  if (!o.cancelOnInterrupt) {
    note(
      session.embedded
        ? `interrupted: stopped following ${id}. The embedded Temporal stops with this command: the run stays open in its state and carries on when the same command runs again with --follow, which resumes and follows it`
        : `interrupted: stopped following ${id}; the run goes on at ${session.address} (add --follow to follow it again; cancel it with "temporal workflow cancel -w ${id}")`,
    );
    if (o.json) say(JSON.stringify({ workflowId: id, runId, interrupted: true, cancelled: false }));
    throw new Interrupted();
  }
  note(`interrupted: cancelling ${id}; waiting until the cancellation is recorded (Ctrl-C again to stop waiting)`);
  const status = await cancelAndWait(handle, session.interrupts.second);
  note(
    status === undefined
      ? `stopped waiting: the cancellation of ${id} is requested and is recorded once a worker acknowledges it`
      : status === 'CANCELLED'
        ? `${id} cancelled`
        : `${id} ended ${status} before the cancellation took effect`,
  );
  if (o.json) say(JSON.stringify({ workflowId: id, runId, interrupted: true, cancelled: status === 'CANCELLED', status }));
  throw new Interrupted();
}

/** Requests cancellation and waits for the run to close: its final status, or undefined when `stop` came first. */
async function cancelAndWait(handle: WorkflowHandle, stop: AbortSignal): Promise<string | undefined> {
  try {
    await handle.cancel();
  } catch (e) {
    // Closed in the meantime: its status says how.
    if (!(e instanceof WorkflowNotFoundError)) throw e;
  }
  try {
    // Cancelled with the second Ctrl-C, so that no call outlives the connection (a call made once the
    // signal has aborted would not be cancelled: none is made then).
    if (stop.aborted) return undefined;
    await handle.client.withAbortSignal(stop, () => handle.result());
  } catch {
    if (stop.aborted) return undefined;
    // Failed or cancelled: the status says which.
  }
  return (await handle.describe()).status.name;
}
