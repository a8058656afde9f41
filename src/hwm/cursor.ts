/**
 * A source's cursor: state a source keeps between runs beyond the HWM instant (PostgreSQL's previous
 * pg_stat_statements snapshot, Athena executions still running at the window's end). Entries are keyed by
 * the source (per database, per workgroup...); the whole cursor is stored in the HWM's own record and moves
 * with it under the same compare-and-set, so a failed run leaves both as they were.
 *
 * Between the extract (on a host) and the commit (on the executor's queue) the next cursor waits in the
 * same store as `<collector>_cursor-<runId>`: never in workflow history, which anyone who can read the
 * namespace sees, and which must stay small. The commit folds it in and removes it; cleanup removes it too.
 */
import { HwmConflictError } from '../contracts/errors';
import type { CursorValue, CursorView, HwmStore } from '../contracts/plugin';

export type CursorEntries = Record<string, CursorValue>;
/** A unit's changes: a value replaces the entry, null removes it. */
export type CursorChanges = Record<string, CursorValue | null>;

export const pendingCursorKey = (collector: string, runId: string) => `${collector}_cursor-${runId}`;

export function parseCursor(text: string | null | undefined): CursorEntries {
  if (!text) return {};
  return JSON.parse(text) as CursorEntries;
}

export function cursorView(entries: CursorEntries): CursorView {
  return { get: (key) => entries[key], keys: () => Object.keys(entries) };
}

/** The previous entries with a run's changes applied, as stored text (null when nothing is left). */
export function applyCursorChanges(previous: CursorEntries, changes: CursorChanges): string | null {
  const next: CursorEntries = { ...previous };
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) delete next[key];
    else next[key] = value;
  }
  return Object.keys(next).length ? JSON.stringify(next) : null;
}

/**
 * Parks the next cursor for the commit. Its value is the window end it belongs to, so a pending cursor is
 * never taken for another window's. A retried extract replaces its own earlier one.
 */
export async function writePendingCursor(
  store: HwmStore,
  collector: string,
  runId: string,
  windowEnd: string,
  cursor: string | null,
): Promise<void> {
  const key = pendingCursorKey(collector, runId);
  for (let attempt = 0; ; attempt++) {
    const current = await store.get(key);
    try {
      // An empty cursor is written as `{}`: "the run's cursor is empty" differs from "the source keeps none".
      await store.compareAndSet(key, current.version, windowEnd, cursor ?? '{}');
      return;
    } catch (e) {
      // Only this run writes its key; a conflict is its own earlier attempt still finishing. Try again, briefly.
      if (!(e instanceof HwmConflictError) || attempt >= 3) throw e;
    }
  }
}

/** The parked cursor of this run for `windowEnd`, or undefined when the source parked none. */
export async function readPendingCursor(
  store: HwmStore,
  collector: string,
  runId: string,
  windowEnd: string,
): Promise<string | null | undefined> {
  const pending = await store.get(pendingCursorKey(collector, runId));
  if (pending.value === null || Date.parse(pending.value) !== Date.parse(windowEnd)) return undefined;
  const text = pending.cursor ?? null;
  return text && text !== '{}' ? text : null;
}

export async function removePendingCursor(store: HwmStore, collector: string, runId: string): Promise<void> {
  const key = pendingCursorKey(collector, runId);
  const current = await store.get(key);
  if (current.version === null) return;
  try {
    await store.remove(key, current.version);
  } catch (e) {
    if (!(e instanceof HwmConflictError)) throw e;
  }
}
