/** Step 6: advance the HWM to the window end, by compare-and-set, after every object is in place. */
import { Context } from '@temporalio/activity';
import { commitHwm } from '../src/hwm/commit';
import { acquirePublishLease, releasePublishLease } from '../src/hwm/lease';
import { withClosing, type CollectorRuntime } from '../src/runtime/runtime';
import type { RunPlan } from '../src/run/types';
import type { HwmStore } from '../src/contracts/plugin';
import { adapt } from './failures';
import { keepAlive } from './heartbeat';
import { annotateSpan, observeStep, recordRunEnd } from '../src/observability/activity';
import { recordHwmAdvanced } from '../src/observability/freshness';

export function hwmActivities(runtime: CollectorRuntime) {
  /** Runs `fn` with the plan's store, closed afterwards. */
  const withStore = <T>(plan: RunPlan, track: (v: Iterable<string>) => void, fn: (store: HwmStore) => Promise<T>) =>
    withClosing(runtime.log, async (keep) => {
      const collector = runtime.collector(plan.ref);
      const secrets = runtime.secrets(collector);
      const store = keep(await runtime.hwmStore(collector, secrets, { log: runtime.log, signal: Context.current().cancellationSignal }));
      track(secrets.resolvedValues());
      return fn(store);
    });
  return {
    /** Before uploading: one run of a collector publishes at a time (see src/hwm/lease.ts). */
    async acquirePublishLease(plan: RunPlan, until: string): Promise<string> {
      return adapt(async (track) => keepAlive(() => withStore(plan, track, (store) => acquirePublishLease(store, plan.collector, until))));
    },

    /** `until` identifies the lease: released only if it is still this run's. */
    async releasePublishLease(plan: RunPlan, until: string): Promise<void> {
      return adapt(async (track) => keepAlive(() => withStore(plan, track, (store) => releasePublishLease(store, plan.collector, until))));
    },

    async commitHwm(plan: RunPlan): Promise<{ hwm: string | null; advanced: boolean }> {
      return observeStep('commitHwm', () => plan.collector, () => adapt(async (track) => keepAlive(async () => {
        const result = await withStore(plan, track, (store) => commitHwm(store, plan));
        runtime.log.info({ collector: plan.collector, hwm: result.value, previous: plan.hwmBefore, advanced: result.advanced }, 'HWM committed');
        // The HWM moving is what "completed" means: every file is in the landing zone.
        if (result.value) recordHwmAdvanced(plan.collector, result.value);
        recordRunEnd(plan.collector, 'completed');
        annotateSpan({ collector: plan.collector, runId: plan.runId, window: plan.window });
        return { hwm: result.value, advanced: result.advanced };
      })));
    },
  };
}
