/**
 * Drives a local Athena endpoint running in another process (e.g. `collector dev athena-local`) through
 * its /_local control routes: the same faults and counters as the in-process API.
 */
import type { FaultSpec, ResourceFault } from './faults';

export interface AthenaLocalControl {
  counters(): Promise<Record<string, number>>;
  resetCounters(): Promise<void>;
  setFaults(operation: string, spec: FaultSpec): Promise<void>;
  /** A fault of one catalog's connector or one database. */
  setResourceFault(fault: ResourceFault): Promise<void>;
  clearFaults(): Promise<void>;
  /** Clears faults and counters. */
  reset(): Promise<void>;
  /** Appends one finished synthetic execution now; returns its id. */
  appendExecution(): Promise<string | null>;
}

export function athenaLocalControl(endpoint: string): AthenaLocalControl {
  const base = endpoint.replace(/\/$/, '');
  const call = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const init: RequestInit = { method };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { 'content-type': 'application/json' };
    }
    const res = await fetch(`${base}${path}`, init);
    const value: unknown = await res.json();
    if (!res.ok) throw new Error(`athena-local ${method} ${path}: ${res.status} ${JSON.stringify(value)}`);
    return value;
  };
  return {
    counters: async () => (await call('GET', '/_local/counters')) as Record<string, number>,
    resetCounters: async () => void (await call('DELETE', '/_local/counters')),
    setFaults: async (operation, spec) => void (await call('POST', '/_local/faults', { operation, ...spec })),
    setResourceFault: async (fault) => void (await call('POST', '/_local/resource-faults', fault)),
    clearFaults: async () => void (await call('DELETE', '/_local/faults')),
    reset: async () => void (await call('POST', '/_local/reset')),
    appendExecution: async () => ((await call('POST', '/_local/executions')) as { QueryExecutionId: string | null }).QueryExecutionId,
  };
}
