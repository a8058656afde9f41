/**
 * Short executor-queue steps (plan, lease, commit) heartbeat on a timer, so a worker killed in the middle
 * is noticed within the step's heartbeat timeout (seconds) instead of its start-to-close timeout (minutes).
 */
import { Context } from '@temporalio/activity';

export const KEEPALIVE_MS = 2_000;

export async function keepAlive<T>(body: () => Promise<T>): Promise<T> {
  const ctx = Context.current();
  ctx.heartbeat();
  const timer = setInterval(() => ctx.heartbeat(), KEEPALIVE_MS);
  try {
    return await body();
  } finally {
    clearInterval(timer);
  }
}
