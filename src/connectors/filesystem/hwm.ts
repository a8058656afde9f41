/**
 * The file HWM store: `<dir>/<collector>_hwm.txt` holding one ISO-8601 timestamp and a newline (and a
 * source's cursor line, src/hwm/text.ts).
 * Compare-and-set under an exclusive lock file, written to a temp file and renamed, so a crash never
 * leaves a half-written HWM and two runs on one host cannot both advance it. The lock names its holder,
 * so a holder killed on this host is known dead at once instead of blocking the collector for a minute;
 * temp files of killed holders are swept by the next holder.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { link, mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError, HwmConflictError, TransientError } from '../../contracts/errors';
import { hwmFileName, type Check, type HwmPlugin, type HwmState, type HwmStore } from '../../contracts/plugin';
import { hwmProbeName, probeHwmStore } from '../../hwm/probe';
import { contentVersion, formatHwmText, parseHwmText } from '../../hwm/text';

export const fileHwmConfigSchema = z
  .object({
    type: z.literal('file'),
    /** Default: `<state dir>/hwm` of the worker. */
    dir: z.string().min(1).optional(),
  })
  .strict();
export type FileHwmConfig = z.infer<typeof fileHwmConfigSchema>;

/** A lock older than this is left by a dead process and may be broken (whoever held it, wherever). */
const STALE_LOCK_MS = 60_000;

/** What a lock file says about its holder (one JSON line). */
const lockHolderSchema = z.object({
  host: z.string(),
  /** The kernel's boot id: the same host name on another machine, or after a reboot, is another host. */
  boot: z.string().nullable(),
  /** Pids are only comparable within one pid namespace (containers sharing a kernel each have one). */
  pidns: z.string().nullable(),
  pid: z.number().int().positive(),
  /** Random per process: tells the holder from a later process that got the same pid (a restarted container's pid 1). */
  proc: z.string(),
  /** Random per acquire: a lock is released or broken only if it is still the one seen. */
  id: z.string(),
});
type LockHolder = z.infer<typeof lockHolderSchema>;

const readProcFile = (read: () => string): string | null => {
  try {
    return read().trim() || null;
  } catch {
    return null;
  }
};

// Kept on globalThis: two copies of this module in one process must not judge each other an earlier process.
const PROCESS_TOKEN_KEY = Symbol.for('temporal-collectors.hwm-file.process-token');
const processToken = ((globalThis as Record<symbol, unknown>)[PROCESS_TOKEN_KEY] ??= randomUUID()) as string;

const SELF: Omit<LockHolder, 'id'> = {
  host: hostname(),
  boot: readProcFile(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8')),
  pidns: readProcFile(() => readlinkSync('/proc/self/ns/pid')),
  pid: process.pid,
  proc: processToken,
};

export class FileHwmStore implements HwmStore {
  constructor(private readonly dir: string) {}

  describe(): string {
    return `file://${this.dir}`;
  }

  async get(collector: string): Promise<HwmState> {
    const path = this.path(collector);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { value: null, version: null };
      throw e;
    }
    return { ...parseHwmText(text, path), version: contentVersion(text) };
  }

  async compareAndSet(collector: string, expectedVersion: string | null, value: string, cursor?: string | null): Promise<HwmState> {
    return this.locked(collector, async () => {
      const current = await this.get(collector);
      if (current.version !== expectedVersion) {
        throw new HwmConflictError(
          `HWM of "${collector}" changed during the run (expected ${show(expectedVersion)}, found ${show(current.value)}); another run advanced it, so this one does not`,
        );
      }
      const text = formatHwmText(value, cursor);
      const tmp = `${this.path(collector)}.${randomUUID()}.tmp`;
      const fh = await open(tmp, 'wx');
      try {
        await fh.writeFile(text);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.path(collector));
      // The rename itself must survive a power loss, or the HWM could fall back behind landed files.
      const dirHandle = await open(this.dir, 'r');
      try {
        await dirHandle.sync();
      } finally {
        await dirHandle.close();
      }
      return { ...parseHwmText(text, this.path(collector)), version: contentVersion(text) };
    });
  }

  async remove(collector: string, expectedVersion: string | null): Promise<void> {
    await this.locked(collector, async () => {
      const current = await this.get(collector);
      if (current.version !== expectedVersion) {
        throw new HwmConflictError(`HWM of "${collector}" changed meanwhile (now ${show(current.value)}); not removed`);
      }
      await rm(this.path(collector), { force: true });
    });
  }

  /** Writes a probe next to the HWM files (a dot-name no collector has), under the same lock protocol. */
  testConnection(): Promise<Check[]> {
    const who = `the worker's user (uid ${process.getuid?.() ?? '?'})`;
    const grant = `read and write permission on ${this.dir} for ${who}`;
    return probeHwmStore(this, hwmProbeName('.'), { read: grant, write: grant, delete: grant });
  }

  /** Nothing is held between calls. */
  async close(): Promise<void> {}

  private path(collector: string): string {
    return join(this.dir, hwmFileName(collector));
  }

  private async locked<T>(collector: string, fn: () => Promise<T>): Promise<T> {
    await mkdir(this.dir, { recursive: true });
    const lock = `${this.path(collector)}.lock`;
    // Each holder writes a unique token, so breaking a stale lock or releasing never removes another's.
    const token = `${JSON.stringify({ ...SELF, id: randomUUID() } satisfies LockHolder)}\n`;
    for (let attempt = 0; ; attempt++) {
      if (await createLock(lock, token)) break;
      const seen = await readFile(lock, 'utf8').catch(() => null);
      const age = await stat(lock).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      // A holder that died on this host is known at once; any other (another host, an older version's lock) by age.
      if (age > STALE_LOCK_MS || (seen !== null && holderIsDead(seen))) await breakStaleLock(lock, seen);
      // Busy is not a conflict: the holder is quick, or dead (its lock goes stale); a retry will pass.
      else if (attempt > 200) throw new TransientError(`HWM of "${collector}" stayed locked for 5s (${lock}); retrying`);
      else await new Promise((r) => setTimeout(r, 25));
    }
    try {
      // Only a holder writes these temp files, so while we hold the lock any that exist are a killed holder's.
      await sweepTemps(this.dir, hwmFileName(collector));
      return await fn();
    } finally {
      if ((await readFile(lock, 'utf8').catch(() => null)) === token) await unlink(lock).catch(() => undefined);
    }
  }
}

/**
 * Creates the lock with its content in one step (temp file, then link(), which never replaces): a kill
 * cannot leave an empty lock that names no holder. False when the lock is taken.
 */
async function createLock(lock: string, text: string): Promise<boolean> {
  const tmp = `${lock}.${randomUUID()}.tmp`;
  await writeFile(tmp, text, { flag: 'wx' });
  try {
    await link(tmp, lock);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // ENOENT: the holder swept our temp file (it cannot tell it from a dead process's); the lock is taken.
    if (code === 'EEXIST' || code === 'ENOENT') return false;
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS') return createLockInPlace(lock, text);
    throw e;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

/** Without hard links: create, then write (a kill in between leaves an empty lock, broken by age). */
async function createLockInPlace(lock: string, text: string): Promise<boolean> {
  let fh: FileHandle;
  try {
    fh = await open(lock, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  try {
    await fh.writeFile(text);
  } finally {
    await fh.close();
  }
  return true;
}

/**
 * True only when the lock's holder is certainly gone: a process of this boot of this host that no longer
 * exists, or an earlier process that had our pid. Anything else (another host, no boot id, an older
 * version's lock, a holder in another pid namespace) is left to the age rule.
 */
function holderIsDead(text: string): boolean {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return false;
  }
  const holder = lockHolderSchema.safeParse(parsed);
  if (!holder.success) return false;
  const h = holder.data;
  if (SELF.boot === null || h.host !== SELF.host || h.boot !== SELF.boot) return false;
  // Pid namespace first: two containers sharing a host name and kernel (hostNetwork pods) are both pid 1.
  if (h.pidns !== null && SELF.pidns !== null && h.pidns !== SELF.pidns) return false;
  if (h.pid === SELF.pid) return h.proc !== SELF.proc;
  try {
    process.kill(h.pid, 0);
    return false;
  } catch (e) {
    // EPERM: it exists, under another user.
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Best effort, under the lock: removes `<file>.*.tmp` (HWM and lock temp files of killed holders), and
 * `.stale` files older than STALE_LOCK_MS (a breaker killed between moving a lock aside and removing it;
 * a live breaker keeps that name for an instant, and the move set its ctime).
 */
async function sweepTemps(dir: string, file: string): Promise<void> {
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!name.startsWith(`${file}.`)) continue;
    const path = join(dir, name);
    const litter =
      name.endsWith('.tmp') ||
      (name.endsWith('.stale') &&
        (await stat(path).then(
          (s) => Date.now() - s.ctimeMs > STALE_LOCK_MS,
          () => false,
        )));
    if (litter) await unlink(path).catch(() => undefined);
  }
}

/**
 * Moves the lock aside atomically (only one breaker can), then checks it moved the stale lock it saw;
 * if a fresh lock was taken meanwhile, it is put back.
 */
async function breakStaleLock(lock: string, seen: string | null): Promise<void> {
  const aside = `${lock}.${randomUUID()}.stale`;
  try {
    await rename(lock, aside);
  } catch {
    return;
  }
  const moved = await readFile(aside, 'utf8').catch(() => null);
  if (moved !== seen) await link(aside, lock).catch(() => undefined);
  await unlink(aside).catch(() => undefined);
}

const show = (v: string | null) => (v === null ? 'none' : v.trim());

/** Without `hwm.dir`, HWM files live in `<the worker's state directory>/hwm`. */
export const fileHwm: HwmPlugin<FileHwmConfig> = {
  type: 'file',
  configSchema: fileHwmConfigSchema,
  create(config, ctx) {
    const dir = config.dir ?? (ctx.stateDir ? join(ctx.stateDir, 'hwm') : undefined);
    if (!dir) throw new ConfigError('hwm.dir: required when the worker has no state directory');
    return new FileHwmStore(dir);
  },
  // The worker's own HWM directory needs no grant: recipes' HWM files there carry the recipe. prefix.
  targets: (config) => (config.dir ? [{ kind: 'path', field: 'dir', value: resolve(config.dir) }] : []),
};
