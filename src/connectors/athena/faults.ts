/**
 * What an AWS SDK error means for us: retry it, or stop and tell a person what to fix.
 */
import { AuthError, ConfigError, TransientError, errorMessage, type CollectorError } from '../../contracts/errors';

export type FaultKind = 'throttle' | 'server' | 'network' | 'denied' | 'credentials' | 'invalid' | 'notFound' | 'other';

interface SdkErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number };
}

const THROTTLE_NAMES = new Set([
  'ThrottlingException',
  'TooManyRequestsException',
  'Throttling',
  'ThrottledException',
  'RequestLimitExceeded',
  'SlowDown',
  'ProvisionedThroughputExceededException',
]);
const CREDENTIAL_NAMES = new Set([
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'ExpiredTokenException',
  'ExpiredToken',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'MissingAuthenticationToken',
  'CredentialsProviderError',
]);
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
]);

function shape(err: unknown): SdkErrorShape {
  return err && typeof err === 'object' ? (err as SdkErrorShape) : {};
}

export function classify(err: unknown): FaultKind {
  const e = shape(err);
  const name = e.name ?? '';
  const status = e.$metadata?.httpStatusCode;
  const message = e.message ?? '';
  if (THROTTLE_NAMES.has(name) || status === 429 || /rate exceeded/i.test(message)) return 'throttle';
  if (name === 'AccessDeniedException' || name === 'AccessDenied' || /not authorized to perform/i.test(message)) return 'denied';
  if (CREDENTIAL_NAMES.has(name)) return 'credentials';
  if ((e.code && NETWORK_CODES.has(e.code)) || name === 'TimeoutError' || name === 'RequestTimeout' || /socket hang up/i.test(message)) {
    return 'network';
  }
  if (name === 'InternalServerException' || e.$fault === 'server' || (status !== undefined && status >= 500)) return 'server';
  if (name === 'ResourceNotFoundException' || (name === 'MetadataException' && /not found|does not exist/i.test(message))) {
    return 'notFound';
  }
  if (name === 'InvalidRequestException' || name === 'ValidationException' || name === 'MetadataException') return 'invalid';
  // Any other error the service blames on the request (SerializationException, an STS region that is
  // disabled...) will fail the same way on every retry.
  if (e.$fault === 'client') return 'invalid';
  return 'other';
}

export function isRetryable(kind: FaultKind): boolean {
  return kind === 'throttle' || kind === 'server' || kind === 'network';
}

/** The IAM action a denial names (`glue:GetTables` from Athena's message), else the Athena action we called. */
function deniedAction(operation: string, err: unknown): string {
  const m = /not authorized to perform:?\s+([a-z0-9-]+:[A-Za-z0-9*]+)/i.exec(shape(err).message ?? '');
  return m?.[1] ?? `athena:${operation}`;
}

/** The typed error for a failure we will not (or no longer) retry. */
export function toCollectorError(operation: string, err: unknown, kind: FaultKind, attempts = 1): CollectorError {
  const message = errorMessage(err);
  const details = { operation, awsError: shape(err).name, fault: kind, attempts };
  switch (kind) {
    case 'denied': {
      const action = deniedAction(operation, err);
      return new AuthError(`Athena denied ${operation}: grant the IAM action ${action} to the collector's role (${message})`, {
        ...details,
        action,
      });
    }
    case 'credentials':
      return new AuthError(
        `AWS rejected the collector's credentials on ${operation}: check accessKeyId/secretAccessKey/sessionToken, roleArn, or the default credential chain (${message})`,
        details,
      );
    case 'invalid':
    case 'notFound':
      return new ConfigError(`Athena refused ${operation}: ${message} (check region, catalogs, workgroups, outputLocation)`, [], details);
    case 'throttle':
    case 'server':
    case 'network':
      return new TransientError(`Athena ${operation} still failing after ${attempts} attempt(s): ${message}`, details, { cause: err });
    default:
      return new TransientError(`Athena ${operation} failed: ${message}`, details, { cause: err });
  }
}
