/**
 * The collector worker process: one Temporal Worker per executor task queue, each with CollectorPlugin
 * (which adds the host-queue companion), SDK logs routed into pino, graceful shutdown on SIGTERM/SIGINT.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DefaultLogger, Runtime, Worker, type LogLevel, type NativeConnection } from '@temporalio/worker';
import type { Logger } from './log';
import { CollectorPlugin, type CollectorPluginOptions } from './plugin';
import { BUILD_ID, TOOL_VERSION } from './version';

let runtimeInstalled = false;

/** Route the SDK's own log lines into our pino logger; once per process, before any connection. */
export function installSdkLogging(log: Logger): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const level = (process.env.TEMPORAL_SDK_LOG_LEVEL ?? 'WARN').toUpperCase() as LogLevel;
  Runtime.install({
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
}

/** Staging left by runs whose host was lost long ago; recent ones may still be resumed here. */
const STALE_STAGING_MS = 7 * 24 * 3_600_000;

export async function sweepStaleStaging(root: string, log: Logger): Promise<void> {
  const entries = await readdir(root).catch(() => [] as string[]);
  for (const name of entries) {
    const dir = join(root, name);
    const age = await stat(dir).then((s) => Date.now() - s.mtimeMs, () => 0);
    if (age > STALE_STAGING_MS) {
      await rm(dir, { recursive: true, force: true });
      log.info({ dir }, 'removed stale staging directory');
    }
  }
}

export async function runCollectorWorkers(options: WorkerProcessOptions): Promise<void> {
  const { log, connection, namespace, executors, signal, onRunning, ...pluginOptions } = options;
  const plugin = await CollectorPlugin.fromConfig({ ...pluginOptions, log });
  await sweepStaleStaging(plugin.runtime.stagingRoot(), log);
  const workers = await Promise.all(
    executors.map((taskQueue) => Worker.create({ connection, namespace, taskQueue, plugins: [plugin] })),
  );
  const runs = workers.map((w) => w.run());
  const queues = executors.flatMap((q) => (pluginOptions.activities === false ? [q] : [q, plugin.runtime.hostQueue(q)]));
  const abort = () => workers.forEach((w) => w.getState() === 'RUNNING' && w.shutdown());
  signal?.addEventListener('abort', abort, { once: true });
  // Once both pollers of every worker are up, say so in one line: operators and tests wait for it.
  await waitRunning(workers);
  log.info({ taskQueues: queues, namespace, version: TOOL_VERSION, buildId: BUILD_ID, host: plugin.runtime.hostId }, 'Starting collector worker');
  onRunning?.(queues);
  try {
    await Promise.all(runs);
  } finally {
    signal?.removeEventListener('abort', abort);
    log.info('collector worker stopped');
  }
}

async function waitRunning(workers: Worker[]): Promise<void> {
  while (!workers.every((w) => w.getState() === 'RUNNING')) {
    if (workers.some((w) => ['FAILED', 'STOPPED'].includes(w.getState()))) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}
