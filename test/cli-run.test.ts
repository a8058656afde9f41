/**
 * `collector run` at the terminal, as real processes: Ctrl-C (SIGINT) while following, a run already in
 * progress, --json. Runs wait at their approval gate (--require-approval), so they are open when signalled.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ROOT, startProcess, TOOLS_BIN, waitFor, type Started } from './support/processes';
import { progressQuery } from '../workflows/messages';
import { startTemporal, type TestTemporal } from './support/temporal';
import { demoSeed, startAthenaLocal, type AthenaLocal } from '../tools/athena-local/index';

const BIN = join(ROOT, 'bin', 'collector.js');
const CREDENTIALS = { K: 'local-key', S: 'local-secret' };

interface Running {
  proc: ChildProcess;
  output(): { stdout: string; stderr: string };
  /** Resolves when the combined output matches. */
  waitFor(pattern: RegExp): Promise<void>;
  exit: Promise<number | null>;
}

function collector(args: string[], env: NodeJS.ProcessEnv, options: { detached?: boolean } = {}): Running {
  const proc = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, ...CREDENTIALS, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  let stdout = '';
  let stderr = '';
  const waiters: { pattern: RegExp; resolve(): void }[] = [];
  const check = () => {
    for (const w of [...waiters])
      if (w.pattern.test(stdout + stderr)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
  };
  proc.stdout!.on('data', (d: Buffer) => ((stdout += d.toString()), check()));
  proc.stderr!.on('data', (d: Buffer) => ((stderr += d.toString()), check()));
  const exit = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return {
    proc,
    exit,
    output: () => ({ stdout, stderr }),
    waitFor: (pattern) =>
      new Promise<void>((resolve, reject) => {
        waiters.push({ pattern, resolve });
        check();
        void exit.then((code) => reject(new Error(`exited ${code} before ${pattern}:\n${stdout}\n${stderr}`)));
      }),
  };
}

function writeConfig(dir: string, endpoint: string): string {
  const file = join(dir, 'collectors.yaml');
  mkdirSync(join(dir, 'landing'), { recursive: true });
  writeFileSync(
    file,
    [
      'collectors:',
      '  a:',
      `    source: {type: athena, region: us-east-1, endpoint: "${endpoint}", s3Endpoint: "${endpoint}", accessKeyId: "\${K}", secretAccessKey: "\${S}"}`,
      `    landing: {type: filesystem, path: ${join(dir, 'landing')}}`,
      `    hwm: {type: file, dir: ${join(dir, 'hwm')}}`,
      '',
    ].join('\n'),
  );
  return file;
}

const portOpen = (address: string): Promise<boolean> =>
  new Promise((resolve) => {
    const [host, port] = address.split(':');
    const s = connect(Number(port), host!);
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

describe('collector run at the terminal', { timeout: 600_000 }, () => {
  let temporal: TestTemporal;
  let athena: AthenaLocal;
  let worker: Started;
  let dir: string;
  let config: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    temporal = await startTemporal();
    athena = await startAthenaLocal({ seed: demoSeed(new Date()), port: 0 });
    dir = mkdtempSync(join(tmpdir(), 'cli-run-'));
    config = writeConfig(dir, athena.endpoint);
    env = { TEMPORAL_ADDRESS: temporal.server.address, TEMPORAL_NAMESPACE: temporal.server.namespace, HOME: dir };
    worker = startProcess(process.execPath, [BIN, 'worker', '--config', config, '--health-port', '0', '--metrics-port', '0'], {
      // DEBUG: Core (the SDK's Rust side) then logs enough to show where its lines go.
      env: { ...process.env, ...CREDENTIALS, ...env, COLLECTOR_STATE_DIR: join(dir, 'worker-state'), TEMPORAL_SDK_LOG_LEVEL: 'DEBUG' },
    });
  });

  after(async () => {
    await worker?.stop();
    await athena?.close();
    await temporal?.stop();
  });

  const describeRun = async (id: string) => (await temporal.client.workflow.getHandle(id).describe()).status.name;

  it('Ctrl-C stops following and leaves the run going (exit 130); the next run offers to follow it, and --cancel-on-interrupt cancels it', async () => {
    const first = collector(['run', 'a', '--require-approval', '--config', config], env);
    await first.waitFor(/awaiting-approval/);
    first.proc.kill('SIGINT');
    assert.equal(await first.exit, 130, first.output().stderr);
    assert.match(first.output().stderr, /interrupted: stopped following collect-a; the run goes on at 127\.0\.0\.1:\d+/);
    assert.equal(await describeRun('collect-a'), 'RUNNING', 'the run was left alone');

    // Without a terminal, the way to follow it is said: nothing new is started.
    const again = collector(['run', 'a', '--config', config], env);
    assert.equal(await again.exit, 1, again.output().stderr);
    assert.match(
      again.output().stderr,
      /a run is already in progress: workflow collect-a, run \S+, started \S+; add --follow to follow it/,
    );

    const follow = collector(['run', 'a', '--follow', '--cancel-on-interrupt', '--config', config], env);
    await follow.waitFor(/following collect-a[\s\S]*awaiting-approval/);
    follow.proc.kill('SIGINT');
    assert.equal(await follow.exit, 130, follow.output().stderr);
    assert.match(follow.output().stderr, /interrupted: cancelling collect-a; waiting until the cancellation is recorded/);
    assert.match(follow.output().stderr, /collect-a cancelled/);
    assert.equal(await describeRun('collect-a'), 'CANCELLED');
  });

  it('at a terminal: run offers to follow the run in progress, yes follows it, a typed Ctrl-C stops following (exit 130)', async () => {
    const open = collector(['run', 'a', '--require-approval', '--no-wait', '--workflow-id', 'tty-run', '--config', config], env);
    assert.equal(await open.exit, 0, open.output().stderr);
    const steps = [
      ['Follow it? [Y/n] ', 'y\r'],
      ['awaiting-approval', '\u0003'],
    ];
    const args = [join(ROOT, 'test', 'support', 'terminal.py'), JSON.stringify(steps), process.execPath, BIN, 'run', 'a'];
    args.push('--require-approval', '--workflow-id', 'tty-run', '--config', config);
    const tty = spawn(join(TOOLS_BIN, 'python'), args, {
      env: { ...process.env, ...CREDENTIALS, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let transcript = '';
    tty.stdout.on('data', (d: Buffer) => (transcript += d.toString()));
    tty.stderr.on('data', (d: Buffer) => (transcript += d.toString()));
    const code = await new Promise<number | null>((resolve) => tty.once('exit', resolve));
    assert.equal(code, 130, transcript);
    assert.match(transcript, /a run is already in progress: workflow tty-run, run \S+, started \S+\. Follow it\? \[Y\/n\]/);
    assert.match(transcript, /following tty-run/);
    assert.match(transcript, /interrupted: stopped following tty-run; the run goes on/);
    assert.equal(await describeRun('tty-run'), 'RUNNING');
    await temporal.client.workflow.getHandle('tty-run').cancel();
  });

  it('--json prints the final result alone on stdout, notes and progress on stderr', async () => {
    const r = collector(['run', 'a', '--json', '--workflow-id', 'json-run', '--config', config], env);
    assert.equal(await r.exit, 0, r.output().stderr);
    const { stdout, stderr } = r.output();
    const summary = JSON.parse(stdout) as { workflowId: string; collector: string; status: string; files: unknown[] };
    assert.equal(summary.workflowId, 'json-run');
    assert.equal(summary.collector, 'a');
    assert.equal(summary.status, 'completed');
    assert.ok(summary.files.length > 0);
    assert.match(stderr, /started json-run on task queue collectors/);
    // The Web UI's view of it: a static summary and a memo, set by the CLI when it started the run.
    const described = await temporal.client.workflow.getHandle('json-run').describe();
    assert.equal(await described.staticSummary(), 'collect a · from its HWM');
    assert.deepEqual(described.memo, { collector: 'a' });

    const hwm = collector(['hwm', 'get', 'a', '--json', '--config', config], env);
    assert.equal(await hwm.exit, 0, hwm.output().stderr);
    const state = JSON.parse(hwm.output().stdout) as { collector: string; hwm: string; store: string };
    // The demo seed has Iceberg tables: their partition specs are committed with the HWM as a cursor.
    assert.deepEqual({ ...state, hwm: typeof state.hwm }, { collector: 'a', hwm: 'string', store: 'file', cursor: true });
    assert.ok(!Number.isNaN(Date.parse(state.hwm)));

    const noWait = collector(['run', 'a', '--json', '--no-wait', '--workflow-id', 'json-nowait', '--config', config], env);
    assert.equal(await noWait.exit, 0, noWait.output().stderr);
    const started = JSON.parse(noWait.output().stdout) as { workflowId: string; runId: string; taskQueue: string };
    assert.equal(started.workflowId, 'json-nowait');
    assert.equal(started.taskQueue, 'collectors');
    assert.equal((await temporal.client.workflow.getHandle('json-nowait').describe()).runId, started.runId);
  });

  it('approve and reject are Updates: refused with the reason (exit 2) unless the run waits at its gate', async () => {
    const started = collector(['run', 'a', '--require-approval', '--no-wait', '--workflow-id', 'gated-run', '--config', config], env);
    assert.equal(await started.exit, 0, started.output().stderr);
    const handle = temporal.client.workflow.getHandle('gated-run');
    await waitFor('the approval gate', async () => (await handle.query(progressQuery)).phase === 'awaiting-approval', 120_000);
    const approve = collector(['approve', 'gated-run', '--by', 'ops', '--config', config], env);
    assert.equal(await approve.exit, 0, approve.output().stderr);
    assert.match(approve.output().stdout, /approved gated-run/);
    const summary = (await handle.result()) as { status: string; approval: unknown };
    assert.equal(summary.status, 'completed');
    assert.deepEqual(summary.approval, { decision: 'approved', by: 'ops' });

    // The run has ended: the CLI says so instead of the SDK's raw error.
    const late = collector(['reject', 'gated-run', '--config', config], env);
    assert.equal(await late.exit, 2);
    assert.match(late.output().stderr, /error: gated-run has already ended \(COMPLETED\): there is nothing to reject/);
    const unknown = collector(['approve', 'no-such-run', '--config', config], env);
    assert.equal(await unknown.exit, 2);
    assert.match(unknown.output().stderr, /error: no run no-such-run: check the workflow id/);
  });

  it('schedule describe: text for people, --json for programs (stdout only)', async () => {
    const created = collector(['schedule', 'create', 'a', '--every', '6h', '--paused', '--note', 'cli test', '--config', config], env);
    assert.equal(await created.exit, 0, created.output().stderr);
    const json = collector(['schedule', 'describe', 'a', '--json', '--config', config], env);
    assert.equal(await json.exit, 0, json.output().stderr);
    const d = JSON.parse(json.output().stdout) as {
      scheduleId: string;
      paused: boolean;
      note: string;
      collector: string;
      managedBy: string;
    };
    assert.deepEqual(
      { scheduleId: d.scheduleId, paused: d.paused, note: d.note, collector: d.collector, managedBy: d.managedBy },
      { scheduleId: 'a', paused: true, note: 'cli test', collector: 'a', managedBy: 'cli' },
    );
    const text = collector(['schedule', 'describe', 'a', '--config', config], env);
    assert.equal(await text.exit, 0, text.output().stderr);
    assert.match(text.output().stdout, /^schedule a: paused \(cli test\)\n {2}collector: a \(made by schedule create\)\n/);
    assert.throws(() => JSON.parse(text.output().stdout) as unknown);
  });

  it('on the embedded server, Ctrl-C to the whole process group (as a terminal sends it) reaches the command alone: the run is cancelled on the still running server, then the server is stopped, exit 130', async () => {
    const own = mkdtempSync(join(tmpdir(), 'cli-run-embedded-'));
    const file = writeConfig(own, athena.endpoint);
    // No TEMPORAL_ADDRESS and a HOME without a temporal.toml: the embedded dev server and an in-process worker.
    const r = collector(
      ['run', 'a', '--require-approval', '--cancel-on-interrupt', '--config', file, '--state-dir', join(own, 'state')],
      { TEMPORAL_ADDRESS: '', HOME: own },
      { detached: true },
    );
    try {
      await r.waitFor(/awaiting-approval/);
      const address = /embedded dev server at (\S+)/.exec(r.output().stderr)![1]!;
      process.kill(-r.proc.pid!, 'SIGINT');
      assert.equal(await r.exit, 130, r.output().stderr);
      const { stderr } = r.output();
      // The cancellation needs the server: a server in the command's process group died of the Ctrl-C first.
      const cancelled = stderr.indexOf('collect-a cancelled');
      const stopped = stderr.indexOf('Temporal: embedded dev server stopped');
      assert.ok(cancelled >= 0 && stopped > cancelled, stderr);
      assert.equal(await portOpen(address), false, 'the embedded server is gone with the command');
    } finally {
      if (r.proc.exitCode === null) process.kill(-r.proc.pid!, 'SIGKILL');
    }
  });

  it('on the embedded server, SIGTERM (or a hang-up) of run takes the server, out of its process group, down with it', async () => {
    const own = mkdtempSync(join(tmpdir(), 'cli-run-term-'));
    const file = writeConfig(own, athena.endpoint);
    const r = collector(['run', 'a', '--require-approval', '--config', file, '--state-dir', join(own, 'state')], {
      TEMPORAL_ADDRESS: '',
      HOME: own,
    });
    await r.waitFor(/awaiting-approval/);
    const address = /embedded dev server at (\S+)/.exec(r.output().stderr)![1]!;
    r.proc.kill('SIGTERM');
    await r.exit;
    assert.equal(r.proc.signalCode, 'SIGTERM', 'it dies of the signal, as it would have');
    // The server needs a moment to close its port: waited for, not timed.
    for (let i = 0; i < 100 && (await portOpen(address)); i++) await new Promise((res) => setTimeout(res, 200));
    assert.equal(await portOpen(address), false, 'no embedded server left behind');
  });
  it("the worker's output is one JSON log stream: Core's own lines are forwarded into it, and SIGTERM still ends it", async () => {
    const lines = worker
      .output()
      .split('\n')
      .filter((l) => l.trim());
    const raw = lines.filter((l) => {
      try {
        JSON.parse(l);
        return false;
      } catch {
        return true;
      }
    });
    assert.deepEqual(raw.slice(0, 5), [], 'no line outside the JSON stream (Core used to print its own)');
    const core = lines
      .map((l) => JSON.parse(l) as { sdk?: boolean; sdkComponent?: string; target?: string })
      .filter((l) => l.sdkComponent === 'core');
    assert.ok(core.length > 0, 'Core logged at DEBUG, through pino');
    assert.ok(core.every((l) => l.sdk === true && typeof l.target === 'string'));
    await worker.stop();
    assert.notEqual(worker.proc.signalCode, 'SIGKILL', 'the worker ended by itself after SIGTERM');
  });
});
