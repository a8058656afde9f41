/**
 * Liveness and readiness for orchestrators. /healthz: the process answers. /readyz: 200 only while the
 * Temporal frontend answers and every expected Worker (each executor queue and its host-queue companion)
 * is RUNNING with its pollers polling; otherwise 503 with a JSON body naming what is not.
 */
import type { NativeConnection, Worker } from '@temporalio/worker';
import { json, type Routes } from './http';

export interface ExpectedWorker {
  taskQueue: string;
  role: 'executor' | 'host';
  /** Undefined until the Worker exists (the host companion starts once its executor worker runs). */
  worker: Worker | undefined;
  workflows: boolean;
  activities: boolean;
}

export interface WorkerReport {
  taskQueue: string;
  role: 'executor' | 'host';
  ok: boolean;
  state: string;
  workflowPoller?: string;
  activityPoller?: string;
}

export interface ReadinessReport {
  ready: boolean;
  stopping: boolean;
  temporal: { ok: boolean; detail?: string };
  workers: WorkerReport[];
}

function workerReport(e: ExpectedWorker): WorkerReport {
  if (!e.worker) return { taskQueue: e.taskQueue, role: e.role, ok: false, state: 'NOT_STARTED' };
  const s = e.worker.getStatus();
  const ok =
    s.runState === 'RUNNING' &&
    (!e.workflows || s.workflowPollerState === 'POLLING') &&
    (!e.activities || s.activityPollerState === 'POLLING');
  return {
    taskQueue: e.taskQueue,
    role: e.role,
    ok,
    state: s.runState,
    ...(e.workflows ? { workflowPoller: s.workflowPollerState } : {}),
    ...(e.activities ? { activityPoller: s.activityPollerState } : {}),
  };
}

/** Asks the frontend's gRPC health service; a slow answer is a failed one. */
export function temporalProbe(connection: NativeConnection, timeoutMs = 3_000): () => Promise<void> {
  return async () => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>(
      (_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)),
    );
    try {
      const r = await Promise.race([connection.healthService.check({}), timeout]);
      // 1 = SERVING in grpc.health.v1.HealthCheckResponse.ServingStatus.
      if (r.status !== 1) throw new Error(`health status ${String(r.status)}`);
    } finally {
      clearTimeout(timer);
    }
  };
}

export class Readiness {
  private stoppingSince: number | undefined;
  private cached: { at: number; result: { ok: boolean; detail?: string } } | undefined;

  constructor(
    private readonly expected: () => ExpectedWorker[],
    private readonly temporal: () => Promise<void>,
    /** Probes come every few seconds; one frontend call per second at most is plenty. */
    private readonly cacheMs = 1_000,
  ) {}

  /** From now on /readyz says 503: called as soon as shutdown begins, before the pollers stop. */
  markStopping(): void {
    this.stoppingSince ??= Date.now();
  }

  get stopping(): boolean {
    return this.stoppingSince !== undefined;
  }

  private async temporalOk(): Promise<{ ok: boolean; detail?: string }> {
    if (this.cached && Date.now() - this.cached.at < this.cacheMs) return this.cached.result;
    const result = await this.temporal().then(
      () => ({ ok: true }),
      (e: unknown) => ({ ok: false, detail: e instanceof Error ? e.message : String(e) }),
    );
    this.cached = { at: Date.now(), result };
    return result;
  }

  async report(): Promise<ReadinessReport> {
    const workers = this.expected().map(workerReport);
    // A worker shutting down (SIGTERM goes to the SDK runtime first) is not ready either.
    if (workers.some((w) => w.state === 'STOPPING' || w.state === 'DRAINING' || w.state === 'DRAINED' || w.state === 'STOPPED'))
      this.markStopping();
    const temporal = this.stopping ? { ok: false, detail: 'shutting down' } : await this.temporalOk();
    return {
      ready: !this.stopping && temporal.ok && workers.length > 0 && workers.every((w) => w.ok),
      stopping: this.stopping,
      temporal,
      workers,
    };
  }

  routes(): Routes {
    return {
      '/healthz': async () => json(200, { status: 'ok' }),
      '/readyz': async () => {
        const r = await this.report();
        return json(r.ready ? 200 : 503, r);
      },
    };
  }
}
