/**
 * A workflow interceptor module for fast workflow tests only: the time-skipping test server never times
 * out schedule-to-start, so a host nobody polls any more cannot be reached honestly there. This module
 * answers a step scheduled on a host queue named `…@lost` (any step) or `…@lost-upload` (the upload
 * only) with exactly what the server would deliver for an unpolled queue: an ActivityFailure caused by a
 * SCHEDULE_TO_START TimeoutFailure. The workflow's own code decides what that means.
 */
import { ActivityFailure, RetryState, TimeoutFailure, TimeoutType } from '@temporalio/common';
import type { WorkflowInterceptorsFactory } from '@temporalio/workflow';

export const interceptors: WorkflowInterceptorsFactory = () => ({
  outbound: [
    {
      async scheduleActivity(input, next) {
        const lost = /@lost(-upload)?$/.exec(input.options.taskQueue ?? '');
        if (lost && (!lost[1] || input.activityType === 'upload')) {
          throw new ActivityFailure(
            'activity ScheduleToStart timeout',
            input.activityType,
            String(input.seq),
            RetryState.NON_RETRYABLE_FAILURE,
            undefined,
            new TimeoutFailure('activity ScheduleToStart timeout', undefined, TimeoutType.SCHEDULE_TO_START),
          );
        }
        return next(input);
      },
    },
  ],
});
