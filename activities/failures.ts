/**
 * The one place where domain errors become Temporal failures: CollectorError subclasses keep their type
 * name and retryability; every message is scrubbed of secrets before it can reach history.
 */
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { ZodError } from 'zod';
import { CollectorError } from '../src/contracts/errors';
import { scrubSecrets } from '../src/secrets/scrub';

export function toFailure(err: unknown, knownSecrets: Iterable<string> = []): unknown {
  knownSecrets = [...knownSecrets];
  if (err instanceof CancelledFailure || err instanceof ApplicationFailure) return err;
  if (err instanceof CollectorError) {
    return ApplicationFailure.create({
      type: err.kind,
      message: scrubSecrets(err.message, knownSecrets),
      nonRetryable: err.nonRetryable,
      // What to grant, on which object: for the caller (the CLI, the workflow's failure), scrubbed too.
      ...(err.details ? { details: [scrubDetails(err.details, knownSecrets)] } : {}),
    });
  }
  if (isZodError(err)) {
    // A schema refusing a value is a configuration problem: retrying cannot fix it.
    return ApplicationFailure.create({
      type: 'ConfigError',
      message: scrubSecrets(err.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '), knownSecrets),
      nonRetryable: true,
    });
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
  return (
    err instanceof ZodError || (err instanceof Error && err.name === 'ZodError' && Array.isArray((err as { issues?: unknown }).issues))
  );
}

function scrubDetails(details: Record<string, unknown>, knownSecrets: Iterable<string>): Record<string, unknown> {
  const known = [...knownSecrets];
  return Object.fromEntries(Object.entries(details).map(([k, v]) => [k, typeof v === 'string' ? scrubSecrets(v, known) : v]));
}
