/**
 * One test world: a real Temporal dev server, the local Athena endpoint (in this process, so tests can
 * inject faults), a collectors.yaml written per test, and collector workers as in-process Workers or as
 * real `collector worker` child processes (for kill tests).
 */
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import pino from 'pino';
import { NativeConnection } from '@temporalio/worker';
import { demoSeed, startAthenaLocal, type AthenaLocal } from '../../tools/athena-local/index';
import { installSdkLogging, runCollectorWorkers } from '../../src/worker';
import { ROOT, startProcess, waitFor, type Started } from './processes';
import { startTemporal, type TestTemporal } from './temporal';

export interface CollectorOverrides {
  options?: Record<string, unknown>;
  executor?: string;
  /** Merged over the default Athena source block. */
  source?: Record<string, unknown>;
  landing?: Record<string, unknown>;
  hwm?: Record<string, unknown>;
}

export interface CollectorEnv {
  temporal: TestTemporal;
  athena: AthenaLocal;
  root: string;
  configPath: string;
  stateDir: string;
  landingDir: string;
  /** Writes collectors.yaml with one Athena->filesystem collector per name. */
  writeConfig(collectors: Record<string, CollectorOverrides>, top?: Record<string, unknown>): void;
  inProcessWorker(executors: string[], hostId?: string): Promise<{ stop(): Promise<void> }>;
  childWorker(executors: string[], hostId: string, extraEnv?: NodeJS.ProcessEnv, extraArgs?: string[]): Promise<Started>;
  /** The HWM instant (first line of its file), or null. */
  hwm(collector: string): string | null;
  /** The source's cursor stored with the HWM, or null. */
  hwmCursor(collector: string): Record<string, unknown> | null;
  /** What the file HWM store's directory holds (HWMs, leases, parked cursors). */
  hwmDirEntries(): string[];
  landed(): string[];
  stagingDirs(): string[];
  stop(): Promise<void>;
}

export async function startCollectorEnv(): Promise<CollectorEnv> {
  const root = mkdtempSync(join(tmpdir(), 'collector-e2e-'));
  const stateDir = join(root, 'state');
  const landingDir = join(root, 'landing');
  mkdirSync(landingDir, { recursive: true });
  const configPath = join(root, 'collectors.yaml');
  const temporal = await startTemporal();
  const athena = await startAthenaLocal({ seed: demoSeed(new Date()), port: 0 });
  process.env.E2E_AWS_KEY = 'e2e-access-key';
  process.env.E2E_AWS_SECRET = 'e2e-secret-key';
  const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  installSdkLogging(log);
  const stops: (() => Promise<void>)[] = [];
  const env: CollectorEnv = {
    temporal,
    athena,
    root,
    configPath,
    stateDir,
    landingDir,
    writeConfig(collectors, top = {}) {
      const out: Record<string, unknown> = {};
      for (const [name, c] of Object.entries(collectors)) {
        out[name] = {
          executor: c.executor ?? 'collectors',
          source: {
            type: 'athena',
            region: 'us-east-1',
            endpoint: athena.endpoint,
            s3Endpoint: athena.endpoint,
            accessKeyId: '${E2E_AWS_KEY}',
            secretAccessKey: '${E2E_AWS_SECRET}',
            ...(c.source ?? {}),
          },
          landing: c.landing ?? { type: 'filesystem', path: landingDir },
          ...(c.hwm ? { hwm: c.hwm } : {}),
          options: { initialLookback: '2d', safetyLag: '0s', heartbeatTimeout: '4s', hostPickupTimeout: '6s', ...(c.options ?? {}) },
        };
      }
      writeFileSync(configPath, stringify({ ...top, collectors: out }));
    },
    async inProcessWorker(executors, hostId = 'test-host') {
      const connection = await NativeConnection.connect({ address: temporal.server.address });
      const abort = new AbortController();
      let ready!: () => void;
      const running = new Promise<void>((r) => (ready = r));
      const done = runCollectorWorkers({
        log,
        connection,
        namespace: 'default',
        executors,
        configPath,
        stateDir,
        hostId,
        signal: abort.signal,
        onRunning: () => ready(),
      });
      await Promise.race([running, done]);
      const stop = async () => {
        abort.abort();
        await done.catch(() => undefined);
        await connection.close();
      };
      stops.push(stop);
      return { stop };
    },
    async childWorker(executors, hostId, extraEnv = {}, extraArgs = []) {
      const child = startProcess(
        process.execPath,
        [
          join(ROOT, 'bin', 'collector.js'),
          'worker',
          '--config',
          configPath,
          '--state-dir',
          stateDir,
          ...executors.flatMap((e) => ['--executor', e]),
          ...extraArgs,
        ],
        {
          env: {
            ...process.env,
            TEMPORAL_ADDRESS: temporal.server.address,
            COLLECTOR_HOST_ID: hostId,
            COLLECTOR_LOG_LEVEL: 'info',
            COLLECTOR_HEALTH_PORT: '0',
            COLLECTOR_METRICS_PORT: '0',
            ...extraEnv,
          },
        },
      );
      stops.push(() => child.stop('SIGKILL'));
      await waitFor(
        '"Starting collector worker" from the child worker',
        () => child.output().includes('Starting collector worker'),
        60_000,
      ).catch((e) => {
        throw new Error(`${(e as Error).message}\n${child.output()}`);
      });
      return child;
    },
    hwm(collector) {
      const f = join(stateDir, 'hwm', `${collector}_hwm.txt`);
      return existsSync(f) ? readFileSync(f, 'utf8').split('\n')[0]!.trim() : null;
    },
    hwmCursor(collector) {
      const f = join(stateDir, 'hwm', `${collector}_hwm.txt`);
      const line = existsSync(f) ? readFileSync(f, 'utf8').split('\n')[1] : undefined;
      return line?.startsWith('cursor ') ? (JSON.parse(line.slice('cursor '.length)) as Record<string, unknown>) : null;
    },
    hwmDirEntries() {
      const d = join(stateDir, 'hwm');
      return existsSync(d) ? readdirSync(d).sort() : [];
    },
    landed() {
      // What a consumer sees: dot-entries (the collector's .collector-tmp/) are not deliverables.
      return readdirSync(landingDir)
        .filter((f) => !f.startsWith('.'))
        .sort();
    },
    stagingDirs() {
      const d = join(stateDir, 'staging');
      return existsSync(d) ? readdirSync(d) : [];
    },
    async stop() {
      for (const s of stops.reverse()) await s().catch(() => undefined);
      await athena.close();
      await temporal.stop();
    },
  };
  return env;
}
