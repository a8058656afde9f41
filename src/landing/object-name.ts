/**
 * What the three landing zones share: object-name safety (checked before any I/O), and the small
 * transfer helpers every remote landing needs (retries with per-try timeouts, block reading with
 * whole-file verification, scrubbed error text, metadata shaping).
 *
 * Names: a bad object name is a ValidationError (non-retryable): names come from the extract file
 * naming, so a name that could escape the landing path is an extract that does not match the
 * documented format and must not leave the network. A bad configured prefix is a ConfigError (a
 * person fixes collectors.yaml).
 */
import { setMaxListeners } from 'node:events';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { z } from 'zod';
import { ConfigError, ValidationError, errorMessage } from '../errors';
import { scrubSecrets } from '../secrets/scrub';

// ---------------------------------------------------------------- names

/** S3 keys and Azure blob names are both limited to 1024 (bytes / characters); we keep the stricter. */
export const MAX_OBJECT_NAME_BYTES = 1024;
/** POSIX NAME_MAX on common filesystems; applied everywhere so a name works on every landing. */
export const MAX_SEGMENT_BYTES = 255;

// C0 and C1 controls, DEL, and Unicode line/paragraph separators (they break logs and listings).
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** Why `name` is not a safe relative object name, or undefined when it is. */
export function objectNameProblem(name: string): string | undefined {
  if (typeof name !== 'string' || name.length === 0) return 'is empty';
  if (CONTROL.test(name)) return 'contains a control character';
  if (name.includes('\\')) return 'contains a backslash';
  if (name.startsWith('/')) return 'is an absolute path';
  if (/^[A-Za-z]:/.test(name)) return 'starts with a drive letter';
  if (name.normalize('NFC') !== name) return 'is not in Unicode normal form C';
  if (Buffer.byteLength(name) > MAX_OBJECT_NAME_BYTES) return `is longer than ${MAX_OBJECT_NAME_BYTES} bytes`;
  for (const seg of name.split('/')) {
    if (seg === '') return 'has an empty path segment (// or a trailing /)';
    if (seg === '.' || seg === '..') return `has a "${seg}" path segment`;
    if (Buffer.byteLength(seg) > MAX_SEGMENT_BYTES) return `has a path segment longer than ${MAX_SEGMENT_BYTES} bytes`;
  }
  return undefined;
}

/** `name` if it is a safe relative object name; otherwise a ValidationError naming the problem. */
export function checkObjectName(name: string): string {
  const problem = objectNameProblem(name);
  // JSON.stringify shows control characters escaped instead of printing them.
  if (problem) throw new ValidationError(`object name ${JSON.stringify(name)} ${problem}; refusing to upload it`, { objectName: name });
  return name;
}

/** The configured landing prefix without surrounding slashes; '' means the container/bucket root. */
export function normalizePrefix(prefix: string | undefined): string {
  return (prefix ?? '').replace(/\/+$/, '');
}

/** A zod field for a landing prefix (`lz/athena/landing`): relative, no `..`, no empty segments. */
export const landingPrefix = () =>
  z
    .string()
    .default('')
    .superRefine((value, ctx) => {
      const p = normalizePrefix(value);
      if (p === '') return;
      const problem = objectNameProblem(p);
      if (problem) ctx.addIssue({ code: 'custom', message: `must be a relative path inside the container or bucket: ${problem}` });
    });

/** `prefix/name`, checked as a whole (the prefix counts towards the length limit). */
export function joinObjectName(prefix: string, name: string): string {
  checkObjectName(name);
  const full = prefix ? `${prefix}/${name}` : name;
  if (Buffer.byteLength(full) > MAX_OBJECT_NAME_BYTES) {
    throw new ValidationError(`object name ${JSON.stringify(full)} is longer than ${MAX_OBJECT_NAME_BYTES} bytes with the landing prefix`, {
      objectName: name,
    });
  }
  return full;
}

/** A prefix from config, checked again at create() (configs built in code skip the schema). */
export function checkPrefix(prefix: string | undefined, field: string): string {
  const p = normalizePrefix(prefix);
  const problem = p === '' ? undefined : objectNameProblem(p);
  if (problem) throw new ConfigError(`${field}: must be a relative path inside the container or bucket: ${problem}`);
  return p;
}

// ---------------------------------------------------------------- secrets in text

/** `text` with credentials removed: the known secret values, SAS signatures, keys, bearer tokens. */
export function scrub(text: string, secrets: readonly (string | undefined)[] = []): string {
  return scrubSecrets(text, secrets.filter((s): s is string => typeof s === 'string' && s.length > 0));
}

/** The first line of an error message, scrubbed and bounded: safe to put in a failure. */
export function safeMessage(err: unknown, secrets: readonly (string | undefined)[] = []): string {
  const first = errorMessage(err).split('\n')[0] ?? '';
  // Without a trailing period: callers append their own sentence.
  return scrub(first, secrets).slice(0, 300).replace(/[.\s]+$/, '');
}

// ---------------------------------------------------------------- retries

export interface RetryPolicy {
  /** Retries after the first try. */
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Each try is abandoned (and retried) after this long: a stalled connection must not hang a run. */
  tryTimeoutMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxRetries: 5, baseDelayMs: 500, maxDelayMs: 20_000, tryTimeoutMs: 120_000 };

export function retryPolicy(maxRetries: number | undefined, tryTimeoutMs: number | undefined): RetryPolicy {
  return {
    ...DEFAULT_RETRY,
    maxRetries: maxRetries ?? DEFAULT_RETRY.maxRetries,
    tryTimeoutMs: tryTimeoutMs ?? DEFAULT_RETRY.tryTimeoutMs,
  };
}

/** The verdict on a failed try: retry it, or fail with this (already mapped, scrubbed) error. */
export type Verdict = { retry: true; error: Error } | { retry: false; error: Error };

/** Raised into a try when its own timeout fires (not the caller's signal). */
export class TryTimeoutError extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'TryTimeoutError';
  }
}

/**
 * Runs `op` until it succeeds, `classify` says stop, retries run out, or `signal` aborts (then the
 * signal's reason is thrown). Each try gets its own signal that also fires after `tryTimeoutMs`.
 */
export async function withRetry<T>(
  policy: RetryPolicy,
  signal: AbortSignal,
  classify: (err: unknown) => Verdict,
  op: (trySignal: AbortSignal, attempt: number) => Promise<T>,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    signal.throwIfAborted();
    const ac = new AbortController();
    const onAbort = () => ac.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => ac.abort(new TryTimeoutError(policy.tryTimeoutMs)), policy.tryTimeoutMs);
    try {
      return await op(ac.signal, attempt);
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      // Our own timeout fired: classify that (a network error), not the SDK's abort it caused.
      const verdict = classify(ac.signal.aborted ? ac.signal.reason : err);
      if (!verdict.retry || attempt >= policy.maxRetries) throw verdict.error;
      await sleep(backoff(policy, attempt), signal);
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }
}

/** Exponential backoff with jitter (half fixed, half random), so parallel blocks do not retry in step. */
function backoff(policy: RetryPolicy, attempt: number): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.round(cap / 2 + (Math.random() * cap) / 2);
}

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Node/undici network error codes after which a retry can help. */
const NETWORK_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'ESOCKETTIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND',
  'ENETUNREACH', 'EHOSTUNREACH', 'REQUEST_SEND_ERROR', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED', 'ERR_STREAM_PREMATURE_CLOSE', 'TimeoutError', 'TryTimeoutError',
]);

/** True for connection resets, refused connections, socket timeouts and the like (also as a cause). */
export function isNetworkError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 4; depth++) {
    if (typeof e !== 'object') return false;
    const rec = e as { code?: unknown; name?: unknown; cause?: unknown; message?: unknown };
    if (typeof rec.code === 'string' && NETWORK_CODES.has(rec.code)) return true;
    if (typeof rec.name === 'string' && NETWORK_CODES.has(rec.name)) return true;
    if (typeof rec.message === 'string' && /socket hang up|other side closed|ECONNRESET|EPIPE|fetch failed/i.test(rec.message)) return true;
    e = rec.cause;
  }
  return false;
}

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
    if (bytesRead === 0) throw new ValidationError(`staging file ended at ${offset + got} bytes, before the ${len}-byte block at ${offset}`);
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
