/**
 * Who started this run, for the audit trail: read from the run's own start event (the identity the
 * starting client declared, the schedule that fired it, the parent workflow). Best effort: a worker whose
 * credentials may not read history still runs, with origin "unknown".
 */
import { Context } from '@temporalio/activity';
import { defaultPayloadConverter } from '@temporalio/common';
import type { StartedBy } from '../src/run/types';
import type { Logger } from '../src/log';

const MAX = 200;

export async function whoStarted(log: Logger): Promise<StartedBy> {
  const ctx = Context.current();
  try {
    const { workflowExecution, workflowNamespace } = ctx.info;
    if (!workflowExecution) return { origin: 'unknown' };
    const res = await ctx.client.workflowService.getWorkflowExecutionHistory({
      namespace: workflowNamespace,
      execution: { workflowId: workflowExecution.workflowId, runId: workflowExecution.runId },
      maximumPageSize: 1,
    });
    const started = res.history?.events?.[0]?.workflowExecutionStartedEventAttributes;
    if (!started) return { origin: 'unknown' };
    const identity = started.identity ? started.identity.slice(0, MAX) : undefined;
    const scheduled = started.searchAttributes?.indexedFields?.['TemporalScheduledById'];
    const scheduleId = scheduled ? String(defaultPayloadConverter.fromPayload(scheduled)).slice(0, MAX) : undefined;
    const parentWorkflowId = started.parentWorkflowExecution?.workflowId?.slice(0, MAX) ?? undefined;
    const origin: StartedBy['origin'] = scheduleId
      ? 'schedule'
      : parentWorkflowId
        ? 'child-workflow'
        : identity?.startsWith('collector-cli')
          ? 'collector-cli'
          : identity?.startsWith('temporal-cli')
            ? 'temporal-cli'
            : 'other';
    return {
      origin,
      ...(identity ? { identity } : {}),
      ...(scheduleId ? { scheduleId } : {}),
      ...(parentWorkflowId ? { parentWorkflowId } : {}),
    };
  } catch (e) {
    log.warn({ err: (e as Error).message }, "could not read who started the run (history not readable with this worker's credentials?)");
    return { origin: 'unknown' };
  }
}
