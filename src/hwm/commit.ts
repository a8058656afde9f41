/**
 * The rules of moving a high-water mark: only forward, only from the version this run read, and
 * idempotent when a retry finds its own earlier write.
 */
import { HwmConflictError } from '../contracts/errors';
import type { HwmState, HwmStore } from '../contracts/plugin';
import { readPendingCursor, removePendingCursor } from './cursor';

export interface HwmIntent {
  collector: string;
  /** Names the run's parked cursor (src/hwm/cursor.ts); without it the stored cursor is kept as it is. */
  runId?: string;
  hwmVersion: string | null;
  hwmBefore: string | null;
  window: { start: string; end: string };
}

export async function assertHwmUnchanged(store: HwmStore, run: HwmIntent): Promise<void> {
  const now = await store.get(run.collector);
  if (now.version !== run.hwmVersion) {
    throw new HwmConflictError(
      `HWM of "${run.collector}" moved from ${run.hwmBefore ?? 'none'} to ${now.value ?? 'none'} since this run started; another run collected this window, so this one stops without uploading`,
    );
  }
}

export async function commitHwm(store: HwmStore, run: HwmIntent): Promise<HwmState & { advanced: boolean }> {
  const current = await store.get(run.collector);
  // A retry after a lost response: our own value is already there.
  if (current.value !== null && Date.parse(current.value) === Date.parse(run.window.end) && current.version !== run.hwmVersion) {
    if (run.runId) await removePendingCursor(store, run.collector, run.runId);
    return { ...current, advanced: false };
  }
  if (current.value !== null && Date.parse(current.value) >= Date.parse(run.window.end)) {
    throw new HwmConflictError(
      `HWM of "${run.collector}" is already ${current.value}, not before this run's window end ${run.window.end}; it never moves backwards`,
    );
  }
  // The extract read the cursor at this same version, so the parked one already holds what it kept.
  const parked = run.runId ? await readPendingCursor(store, run.collector, run.runId, run.window.end) : undefined;
  const cursor = parked === undefined ? (current.cursor ?? null) : parked;
  const next = await store.compareAndSet(run.collector, run.hwmVersion, run.window.end, cursor);
  if (run.runId) await removePendingCursor(store, run.collector, run.runId);
  return { ...next, advanced: true };
}
