/**
 * `collector test-connection` for an HWM store, through the store's own operations on a probe name no
 * collector can have (collector names start with a letter or digit): a conditional create, a second
 * create that must be refused, a read back, a compare-and-set on the version read, and a removal. No
 * real HWM is read-modified, so running it next to live runs moves nothing.
 */
import { randomUUID } from 'node:crypto';
import { errorMessage, HwmConflictError } from '../contracts/errors';
import type { Check, HwmStore } from '../contracts/plugin';

/** What to grant when a step fails, in the store's own terms (IAM actions, SAS letters, file modes). */
export interface HwmProbeGrants {
  read: string;
  write: string;
  /** Only `collector hwm reset` removes an HWM: a missing delete grant is reported, not required. */
  delete: string;
}

/** The probe's "collector" name for `prefix` (e.g. `.collector-tmp/`, the prefix consumers ignore). */
export function hwmProbeName(prefix: string): string {
  return `${prefix}probe-${randomUUID()}`;
}

export async function probeHwmStore(store: HwmStore, probe: string, grants: HwmProbeGrants): Promise<Check[]> {
  const checks: Check[] = [];
  const fail = (name: string, e: unknown, grant: string | undefined, required = true): Check => ({
    name,
    ok: false,
    required,
    detail: errorMessage(e),
    ...(grant ? { grant } : {}),
  });
  const t0 = '2000-01-01T00:00:00.000Z';
  let version: string | null;
  try {
    version = (await store.compareAndSet(probe, null, t0)).version;
    checks.push({ name: 'HWM conditional create', ok: true, required: true, detail: `wrote a probe in ${store.describe()}` });
  } catch (e) {
    checks.push(fail('HWM conditional create', e, grants.write));
    return checks;
  }
  try {
    await store.compareAndSet(probe, null, t0);
    checks.push({
      name: 'HWM create refused when present',
      ok: false,
      required: true,
      detail: 'a second create of the probe was accepted: runs racing could both advance the HWM here',
    });
  } catch (e) {
    checks.push(
      e instanceof HwmConflictError
        ? { name: 'HWM create refused when present', ok: true, required: true }
        : fail('HWM create refused when present', e, grants.write),
    );
  }
  try {
    const read = await store.get(probe);
    if (read.version !== version || read.value !== t0) throw new Error(`read back ${read.value ?? 'nothing'} instead of the probe's ${t0}`);
    checks.push({ name: 'HWM read', ok: true, required: true });
  } catch (e) {
    checks.push(fail('HWM read', e, grants.read));
    return checks;
  }
  try {
    version = (await store.compareAndSet(probe, version, '2000-01-02T00:00:00.000Z')).version;
    checks.push({ name: 'HWM compare-and-set', ok: true, required: true });
  } catch (e) {
    checks.push(fail('HWM compare-and-set', e, grants.write));
  }
  try {
    await store.remove(probe, version);
    checks.push({ name: 'HWM remove probe (for hwm reset)', ok: true, required: false });
  } catch (e) {
    checks.push(fail('HWM remove probe (for hwm reset)', e, grants.delete, false));
  }
  return checks;
}
