/**
 * The collector's own Prometheus metrics (prom-client), in one registry of their own so a customer who
 * embeds CollectorPlugin can merge them into theirs (`Registry.merge`). Every name is documented in
 * docs/observability.md; keep the two in step.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ApiOutcome } from '../contracts/plugin';
import { BUILD_ID, TOOL_VERSION } from '../version';

export const collectorRegistry = new Registry();

const registers = [collectorRegistry];

/** Steps of the collect workflow timed and counted per attempt; the `activity` label takes these values. */
const STEPS = ['planRun', 'extract', 'validate', 'upload', 'commitHwm', 'cleanup', 'acquirePublishLease', 'releasePublishLease'] as const;
export type StepName = (typeof STEPS)[number];

export function isStepName(name: string): name is StepName {
  return (STEPS as readonly string[]).includes(name);
}

export type { RunOutcome } from '../run/types';

export const runsTotal = new Counter({
  name: 'collector_runs_total',
  help: 'Runs by outcome, as the workflow ends them: completed (HWM committed), dry_run, empty, rejected (at the approval gate), failed, cancelled',
  labelNames: ['collector', 'outcome'] as const,
  registers,
});

export const runDuration = new Histogram({
  name: 'collector_run_duration_seconds',
  help: 'Wall-clock time from the workflow start to the end of a completed or dry run',
  labelNames: ['collector', 'outcome'] as const,
  buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200],
  registers,
});

export const activityDuration = new Histogram({
  name: 'collector_activity_duration_seconds',
  help: 'Time spent in one attempt of a step, by outcome (success, failure, cancelled)',
  labelNames: ['collector', 'activity', 'outcome'] as const,
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 30, 60, 300, 900, 3600, 7200],
  registers,
});

export const activityFailures = new Counter({
  name: 'collector_activity_failures_total',
  help: 'Failed step attempts by failure type (ConfigError, AuthError, TransientError...); terminal="true" when Temporal will not retry it',
  labelNames: ['collector', 'activity', 'type', 'terminal'] as const,
  registers,
});

export const rowsExtracted = new Counter({
  name: 'collector_rows_extracted_total',
  help: 'Rows written to extract files by successful extract attempts, by extract kind',
  labelNames: ['collector', 'kind'] as const,
  registers,
});

export const unitsIncomplete = new Counter({
  name: 'collector_units_incomplete_total',
  help: 'Units a successful extract attempt gave up on for a reason of their own (one catalog or database); listed in the manifest',
  labelNames: ['collector'] as const,
  registers,
});

export const bytesUploaded = new Counter({
  name: 'collector_uploaded_bytes_total',
  help: 'Bytes of objects created in the landing zone (objects already present are not sent again and not counted)',
  labelNames: ['collector'] as const,
  registers,
});

export const objectsUploaded = new Counter({
  name: 'collector_uploaded_objects_total',
  help: 'Objects put to the landing zone, by outcome (created, already-present)',
  labelNames: ['collector', 'outcome'] as const,
  registers,
});

new Gauge({
  name: 'collector_build_info',
  help: 'Always 1; the labels say which build this worker runs',
  labelNames: ['version', 'build_id'] as const,
  registers,
}).set({ version: TOOL_VERSION, build_id: BUILD_ID }, 1);

// ---------------------------------------------------------------- source API counters

const API_COUNTERS: Record<ApiOutcome, readonly [string, string]> = {
  call: ['collector_source_api_calls_total', 'Source API calls by operation'],
  throttle: ['collector_source_api_throttles_total', 'Source API calls refused by throttling, by operation'],
  retry: ['collector_source_api_retries_total', 'Source API calls retried, by operation'],
  'server-error': ['collector_source_api_server_errors_total', 'Source API calls answered with a server error, by operation'],
  'network-error': ['collector_source_api_network_errors_total', 'Source API calls that failed on the network, by operation'],
  failure: ['collector_source_api_failures_total', 'Source API calls that failed for good after retries, by operation'],
};

const apiCounters = Object.fromEntries(
  Object.entries(API_COUNTERS).map(([outcome, [name, help]]) => [
    outcome,
    new Counter({ name, help, labelNames: ['source', 'operation'] as const, registers }),
  ]),
) as Record<ApiOutcome, Counter<'source' | 'operation'>>;

/**
 * The `apiCall` of a source's context: every source reports its API requests here, labelled with its
 * type, so observability knows no source by name.
 */
export function sourceApiCalls(source: string): (operation: string, outcome: ApiOutcome) => void {
  // A plugin file is plain JS: an outcome outside the contract is dropped, not a crash mid-request.
  return (operation, outcome) => apiCounters[outcome]?.inc({ source, operation });
}

let defaultsOn = false;

/** Node's process metrics (CPU, memory, event loop lag) in the same registry; only for the worker process. */
export function enableProcessMetrics(): void {
  if (defaultsOn) return;
  defaultsOn = true;
  collectDefaultMetrics({ register: collectorRegistry });
}
