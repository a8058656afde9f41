/** Step 7: remove a run's staging directory on its host; always runs, also after failure or cancel. */
import { rm } from 'node:fs/promises';
import { Context } from '@temporalio/activity';
import type { CollectorRuntime } from '../src/runtime/runtime';
import type { RunPlan } from '../src/run/types';
import { keepAlive } from './heartbeat';
import { attemptScope } from './scope';
import { removePendingCursor } from '../src/hwm/cursor';

export function stagingActivities(runtime: CollectorRuntime) {
  return {
    async cleanup(plan: Pick<RunPlan, 'collector' | 'runId'> & Partial<Pick<RunPlan, 'ref'>>): Promise<void> {
      return keepAlive(async () => {
        const dir = runtime.stagingDir(plan.collector, plan.runId);
        // A writer still busy in the directory (an attempt the server gave up on) stops first.
        await runtime.staging.run(dir, Context.current().cancellationSignal, () => rm(dir, { recursive: true, force: true }));
        runtime.log.debug({ dir }, 'staging removed');
        // A cursor parked by a run that never committed (failed, dry run, rejected) goes too; after a commit it is gone already.
        if (plan.ref)
          await removePendingCursor(await attemptScope(runtime, plan.ref, { runId: plan.runId }).hwmStore(), plan.collector, plan.runId);
      });
    },
  };
}
