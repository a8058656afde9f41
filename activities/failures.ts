/**
 * The one place where domain errors become Temporal failures: CollectorError subclasses keep their type
 * name and retryability; every message is scrubbed of secrets before it can reach history.
 */
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { ZodError } from 'zod';
import { CollectorError } from '../src/contracts/errors';
import { scrubSecrets } from '../src/secrets/scrub';

export function toFailure(err: unknown, knownSecrets: Iterable<string> = []): unknown {
  if (err instanceof CancelledFailure || err instanceof ApplicationFailure) return err;
  if (err instanceof CollectorError) {
    return ApplicationFailure.create({
      type: err.kind,
      message: scrubSecrets(err.message, knownSecrets),
      nonRetryable: err.nonRetryable,
    });
  }
  if (isZodError(err)) {
    // A schema refusing a value is a configuration problem: retrying cannot fix it.
    return ApplicationFailure.create({ type: 'ConfigError', message: scrubSecrets(err.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '), knownSecrets), nonRetryable: true });
  }
  if (err instanceof Error) {
    // Unknown errors (network, SDK) stay retryable; only the text is cleaned.
    return ApplicationFailure.create({
      type: err.name || 'Error',
      message: scrubSecrets(err.message, knownSecrets),
      nonRetryable: false,
    });
  }
  return ApplicationFailure.create({ type: 'Error', message: scrubSecrets(String(err), knownSecrets), nonRetryable: false });
}

/** Ours, or one from a plugin's own copy of zod (same shape, another class). */
function isZodError(err: unknown): err is Pick<ZodError, 'issues'> {
  return err instanceof ZodError || (err instanceof Error && err.name === 'ZodError' && Array.isArray((err as { issues?: unknown }).issues));
}

/** Runs an activity body and converts whatever it throws. */
export async function adapt<T>(body: (track: (values: Iterable<string>) => void) => Promise<T>): Promise<T> {
  const secrets = new Set<string>();
  try {
    return await body((values) => {
      for (const v of values) if (v) secrets.add(v);
    });
  } catch (e) {
    throw toFailure(e, secrets);
  }
}
