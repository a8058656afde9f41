/**
 * `collector approve|reject <workflowId>`: the decision for a run waiting at its approval gate, sent as a
 * Workflow Update, so a run that is not waiting (too early, already decided, ended) refuses it and the
 * person is told why, with exit 2, instead of a signal kept for later or lost.
 */
import { WorkflowUpdateFailedError, WorkflowNotFoundError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { approveUpdate, rejectUpdate } from '../../../workflows/messages';
import { ConfigError } from '../../contracts/errors';
import { say, type Common } from '../common';
import { withClient } from '../session';

export async function decide(verb: 'approve' | 'reject', workflowId: string, o: Common & { by?: string; reason?: string }): Promise<void> {
  const update = verb === 'approve' ? approveUpdate : rejectUpdate;
  const decision = { ...(o.by ? { by: o.by } : {}), ...(o.reason ? { reason: o.reason } : {}) };
  await withClient(o, async (s) => {
    const handle = s.client.workflow.getHandle(workflowId);
    try {
      await handle.executeUpdate(update, { args: [decision] });
    } catch (e) {
      throw await refusal(verb, workflowId, e, () => handle.describe().then((d) => d.status.name));
    }
  });
  say(`${verb}d ${workflowId}`);
}

/** The reason a decision was not taken, in the run's own words where it gave some. */
async function refusal(verb: string, workflowId: string, e: unknown, status: () => Promise<string>): Promise<unknown> {
  if (e instanceof WorkflowUpdateFailedError && e.cause instanceof ApplicationFailure) {
    return new ConfigError(`${workflowId} refused the ${verb}: ${e.cause.message}`);
  }
  // An Update to a run that has ended fails before any handler sees it (the server answers "not found"
  // for a completed run too): say how it ended, or that there is no such run.
  const ended = await status().catch((err: unknown) => (err instanceof WorkflowNotFoundError ? 'none' : undefined));
  if (ended === 'none') return new ConfigError(`no run ${workflowId}: check the workflow id (collector run prints it)`);
  if (ended && ended !== 'RUNNING') return new ConfigError(`${workflowId} has already ended (${ended}): there is nothing to ${verb}`);
  return e;
}
