/**
 * Crash hygiene under kill -9, on real servers: one collector (filesystem landing, file HWM) runs again and
 * again while its worker is SIGKILLed at varied points — mid-extract, mid-upload (a temp file appearing, a
 * file or the manifest published), inside the HWM and publish-lease locks, or after a random delay — and is
 * restarted with the same host id. Afterwards every completed window landed exactly once, the windows tile
 * time, and nothing is left behind: no temp file, no lock, no staging directory.
 *
 * The workflow side runs in its own worker that is never killed (a supported deployment: `--workflows-only`
 * next to `--activities-only`), so each kill costs activity retries only, not sticky-queue timeouts.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { msToTs, optionalTsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import type { Progress, RunSummary } from '../src/run/types';
import { failureMessage } from '../src/cli/run';
import { startCollectorEnv, type CollectorEnv } from './support/collector-env';
import { waitFor, type Started } from './support/processes';

const COLLECTOR = 'chaos';
const HOST = 'chaos-host';
const STARTED = temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;
/** Activities that heartbeat at most this often are noticed dead by their heartbeat timeout; the test leaves those alone. */
const NOTICED_BY_HEARTBEAT_MS = 5_000;

/** When to kill the worker during one run. */
type Trigger =
  | { kind: 'none' }
  | { kind: 'phase'; phase: Progress['phase']; delayMs: number }
  | { kind: 'delay'; ms: number }
  /** The `nth` appearance of a matching name in one of the watched directories. */
  | { kind: 'file'; where: 'tmp' | 'landing' | 'hwm' | 'staging'; name: RegExp; nth: number; label: string };

const jitter = (max: number) => Math.floor(Math.random() * max);

/** 21 runs, 16 of them with a kill aimed somewhere; the order mixes them. */
const PLAN: Trigger[] = [
  { kind: 'none' },
  { kind: 'file', where: 'staging', name: /^chaos__/, nth: 1, label: 'the extract creates its staging directory' },
  { kind: 'file', where: 'tmp', name: /\.partial$/, nth: 1, label: 'a temp file is being written' },
  { kind: 'file', where: 'hwm', name: /^chaos_hwm\.txt\.lock$/, nth: 1, label: 'the HWM lock is taken' },
  { kind: 'delay', ms: 300 + jitter(2500) },
  { kind: 'file', where: 'landing', name: /^chaos_(metadata|databaselog|linkages|events)_/, nth: 1, label: 'a first file is published' },
  { kind: 'none' },
  { kind: 'file', where: 'hwm', name: /^chaos_lease_hwm\.txt\.lock$/, nth: 1, label: 'the lease lock is taken (acquire)' },
  { kind: 'phase', phase: 'validating', delayMs: 0 },
  { kind: 'file', where: 'hwm', name: /^chaos_hwm\.txt\.[0-9a-f-]{36}\.tmp$/, nth: 1, label: 'the new HWM is being written' },
  { kind: 'file', where: 'landing', name: /^chaos_manifest_/, nth: 1, label: 'the manifest is published' },
  { kind: 'phase', phase: 'extracting', delayMs: 200 + jitter(400) },
  { kind: 'none' },
  { kind: 'file', where: 'hwm', name: /^chaos_hwm\.txt\.lock\..*\.tmp$/, nth: 1, label: 'the HWM lock file is being created' },
  { kind: 'file', where: 'tmp', name: /\.partial$/, nth: 2, label: 'a second temp file is being written' },
  { kind: 'file', where: 'hwm', name: /^chaos_lease_hwm\.txt\.lock$/, nth: 2, label: 'the lease lock is taken (release)' },
  { kind: 'delay', ms: 300 + jitter(2500) },
  { kind: 'none' },
  { kind: 'file', where: 'hwm', name: /^chaos_hwm\.txt\.lock$/, nth: 1, label: 'the HWM lock is taken' },
  { kind: 'phase', phase: 'uploading', delayMs: 0 },
  { kind: 'none' },
];

const describeTrigger = (t: Trigger) =>
  t.kind === 'none'
    ? 'no kill'
    : t.kind === 'phase'
      ? `${t.delayMs} ms into ${t.phase}`
      : t.kind === 'delay'
        ? `${t.ms} ms after start`
        : `when ${t.label}`;

interface Kill {
  run: number;
  trigger: string;
  /** Activities the dead worker was running, from the server's point of view. */
  interrupted: string[];
}

let env: CollectorEnv;
let workflows: Started | undefined;
let worker: Started;
/** The pid of the worker process itself (the child may be a launcher that runs it on another node binary). */
let workerPid: number;
/** Every incarnation of the activity worker, for diagnostics. */
const incarnations: Started[] = [];
/** Pids of every worker process started (workflow side included), killed at the end whatever happened. */
const workerPids: number[] = [];
const deadPids = new Set<number>();

const tmpDir = () => join(env.landingDir, '.collector-tmp');
const hwmDir = () => join(env.stateDir, 'hwm');

async function startWorker(): Promise<void> {
  worker = await env.childWorker(['collectors'], HOST, {}, ['--activities-only']);
  incarnations.push(worker);
  workerPid = ownPid(worker);
}

/**
 * The worker's own pid, from its log: the process to kill, and the one its locks and identity name. The
 * child may be a launcher that runs the worker on another node binary; SIGKILL to it would miss the worker.
 */
function ownPid(started: Started): number {
  const line = started
    .output()
    .split('\n')
    .find((l) => l.includes('Starting collector worker'));
  const pid = (JSON.parse(line ?? '{}') as { pid?: number }).pid ?? started.proc.pid!;
  workerPids.push(pid);
  return pid;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The workflow's pending activities in brief. */
async function pending(workflowId: string) {
  const d = await env.temporal.client.workflow.getHandle(workflowId).describe();
  return (d.raw.pendingActivities ?? []).map((a) => ({
    id: a.activityId ?? '',
    type: a.activityType?.name ?? '?',
    state: a.state,
    attempt: a.attempt ?? 0,
    worker: a.lastWorkerIdentity ?? '',
    lastFailure: a.lastFailure?.message,
    heartbeatTimeoutMs: optionalTsToMs(a.activityOptions?.heartbeatTimeout) ?? 0,
  }));
}

const diedWith = (identity: string) => deadPids.has(Number(/^(\d+)@/.exec(identity)?.[1] ?? NaN));

/**
 * The server learns that a worker died only by a timeout. Steps without a short heartbeat timeout wait
 * out their start-to-close timeout (minutes): right in production, too slow for a test with a dozen kills.
 * The test stands in for that wait: it shortens the timeout of an attempt a dead worker held.
 */
async function nudge(workflowId: string, done: Set<string>): Promise<void> {
  for (const a of await pending(workflowId)) {
    if (a.state !== STARTED || !diedWith(a.worker)) continue;
    if (a.heartbeatTimeoutMs > 0 && a.heartbeatTimeoutMs <= NOTICED_BY_HEARTBEAT_MS) continue;
    const key = `${a.id}/${a.attempt}`;
    if (done.has(key)) continue;
    done.add(key);
    await env.temporal.client.workflowService.updateActivityOptions({
      namespace: env.temporal.server.namespace,
      execution: { workflowId },
      identity: 'chaos-test',
      id: a.id,
      activityOptions: { startToCloseTimeout: msToTs('3s') },
      updateMask: { paths: ['start_to_close_timeout'] },
    });
  }
}

async function diagnostics(workflowId: string, kills: Kill[]): Promise<string> {
  const acts = await pending(workflowId).catch((e: unknown) => `(describe failed: ${String(e)})`);
  return [
    `--- pending activities of ${workflowId} ---`,
    JSON.stringify(acts),
    '--- kills so far ---',
    ...kills.map((k) => `run ${k.run}: ${k.trigger} -> ${k.interrupted.join(', ') || 'nothing running'}`),
    `--- activity worker (pid ${workerPid}), last 4000 chars ---`,
    worker.output().slice(-4000),
    ...(incarnations.length > 1
      ? [`--- the previous activity worker, last 2000 chars ---`, incarnations[incarnations.length - 2]!.output().slice(-2000)]
      : []),
    '--- workflow worker, last 2000 chars ---',
    workflows?.output().slice(-2000) ?? '',
    '--- landing directory ---',
    ...tree(env.landingDir),
    '--- HWM directory ---',
    ...readdirSync(hwmDir()),
  ].join('\n');
}

/** Arms `t` for one run: `fired` resolves once the worker has been sent SIGKILL. */
function arm(t: Trigger, h: WorkflowHandle): { fired: Promise<void>; killed(): boolean; disarm(): void } {
  let fire!: () => void;
  const fired = new Promise<void>((r) => (fire = r));
  let armed = true;
  let killed = false;
  const victim = workerPid;
  const kill = () => {
    if (!armed) return;
    armed = false;
    killed = true;
    process.kill(victim, 'SIGKILL');
    fire();
  };
  const cleanups: (() => void)[] = [];
  if (t.kind === 'delay') {
    const timer = setTimeout(kill, t.ms);
    cleanups.push(() => clearTimeout(timer));
  } else if (t.kind === 'phase') {
    void (async () => {
      while (armed) {
        const p = await h.query<Progress>('progress').catch(() => undefined);
        if (p?.phase === t.phase) {
          const timer = setTimeout(kill, t.delayMs);
          cleanups.push(() => clearTimeout(timer));
          return;
        }
        if (p?.phase === 'done' || p?.phase === 'failed') return;
        await new Promise((r) => setTimeout(r, 30));
      }
    })();
  } else if (t.kind === 'file') {
    const dir = { tmp: tmpDir(), hwm: hwmDir(), staging: join(env.stateDir, 'staging'), landing: env.landingDir }[t.where];
    let seen = 0;
    // Creations only: a removal is reported as the same event, and the name is gone by then.
    const w: FSWatcher = watch(dir, (_event, name) => {
      if (name && t.name.test(name) && existsSync(join(dir, name)) && ++seen === t.nth) kill();
    });
    cleanups.push(() => w.close());
  }
  return {
    fired,
    killed: () => killed,
    disarm() {
      armed = false;
      for (const c of cleanups) c();
    },
  };
}

/** Steps that take the HWM store's lock; they finish in milliseconds unless a lock is in their way. */
const LOCKING_STEPS = new Set(['commitHwm', 'acquirePublishLease', 'releasePublishLease']);

/**
 * The run's result; meanwhile, attempts held by dead workers are nudged. Fails with diagnostics, at once
 * when a retry was held up by a lock (a dead worker's lock must be broken by the first retry: one kill
 * costs a locking step one more attempt, not several).
 */
async function settle(h: WorkflowHandle, result: Promise<RunSummary>, kills: Kill[], testDeadline: number): Promise<RunSummary> {
  const deadline = Math.min(Date.now() + 90_000, testDeadline);
  const nudged = new Set<string>();
  const outcome = result.then(
    (s) => ({ s }),
    (e: unknown) => ({ e }),
  );
  for (;;) {
    const r = await Promise.race([outcome, new Promise<undefined>((res) => setTimeout(() => res(undefined), 500))]);
    if (r && 's' in r) return r.s;
    if (r) throw new Error(`run ${h.workflowId} failed: ${failureMessage(r.e)}\n${await diagnostics(h.workflowId, kills)}`);
    if (Date.now() > deadline) throw new Error(`run ${h.workflowId} did not finish in time\n${await diagnostics(h.workflowId, kills)}`);
    const blocked = (await pending(h.workflowId).catch(() => [])).find(
      (a) => /stayed locked/.test(a.lastFailure ?? '') || (LOCKING_STEPS.has(a.type) && a.attempt >= 4),
    );
    if (blocked) {
      throw new Error(
        `${blocked.type} of ${h.workflowId} was held up (attempt ${blocked.attempt}: ${blocked.lastFailure}); is a dead worker's lock in its way?\n${await diagnostics(h.workflowId, kills)}`,
      );
    }
    await nudge(h.workflowId, nudged).catch(() => undefined);
  }
}

/** Every path under `dir`, directories with a trailing `/`. */
function tree(dir: string, base = ''): string[] {
  return readdirSync(join(dir, base), { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? [`${join(base, e.name)}/`, ...tree(dir, join(base, e.name))] : [join(base, e.name)]))
    .sort();
}

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('crash hygiene: the worker SIGKILLed again and again', { timeout: 330_000 }, () => {
  before(async () => {
    env = await startCollectorEnv();
    // A short lookback keeps the windows small; a generous pickup timeout keeps a restarted host's queue
    // "alive" (a step not picked up in time would move the run to another host, which this test is not about).
    env.writeConfig({ [COLLECTOR]: { options: { initialLookback: '10m', heartbeatTimeout: '3s', hostPickupTimeout: '60s' } } });
    // Watched before the first upload creates them.
    mkdirSync(join(env.landingDir, '.collector-tmp'), { recursive: true });
    mkdirSync(join(env.stateDir, 'hwm'), { recursive: true });
    mkdirSync(join(env.stateDir, 'staging'), { recursive: true });
    workflows = await env.childWorker(['collectors'], 'chaos-central', {}, ['--workflows-only']);
    ownPid(workflows);
    await startWorker();
  });
  after(async () => {
    // A launcher's SIGKILL does not reach the worker it started: kill the workers themselves first.
    for (const pid of workerPids) if (!deadPids.has(pid) && alive(pid)) process.kill(pid, 'SIGKILL');
    await env?.stop();
  });

  it(`${PLAN.length} runs with kills at varied points: each window lands once, windows tile, nothing is left behind`, async (t) => {
    const kills: Kill[] = [];
    const summaries: RunSummary[] = [];
    // Well inside the test's timeout, so a stuck run fails with diagnostics rather than a bare timeout.
    const testDeadline = Date.now() + 270_000;
    for (const [i, trigger] of PLAN.entries()) {
      // Windows end on whole seconds: a run starting in the same second as the last window's end would be empty.
      const last = summaries.at(-1);
      if (last) {
        const wait = Date.parse(last.window.end) + 1050 - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      const h = await env.temporal.client.workflow.start('collect', {
        taskQueue: 'collectors',
        workflowId: `chaos-${i}`,
        args: [{ collector: COLLECTOR }],
      });
      const result = h.result() as Promise<RunSummary>;
      result.catch(() => undefined);
      const armed = arm(trigger, h);
      const first = await Promise.race([
        result.then(
          () => 'settled',
          () => 'settled',
        ),
        armed.fired.then(() => 'killed'),
      ]);
      armed.disarm();
      // A kill may land just as the run ends: whatever raced, a killed worker is replaced.
      if (first === 'killed' || armed.killed()) {
        const dead = worker;
        deadPids.add(workerPid);
        // Exits once its worker is gone (it is the worker, or a launcher that reaps it first: a dead
        // worker left unreaped would still look alive to the next one).
        await waitFor('the killed worker to exit', () => dead.proc.exitCode !== null || dead.proc.signalCode !== null, 30_000);
        await dead.stop('SIGKILL');
        const interrupted = (await pending(h.workflowId).catch(() => []))
          .filter((a) => a.state === STARTED && diedWith(a.worker))
          .map((a) => a.type);
        kills.push({ run: i, trigger: describeTrigger(trigger), interrupted });
        await startWorker();
      }
      summaries.push(await settle(h, result, kills, testDeadline));
    }

    const report = kills
      .map((k) => `run ${k.run}: killed ${k.trigger} -> interrupted ${k.interrupted.join(', ') || 'nothing running'}`)
      .join('\n');
    const why = `\n--- kills ---\n${report}\n--- landing ---\n${tree(env.landingDir).join('\n')}`;
    t.diagnostic(`${kills.length} kills in ${summaries.length} runs\n${report}`);

    // Progress: every run completed (a kill costs retries, not the run).
    assert.equal(summaries.length, PLAN.length);
    assert.deepEqual(
      summaries.map((s) => s.status),
      PLAN.map(() => 'completed'),
      why,
    );
    // The kills really interrupted work: extracting, uploading, and inside the HWM store.
    assert.ok(kills.length >= 10, `only ${kills.length} kills${why}`);
    const hit = new Set(kills.flatMap((k) => k.interrupted));
    for (const step of ['extract', 'upload']) assert.ok(hit.has(step), `no kill interrupted ${step}${why}`);
    assert.ok(
      ['commitHwm', 'acquirePublishLease', 'releasePublishLease'].some((s) => hit.has(s)),
      `no kill interrupted an HWM store step${why}`,
    );

    // Windows tile time: each starts where the previous ended, and the HWM is the last end.
    assert.equal(summaries[0]!.windowOrigin, 'initial-lookback');
    for (let i = 1; i < summaries.length; i++) {
      assert.equal(summaries[i]!.windowOrigin, 'hwm');
      assert.equal(summaries[i]!.window.start, summaries[i - 1]!.window.end, `gap or overlap between runs ${i - 1} and ${i}`);
      assert.ok(summaries[i]!.window.end > summaries[i]!.window.start);
    }
    assert.equal(env.hwm(COLLECTOR), summaries.at(-1)!.window.end);

    // Every completed run: its manifest and each of its files, once, with the validated bytes.
    const expected = summaries.flatMap((s) => [...s.files.map((f) => f.name), s.manifest!]);
    assert.equal(new Set(expected).size, expected.length, 'object names are unique per window');
    assert.deepEqual(
      tree(env.landingDir),
      ['.collector-tmp/', ...expected].sort(),
      `the landing directory holds exactly the deliverables${why}`,
    );
    for (const s of summaries) {
      for (const f of s.files) assert.equal(sha256(join(env.landingDir, f.name)), f.sha256, f.name);
      const manifest = JSON.parse(readFileSync(join(env.landingDir, s.manifest!), 'utf8')) as {
        window: unknown;
        files: { sha256: string }[];
      };
      assert.deepEqual(manifest.window, s.window);
      assert.deepEqual(
        manifest.files.map((f) => f.sha256),
        s.files.map((f) => f.sha256),
      );
    }

    // Nothing left behind: no lock or temp file by the HWM, no staging directory.
    assert.deepEqual(readdirSync(hwmDir()).sort(), [`${COLLECTOR}_hwm.txt`], 'the HWM directory holds the HWM only');
    assert.deepEqual(
      env.stagingDirs().filter((d) => d.startsWith(`${COLLECTOR}__`)),
      [],
      'staging cleaned up',
    );
  });
});
