/**
 * The transfer helpers every remote landing zone (and its HWM store) needs: retries with per-try
 * timeouts and jittered backoff, network-error detection, and scrubbed, bounded error text.
 */
import { errorMessage } from '../../contracts/errors';
import { scrubSecrets } from '../../secrets/scrub';
// ---------------------------------------------------------------- secrets in text

/** `text` with credentials removed: the known secret values, SAS signatures, keys, bearer tokens. */
export function scrub(text: string, secrets: readonly (string | undefined)[] = []): string {
  return scrubSecrets(
    text,
    secrets.filter((s): s is string => typeof s === 'string' && s.length > 0),
  );
}

/** The first line of an error message, scrubbed and bounded: safe to put in a failure. */
export function safeMessage(err: unknown, secrets: readonly (string | undefined)[] = []): string {
  const first = errorMessage(err).split('\n')[0] ?? '';
  // Without a trailing period: callers append their own sentence.
  return scrub(first, secrets)
    .slice(0, 300)
    .replace(/[.\s]+$/, '');
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
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'REQUEST_SEND_ERROR',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
  'ERR_STREAM_PREMATURE_CLOSE',
  'TimeoutError',
  'TryTimeoutError',
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
