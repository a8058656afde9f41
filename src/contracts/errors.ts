/**
 * Typed errors of the domain. Each class says whether a retry can help; activities/failures.ts maps
 * them to Temporal failures in one place, so no other module decides retryability.
 */
export type ErrorKind =
  'ConfigError' | 'SecretError' | 'AuthError' | 'ValidationError' | 'ConflictError' | 'HwmConflictError' | 'TransientError';

export abstract class CollectorError extends Error {
  abstract readonly kind: ErrorKind;
  /** True when retrying the same call cannot succeed until a person changes something. */
  abstract readonly nonRetryable: boolean;
  /** Extra facts for logs and failure details; never secret values. */
  readonly details: Record<string, unknown> | undefined;

  constructor(message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.details = details;
  }

  override get name(): string {
    return this.kind;
  }
}

/** Bad configuration: a field, a reference or a recipe a person must fix. */
export class ConfigError extends CollectorError {
  readonly kind = 'ConfigError' as const;
  readonly nonRetryable = true;
  /** Each problem as `path: message`, so a CLI can list them all. */
  readonly issues: string[];
  constructor(message: string, issues: string[] = [], details?: Record<string, unknown>) {
    super(issues.length ? `${message}\n  ${issues.join('\n  ')}` : message, details);
    this.issues = issues;
  }
}

/** A `${REF}` that cannot be resolved. Names the reference, never a value. */
export class SecretError extends CollectorError {
  readonly kind = 'SecretError' as const;
  readonly nonRetryable = true;
}

/** Credentials rejected or a permission missing: names the action to grant. */
export class AuthError extends CollectorError {
  readonly kind = 'AuthError' as const;
  readonly nonRetryable = true;
}

/** An extract that does not match the documented format; nothing may leave the network. */
export class ValidationError extends CollectorError {
  readonly kind = 'ValidationError' as const;
  readonly nonRetryable = true;
}

/** The landing zone already holds different content under a final object name. */
export class ConflictError extends CollectorError {
  readonly kind = 'ConflictError' as const;
  readonly nonRetryable = true;
}

/** Another run moved the high-water mark first; this run must not advance it. */
export class HwmConflictError extends CollectorError {
  readonly kind = 'HwmConflictError' as const;
  readonly nonRetryable = true;
}

/** Throttling, 5xx, resets: worth a retry with backoff. */
export class TransientError extends CollectorError {
  readonly kind = 'TransientError' as const;
  readonly nonRetryable = false;
}

/** What an incomplete unit covered, in the names its rows would have carried (lower-cased like them). */
export interface UnitScope {
  catalog?: string;
  /** Absent: the whole catalog (its databases could not even be listed). */
  database?: string;
}

/**
 * Thrown by a unit that could not finish for a reason of its own (one catalog's connector down, one
 * database denied by Lake Formation): the run goes on without that unit's rows, and the manifest lists it
 * with `reason`. Not a failure of the run, so not a CollectorError. A source may throw it only from a unit
 * whose output every run reads whole again (a catalog snapshot): windowed data (query history) must fail
 * the run instead, so the HWM stays and the window is read again.
 */
export class UnitIncompleteError extends Error {
  constructor(
    readonly reason: string,
    readonly scope: UnitScope = {},
    options?: { cause?: unknown },
  ) {
    super(reason, options);
  }

  override get name(): string {
    return 'UnitIncompleteError';
  }
}

/** Ours, or one from a plugin's own copy of this module (same name and shape, another class). */
export function isUnitIncomplete(err: unknown): err is Pick<UnitIncompleteError, 'reason' | 'scope'> {
  return (
    err instanceof UnitIncompleteError ||
    (err instanceof Error && err.name === 'UnitIncompleteError' && typeof (err as { reason?: unknown }).reason === 'string')
  );
}

/** Every error type name Temporal must not retry; used by retry policies in the workflow. */
export const NON_RETRYABLE_ERROR_TYPES: readonly string[] = [
  'ConfigError',
  'SecretError',
  'AuthError',
  'ValidationError',
  'ConflictError',
  'HwmConflictError',
];

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
