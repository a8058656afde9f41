/**
 * The file HWM store: `<dir>/<collector>_hwm.txt` holding one ISO-8601 timestamp and a newline.
 * Compare-and-set under an exclusive lock file, written to a temp file and renamed, so a crash never
 * leaves a half-written HWM and two runs on one host cannot both advance it.
 */
import { randomUUID } from 'node:crypto';
import { link, mkdir, open, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError, HwmConflictError, TransientError } from '../errors';
import { hwmFileName, type HwmPlugin, type HwmState, type HwmStore } from '../plugins/types';
import { parseHwmText, formatHwmText } from './text';

export const fileHwmConfigSchema = z
  .object({
    type: z.literal('file'),
    /** Default: `<state dir>/hwm` of the worker. */
    dir: z.string().min(1).optional(),
  })
  .strict();
export type FileHwmConfig = z.infer<typeof fileHwmConfigSchema>;

/** A lock older than this is left by a dead process and may be broken. */
const STALE_LOCK_MS = 60_000;

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
    return { value: parseHwmText(text, path), version: text };
  }

  async compareAndSet(collector: string, expectedVersion: string | null, value: string): Promise<HwmState> {
    return this.locked(collector, async () => {
      const current = await this.get(collector);
      if (current.version !== expectedVersion) {
        throw new HwmConflictError(
          `HWM of "${collector}" changed during the run (expected ${show(expectedVersion)}, found ${show(current.value)}); another run advanced it, so this one does not`,
        );
      }
      const text = formatHwmText(value);
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
      return { value: parseHwmText(text, this.path(collector)), version: text };
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

  private path(collector: string): string {
    return join(this.dir, hwmFileName(collector));
  }

  private async locked<T>(collector: string, fn: () => Promise<T>): Promise<T> {
    await mkdir(this.dir, { recursive: true });
    const lock = `${this.path(collector)}.lock`;
    // Each holder writes a unique token, so breaking a stale lock or releasing never removes another's.
    const token = `${process.pid} ${randomUUID()}\n`;
    for (let attempt = 0; ; attempt++) {
      try {
        const fh = await open(lock, 'wx');
        await fh.writeFile(token);
        await fh.close();
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        const seen = await readFile(lock, 'utf8').catch(() => null);
        const age = await stat(lock).then((s) => Date.now() - s.mtimeMs, () => 0);
        if (age > STALE_LOCK_MS) await breakStaleLock(lock, seen);
        // Busy is not a conflict: the holder is quick, or dead (its lock goes stale); a retry will pass.
        else if (attempt > 200) throw new TransientError(`HWM of "${collector}" stayed locked for 5s (${lock}); retrying`);
        else await new Promise((r) => setTimeout(r, 25));
      }
    }
    try {
      return await fn();
    } finally {
      if ((await readFile(lock, 'utf8').catch(() => null)) === token) await unlink(lock).catch(() => undefined);
    }
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

/** Built with the worker's default directory, used when a collector's `hwm.dir` is not set. */
export function fileHwmPlugin(defaultDir: () => string): HwmPlugin<FileHwmConfig> {
  return {
    type: 'file',
    configSchema: fileHwmConfigSchema,
    create(config) {
      const dir = config.dir ?? defaultDir();
      if (!dir) throw new ConfigError('hwm.dir: required when the worker has no state directory');
      return new FileHwmStore(dir);
    },
  };
}
