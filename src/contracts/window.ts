/**
 * A collection window is half-open, [start, end): consecutive runs tile time with no gap and no overlap.
 * Pure: imported by workflow code.
 */
export interface Window {
  /** ISO 8601, inclusive. */
  start: string;
  /** ISO 8601, exclusive. */
  end: string;
}

/** Where a window's start came from, for the run summary and for people reading it. */
export type WindowOrigin = 'hwm' | 'schedule-last-result' | 'initial-lookback';

export function inWindow(window: Window, at: Date): boolean {
  const t = at.getTime();
  return t >= Date.parse(window.start) && t < Date.parse(window.end);
}

/** `2026-11-21T05:37:00.000Z` -> `20261121T053700Z`: sortable, file-name safe, second precision. */
export function windowStamp(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) throw new RangeError(`not a timestamp: ${iso}`);
  return d
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}
