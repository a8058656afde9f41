/**
 * The HWM-store contract, written once and run against every implementation (file, azure-blob, s3):
 * empty get, create-once, compare-and-set on the version, races with exactly one winner, removal by
 * version, value round-trip in the shared text format, commitHwm's forward-only rule, corrupt text,
 * the connection probe (which moves no HWM) and close().
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HwmConflictError } from '../../src/contracts/errors';
import type { HwmState, HwmStore } from '../../src/contracts/plugin';
import { commitHwm } from '../../src/hwm/commit';
import { formatHwmText } from '../../src/hwm/text';

/** One fresh HWM location (its own directory or prefix) and raw access to what it holds. */
export interface HwmFixture {
  /** A new store instance on this location (two instances are two workers). */
  store(): Promise<HwmStore>;
  /** The stored text of `collector`'s HWM, or undefined when there is none. */
  readRaw(collector: string): Promise<string | undefined>;
  /** Stores `text` as `collector`'s HWM behind the store's back. */
  writeRaw(collector: string, text: string): Promise<void>;
  /** Every stored name under the location, sorted. */
  list(): Promise<string[]>;
  /** Values that must never appear in describe() or a check's text. */
  secrets: string[];
}

export interface HwmHarness {
  /** Called inside each case (after the suite's servers are up). */
  fixture(): Promise<HwmFixture>;
  /**
   * Whether the backing service serializes conditional writes, as the real services do. An emulator that
   * checks the condition and then writes without a lock (moto's S3) lets two racing writers both succeed,
   * so the racing cases cannot hold there; the stale-version cases still run.
   */
  atomicConditionalWrites: boolean;
}

export function hwmStoreConformance(name: string, harness: HwmHarness): void {
  describe(`${name} HWM store: conformance`, () => {
    it('starts empty, creates once in the shared text format, reads back what it wrote', async () => {
      const fx = await harness.fixture();
      const store = await fx.store();
      assert.deepEqual(await store.get('athena-prod'), { value: null, version: null });
      const v1 = await store.compareAndSet('athena-prod', null, '2024-03-01T00:00:00Z');
      assert.equal(v1.value, '2024-03-01T00:00:00.000Z');
      assert.ok(v1.version);
      assert.equal(await fx.readRaw('athena-prod'), formatHwmText('2024-03-01T00:00:00Z'));
      assert.deepEqual(await store.get('athena-prod'), v1);
      assert.deepEqual(await (await fx.store()).get('athena-prod'), v1, 'another instance sees it');
      await assert.rejects(store.compareAndSet('athena-prod', null, '2024-03-02T00:00:00Z'), HwmConflictError, 'a second create conflicts');
      assert.deepEqual(await store.get('athena-prod'), v1);
      await store.close();
    });

    it('compare-and-set moves on the current version; a stale version conflicts and changes nothing', async () => {
      const fx = await harness.fixture();
      const store = await fx.store();
      const v1 = await store.compareAndSet('c', null, '2024-03-01T00:00:00Z');
      const v2 = await store.compareAndSet('c', v1.version, '2024-03-02T00:00:00Z');
      assert.notEqual(v2.version, v1.version);
      await assert.rejects(store.compareAndSet('c', v1.version, '2024-03-03T00:00:00Z'), HwmConflictError);
      assert.deepEqual(await store.get('c'), v2);
      // Direction is the caller's rule: the store itself may rewind (collector hwm set).
      const v3 = await store.compareAndSet('c', v2.version, '2024-02-01T00:00:00Z');
      assert.equal((await store.get('c')).value, v3.value);
      await store.close();
    });

    it('round-trips values to the millisecond, normalised to UTC', async () => {
      const fx = await harness.fixture();
      const store = await fx.store();
      let version: string | null = null;
      for (const [given, stored] of [
        ['2024-01-01T00:00:00Z', '2024-01-01T00:00:00.000Z'],
        ['2024-06-30T23:59:59.123Z', '2024-06-30T23:59:59.123Z'],
        ['2024-07-01T02:00:00+02:00', '2024-07-01T00:00:00.000Z'],
      ] as const) {
        const s = await store.compareAndSet('rt', version, given);
        assert.equal(s.value, stored);
        assert.equal(await fx.readRaw('rt'), `${stored}\n`);
        assert.equal((await store.get('rt')).value, stored);
        version = s.version;
      }
      await store.close();
    });

    if (harness.atomicConditionalWrites)
      it('many concurrent compare-and-sets from one version: exactly one wins, the rest conflict', { timeout: 60_000 }, async () => {
        const fx = await harness.fixture();
        const store = await fx.store();
        await store.compareAndSet('many', null, '2024-11-01T00:00:00Z');
        const { version } = await store.get('many');
        const results = await Promise.allSettled(
          Array.from({ length: 8 }, (_, i) => store.compareAndSet('many', version, `2024-11-0${i + 2}T00:00:00Z`)),
        );
        const won = results.filter((r): r is PromiseFulfilledResult<HwmState> => r.status === 'fulfilled');
        assert.equal(won.length, 1, results.map((r) => r.status).join());
        for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof HwmConflictError, String(r.reason));
        assert.deepEqual(await store.get('many'), won[0]!.value);
        await store.close();
      });

    if (harness.atomicConditionalWrites)
      it('two workers racing from the same version: exactly one wins, every round', { timeout: 60_000 }, async () => {
        const fx = await harness.fixture();
        const [a, b] = await Promise.all([fx.store(), fx.store()]);
        let version = (await a.compareAndSet('race', null, '2024-01-01T00:00:00Z')).version;
        for (let round = 1; round <= 15; round++) {
          const day = String(round + 1).padStart(2, '0');
          const results = await Promise.allSettled([
            a.compareAndSet('race', version, `2024-01-${day}T00:00:00Z`),
            b.compareAndSet('race', version, `2024-01-${day}T12:00:00Z`),
          ]);
          const won = results.filter((r): r is PromiseFulfilledResult<HwmState> => r.status === 'fulfilled');
          const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
          assert.equal(won.length, 1, `round ${round}: ${results.map((r) => r.status).join(', ')}`);
          assert.ok(lost[0]!.reason instanceof HwmConflictError, String(lost[0]!.reason));
          const now = await b.get('race');
          assert.deepEqual(now, won[0]!.value);
          version = now.version;
        }
        await Promise.all([a.close(), b.close()]);
      });

    it('removes only the version it was given', async () => {
      const fx = await harness.fixture();
      const store = await fx.store();
      const v = await store.compareAndSet('rm', null, '2024-05-01T00:00:00Z');
      const stale = (await store.compareAndSet('other', null, '2024-05-01T00:00:00Z')).version;
      await assert.rejects(store.remove('rm', '"0x8D0000000000000"'), HwmConflictError);
      await assert.rejects(store.remove('rm', stale === v.version ? 'not-a-version' : stale), HwmConflictError);
      await assert.rejects(store.remove('rm', null), HwmConflictError, 'null means "only while absent"');
      assert.deepEqual(await store.get('rm'), v);
      await store.remove('rm', v.version);
      assert.deepEqual(await store.get('rm'), { value: null, version: null });
      assert.equal(await fx.readRaw('rm'), undefined);
      await store.remove('rm', null);
      assert.equal((await store.get('other')).value, '2024-05-01T00:00:00.000Z', 'other collectors untouched');
      await store.close();
    });

    it('commitHwm moves only forward and is idempotent for its own earlier write', async () => {
      const fx = await harness.fixture();
      const store = await fx.store();
      const run = {
        collector: 'a',
        hwmVersion: null,
        hwmBefore: null,
        window: { start: '2026-11-01T00:00:00.000Z', end: '2026-11-02T00:00:00.000Z' },
      };
      assert.equal((await commitHwm(store, run)).advanced, true);
      // The same commit retried after a lost response finds its own value: success, no change.
      const again = await commitHwm(store, run);
      assert.equal(again.advanced, false);
      assert.equal(again.value, '2026-11-02T00:00:00.000Z');
      // An older run ending earlier cannot move it back.
      const stale = { ...run, window: { start: '2026-10-30T00:00:00.000Z', end: '2026-11-01T12:00:00.000Z' } };
      await assert.rejects(commitHwm(store, stale), HwmConflictError);
      assert.equal((await store.get('a')).value, '2026-11-02T00:00:00.000Z');
      await store.close();
    });

    it('keeps a source cursor with the HWM under the same compare-and-set; its version stays small', async () => {
      const fx = await harness.fixture();
      const store = await fx.store();
      // As large as a pg_stat_statements snapshot of a busy server.
      const big = JSON.stringify({ 'usage:db': Array.from({ length: 5000 }, (_, i) => [`q${i}`, i, i * 2.5]) });
      const v1 = await store.compareAndSet('cur', null, '2024-03-01T00:00:00Z', big);
      assert.equal(v1.cursor, big);
      assert.ok(v1.version && v1.version.length < 200, 'a version travels in workflow history: never the cursor itself');
      assert.deepEqual(await (await fx.store()).get('cur'), v1, 'another instance reads value and cursor');
      // A stale writer moves neither.
      const v2 = await store.compareAndSet('cur', v1.version, '2024-03-02T00:00:00Z', '{"k":1}');
      await assert.rejects(store.compareAndSet('cur', v1.version, '2024-03-03T00:00:00Z', '{"k":2}'), HwmConflictError);
      assert.deepEqual(await store.get('cur'), v2);
      assert.equal(v2.cursor, '{"k":1}');
      // The commit keeps the stored cursor when the run parked none.
      const run = {
        collector: 'cur',
        runId: 'r1',
        hwmVersion: v2.version,
        hwmBefore: v2.value,
        window: { start: v2.value!, end: '2024-03-04T00:00:00.000Z' },
      };
      const committed = await commitHwm(store, run);
      assert.equal(committed.cursor, '{"k":1}');
      // A file written before cursors existed (a bare instant) still reads, without one.
      await fx.writeRaw('old', '2024-01-01T00:00:00Z\n');
      assert.deepEqual({ ...(await store.get('old')), version: null }, { value: '2024-01-01T00:00:00.000Z', cursor: null, version: null });
      await fx.writeRaw('torn', '2024-01-01T00:00:00Z\ncursor {"a":\n');
      await assert.rejects(store.get('torn'), /not a "cursor \{\.\.\.\}" line/);
      await store.close();
    });

    it('refuses a corrupt HWM with a message saying how to fix it', async () => {
      const fx = await harness.fixture();
      await fx.writeRaw('bad', 'yesterday\n');
      const store = await fx.store();
      await assert.rejects(store.get('bad'), /not a valid HWM.*collector hwm set/);
      await store.close();
    });

    it('describe() names the location and holds no secret', async () => {
      const fx = await harness.fixture();
      const store = await fx.store();
      assert.ok(store.describe().length > 0);
      for (const s of fx.secrets) assert.ok(!store.describe().includes(s), store.describe());
      await store.close();
    });

    it('testConnection checks read and conditional write without moving any HWM', { timeout: 60_000 }, async () => {
      const fx = await harness.fixture();
      const store = await fx.store();
      const v = await store.compareAndSet('kept', null, '2024-05-01T00:00:00Z');
      const listed = await fx.list();
      const checks = await store.testConnection();
      assert.ok(checks.length >= 2, JSON.stringify(checks));
      for (const c of checks) {
        assert.ok(c.ok, `${c.name}: ${c.detail}`);
        for (const s of fx.secrets) assert.ok(!JSON.stringify(c).includes(s), `secret in check ${c.name}`);
      }
      assert.deepEqual(await store.get('kept'), v, 'the HWM did not move');
      assert.deepEqual(await fx.list(), listed, 'nothing left behind');
      await store.close();
    });

    it('close() may be called more than once', async () => {
      const fx = await harness.fixture();
      const store = await fx.store();
      await store.get('x');
      await store.close();
      await store.close();
    });
  });
}
