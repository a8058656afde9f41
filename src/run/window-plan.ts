/**
 * Where a run's window starts and ends. start: the HWM, else the previous scheduled run's window end,
 * else `initialLookback` before the end. end: the run's nominal time minus `safetyLag`, to whole seconds.
 */
import type { Window, WindowOrigin } from '../contracts/window';

export interface WindowPlanInput {
  hwm: string | null;
  lastResultEnd?: string | undefined;
  nominalEnd: string;
  initialLookbackMs: number;
  safetyLagMs: number;
}

export interface WindowPlan {
  window: Window;
  origin: WindowOrigin;
  /** True when start >= end: nothing new to collect yet. */
  empty: boolean;
  warnings: string[];
}

export function planWindow(input: WindowPlanInput): WindowPlan {
  const endMs = Math.floor((Date.parse(input.nominalEnd) - input.safetyLagMs) / 1000) * 1000;
  let origin: WindowOrigin;
  let startMs: number;
  if (input.hwm) {
    origin = 'hwm';
    startMs = Date.parse(input.hwm);
  } else if (input.lastResultEnd) {
    origin = 'schedule-last-result';
    startMs = Date.parse(input.lastResultEnd);
  } else {
    origin = 'initial-lookback';
    startMs = endMs - input.initialLookbackMs;
  }
  const warnings: string[] = [];
  if (startMs > endMs) {
    warnings.push(`the HWM (${new Date(startMs).toISOString()}) is later than this run's window end; nothing to collect`);
  }
  return {
    window: { start: new Date(startMs).toISOString(), end: new Date(Math.max(startMs, endMs)).toISOString() },
    origin,
    empty: startMs >= endMs,
    warnings,
  };
}
