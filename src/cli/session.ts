/**
 * A CLI command's link to Temporal: the configured cluster (envconfig), or, with none configured, the
 * embedded dev server plus an in-process worker for the collectors file, both stopped on close.
 */
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { createLogger, type Logger } from '../log';
import { connectClient, connectWorker, loadTemporalTarget, temporalConfigured } from '../temporal/connection';
import { startDevServer, type DevServer } from '../temporal/dev-server';
import { installSdkLogging, runCollectorWorkers } from '../worker';
import { createRuntime } from '../compose';
import type { CollectorRuntime } from '../runtime/runtime';
import { DEFAULT_EXECUTOR } from '../config/schema';
import pino from 'pino';
import { mkdirSync } from 'node:fs';
import { note, stateDirOf, type Common } from './common';
import { aborted, Interrupted, watchInterrupts, type InterruptWatch } from './interrupt';

export interface SessionOptions {
  configPath?: string;
  stateDir: string;
  /** Run a worker in this process: only when Temporal is embedded (run), always (demo), or never. */
  inProcessWorker: 'embedded' | 'always' | 'never';
  /** Executors for the in-process worker; default: every executor in the collectors file. */
  executors?: string[];
  say(msg: string): void;
}

export interface Session {
  client: Client;
  embedded: boolean;
  address: string;
  uiUrl?: string;
  log: Logger;
  /**
   * Ctrl-C while the session is open: the command decides what it means, then closes the session, which
   * stops the worker and the embedded server in order (the server runs in its own process group, so a
   * terminal's Ctrl-C does not reach it first).
   */
  interrupts: InterruptWatch;
  close(): Promise<void>;
}

export async function openSession(options: SessionOptions): Promise<Session> {
  const embedded = !temporalConfigured();
  mkdirSync(options.stateDir, { recursive: true });
  // The CLI's own output is for people; worker logs of an embedded worker go to a file.
  const logFile = join(options.stateDir, 'collector.log');
  const log =
    options.inProcessWorker !== 'never'
      ? createLogger({ destination: pino.destination({ dest: logFile, sync: true, mkdir: true }) })
      : createLogger({ destination: pino.destination(2) });
  let dev: DevServer | undefined;
  const interrupts = watchInterrupts();
  const stops: (() => Promise<void>)[] = [async () => interrupts.dispose()];
  // A Ctrl-C while starting is seen between steps: what was started is stopped, nothing more starts.
  const notInterrupted = () => {
    if (interrupts.first.aborted) throw new Interrupted('interrupted while connecting to Temporal; nothing was started');
  };
  try {
    if (embedded) {
      // Ctrl-C is this session's to handle (interrupts, watched from before the start): the server must
      // outlive it while the command winds down (cancels a run, stops its worker), then close() stops it.
      dev = await startDevServer({ stateDir: options.stateDir, ownProcessGroup: true });
      stops.unshift(() => dev!.stop());
      notInterrupted();
      options.say(
        `Temporal: embedded dev server at ${dev.address} (set TEMPORAL_ADDRESS, or a profile with "temporal config set", to use your cluster); Web UI ${dev.uiUrl}`,
      );
    }
    const target = loadTemporalTarget(dev ? { address: dev.address, namespace: dev.namespace } : {});
    if (target.insecureWarning) options.say(`WARNING: ${target.insecureWarning}`);
    // The CLI encodes and decodes like the workers do, from the same collectors file.
    const runtime = createRuntime({ log, stateDir: options.stateDir, ...(options.configPath ? { configPath: options.configPath } : {}) });
    const client = await connectClient(target, await runtime.dataConverter());
    stops.unshift(() => client.connection.close());
    notInterrupted();
    if (options.inProcessWorker === 'always' || (embedded && options.inProcessWorker === 'embedded')) {
      // No SDK signal handlers: Ctrl-C is the command's (interrupts), and close() stops this worker.
      installSdkLogging(log, { shutdownSignals: [], forwardCoreLogs: true });
      const connection = await connectWorker(target);
      const abort = new AbortController();
      const executors = options.executors ?? embeddedExecutors(runtime);
      let running!: () => void;
      const ready = new Promise<void>((r) => (running = r));
      const done = runCollectorWorkers({
        log,
        connection,
        namespace: target.namespace,
        executors,
        runtime,
        signal: abort.signal,
        onRunning: () => running(),
      });
      await Promise.race([ready, done]);
      stops.unshift(async () => {
        abort.abort();
        await done.catch(() => undefined);
        await connection.close();
      });
      options.say(`worker: in-process for ${executors.join(', ')} (logs: ${logFile})`);
      notInterrupted();
    }
    return {
      client,
      embedded,
      address: target.address,
      ...(dev ? { uiUrl: dev.uiUrl } : {}),
      log,
      interrupts,
      async close() {
        for (const stop of stops) await stop().catch(() => undefined);
        // After an interrupt, say so: the server was stopped on purpose, not lost.
        if (dev && interrupts.first.aborted) options.say('Temporal: embedded dev server stopped');
      },
    };
  } catch (e) {
    for (const stop of stops) await stop().catch(() => undefined);
    throw e;
  }
}

function embeddedExecutors(runtime: CollectorRuntime): string[] {
  try {
    const queues = new Set([...runtime.config().collectors.values()].map((c) => c.executor));
    return queues.size ? [...queues] : [DEFAULT_EXECUTOR];
  } catch {
    return [DEFAULT_EXECUTOR];
  }
}

/** `fn` with a client of the configured (or embedded) Temporal, no in-process worker; closed after. */
export async function withClient<T>(o: Common, fn: (s: Session) => Promise<T>): Promise<T> {
  const session = await openSession({
    stateDir: stateDirOf(o),
    inProcessWorker: 'never',
    ...(o.config ? { configPath: o.config } : {}),
    say: note,
  });
  try {
    const work = fn(session);
    // Interrupted, the command stops waiting; the server may still carry out a request already sent.
    work.catch(() => undefined);
    const stopped = aborted(session.interrupts.first).then(() => {
      throw new Interrupted('interrupted; a request already sent may still take effect');
    });
    return await Promise.race([work, stopped]);
  } finally {
    await session.close();
  }
}
