/**
 * The collector worker process: one Temporal Worker per executor task queue, each with CollectorPlugin
 * (which adds the host-queue companion), SDK logs routed into pino, graceful shutdown on SIGTERM/SIGINT,
 * and, when asked, /healthz + /readyz, /metrics, tracing and Worker Deployment versioning.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DefaultLogger,
  makeTelemetryFilterString,
  Runtime,
  Worker,
  type LogLevel,
  type NativeConnection,
  type WorkerDeploymentOptions,
} from '@temporalio/worker';
import type { Logger } from './log';
import { settings } from './settings';
import { CollectorPlugin, type CollectorPluginOptions } from './plugin';
import { BUILD_ID, TOOL_VERSION } from './version';
import { Readiness, temporalProbe, type ExpectedWorker } from './observability/health';
import { serveRoutes, type Routes, type RunningServer } from './observability/http';
import { metricsRoutes } from './observability/prometheus';
import { trackFreshness } from './observability/freshness';
import { runtimeFreshnessSource } from './runtime/freshness-source';
import type { Tracing } from './observability/tracing';

let runtimeInstalled = false;

let sdkMetricsAt: string | undefined;

export interface SdkRuntimeOptions {
  /** Serve the SDK's Prometheus metrics here (loopback; /metrics merges them in). */
  prometheusAddress?: string;
  /**
   * Signals on which the SDK shuts this process's workers down (its default: SIGINT, SIGTERM, SIGQUIT,
   * SIGUSR2). The CLI's in-process worker takes none: Ctrl-C there is the command's, which stops its worker itself.
   */
  shutdownSignals?: NodeJS.Signals[];
  /**
   * Forward Core's (Rust) log lines into our logger instead of letting Core print them raw on stderr.
   * For process entry points (the `worker` command, the CLI's in-process worker): with forwarding on,
   * Core holds a reference on the event loop until the runtime shuts down, which a process that ends by
   * exiting does not mind, but a long test process with many workers would wait on.
   */
  forwardCoreLogs?: boolean;
}

/**
 * Install the SDK runtime once per process, before any connection: its log lines go to our pino logger,
 * and its metrics to a Prometheus exporter when asked. Returns the address the SDK metrics are served
 * on (that of the first call: the runtime cannot be installed twice).
 */
export function installSdkLogging(log: Logger, options: SdkRuntimeOptions = {}): string | undefined {
  if (runtimeInstalled) return sdkMetricsAt;
  runtimeInstalled = true;
  sdkMetricsAt = options.prometheusAddress;
  const level: LogLevel = settings().sdkLogLevel;
  Runtime.install({
    ...(options.shutdownSignals ? { shutdownSignals: options.shutdownSignals } : {}),
    telemetryOptions: {
      ...(sdkMetricsAt ? { metrics: { prometheus: { bindAddress: sdkMetricsAt } } } : {}),
      // Core's own level follows TEMPORAL_SDK_LOG_LEVEL but stays at WARN or louder by default (its INFO
      // is per-poll noise); other crates only on errors.
      ...(options.forwardCoreLogs
        ? { logging: { filter: makeTelemetryFilterString({ core: coreLevel(level), other: 'ERROR' }), forward: {} } }
        : {}),
    },
    logger: new DefaultLogger(level, (entry) => {
      const { message, meta } = entry;
      const line = { sdk: true, ...(meta ?? {}) };
      switch (entry.level) {
        case 'ERROR':
          log.error(line, message);
          break;
        case 'WARN':
          log.warn(line, message);
          break;
        case 'INFO':
          log.info(line, message);
          break;
        default:
          log.debug(line, message);
      }
    }),
  });
  return sdkMetricsAt;
}

/** Core logs at the SDK level when it asks for more detail than WARN, else at WARN. */
function coreLevel(level: LogLevel): LogLevel {
  return level === 'TRACE' || level === 'DEBUG' ? level : level === 'ERROR' ? 'ERROR' : 'WARN';
}

export interface WorkerProcessOptions extends Omit<CollectorPluginOptions, 'log'> {
  log: Logger;
  connection: NativeConnection;
  namespace: string;
  /** Executor task queues to serve; default: `collectors`. */
  executors: string[];
  /** Resolves once every worker polls; used by the CLI and tests. */
  onRunning?(taskQueues: string[]): void;
  /** Stops the workers when aborted (besides SIGTERM/SIGINT, which the SDK runtime handles). */
  signal?: AbortSignal;
  /** Serve /healthz and /readyz; absent: no health server. */
  health?: { host: string; port: number };
  /** Serve /metrics (collector metrics, then the SDK's from `sdkAddress`); absent: none. Same port as health: one server. */
  metrics?: { host: string; port: number; sdkAddress?: string | undefined };
  /** From observability/tracing.ts: its plugin goes on every Worker. */
  tracing?: Tracing;
  /** Worker Deployment versioning (observability/versioning.ts); absent: unversioned. */
  deployment?: WorkerDeploymentOptions;
  /** Told where the health and metrics servers listen, once they do. */
  onListening?(servers: RunningServer[]): void;
}

/** Staging left by runs whose host was lost long ago; recent ones may still be resumed here. */
const STALE_STAGING_MS = 7 * 24 * 3_600_000;

async function sweepStaleStaging(root: string, log: Logger): Promise<void> {
  const entries = await readdir(root).catch(() => [] as string[]);
  for (const name of entries) {
    const dir = join(root, name);
    const age = await stat(dir).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    if (age > STALE_STAGING_MS) {
      await rm(dir, { recursive: true, force: true });
      log.info({ dir }, 'removed stale staging directory');
    }
  }
}

/** One server per distinct port: health and metrics may share one. */
async function startServers(options: WorkerProcessOptions, readiness: Readiness): Promise<RunningServer[]> {
  const byPort = new Map<number, { host: string; routes: Routes }>();
  const add = (at: { host: string; port: number }, routes: Routes) => {
    const slot = byPort.get(at.port) ?? { host: at.host, routes: {} };
    Object.assign(slot.routes, routes);
    byPort.set(at.port, slot);
  };
  if (options.health) add(options.health, readiness.routes());
  if (options.metrics) add(options.metrics, metricsRoutes(options.metrics.sdkAddress));
  const servers: RunningServer[] = [];
  try {
    for (const [port, { host, routes }] of byPort) servers.push(await serveRoutes(routes, host, port));
  } catch (e) {
    await Promise.all(servers.map((s) => s.close()));
    throw e;
  }
  return servers;
}

export async function runCollectorWorkers(options: WorkerProcessOptions): Promise<void> {
  const { log, connection, namespace, executors, signal, onRunning, health, metrics, tracing, deployment, onListening, ...pluginOptions } =
    options;
  const plugin = await CollectorPlugin.fromConfig({ ...pluginOptions, log, ...(tracing ? { bundleAtStart: true } : {}) });
  const serveActivities = pluginOptions.activities !== false;
  const created = new Map<string, Worker>();
  const expected = (): ExpectedWorker[] =>
    executors.flatMap((q) => [
      {
        taskQueue: q,
        role: 'executor' as const,
        worker: created.get(q),
        workflows: pluginOptions.workflows !== false,
        activities: serveActivities,
      },
      ...(serveActivities
        ? [
            {
              taskQueue: plugin.runtime.hostQueue(q),
              role: 'host' as const,
              worker: plugin.companionWorker(q),
              workflows: false,
              activities: true,
            },
          ]
        : []),
    ]);
  const readiness = new Readiness(expected, temporalProbe(connection));
  // Up before the workers (bundling takes seconds): live at once, ready only once everything polls.
  const servers = await startServers(options, readiness);
  if (servers.length) {
    for (const s of servers) log.info({ host: s.host, port: s.port, paths: s.paths }, 'observability endpoint listening');
    onListening?.(servers);
  }
  const untrack = metrics && serveActivities ? trackFreshness(runtimeFreshnessSource(plugin.runtime, executors)) : undefined;
  let stopping = false;
  const abort = () => {
    stopping = true;
    readiness.markStopping();
    for (const w of created.values()) if (w.getState() === 'RUNNING') w.shutdown();
  };
  signal?.addEventListener('abort', abort, { once: true });
  try {
    await sweepStaleStaging(plugin.runtime.stagingRoot(), log);
    // Tracing first: its activity span then encloses the collector's interceptor, which records failures on it.
    const plugins = tracing ? [tracing.plugin, plugin] : [plugin];
    const workers = await Promise.all(
      executors.map(async (taskQueue) => {
        const w = await Worker.create({
          connection,
          namespace,
          taskQueue,
          plugins,
          // Running activities get this long after SIGTERM: a rolling update then rarely interrupts an upload.
          shutdownGraceTime: settings().shutdownGraceMs,
          ...(deployment ? { workerDeploymentOptions: deployment } : {}),
        });
        created.set(taskQueue, w);
        return w;
      }),
    );
    const runs = workers.map((w) => w.run());
    // Aborted while the workers were being created: they must still run to be shut down cleanly.
    if (stopping || signal?.aborted) abort();
    const queues = executors.flatMap((q) => (serveActivities ? [q, plugin.runtime.hostQueue(q)] : [q]));
    // Once every worker polls, host companions included, say so in one line: operators and tests wait for it.
    // A companion that cannot start fails its executor worker's run: stop waiting then too.
    const allRuns = Promise.all(runs);
    await Promise.race([waitRunning(() => expected().map((e) => e.worker)), allRuns]);
    if (!stopping && expected().every((e) => e.worker?.getState() === 'RUNNING')) {
      log.info(
        {
          taskQueues: queues,
          namespace,
          version: TOOL_VERSION,
          buildId: BUILD_ID,
          host: plugin.runtime.hostId,
          ...(deployment
            ? { deployment: deployment.version.deploymentName, versioningBehavior: deployment.defaultVersioningBehavior }
            : {}),
        },
        'Starting collector worker',
      );
      onRunning?.(queues);
    }
    await allRuns;
  } finally {
    readiness.markStopping();
    signal?.removeEventListener('abort', abort);
    untrack?.();
    await Promise.all(servers.map((s) => s.close()));
    log.info('collector worker stopped');
  }
}

/** Until every worker exists and runs; stops waiting once any of them stops or fails (its run promise says why). */
async function waitRunning(workers: () => (Worker | undefined)[]): Promise<void> {
  for (;;) {
    const states = workers().map((w) => w?.getState());
    if (states.every((st) => st === 'RUNNING')) return;
    if (states.some((st) => st !== undefined && st !== 'INITIALIZED' && st !== 'RUNNING')) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}
