/** `collector approve|reject <workflowId>`: the decision for a run waiting at its approval gate. */
import { approveSignal, rejectSignal } from '../../../workflows/messages';
import { say, type Common } from '../common';
import { withClient } from '../session';

export async function decide(verb: 'approve' | 'reject', workflowId: string, o: Common & { by?: string; reason?: string }): Promise<void> {
  const signal = verb === 'approve' ? approveSignal : rejectSignal;
  await withClient(o, (s) =>
    s.client.workflow.getHandle(workflowId).signal(signal, { ...(o.by ? { by: o.by } : {}), ...(o.reason ? { reason: o.reason } : {}) }),
  );
  say(`${verb}d ${workflowId}`);
}
