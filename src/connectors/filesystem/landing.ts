/**
 * A directory as landing zone (a mounted share, a volume another system drains). A file appears under
 * its final name only when complete: it is copied to a temp file in `<root>/.collector-tmp/` (a
 * dot-directory consumers skip, on the same filesystem), checked, fsynced, then published with link(), which
 * never replaces an existing file (EEXIST means "something is already there"; it is then compared by
 * sha256). rename() would silently overwrite, so it is not used.
 * A worker killed mid-copy leaves its temp file behind; the next put of the same collector sweeps it.
 * The filesystem keeps no object metadata: the run's manifest carries it.
 */
import { hashFile, identityOf, sameIdentity } from '../../extracts/hash';
import { createHash, randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, link, mkdir, open, readdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { z } from 'zod';
import { AuthError, CollectorError, ConfigError, ConflictError, TransientError, ValidationError } from '../../contracts/errors';
import type { Check, LandingPlugin, LandingZone, OutgoingFile, PluginContext, PutOptions, PutOutcome } from '../../contracts/plugin';
import { checkObjectName, COLLECTOR_TMP_DIR, probeObjectName } from '../../landing/object-name';

export const filesystemLandingSchema = z
  .object({
    type: z.literal('filesystem'),
    /** An existing directory; sub-directories in object names are created under it. */
    path: z.string().min(1),
  })
  .strict();

export type FilesystemLandingConfig = z.infer<typeof filesystemLandingSchema>;

/** Read size for hashing (sha256 with SHA-NI runs at well over 1 GB/s: reads, not the hash, set the pace). */
const CHUNK = 4 * 1024 * 1024;
/** A temp file this old belongs to no running upload (collectors that no longer run leave such litter). */
const ORPHAN_TEMP_MS = 24 * 3600_000;

/**
 * Temp files being written by this process right now. A sweep never removes them: the uploads of one run
 * put several files at once, and each put sweeps its collector's leftovers.
 */
const liveTemps = new Set<string>();

class FilesystemLanding implements LandingZone {
  private readonly root: string;

  constructor(
    config: FilesystemLandingConfig,
    private readonly ctx: PluginContext,
  ) {
    this.root = resolve(config.path);
  }

  describe(): string {
    return `file://${this.root}`;
  }

  async put(file: OutgoingFile, objectName: string, options: PutOptions): Promise<PutOutcome> {
    const target = this.target(objectName);
    await this.assertRoot();
    const dir = dirname(target);
    const tmpDir = join(this.root, COLLECTOR_TMP_DIR);
    await fsCall(`create directory ${dir}`, () => mkdir(dir, { recursive: true }));
    await fsCall(`create directory ${tmpDir}`, () => mkdir(tmpDir, { recursive: true }));
    // Named after the object, so a leftover says whose it is and the owner's next upload can sweep it.
    const tmp = join(tmpDir, `${basename(target)}.${randomUUID()}.partial`);
    liveTemps.add(tmp);
    try {
      await this.sweep(tmpDir, basename(target));
      const written = await this.copy(file, tmp, options);
      if (written.bytes !== file.bytes || written.sha256 !== file.sha256.toLowerCase()) {
        throw new ValidationError(
          `${file.path} changed after validation (now ${written.bytes} bytes, sha256 ${written.sha256}; manifest ${file.bytes} bytes, ${file.sha256}); not published`,
        );
      }
      try {
        await link(tmp, target);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') return await this.judgeExisting(target, objectName, file);
        if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'EXDEV') {
          throw new ConfigError(
            `filesystem landing ${this.root}: hard links are not supported here (${code}); exactly-once publishing needs a filesystem with link()`,
          );
        }
        throw mapFsError(e, `publish ${target}`);
      }
      await syncDir(dir);
      return 'created';
    } finally {
      await unlink(tmp).catch(() => undefined);
      liveTemps.delete(tmp);
    }
  }

  /**
   * Best effort: removes the temp files of killed uploads, i.e. those of this object's collector (the text
   * before the first `_`; collector names never contain one) that no put in this process is writing, and
   * any temp file older than a day. A run of a collector uploads only while it holds the publish lease,
   * so no other process is writing that collector's temp files now.
   */
  private async sweep(tmpDir: string, objectBase: string): Promise<void> {
    const cut = objectBase.indexOf('_');
    const owner = cut > 0 ? objectBase.slice(0, cut + 1) : undefined;
    let removed = 0;
    for (const name of await readdir(tmpDir).catch(() => [] as string[])) {
      const path = join(tmpDir, name);
      if (liveTemps.has(path)) continue;
      const mine = owner !== undefined && name.startsWith(owner);
      if (
        !mine &&
        !(await stat(path).then(
          (s) => Date.now() - s.mtimeMs > ORPHAN_TEMP_MS,
          () => false,
        ))
      )
        continue;
      if (
        await unlink(path).then(
          () => true,
          () => false,
        )
      )
        removed++;
    }
    if (removed) this.ctx.log.info({ dir: tmpDir, removed }, 'removed temp files left by interrupted uploads');
  }

  /** The absolute path for `objectName`, refused if it would leave the landing directory. */
  private target(objectName: string): string {
    checkObjectName(objectName);
    const target = resolve(this.root, ...objectName.split('/'));
    const rel = relative(this.root, target);
    // Defence in depth: checkObjectName already refuses `..` and absolute names.
    if (!rel || rel.startsWith('..') || resolve(this.root, rel) !== target || rel.split(sep).includes('..')) {
      throw new ValidationError(`object name ${JSON.stringify(objectName)} resolves outside ${this.root}; refusing it`);
    }
    return target;
  }

  private async assertRoot(): Promise<void> {
    let s;
    try {
      s = await stat(this.root);
    } catch (e) {
      // Not created on demand: a missing mount point would otherwise fill the container's own disk.
      if ((e as NodeJS.ErrnoException).code === 'ENOENT')
        throw new ConfigError(`filesystem landing: ${this.root} does not exist (is the volume mounted?)`);
      throw mapFsError(e, `stat ${this.root}`);
    }
    if (!s.isDirectory()) throw new ConfigError(`filesystem landing: ${this.root} is not a directory`);
  }

  /** Copies `from` to a new file `to` (never an existing one), hashing and fsyncing it. */
  /**
   * Copies `from` to `to` (created, never replaced) and returns what the copy holds. The kernel copies
   * (copy_file_range: no bytes through this process, server-side on NFS 4.2) while this process hashes
   * the source, so a put runs at `cp` speed rather than at the speed of reading, hashing and writing in
   * turn. The source is stat-bracketed: if its inode, size, mtime or ctime moved during the copy, the two
   * reads may have seen different bytes and the put fails; unchanged, the hash is the copy's.
   */
  private async copy(file: OutgoingFile, to: string, options: PutOptions): Promise<{ bytes: number; sha256: string }> {
    const from = file.path;
    options.signal.throwIfAborted();
    const before = await fsCall(`stat ${from}`, () => stat(from, { bigint: true }));
    const copying = copyFile(from, to, constants.COPYFILE_EXCL);
    // Hashed by the caller and untouched since (the same identity now as then): its hashes stand, and
    // the bracket below proves the copy read those bytes. Otherwise hash the source beside the copy.
    const trusted = file.identity !== undefined && sameIdentity(identityOf(before), file.identity);
    let hashed: { bytes: number; sha256: string };
    try {
      hashed = trusted ? { bytes: file.bytes, sha256: file.sha256.toLowerCase() } : await this.hashSource(from, options);
      if (trusted) options.onProgress?.(file.bytes);
    } catch (e) {
      await copying.catch(() => undefined);
      if (options.signal.aborted) throw options.signal.reason;
      throw e instanceof CollectorError ? e : mapFsError(e, `read ${from}`);
    }
    try {
      await copying;
      // A kernel copy cannot be stopped midway: a cancellation during it is honoured here, before publishing.
      options.signal.throwIfAborted();
      const after = await stat(from, { bigint: true });
      const same = (k: 'ino' | 'size' | 'mtimeNs' | 'ctimeNs') => before[k] === after[k];
      if (!same('ino') || !same('size') || !same('mtimeNs') || !same('ctimeNs'))
        throw new ValidationError(`${from} changed while it was copied to the landing zone; not published`);
      const dst = await open(to, 'r+');
      try {
        // copyFile carries the staging file's mode over; published files are world-readable like any put.
        await dst.chmod(0o644);
        if ((await dst.stat()).size !== hashed.bytes) throw new ValidationError(`copy of ${from} is incomplete; not published`);
        await dst.sync();
      } finally {
        await dst.close();
      }
    } catch (e) {
      if (options.signal.aborted) throw options.signal.reason;
      throw e instanceof CollectorError ? e : mapFsError(e, `write ${to}`);
    }
    return hashed;
  }

  private async hashSource(path: string, options: PutOptions): Promise<{ bytes: number; sha256: string }> {
    const hash = createHash('sha256');
    const src = await open(path, 'r');
    let bytes = 0;
    try {
      const buf = Buffer.allocUnsafe(CHUNK);
      for (;;) {
        options.signal.throwIfAborted();
        const { bytesRead } = await src.read(buf, 0, CHUNK, bytes);
        if (bytesRead === 0) break;
        hash.update(buf.subarray(0, bytesRead));
        bytes += bytesRead;
        options.onProgress?.(bytes);
      }
    } finally {
      await src.close();
    }
    return { bytes, sha256: hash.digest('hex') };
  }

  private async judgeExisting(target: string, objectName: string, file: OutgoingFile): Promise<PutOutcome> {
    let existing: { bytes: number; sha256: string };
    try {
      existing = await hashFile(target);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EISDIR')
        throw new ConflictError(`filesystem landing: ${target} is a directory; cannot publish ${objectName} there`, { object: objectName });
      throw mapFsError(e, `read existing ${target}`);
    }
    if (existing.bytes === file.bytes && existing.sha256 === file.sha256.toLowerCase()) return 'already-present';
    throw new ConflictError(
      `filesystem landing: ${target} already exists with different content (sha256 ${existing.sha256}, ours ${file.sha256}); not overwriting it`,
      { object: objectName, sha256: file.sha256 },
    );
  }

  async testConnection(): Promise<Check[]> {
    const checks: Check[] = [];
    try {
      await this.assertRoot();
      checks.push({ name: 'directory exists', ok: true, required: true, detail: this.root });
    } catch (e) {
      checks.push({ name: 'directory exists', ok: false, required: true, detail: (e as Error).message });
      return checks;
    }
    // Where uploads keep their temp files: what consumers skip, on the filesystem uploads publish on.
    const probe = join(this.root, ...probeObjectName(randomUUID()).split('/'));
    const tmp = `${probe}.partial`;
    try {
      await mkdir(dirname(probe), { recursive: true });
      const fh = await open(tmp, 'wx', 0o644);
      await fh.writeFile(`temporal-collectors connection probe ${new Date().toISOString()}\n`);
      await fh.sync();
      await fh.close();
      checks.push({ name: 'create file', ok: true, required: true });
    } catch (e) {
      checks.push({
        name: 'create file',
        ok: false,
        required: true,
        detail: mapFsError(e, `write in ${this.root}`).message,
        grant: `write permission on ${this.root} for uid ${process.getuid?.() ?? '?'}`,
      });
      return checks;
    }
    try {
      await link(tmp, probe);
      checks.push({ name: 'atomic publish (hard link)', ok: true, required: true });
    } catch (e) {
      checks.push({
        name: 'atomic publish (hard link)',
        ok: false,
        required: true,
        detail: `link() failed (${(e as NodeJS.ErrnoException).code}): this filesystem cannot publish files atomically without overwriting`,
      });
    } finally {
      await unlink(tmp).catch(() => undefined);
      await unlink(probe).catch(() => undefined);
    }
    this.ctx.log.debug({ probe }, 'filesystem landing probe done');
    return checks;
  }

  /** Nothing is held between calls: every put opens and closes its own files. */
  async close(): Promise<void> {}
}

/** Makes the new directory entry durable, where the platform allows opening a directory. */
async function syncDir(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // Some platforms and filesystems refuse fsync on directories; the data itself is already synced.
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

async function fsCall<T>(what: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (e) {
    throw mapFsError(e, what);
  }
}

function mapFsError(e: unknown, what: string): Error {
  if (e instanceof CollectorError) return e;
  const err = e as NodeJS.ErrnoException;
  const code = err.code ?? '';
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new AuthError(
      `filesystem landing: cannot ${what}: ${code}; grant write permission to the worker's user (uid ${process.getuid?.() ?? '?'})`,
      { code },
    );
  }
  if (code === 'ENOTDIR' || code === 'ENAMETOOLONG' || code === 'EISDIR') {
    return new ConfigError(`filesystem landing: cannot ${what}: ${code} (${err.message})`);
  }
  return new TransientError(`filesystem landing: cannot ${what}: ${code || err.message}`, { code });
}

export const filesystemLanding: LandingPlugin<FilesystemLandingConfig> = {
  type: 'filesystem',
  configSchema: filesystemLandingSchema,
  create: (config, ctx) => new FilesystemLanding(config, ctx),
  targets: (config) => [{ kind: 'path', field: 'path', value: resolve(config.path) }],
};
