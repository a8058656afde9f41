import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { TransientError } from '../src/contracts/errors';
import { fileHwm, FileHwmStore } from '../src/connectors/filesystem/hwm';
import pino from 'pino';
import { hwmStoreConformance } from './conformance/hwm-store';
import { planWindow } from '../src/run/window-plan';
import { ROOT, startProcess, waitFor, type Started } from './support/processes';

const tmp = () => mkdtempSync(join(tmpdir(), 'hwm-'));

hwmStoreConformance('file', {
  atomicConditionalWrites: true,
  async fixture() {
    const dir = tmp();
    const path = (collector: string) => join(dir, `${collector}_hwm.txt`);
    return {
      store: async () => fileHwm.create({ type: 'file', dir }, { log: pino({ level: 'silent' }), signal: new AbortController().signal }),
      readRaw: async (collector) => (existsSync(path(collector)) ? readFileSync(path(collector), 'utf8') : undefined),
      writeRaw: async (collector, text) => writeFileSync(path(collector), text),
      list: async () => readdirSync(dir).sort(),
      secrets: [],
    };
  },
});

describe('file HWM store', () => {
  it('writes <name>_hwm.txt in the directory and leaves nothing else there', async () => {
    const dir = tmp();
    const store = new FileHwmStore(dir);
    const s = await store.compareAndSet('a', null, '2026-11-01T00:00:00Z');
    assert.equal(s.value, '2026-11-01T00:00:00.000Z');
    assert.equal(readFileSync(join(dir, 'a_hwm.txt'), 'utf8'), '2026-11-01T00:00:00.000Z\n');
    assert.deepEqual(readdirSync(dir), ['a_hwm.txt']);
  });

  it('testConnection names the directory permission when it cannot write', async () => {
    const dir = tmp();
    const blocker = join(dir, 'not-a-dir');
    writeFileSync(blocker, 'x');
    const checks = await new FileHwmStore(blocker).testConnection();
    assert.equal(checks[0]?.ok, false);
    assert.match(checks[0]?.grant ?? '', /write permission on .*not-a-dir/);
  });
});

describe('window planning', () => {
  const base = { nominalEnd: '2026-11-21T06:00:30.500Z', initialLookbackMs: 86_400_000, safetyLagMs: 300_000 };
  it('starts at the HWM, ends at nominal time minus the safety lag, to whole seconds', () => {
    const p = planWindow({ ...base, hwm: '2026-11-21T00:00:00.000Z' });
    assert.deepEqual(p.window, { start: '2026-11-21T00:00:00.000Z', end: '2026-11-21T05:55:30.000Z' });
    assert.equal(p.origin, 'hwm');
    assert.equal(p.empty, false);
  });
  it("falls back to the schedule's last result, then to the initial lookback", () => {
    assert.equal(planWindow({ ...base, hwm: null, lastResultEnd: '2026-11-20T00:00:00.000Z' }).origin, 'schedule-last-result');
    const p = planWindow({ ...base, hwm: null });
    assert.equal(p.origin, 'initial-lookback');
    assert.equal(p.window.start, '2026-11-20T05:55:30.000Z');
  });
  it('is empty, never inverted, when the HWM is past the end', () => {
    const p = planWindow({ ...base, hwm: '2026-11-22T00:00:00.000Z' });
    assert.equal(p.empty, true);
    assert.equal(p.window.start, p.window.end);
  });
});

describe('publish lease', () => {
  it('one holder at a time; a retried acquire recognises its own lease; an expired lease can be taken', async () => {
    const { acquirePublishLease, releasePublishLease, leaseKey } = await import('../src/hwm/lease');
    const store = new FileHwmStore(tmp());
    const until = new Date(Date.now() + 60_000).toISOString();
    const v = await acquirePublishLease(store, 'a', until);
    assert.equal(await acquirePublishLease(store, 'a', until), v, 'the same run acquiring again gets its own lease');
    await assert.rejects(acquirePublishLease(store, 'a', new Date(Date.now() + 120_000).toISOString()), /another run of "a" is uploading/);
    // Past its expiry, another run may take it.
    const later = Date.now() + 61_000;
    const until2 = new Date(later + 60_000).toISOString();
    const v2 = await acquirePublishLease(store, 'a', until2, later);
    assert.notEqual(v2, v);
    // The first holder's release no longer applies; the new holder's does.
    await releasePublishLease(store, 'a', until);
    assert.notEqual((await store.get(leaseKey('a'))).value, null);
    await releasePublishLease(store, 'a', until2);
    assert.equal((await store.get(leaseKey('a'))).value, null);
    // The lease never touches the HWM itself.
    assert.equal((await store.get('a')).value, null);
  });
});

describe('file HWM lock', () => {
  it('a stale lock left by a dead process is broken by exactly one of many contenders', async () => {
    const { utimesSync } = await import('node:fs');
    const dir = tmp();
    const store = new FileHwmStore(dir);
    await store.compareAndSet('a', null, '2026-11-01T00:00:00Z');
    const { version } = await store.get('a');
    const lock = join(dir, 'a_hwm.txt.lock');
    writeFileSync(lock, '999999 dead-process\n');
    const old = new Date(Date.now() - 120_000);
    utimesSync(lock, old, old);
    for (let round = 0; round < 10; round++) {
      const results = await Promise.allSettled(
        Array.from({ length: 6 }, (_, i) => store.compareAndSet('a', version, `2026-11-0${i + 2}T00:00:00Z`)),
      );
      if (round === 0) assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, 'one winner from the same version');
      else assert.equal(results.filter((r) => r.status === 'fulfilled').length, 0, 'the version moved: nobody wins again');
    }
  });
});

/**
 * A real holder of the real lock in another process: the child calls compareAndSet on a store whose HWM
 * file is a FIFO, so it takes the lock and then blocks reading the HWM, inside the critical section.
 */
async function childHoldingLock(dir: string, collector: string): Promise<{ child: Started; lockText: string }> {
  execFileSync('mkfifo', [join(dir, `${collector}_hwm.txt`)]);
  const code = `const { FileHwmStore } = require(${JSON.stringify(join(ROOT, 'src', 'connectors', 'filesystem', 'hwm'))});
new FileHwmStore(${JSON.stringify(dir)}).compareAndSet(${JSON.stringify(collector)}, null, '2026-11-01T00:00:00Z');`;
  const child = startProcess(process.execPath, ['--import', 'tsx', '-e', code], { cwd: ROOT });
  const lock = join(dir, `${collector}_hwm.txt.lock`);
  await waitFor(
    'the child to hold the lock',
    () => existsSync(lock) && readFileSync(lock, 'utf8').includes(`"pid":${child.proc.pid}`),
    30_000,
  ).catch(async (e: Error) => {
    await child.stop('SIGKILL');
    throw new Error(`${e.message}\n${child.output()}`);
  });
  return { child, lockText: readFileSync(lock, 'utf8') };
}

/** Sets a lock's mtime an hour ahead: its age is then negative, so the age rule cannot be what breaks it. */
function neverStale(lock: string): void {
  const ahead = new Date(Date.now() + 3600_000);
  utimesSync(lock, ahead, ahead);
}

const stayedLocked = (e: unknown) => e instanceof TransientError && /stayed locked/.test(e.message);

describe('file HWM lock after a crash', () => {
  it('a live holder on this host is respected; once it is SIGKILLed its lock is broken at once, not after a minute', async () => {
    const dir = tmp();
    const { child, lockText } = await childHoldingLock(dir, 'a');
    try {
      const lock = join(dir, 'a_hwm.txt.lock');
      neverStale(lock);
      unlinkSync(join(dir, 'a_hwm.txt'));
      const store = new FileHwmStore(dir);
      await assert.rejects(store.compareAndSet('a', null, '2026-11-02T00:00:00Z'), stayedLocked);
      assert.equal(readFileSync(lock, 'utf8'), lockText, 'the live holder keeps its lock');

      await child.stop('SIGKILL');
      assert.equal(readFileSync(lock, 'utf8'), lockText, 'the killed holder left its lock behind');
      const s = await store.compareAndSet('a', null, '2026-11-02T00:00:00Z');
      assert.equal(s.value, '2026-11-02T00:00:00.000Z');
      assert.deepEqual(readdirSync(dir), ['a_hwm.txt'], 'lock released, nothing left');

      // An earlier process that had this process's pid (a restarted container's pid 1): dead too.
      const earlier = { ...(JSON.parse(lockText) as Record<string, unknown>), pid: process.pid };
      writeFileSync(join(dir, 'b_hwm.txt.lock'), `${JSON.stringify(earlier)}\n`);
      neverStale(join(dir, 'b_hwm.txt.lock'));
      assert.equal((await store.compareAndSet('b', null, '2026-11-02T00:00:00Z')).value, '2026-11-02T00:00:00.000Z');
    } finally {
      await child.stop('SIGKILL');
    }
  });

  it('a dead holder on another host, of another boot, in another pid namespace, or in the old format: broken only by age', async () => {
    const dir = tmp();
    const { child, lockText } = await childHoldingLock(dir, 'dead');
    await child.stop('SIGKILL');
    const holder = JSON.parse(lockText) as Record<string, unknown>;
    // The pid in each is dead here: only host, boot id or format keep the lock from being broken at once.
    const locks = {
      host: `${JSON.stringify({ ...holder, host: 'another-host' })}\n`,
      boot: `${JSON.stringify({ ...holder, boot: '00000000-0000-0000-0000-000000000000' })}\n`,
      old: `${holder.pid} 0b7e4a52-5f0b-4d8e-9d51-2a0c64c5f0a1\n`,
      // Another container on this kernel with the same host name (hostNetwork) whose pid 1 is not ours.
      pidns: `${JSON.stringify({ ...holder, pid: process.pid, proc: 'another-process', pidns: 'pid:[4026531836999]' })}\n`,
    };
    for (const [c, text] of Object.entries(locks)) {
      writeFileSync(join(dir, `${c}_hwm.txt.lock`), text);
      neverStale(join(dir, `${c}_hwm.txt.lock`));
    }
    const store = new FileHwmStore(dir);
    const first = await Promise.allSettled(Object.keys(locks).map((c) => store.compareAndSet(c, null, '2026-11-02T00:00:00Z')));
    for (const r of first)
      assert.ok(r.status === 'rejected' && stayedLocked(r.reason), String(r.status === 'rejected' ? r.reason : 'fulfilled'));
    for (const [c, text] of Object.entries(locks)) assert.equal(readFileSync(join(dir, `${c}_hwm.txt.lock`), 'utf8'), text);
    // Past the age rule, each is broken.
    const old = new Date(Date.now() - 120_000);
    for (const c of Object.keys(locks)) utimesSync(join(dir, `${c}_hwm.txt.lock`), old, old);
    for (const c of Object.keys(locks))
      assert.equal((await store.compareAndSet(c, null, '2026-11-02T00:00:00Z')).value, '2026-11-02T00:00:00.000Z');
  });

  it("temp files of killed holders are swept by the next holder; other collectors' are not", async () => {
    const dir = tmp();
    const store = new FileHwmStore(dir);
    await store.compareAndSet('a', null, '2026-11-01T00:00:00Z');
    const { version } = await store.get('a');
    const leftovers = ['a_hwm.txt.1f0c.tmp', 'a_hwm.txt.lock.2e1d.tmp'];
    const others = ['a_lease_hwm.txt.3c2e.tmp', 'b_hwm.txt.4d3f.tmp', 'a_hwm.txt.lock.5e40.stale'];
    for (const f of [...leftovers, ...others]) writeFileSync(join(dir, f), 'x');
    await store.compareAndSet('a', version, '2026-11-02T00:00:00Z');
    // A .stale file is kept while fresh (a live breaker may be between its two steps).
    assert.deepEqual(readdirSync(dir).sort(), ['a_hwm.txt', ...others].sort());
    await store.remove('a', (await store.get('a')).version);
    assert.deepEqual(readdirSync(dir).sort(), [...others].sort());
  });
});
