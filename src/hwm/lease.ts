/**
 * The publish lease: one run of a collector at a time may upload and commit. Without it, two runs that
 * planned from the same HWM could both upload (overlapping windows) before one of them lost the HWM
 * compare-and-set. The lease lives in the collector's own HWM store as `<collector>_lease` (underscores
 * cannot occur in collector names, so it never collides with a real HWM) and holds its expiry instant,
 * chosen by the run, so a retried acquire recognises its own lease.
 */
import { HwmConflictError } from '../contracts/errors';
import type { HwmStore } from '../contracts/plugin';

export const leaseKey = (collector: string) => `${collector}_lease`;

/** Takes the lease until `until`, or throws HwmConflictError while another run holds it. Returns its version. */
export async function acquirePublishLease(store: HwmStore, collector: string, until: string, now = Date.now()): Promise<string> {
  const key = leaseKey(collector);
  const current = await store.get(key);
  if (current.value !== null && current.version !== null && Date.parse(current.value) === Date.parse(until)) return current.version;
  if (current.value !== null && Date.parse(current.value) > now) {
    throw new HwmConflictError(
      `another run of "${collector}" is uploading (its lease runs until ${current.value}); this run stops without uploading`,
    );
  }
  const taken = await store.compareAndSet(key, current.version, until);
  return taken.version!;
}

/** Gives the lease back if it is still the one that runs `until`; a lease taken over meanwhile stays. */
export async function releasePublishLease(store: HwmStore, collector: string, until: string): Promise<void> {
  const key = leaseKey(collector);
  const current = await store.get(key);
  if (current.value === null || Date.parse(current.value) !== Date.parse(until)) return;
  try {
    await store.remove(key, current.version);
  } catch (e) {
    if (!(e instanceof HwmConflictError)) throw e;
  }
}
