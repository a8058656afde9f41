/**
 * The collect workflow's activities as two sets, one per task queue (as in the Temporal sample
 * worker-specific-task-queues): the executor set runs wherever the executor's queue is polled and
 * touches only the shared HWM store; the host set runs on one host's own queue, next to its staging
 * directory. The workflow's proxies are typed by these sets, so a host step cannot be sent to an
 * executor queue or the other way round.
 */
import type { CollectorRuntime } from '../src/runtime/runtime';
import { extractActivities } from './extract';
import { hwmActivities } from './hwm';
import { planActivities } from './plan';
import { stagingActivities } from './staging';
import { uploadActivities } from './upload';
import { validateActivities } from './validate';

/** planRun, claimHost, acquirePublishLease, releasePublishLease, commitHwm: on the executor's queue. */
export function executorActivities(runtime: CollectorRuntime) {
  return {
    ...planActivities(runtime),
    ...hwmActivities(runtime),
  };
}

/** extract, validate, upload, cleanup: on the claimed host's queue (`<executor>@<host>`). */
export function hostActivities(runtime: CollectorRuntime) {
  return {
    ...extractActivities(runtime),
    ...validateActivities(runtime),
    ...uploadActivities(runtime),
    ...stagingActivities(runtime),
  };
}

export type ExecutorActivities = ReturnType<typeof executorActivities>;
export type HostActivities = ReturnType<typeof hostActivities>;
/** Both sets: for tests that mock every step at once. */
export type CollectorActivities = ExecutorActivities & HostActivities;
