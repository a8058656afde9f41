/**
 * The rules of moving a high-water mark: only forward, only from the version this run read, and
 * idempotent when a retry finds its own earlier write.
 */
import { HwmConflictError } from '../contracts/errors';
import type { HwmState, HwmStore } from '../contracts/plugin';

export interface HwmIntent {
  collector: string;
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
    return { ...current, advanced: false };
  }
  if (current.value !== null && Date.parse(current.value) >= Date.parse(run.window.end)) {
    throw new HwmConflictError(
      `HWM of "${run.collector}" is already ${current.value}, not before this run's window end ${run.window.end}; it never moves backwards`,
    );
  }
  const next = await store.compareAndSet(run.collector, run.hwmVersion, run.window.end);
  return { ...next, advanced: true };
}
