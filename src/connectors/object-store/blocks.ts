/**
 * Reading a staged file block by block for uploads, with a fingerprint check so a file that changes
 * after validation is never sent; and the object metadata both services accept.
 */
import { setMaxListeners } from 'node:events';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { ValidationError } from '../../contracts/errors';
// ---------------------------------------------------------------- blocks

export interface Block {
  index: number;
  offset: number;
  data: Buffer;
}

/** Where block bytes come from: a staging file (streamed block by block) or a small buffer (probes). */
export type BlockSource = { path: string; fingerprint: FileFingerprint } | { buffer: Buffer };

export interface PumpOptions {
  source: BlockSource;
  size: number;
  blockSize: number;
  concurrency: number;
  signal: AbortSignal;
  /** Uploads one block; the block's buffer is not reused, so a retry may resend it. */
  send(block: Block, signal: AbortSignal): Promise<void>;
  /** Bytes of blocks sent so far (completed blocks only, so it never goes backwards). */
  onProgress?(bytesSent: number): void;
}

/**
 * Reads `source` once, in order, one block at a time, and sends up to `concurrency` blocks at once.
 * Memory stays at about (concurrency + 1) blocks.
 */
export async function pumpBlocks(o: PumpOptions): Promise<void> {
  const inner = new AbortController();
  // Every in-flight block listens on it; avoid Node's leak warning at high concurrency.
  setMaxListeners(o.concurrency * 2 + 10, inner.signal);
  const onAbort = () => inner.abort(o.signal.reason);
  o.signal.addEventListener('abort', onAbort, { once: true });
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  let sent = 0;
  let fh: FileHandle | undefined;
  try {
    if ('path' in o.source) fh = await open(o.source.path, 'r');
    const count = blockCount(o.size, o.blockSize);
    for (let index = 0; index < count && !failure; index++) {
      while (inFlight.size >= o.concurrency && !failure) await Promise.race(inFlight);
      if (failure) break;
      inner.signal.throwIfAborted();
      const offset = index * o.blockSize;
      const len = Math.min(o.blockSize, o.size - offset);
      const data = fh ? await readFully(fh, offset, len) : (o.source as { buffer: Buffer }).buffer.subarray(offset, offset + len);
      const p: Promise<void> = o
        .send({ index, offset, data }, inner.signal)
        .then(
          () => {
            sent += len;
            o.onProgress?.(sent);
          },
          (error: unknown) => {
            if (!failure) failure = { error };
            inner.abort(error);
          },
        )
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    await Promise.all(inFlight);
  } catch (error) {
    if (!failure) failure = { error };
    inner.abort(error);
    await Promise.allSettled(inFlight);
  } finally {
    o.signal.removeEventListener('abort', onAbort);
    await fh?.close();
  }
  if (o.signal.aborted) throw o.signal.reason;
  if (failure) throw failure.error;
}

export function blockCount(size: number, blockSize: number): number {
  return size === 0 ? 0 : Math.ceil(size / blockSize);
}

/** The smallest block size >= `wanted` (MiB-aligned) that keeps `size` within `maxBlocks` blocks. */
export function chooseBlockSize(size: number, wanted: number, maxBlocks: number): number {
  const MiB = 1024 * 1024;
  const needed = Math.ceil(size / maxBlocks / MiB) * MiB;
  return Math.max(wanted, needed);
}

async function readFully(fh: FileHandle, offset: number, len: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(len);
  let got = 0;
  while (got < len) {
    const { bytesRead } = await fh.read(buf, got, len - got, offset + got);
    if (bytesRead === 0)
      throw new ValidationError(`staging file ended at ${offset + got} bytes, before the ${len}-byte block at ${offset}`);
    got += bytesRead;
  }
  return buf;
}

/** What identifies one version of a file without reading it: a rewrite or replacement changes it. */
export interface FileFingerprint {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
}

export async function fingerprint(path: string): Promise<FileFingerprint> {
  const s = await stat(path);
  return { size: s.size, mtimeMs: s.mtimeMs, ctimeMs: s.ctimeMs, ino: s.ino };
}

/**
 * Refuses to commit when the staging file was changed while its blocks were sent. The caller hashed
 * it just before put(), and each block is checked by the service (MD5 / SHA-256), so an unchanged
 * fingerprint means the committed bytes are the validated ones, without hashing the file again.
 */
export async function assertUnchanged(path: string, before: FileFingerprint, what: string): Promise<void> {
  const now = await fingerprint(path);
  if (now.size !== before.size || now.mtimeMs !== before.mtimeMs || now.ctimeMs !== before.ctimeMs || now.ino !== before.ino) {
    throw new ValidationError(`${what}: the staging file ${path} changed while it was being uploaded; not committing it`);
  }
}

/** `expected` bytes at `path`, or a ValidationError (the file changed after validation). */
export async function checkStagedFile(path: string, expected: number): Promise<FileFingerprint> {
  const fp = await fingerprint(path);
  if (fp.size !== expected) {
    throw new ValidationError(`${path} is ${fp.size} bytes but the manifest says ${expected}; the staging file changed after validation`);
  }
  return fp;
}
// ---------------------------------------------------------------- metadata

/**
 * Object metadata both services accept: keys as lower-case identifiers (Azure requires C# identifiers,
 * S3 lower-cases keys anyway), values as printable ASCII (non-ASCII is percent-encoded). The file's
 * sha256 is always present: retries compare against it.
 */
export function objectMetadata(metadata: Record<string, string>, sha256: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata)) {
    let key = k.toLowerCase().replace(/[^a-z0-9_]/g, '_');
    if (!/^[a-z_]/.test(key)) key = `_${key}`;
    out[key] = /^[\x20-\x7e]*$/.test(v) ? v : encodeURIComponent(v);
  }
  out.sha256 = sha256.toLowerCase();
  return out;
}

/** Case-insensitive metadata lookup (services differ in how they return key case). */
export function metadataValue(metadata: Record<string, string> | undefined, key: string): string | undefined {
  if (!metadata) return undefined;
  const k = Object.keys(metadata).find((x) => x.toLowerCase() === key.toLowerCase());
  return k === undefined ? undefined : metadata[k];
}

/** Hex of a base64 digest (OutgoingFile.md5 is base64; S3 ETags are hex). */
export function base64ToHex(b64: string): string {
  return Buffer.from(b64, 'base64').toString('hex');
}
