/** Step 7: remove a run's staging directory on its host; always runs, also after failure or cancel. */
import { rm } from 'node:fs/promises';
import { Context } from '@temporalio/activity';
import type { CollectorRuntime } from '../src/runtime/runtime';
import type { RunPlan } from '../src/run/types';
import { keepAlive } from './heartbeat';

export function stagingActivities(runtime: CollectorRuntime) {
  return {
    async cleanup(plan: Pick<RunPlan, 'collector' | 'runId'>): Promise<void> {
      return keepAlive(async () => {
        const dir = runtime.stagingDir(plan.collector, plan.runId);
        // A writer still busy in the directory (an attempt the server gave up on) stops first.
        await runtime.staging.run(dir, Context.current().cancellationSignal, () => rm(dir, { recursive: true, force: true }));
        runtime.log.debug({ dir }, 'staging removed');
      });
    },
  };
}
