/**
 * Athena API call counters per operation, process-wide, so the worker can export them to Prometheus
 * (e.g. a collector that reads `athenaApiCounters.snapshot()` on scrape).
 */
export const COUNTER_FIELDS = ['calls', 'throttles', 'serverErrors', 'networkErrors', 'retries', 'failures'] as const;
export type CounterField = (typeof COUNTER_FIELDS)[number];
export type OperationCounts = Record<CounterField, number>;

export class ApiCounters {
  private readonly byOperation = new Map<string, OperationCounts>();

  inc(operation: string, field: CounterField, n = 1): void {
    let c = this.byOperation.get(operation);
    if (!c) {
      c = { calls: 0, throttles: 0, serverErrors: 0, networkErrors: 0, retries: 0, failures: 0 };
      this.byOperation.set(operation, c);
    }
    c[field] += n;
  }

  /** A copy: operation -> counts. */
  snapshot(): Record<string, OperationCounts> {
    const out: Record<string, OperationCounts> = {};
    for (const [op, c] of this.byOperation) out[op] = { ...c };
    return out;
  }

  /** Sum of one field over all operations. */
  total(field: CounterField): number {
    let n = 0;
    for (const c of this.byOperation.values()) n += c[field];
    return n;
  }

  reset(): void {
    this.byOperation.clear();
  }
}

export const athenaApiCounters = new ApiCounters();
