/**
 * What the ETag-based HWM stores share: settling a conditional write whose answer may have been lost
 * (a retried request can meet its own earlier success), and removing an HWM that was never written.
 */
import { HwmConflictError } from '../../contracts/errors';
import type { HwmState, HwmStore } from '../../contracts/plugin';

export interface ConditionalWrite {
  store: HwmStore;
  collector: string;
  value: string;
  expectedVersion: string | null;
  /** The new state when the service accepted the write; undefined when it refused the condition. */
  written: HwmState | undefined;
  /** True when an earlier attempt of the same write may have succeeded unseen. */
  ambiguous: boolean;
}

export async function settleConditionalWrite(w: ConditionalWrite): Promise<HwmState> {
  if (w.written) return w.written;
  if (w.ambiguous) {
    const now = await w.store.get(w.collector);
    if (now.value !== null && Date.parse(now.value) === Date.parse(w.value)) return now;
  }
  throw new HwmConflictError(
    `HWM of "${w.collector}" in ${w.store.describe()} changed since version ${w.expectedVersion ?? '(none)'} was read; another run advanced it, so this one does not`,
  );
}

/** `remove` with no expected version: succeeds only while there is still no HWM. */
export async function assertStillAbsent(store: HwmStore, collector: string): Promise<void> {
  const now = await store.get(collector);
  if (now.version !== null) throw new HwmConflictError(`HWM of "${collector}" appeared meanwhile (now ${now.value}); not removed`);
}
