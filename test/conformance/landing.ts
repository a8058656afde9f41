/**
 * The landing-zone contract, written once and run against every implementation (filesystem, azure-blob,
 * s3): exactly-once conditional create, judging an existing object, name rules, a staging file changed
 * mid-upload, cancellation, stored metadata, no secret in describe(), the connection probe and close().
 * A new landing zone calls `landingConformance` from its test file with a harness for its store.
 */
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConflictError, ValidationError } from '../../src/contracts/errors';
import type { LandingZone, OutgoingFile, PutOutcome } from '../../src/contracts/plugin';
import { makeOutgoingFile } from '../support/outgoing-file';

/** One fresh landing location (its own directory or prefix) and ways to look at what it holds. */
export interface LandingFixture {
  /** A new landing zone instance on this location (as a retried activity would build one). */
  landing(): Promise<LandingZone>;
  /** Every stored object name, relative to the landing path, sorted; `.collector-tmp/` included. */
  list(): Promise<string[]>;
  /** The stored bytes of `objectName`. */
  read(objectName: string): Promise<Buffer>;
  /** The object metadata stored with `objectName`; absent for stores that keep none (the manifest carries it). */
  metadata?(objectName: string): Promise<Record<string, string>>;
  /** Requests sent to the store so far, where a proxy counts them: name checks must send none. */
  requests?(): number;
  /** Values that must never appear in describe() or a check's text. */
  secrets: string[];
}

export interface LandingHarness {
  /** Called inside each case (after the suite's servers are up). */
  fixture(): Promise<LandingFixture>;
  /**
   * Whether the store decides a conditional create atomically. False only for emulators that check
   * If-None-Match and then write without a lock (moto): two racing creates can both succeed there.
   */
  atomicCreate: boolean;
  /** Whether objects carry metadata (sha256, run id...): true for object stores. */
  keepsMetadata: boolean;
  /** A size that takes several blocks/parts with this harness's config (uploads report progress per block). */
  multiBlockBytes: number;
}

const NAMES_REFUSED = [
  '../escape.csv',
  'a/../../b.csv',
  '/etc/passwd',
  'C:/x.csv',
  'a\\b.csv',
  'a\\..\\b.csv',
  'a\u0000b.csv',
  'bell\u0007.csv',
  'line\nbreak.csv',
  'tab\there.csv',
  'a\u007fb.csv',
  'a//b.csv',
  '.',
  '..',
  'x/./y',
  'dir/',
  'x/',
  '',
  'x'.repeat(1100),
];

const TMP_PREFIX = '.collector-tmp/';
const visible = (names: string[]) => names.filter((n) => !n.startsWith(TMP_PREFIX));

export function landingConformance(name: string, harness: LandingHarness): void {
  describe(`${name} landing: conformance`, () => {
    let dir: string;
    let seq = 0;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'lz-conf-'));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    const file = (size: number, seed = 0): Promise<OutgoingFile> =>
      makeOutgoingFile(join(dir, `f${seq++}.csv`), size, seed, { runid: 'run-1', windowstart: '2024-01-01T00:00:00.000Z' });
    const put = (lz: LandingZone, f: OutgoingFile, objectName: string, signal = new AbortController().signal): Promise<PutOutcome> =>
      lz.put(f, objectName, { signal });

    it(
      'creates 0 B, 1 KiB and multi-block objects once, byte-identical, with progress to the last byte',
      { timeout: 120_000 },
      async () => {
        const fx = await harness.fixture();
        const lz = await fx.landing();
        const sizes = [0, 1024, harness.multiBlockBytes];
        for (const size of sizes) {
          const f = await file(size);
          let progress = 0;
          assert.equal(
            await lz.put(f, `2024/s${size}.csv`, { signal: new AbortController().signal, onProgress: (n) => (progress = n) }),
            'created',
          );
          assert.equal(progress, size, `progress of ${size} B`);
          assert.ok((await fx.read(`2024/s${size}.csv`)).equals(await readAll(f.path)), `${size} B differ after reading back`);
        }
        assert.deepEqual(visible(await fx.list()), sizes.map((s) => `2024/s${s}.csv`).sort());
        await lz.close();
      },
    );

    it(
      'the same content again is already-present (also from a new instance); other content is a ConflictError',
      { timeout: 120_000 },
      async () => {
        const fx = await harness.fixture();
        for (const size of [0, 1000, harness.multiBlockBytes]) {
          const f = await file(size);
          const objectName = `r${size}.csv`;
          const lz = await fx.landing();
          assert.equal(await put(lz, f, objectName), 'created');
          assert.equal(await put(lz, f, objectName), 'already-present', `${size} B, same instance`);
          const again = await fx.landing();
          assert.equal(await put(again, f, objectName), 'already-present', `${size} B, new instance`);
          const other = await file(size === 0 ? 10 : size, 7);
          await assert.rejects(put(again, other, objectName), (e: unknown) => {
            assert.ok(e instanceof ConflictError, `${size} B: ${String(e)}`);
            assert.equal(e.nonRetryable, true);
            assert.ok(e.message.includes(objectName), e.message);
            return true;
          });
          assert.ok((await fx.read(objectName)).equals(await readAll(f.path)), 'the existing object is untouched');
          await Promise.all([lz.close(), again.close()]);
        }
        assert.deepEqual(visible(await fx.list()), ['r0.csv', 'r1000.csv', `r${harness.multiBlockBytes}.csv`].sort());
      },
    );

    if (harness.atomicCreate)
      it(
        'two writers racing for one name: one creates, the other is already-present or a ConflictError',
        { timeout: 120_000 },
        async () => {
          const fx = await harness.fixture();
          const [a, b] = await Promise.all([fx.landing(), fx.landing()]);
          const same = await file(harness.multiBlockBytes);
          const r1 = await Promise.all([put(a, same, 'same.csv'), put(b, same, 'same.csv')]);
          assert.deepEqual([...r1].sort(), ['already-present', 'created']);
          const [x, y] = [await file(harness.multiBlockBytes, 1), await file(harness.multiBlockBytes, 2)];
          const r2 = await Promise.allSettled([put(a, x, 'diff.csv'), put(b, y, 'diff.csv')]);
          assert.equal(r2.filter((r) => r.status === 'fulfilled').length, 1, r2.map((r) => r.status).join());
          const lost = r2.find((r): r is PromiseRejectedResult => r.status === 'rejected')!;
          assert.ok(lost.reason instanceof ConflictError, String(lost.reason));
          const winner = r2[0]!.status === 'fulfilled' ? x : y;
          assert.ok((await fx.read('diff.csv')).equals(await readAll(winner.path)));
          assert.deepEqual(visible(await fx.list()), ['diff.csv', 'same.csv']);
          await Promise.all([a.close(), b.close()]);
        },
      );

    it('refuses names that are unsafe or escape the landing path, before any I/O', async () => {
      const fx = await harness.fixture();
      const lz = await fx.landing();
      const f = await file(10);
      const before = fx.requests?.();
      for (const bad of NAMES_REFUSED) await assert.rejects(put(lz, f, bad), ValidationError, JSON.stringify(bad));
      if (before !== undefined) assert.equal(fx.requests!(), before, 'no request was sent');
      assert.deepEqual(visible(await fx.list()), []);
      // Sub-directories in a name are fine.
      assert.equal(await put(lz, f, 'a/b/c.csv'), 'created');
      assert.deepEqual(visible(await fx.list()), ['a/b/c.csv']);
      await lz.close();
    });

    it('a staging file changed during the upload is never published', { timeout: 60_000 }, async () => {
      const fx = await harness.fixture();
      const lz = await fx.landing();
      const f = await file(harness.multiBlockBytes);
      let changed = false;
      // Synchronous, so the change is complete before the upload takes another step.
      const change = () => {
        const fd = openSync(f.path, 'r+');
        writeSync(fd, Buffer.from('tampered'), 0, 8, harness.multiBlockBytes - 100);
        closeSync(fd);
        changed = true;
      };
      await assert.rejects(
        lz.put(f, 'changed.csv', { signal: new AbortController().signal, onProgress: () => void (changed || change()) }),
        (e: unknown) => e instanceof ValidationError && /changed/.test(e.message),
      );
      assert.ok(changed, 'the file was changed mid-upload');
      assert.deepEqual(visible(await fx.list()), []);
      await lz.close();
    });

    it("cancellation rejects with the signal's reason and publishes nothing", { timeout: 60_000 }, async () => {
      const fx = await harness.fixture();
      const lz = await fx.landing();
      const f = await file(harness.multiBlockBytes);
      const ac = new AbortController();
      await assert.rejects(
        lz.put(f, 'cancelled.csv', { signal: ac.signal, onProgress: () => ac.abort(new Error('cancelled by test')) }),
        /cancelled by test/,
      );
      assert.deepEqual(visible(await fx.list()), []);
      await lz.close();
    });

    // A store without object metadata (a directory) relies on the run's manifest instead.
    if (harness.keepsMetadata)
      it('stores the sha256 and the run metadata with the object', async () => {
        const fx = await harness.fixture();
        assert.ok(fx.metadata, 'the fixture reads metadata back');
        const lz = await fx.landing();
        const f = await file(1024);
        assert.equal(await put(lz, f, 'meta.csv'), 'created');
        const meta = await fx.metadata('meta.csv');
        assert.equal(meta.sha256, f.sha256);
        for (const [k, v] of Object.entries(f.metadata)) assert.equal(meta[k], v, k);
        await lz.close();
      });

    it('describe() names the location and holds no secret', async () => {
      const fx = await harness.fixture();
      const lz = await fx.landing();
      const where = lz.describe();
      assert.ok(where.length > 0);
      for (const s of fx.secrets) assert.ok(!where.includes(s), `secret in ${where}`);
      await lz.close();
    });

    it(
      'testConnection passes with full permissions, says no secret, and writes nothing outside .collector-tmp/',
      { timeout: 60_000 },
      async () => {
        const fx = await harness.fixture();
        const lz = await fx.landing();
        const checks = await lz.testConnection();
        assert.ok(checks.length > 1);
        for (const c of checks) {
          assert.ok(c.ok, `${c.name}: ${c.detail}`);
          for (const s of fx.secrets) assert.ok(!JSON.stringify(c).includes(s), `secret in check ${c.name}`);
        }
        assert.deepEqual(visible(await fx.list()), []);
        await lz.close();
      },
    );

    it('close() may be called more than once', async () => {
      const fx = await harness.fixture();
      const lz = await fx.landing();
      await lz.close();
      await lz.close();
    });
  });
}

async function readAll(path: string): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}
