/**
 * The filesystem landing: the landing conformance suite, plus what is particular to a directory: atomic
 * no-clobber publish (never a partial file under the final name), a manifest mismatch, a missing mount,
 * and temp files kept in `.collector-tmp/` and swept after a killed upload.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { ConfigError, ValidationError } from '../src/contracts/errors';
import { landingConformance } from './conformance/landing';
import { filesystemLanding } from '../src/connectors/filesystem';
import type { LandingZone, OutgoingFile } from '../src/contracts/plugin';
import { fileIdentity } from '../src/extracts/hash';

let dir: string;
let staging: string;
let root: string;

function file(name: string, content: Buffer): OutgoingFile {
  const path = join(staging, name);
  writeFileSync(path, content);
  return {
    path,
    bytes: content.length,
    sha256: createHash('sha256').update(content).digest('hex'),
    md5: createHash('md5').update(content).digest('base64'),
    contentType: 'text/csv',
    metadata: {},
  };
}

function lz(path = root): LandingZone {
  return filesystemLanding.create(filesystemLanding.configSchema.parse({ type: 'filesystem', path }), {
    log: pino({ level: 'silent' }),
    signal: new AbortController().signal,
  });
}

const put = (z: LandingZone, f: OutgoingFile, name: string, onProgress?: (n: number) => void) =>
  z.put(f, name, { signal: new AbortController().signal, ...(onProgress ? { onProgress } : {}) });

/** Everything under `d`, recursively, as relative paths. */
function tree(d: string, base = ''): string[] {
  return readdirSync(join(d, base), { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? tree(d, join(base, e.name)) : [join(base, e.name)]))
    .sort();
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'lz-fs-'));
  staging = join(dir, 'staging');
  root = join(dir, 'landing');
  mkdirSync(staging);
  mkdirSync(root);
});

after(() => rmSync(dir, { recursive: true, force: true }));

landingConformance('filesystem', {
  atomicCreate: true,
  keepsMetadata: false,
  multiBlockBytes: 3 * 1024 * 1024 + 17,
  async fixture() {
    const at = mkdtempSync(join(dir, 'conformance-'));
    return {
      landing: async () => lz(at),
      list: async () => tree(at).map((p) => p.split(sep).join('/')),
      read: async (name) => readFileSync(join(at, ...name.split('/'))),
      secrets: [],
    };
  },
});

describe('filesystem landing', () => {
  it('publishes under the final name only when complete, and leaves no temp file', async () => {
    const content = randomBytes(8 * 1024 * 1024 + 3);
    const f = file('big.csv', content);
    const target = join(root, '2024', 'big.csv');
    let sawProgress = false;
    const outcome = await put(lz(), f, '2024/big.csv', (n) => {
      // While bytes are still being copied, nothing may exist under the final name, nor next to it.
      if (n < content.length) {
        sawProgress = true;
        assert.equal(existsSync(target), false, 'partial file visible under the final name');
        assert.deepEqual(readdirSync(join(root, '2024')), [], 'temp file in the directory consumers read');
        assert.match(readdirSync(join(root, '.collector-tmp')).join(), /^big\.csv\.[0-9a-f-]{36}\.partial$/);
      }
    });
    assert.equal(outcome, 'created');
    assert.ok(sawProgress);
    assert.ok(readFileSync(target).equals(content));
    assert.equal(statSync(target).mode & 0o777, 0o644, 'readable by the consumers, whatever the staging mode');
    assert.deepEqual(tree(root), [join('2024', 'big.csv')]);
  });

  it('a staging file rewritten while it is copied is not published (the copy and the hash may have read different bytes)', async () => {
    const content = randomBytes(16 * 1024 * 1024);
    const f = file('moving.csv', content);
    // Written a while ago, as a validated staging file is (timestamps tick coarsely: a write in the same
    // few milliseconds as the last one could keep its mtime).
    utimesSync(f.path, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    let touched = false;
    await assert.rejects(
      put(lz(), f, 'moving.csv', () => {
        if (touched) return;
        touched = true;
        // Same length, one byte different: only the change of mtime and ctime can tell.
        const fd = openSync(f.path, 'r+');
        writeSync(fd, Buffer.from([content[0]! ^ 1]), 0, 1, 0);
        closeSync(fd);
      }),
      (e: unknown) => e instanceof ValidationError && /changed while it was copied/.test(e.message),
    );
    assert.equal(existsSync(join(root, 'moving.csv')), false);
    assert.deepEqual(
      tree(root).filter((p) => p.includes('.partial') || p.includes('moving')),
      [],
    );
  });

  it("trusts the caller's hashes while the file keeps the identity they were taken with, and only then", async () => {
    const content = randomBytes(2 * 1024 * 1024);
    const f = { ...file('known.csv', content), identity: await fileIdentity(join(staging, 'known.csv')) };
    assert.equal(await put(lz(), f, 'known.csv'), 'created');
    assert.ok(readFileSync(join(root, 'known.csv')).equals(content));

    // Rewritten after its hashes were taken (same size, one byte different): the identity moved, so the
    // put hashes the file itself and refuses bytes that are not the ones the caller validated.
    const g = { ...file('stale.csv', content), identity: await fileIdentity(join(staging, 'stale.csv')) };
    utimesSync(g.path, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    const fd = openSync(g.path, 'r+');
    writeSync(fd, Buffer.from([content[0]! ^ 1]), 0, 1, 0);
    closeSync(fd);
    await assert.rejects(put(lz(), g, 'stale.csv'), ValidationError);
    assert.equal(existsSync(join(root, 'stale.csv')), false);
  });

  it('refuses a staging file that does not match its manifest', async () => {
    const f = file('m.csv', Buffer.from('hello'));
    await assert.rejects(put(lz(), { ...f, sha256: 'f'.repeat(64) }, 'mismatch.csv'), ValidationError);
    assert.equal(existsSync(join(root, 'mismatch.csv')), false);
    assert.deepEqual(
      tree(root).filter((p) => p.includes('.partial')),
      [],
    );
  });

  it('a missing landing directory is a ConfigError (a volume that is not mounted), not created', async () => {
    const missing = join(dir, 'not-mounted');
    await assert.rejects(put(lz(missing), file('x.csv', Buffer.from('x')), 'x.csv'), ConfigError);
    assert.equal(existsSync(missing), false);
    const checks = await lz(missing).testConnection();
    assert.equal(checks[0]?.ok, false);
  });

  it('testConnection checks create and hard-link publishing in .collector-tmp/, and cleans up', async () => {
    const before = readdirSync(root).sort();
    const checks = await lz().testConnection();
    for (const c of checks) assert.ok(c.ok, `${c.name}: ${c.detail}`);
    assert.deepEqual(
      [...new Set([...readdirSync(root), '.collector-tmp'])].sort(),
      [...new Set([...before, '.collector-tmp'])].sort(),
      'nothing written outside .collector-tmp/',
    );
    assert.deepEqual(readdirSync(join(root, '.collector-tmp')), []);
  });

  it("a killed upload's temp files are swept by the next put of the same collector; others' only after a day", async () => {
    const sweepRoot = join(dir, 'sweep');
    const tmpDir = join(sweepRoot, '.collector-tmp');
    mkdirSync(tmpDir, { recursive: true });
    const litter = {
      mine: 'c1_metadata_20261101T000000Z.csv.8a3e2f7c-0000-4000-8000-000000000001.partial',
      mineOtherRun: 'c1_manifest_20261031T000000Z.json.8a3e2f7c-0000-4000-8000-000000000002.partial',
      otherFresh: 'c2_metadata_20261101T000000Z.csv.8a3e2f7c-0000-4000-8000-000000000003.partial',
      otherOld: 'c3_events_20261001T000000Z.csv.8a3e2f7c-0000-4000-8000-000000000004.partial',
      probeOld: 'probe-8a3e2f7c-0000-4000-8000-000000000005.txt',
      sameStemOther: 'c10_metadata_20261101T000000Z.csv.8a3e2f7c-0000-4000-8000-000000000006.partial',
    };
    for (const name of Object.values(litter)) writeFileSync(join(tmpDir, name), 'partial');
    const dayAgo = new Date(Date.now() - 25 * 3600_000);
    for (const name of [litter.otherOld, litter.probeOld]) utimesSync(join(tmpDir, name), dayAgo, dayAgo);
    const f = file('c1.csv', randomBytes(1000));
    assert.equal(await put(lz(sweepRoot), f, 'c1_metadata_20261102T000000Z.csv'), 'created');
    assert.deepEqual(readdirSync(tmpDir).sort(), [litter.otherFresh, litter.sameStemOther].sort());
    assert.deepEqual(readdirSync(sweepRoot).sort(), ['.collector-tmp', 'c1_metadata_20261102T000000Z.csv']);
  });

  it("concurrent puts of one collector never sweep each other's temp files", async () => {
    const files = Array.from({ length: 6 }, (_, i) => ({
      f: file(`cc${i}.csv`, randomBytes(4 * 1024 * 1024 + i)),
      name: `cc_kind${i}_20261101T000000Z.csv`,
    }));
    // The others start (and sweep) while the first one's temp file is being written.
    let copying!: () => void;
    const firstCopying = new Promise<void>((r) => (copying = r));
    const first = put(lz(), files[0]!.f, files[0]!.name, () => copying());
    await firstCopying;
    const outcomes = await Promise.all([first, ...files.slice(1).map(({ f, name }) => put(lz(), f, name))]);
    assert.deepEqual(
      outcomes,
      files.map(() => 'created'),
    );
    for (const { f, name } of files) assert.ok(readFileSync(join(root, name)).equals(readFileSync(f.path)));
    assert.deepEqual(readdirSync(join(root, '.collector-tmp')), []);
  });
});
