/**
 * What an AWS SDK error means for us: retry it, or stop and tell a person what to fix; and whether a
 * failure is about one catalog or database (its unit is incomplete, the run goes on) or about the whole
 * collector (the run fails).
 */
import { AuthError, CollectorError, ConfigError, TransientError, errorMessage } from '../../contracts/errors';

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

/**
 * A federated catalog's connector failed: Athena wraps the Lambda function's failure in a MetadataException
 * ("Failed to invoke lambda function due to ...", "... from your LambdaFunction[...]").
 */
const CONNECTOR_ERROR = /Failed to invoke lambda function|LambdaFunction\[|Service: AWSLambda|lambda:InvokeFunction/i;
/** Glue's answer to an explicit Lake Formation deny on a database or table. */
const LAKE_FORMATION_DENY = /Lake Formation permission/i;

export function classify(err: unknown): FaultKind {
  const e = shape(err);
  const name = e.name ?? '';
  const status = e.$metadata?.httpStatusCode;
  const message = e.message ?? '';
  if (THROTTLE_NAMES.has(name) || status === 429 || /rate exceeded|TooManyRequestsException/i.test(message)) return 'throttle';
  // A connector that ran out of time may answer next time (a cold start, a slow backend): retried like a 5xx.
  if (CONNECTOR_ERROR.test(message) && /timed out|timeout/i.test(message)) return 'server';
  if (LAKE_FORMATION_DENY.test(message)) return 'denied';
  if (name === 'AccessDeniedException' || name === 'AccessDenied' || /not authorized to perform/i.test(message)) return 'denied';
  if (CREDENTIAL_NAMES.has(name)) return 'credentials';
  if ((e.code && NETWORK_CODES.has(e.code)) || name === 'TimeoutError' || name === 'RequestTimeout' || /socket hang up/i.test(message)) {
    return 'network';
  }
  if (name === 'InternalServerException' || e.$fault === 'server' || (status !== undefined && status >= 500)) return 'server';
  if (
    name === 'ResourceNotFoundException' ||
    ((name === 'MetadataException' || name === 'InvalidRequestException') && /not found|does not exist/i.test(message))
  ) {
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
  const message = shape(err).message ?? '';
  if (LAKE_FORMATION_DENY.test(message)) return 'Lake Formation DESCRIBE on the database';
  const m = /not authorized to perform:?\s+([a-z0-9-]+:[A-Za-z0-9*]+)/i.exec(message);
  return m?.[1] ?? `athena:${operation}`;
}

/** Facts for the failure's details: a connector's failure, a Lake Formation deny. */
function origin(err: unknown): { connector?: 'lambda'; lakeFormation?: true } {
  const message = shape(err).message ?? '';
  return {
    ...(CONNECTOR_ERROR.test(message) ? { connector: 'lambda' as const } : {}),
    ...(LAKE_FORMATION_DENY.test(message) ? { lakeFormation: true as const } : {}),
  };
}

/**
 * Why a failure of one catalog's or database's metadata is about that catalog or database alone (the
 * reason its unit is incomplete while the run goes on), or undefined when it is about the whole collector
 * and must fail the run: rejected credentials, a missing athena: permission (the collector's role), no
 * result location, Athena itself failing beyond our retries (Temporal retries the extract, resuming).
 */
export function unitFailureReason(err: unknown): string | undefined {
  if (!(err instanceof CollectorError)) return undefined;
  const d = err.details ?? {};
  if (d.fault === 'credentials') return undefined;
  if (d.connector === 'lambda') {
    const what =
      d.fault === 'denied'
        ? `the collector may not invoke its Lambda connector: grant ${typeof d.action === 'string' ? d.action : 'lambda:InvokeFunction'} on the function`
        : d.fault === 'notFound'
          ? 'its Lambda connector (or the connector\'s own backend) answered "not found"'
          : isRetryable(d.fault as FaultKind)
            ? `its Lambda connector kept failing (${String(d.fault)}) after ${String(d.attempts ?? 1)} attempt(s)`
            : 'its Lambda connector failed';
    return `${what}: ${err.message}`;
  }
  if (d.lakeFormation) return err.message;
  if (d.fault === 'notFound') return `not found: ${err.message}`;
  if (d.fault === 'denied') return typeof d.action === 'string' && !d.action.startsWith('athena:') ? err.message : undefined;
  // The catalog's own metastore refusing (a Hive metastore's error): the other catalogs are unaffected.
  if (d.fault === 'invalid' && d.awsError === 'MetadataException') return err.message;
  return undefined;
}

/** The typed error for a failure we will not (or no longer) retry. */
export function toCollectorError(operation: string, err: unknown, kind: FaultKind, attempts = 1): CollectorError {
  const message = errorMessage(err);
  const details = { operation, awsError: shape(err).name, fault: kind, attempts, ...origin(err) };
  switch (kind) {
    case 'denied': {
      const action = deniedAction(operation, err);
      if (details.lakeFormation) {
        return new AuthError(
          `Lake Formation denied ${operation}: grant the collector's role DESCRIBE on the database in Lake Formation (${message})`,
          { ...details, action },
        );
      }
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
