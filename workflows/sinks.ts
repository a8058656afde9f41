/**
 * What the collect workflow tells its worker without adding anything to history: how each run ended,
 * for the `collector_runs_total` and `collector_run_duration_seconds` metrics. CollectorPlugin registers
 * the implementation (src/plugin.ts); like every sink it is not called while a history replays.
 */
import { proxySinks, type Sinks } from '@temporalio/workflow';
import type { RunOutcome } from '../src/run/types';

export interface CollectorSinks extends Sinks {
  runs: {
    /** `collector` is "(unknown)" for a run that ended before its plan named the collector. */
    ended(collector: string, outcome: RunOutcome): void;
  };
}

export const { runs } = proxySinks<CollectorSinks>();
