/** Step 1: load the collector, read the HWM and fix this run's window. Runs on the executor's queue. */
import { Context } from '@temporalio/activity';
import type { CollectorRuntime } from '../src/runtime/runtime';
import { planWindow } from '../src/run/window-plan';
import type { HostClaim, PlanRequest, RunPlan } from '../src/run/types';
import { windowStamp } from '../src/contracts/window';
import { parseDuration } from '../src/run/duration';
import { keepAlive } from './heartbeat';
import { attemptScope } from './scope';
import { whoStarted } from './started-by';
import { scrubSecrets } from '../src/secrets/scrub';
import { annotateSpan } from '../src/observability/activity';

export function planActivities(runtime: CollectorRuntime) {
  return {
    async planRun(req: PlanRequest): Promise<RunPlan> {
      return keepAlive(async () => {
        // Resolving the collector names this attempt's metrics (a bad name or recipe stays "(unknown)").
        const scope = attemptScope(runtime, req.ref, { runId: req.runId });
        const { collector, secrets } = scope;
        // A recipe's source is held to the worker's policy here too, so a refusal comes before any step.
        if (collector.origin === 'recipe') await scope.sourceConfig();
        const store = await scope.hwmStore();
        const landing = await scope.landing();
        const startedBy = await whoStarted(runtime.log);
        const hwm = await store.get(collector.name);
        const o = collector.options;
        const ms = (d: string) => parseDuration(d)!;
        const plan = planWindow({
          hwm: hwm.value,
          lastResultEnd: req.lastResultEnd,
          nominalEnd: req.nominalEnd,
          initialLookbackMs: ms(o.initialLookback),
          safetyLagMs: ms(o.safetyLag),
        });
        runtime.log.info(
          { collector: collector.name, window: plan.window, origin: plan.origin, runId: req.runId, startedBy },
          'window planned',
        );
        annotateSpan({ collector: collector.name, runId: req.runId, window: plan.window });
        const planned: RunPlan = {
          ref: req.ref,
          collector: collector.name,
          sourceType: collector.source.type,
          executor: collector.executor,
          workflowId: req.workflowId,
          runId: req.runId,
          window: plan.window,
          windowOrigin: plan.origin,
          empty: plan.empty,
          hwmVersion: hwm.version,
          hwmBefore: hwm.value,
          stamp: windowStamp(plan.window.end),
          // Descriptions come from resolved config: scrub any secret value a path or prefix might hold.
          landing: scrubSecrets(landing.describe(), secrets.resolvedValues()),
          hwmStore: scrubSecrets(store.describe(), secrets.resolvedValues()),
          options: {
            compress: o.compress,
            dryRun: o.dryRun,
            requireApproval: o.requireApproval,
            approvalTimeoutMs: ms(o.approvalTimeout),
            extractTimeoutMs: ms(o.extractTimeout),
            uploadTimeoutMs: ms(o.uploadTimeout),
            heartbeatTimeoutMs: ms(o.heartbeatTimeout),
            hostPickupTimeoutMs: ms(o.hostPickupTimeout),
            maxHostAttempts: o.maxHostAttempts,
            uploadConcurrency: o.uploadConcurrency,
          },
          warnings: plan.warnings,
          startedBy,
        };
        return planned;
      });
    },

    /** Step 2: the host that picks this up keeps the staging files; later steps go to its own queue. */
    async claimHost(): Promise<HostClaim> {
      const queue = Context.current().info.taskQueue;
      return { hostQueue: runtime.hostQueue(queue), host: runtime.hostId };
    },
  };
}
