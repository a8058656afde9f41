/**
 * The one activity interceptor of the suite, contributed by CollectorPlugin: around every attempt of a
 * collect step it opens the attempt's scope (activities/scope.ts), times it, counts its failure (terminal
 * or not) and converts what it throws to an ApplicationFailure scrubbed of every secret value the attempt
 * resolved. Activities themselves only do their domain work.
 */
import type { Context } from '@temporalio/activity';
import type { ActivityInterceptors } from '@temporalio/worker';
import { observeStep } from '../src/observability/activity';
import { isStepName } from '../src/observability/metrics';
import { toFailure } from './failures';
import { attemptSecrets, runAttempt, type Attempt } from './scope';

export function collectorActivityInterceptors(ctx: Context): ActivityInterceptors {
  return {
    inbound: {
      async execute(input, next) {
        const step = ctx.info.activityType;
        // A customer's own activities on the same worker are theirs to convert and measure.
        if (!isStepName(step) && step !== 'claimHost') return next(input);
        // Most steps carry the plan, whose collector names the series before anything resolves.
        const first: unknown = input.args[0];
        const named = typeof first === 'object' && first !== null && typeof (first as { collector?: unknown }).collector === 'string';
        const attempt: Attempt = { label: named ? (first as { collector: string }).collector : '(unknown)' };
        const run = () =>
          runAttempt(attempt, async () => {
            try {
              return await next(input);
            } catch (e) {
              throw toFailure(e, attemptSecrets(attempt));
            } finally {
              // Sources, landing zones and HWM stores the attempt opened: released whatever happened.
              await attempt.scope?.close();
            }
          });
        // claimHost has no collector to label its series with: converted, not timed.
        return isStepName(step) ? observeStep(step, () => attempt.label, run) : run();
      },
    },
  };
}
