/**
 * How the collect workflow reaches its activities: one proxy per kind of step, with its task queue,
 * timeouts and retry policy in one table. Executor proxies are typed by the executor set and host
 * proxies by the host set (activities/index.ts). These options are part of recorded histories: change
 * them only with a patch.
 */
import { ActivityCancellationType, proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { ExecutorActivities, HostActivities } from '../activities';
import { NON_RETRYABLE_ERROR_TYPES } from '../src/contracts/errors';
import type { HostClaim, RunPlan } from '../src/run/types';

/** A step on an executor queue nobody polls fails after this long, naming the queue (a misrouted run). */
export const EXECUTOR_PICKUP = '3m';
/** Executor-queue steps heartbeat every few seconds: a killed worker is noticed in this long. */
const EXECUTOR_HEARTBEAT = '20s';

const retry = (maximumAttempts: number): ActivityOptions['retry'] => ({
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '1m',
  maximumAttempts,
  nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
});

/** Steps on the executor's queue; bounded, so a misrouted executor fails the run instead of hanging it. */
export function executorSteps(taskQueue: string) {
  return proxyActivities<ExecutorActivities>({
    taskQueue,
    scheduleToStartTimeout: EXECUTOR_PICKUP,
    startToCloseTimeout: '2m',
    heartbeatTimeout: EXECUTOR_HEARTBEAT,
    scheduleToCloseTimeout: '1h',
    retry: retry(10),
  });
}

/** The HWM commit after a complete upload: retried until it lands or a conflict says it must not. */
export function committer(taskQueue: string) {
  const { maximumAttempts: _bounded, ...unlimited } = retry(1)!;
  return proxyActivities<ExecutorActivities>({
    taskQueue,
    startToCloseTimeout: '2m',
    heartbeatTimeout: EXECUTOR_HEARTBEAT,
    retry: unlimited,
  });
}

/** Bounded well inside the lease margin, so a lease that took long to get is not spent before the upload. */
export function acquirer(taskQueue: string) {
  return proxyActivities<ExecutorActivities>({
    taskQueue,
    startToCloseTimeout: '1m',
    heartbeatTimeout: EXECUTOR_HEARTBEAT,
    scheduleToCloseTimeout: '3m',
    retry: retry(10),
  });
}

export function releaser(taskQueue: string) {
  return proxyActivities<ExecutorActivities>({
    taskQueue,
    startToCloseTimeout: '1m',
    heartbeatTimeout: EXECUTOR_HEARTBEAT,
    scheduleToCloseTimeout: '10m',
    retry: retry(10),
  });
}

/** Steps on the claimed host's own queue, with the collector's timeouts. */
export function hostSteps(host: HostClaim, plan: RunPlan) {
  const o = plan.options;
  const onHost: ActivityOptions = { taskQueue: host.hostQueue, scheduleToStartTimeout: o.hostPickupTimeoutMs };
  // Cleanup must wait until a cancelled extract or upload has really stopped writing.
  const { extract } = proxyActivities<HostActivities>({
    ...onHost,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    startToCloseTimeout: o.extractTimeoutMs,
    heartbeatTimeout: o.heartbeatTimeoutMs,
    retry: retry(5),
  });
  const { validate } = proxyActivities<HostActivities>({
    ...onHost,
    startToCloseTimeout: o.extractTimeoutMs,
    heartbeatTimeout: o.heartbeatTimeoutMs,
    retry: retry(3),
  });
  // The whole upload, every retry included, fits in uploadTimeout: the publish lease is sized by it.
  const { upload } = proxyActivities<HostActivities>({
    ...onHost,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    scheduleToCloseTimeout: o.uploadTimeoutMs,
    startToCloseTimeout: o.uploadTimeoutMs,
    heartbeatTimeout: o.heartbeatTimeoutMs,
    retry: retry(8),
  });
  // Heartbeats: a worker killed mid-cleanup is noticed in seconds, not after the 5 minutes.
  const { cleanup } = proxyActivities<HostActivities>({
    ...onHost,
    startToCloseTimeout: '5m',
    heartbeatTimeout: o.heartbeatTimeoutMs,
    retry: retry(3),
  });
  return { extract, validate, upload, cleanup };
}
