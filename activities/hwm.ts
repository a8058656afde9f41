/** Step 6: advance the HWM to the window end, by compare-and-set, after every object is in place. */
import { commitHwm } from '../src/hwm/commit';
import { acquirePublishLease, releasePublishLease } from '../src/hwm/lease';
import type { CollectorRuntime } from '../src/runtime/runtime';
import type { RunPlan } from '../src/run/types';
import { keepAlive } from './heartbeat';
import { attemptScope } from './scope';
import { annotateSpan } from '../src/observability/activity';
import { recordHwmAdvanced } from '../src/observability/freshness';

export function hwmActivities(runtime: CollectorRuntime) {
  const storeFor = (plan: RunPlan) => attemptScope(runtime, plan.ref, { runId: plan.runId }).hwmStore();
  return {
    /** Before uploading: one run of a collector publishes at a time (see src/hwm/lease.ts). */
    async acquirePublishLease(plan: RunPlan, until: string): Promise<string> {
      return keepAlive(async () => acquirePublishLease(await storeFor(plan), plan.collector, until));
    },

    /** `until` identifies the lease: released only if it is still this run's. */
    async releasePublishLease(plan: RunPlan, until: string): Promise<void> {
      return keepAlive(async () => releasePublishLease(await storeFor(plan), plan.collector, until));
    },

    async commitHwm(plan: RunPlan): Promise<{ hwm: string | null; advanced: boolean }> {
      return keepAlive(async () => {
        const result = await commitHwm(await storeFor(plan), plan);
        runtime.log.info(
          { collector: plan.collector, hwm: result.value, previous: plan.hwmBefore, advanced: result.advanced },
          'HWM committed',
        );
        if (result.value) recordHwmAdvanced(plan.collector, result.value);
        annotateSpan({ collector: plan.collector, runId: plan.runId, window: plan.window });
        return { hwm: result.value, advanced: result.advanced };
      });
    },
  };
}
