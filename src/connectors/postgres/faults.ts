/**
 * What a PostgreSQL or network error means for us: retry it, or stop and tell a person what to fix.
 * SQLSTATE codes are PostgreSQL's own (Appendix A of its manual).
 */
import { AuthError, ConfigError, TransientError, errorMessage, type CollectorError } from '../../contracts/errors';
import type { PostgresConfig } from './config';

interface PgErrorShape {
  code?: string;
  message?: string;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
]);
const TLS_VERIFY = /self[- ]signed|unable to (get|verify)|certificate|altname|hostname\/ip does not match/i;

/** Network or server trouble that a later attempt may not meet. */
export function isTransient(err: unknown): boolean {
  return toCollectorError(err, undefined) instanceof TransientError;
}

/** `where` names what was being done (e.g. `database sales: listing tables`), for the message. */
export function toCollectorError(err: unknown, config: PostgresConfig | undefined, where = 'postgres'): CollectorError {
  const e = (err ?? {}) as PgErrorShape;
  const code = e.code ?? '';
  const text = errorMessage(err).split('\n')[0]!.slice(0, 300);
  const server = config ? `${config.host}:${config.port}` : 'the server';
  const user = config?.user ?? 'the user';
  if (config?.iam && (code === '28P01' || code === '28000' || /PAM authentication/i.test(text))) {
    return new AuthError(
      `${where}: ${server} refused the IAM token of user "${user}" (${text}): the database user needs GRANT rds_iam, and the worker's AWS identity rds-db:connect on it (source.iam)`,
    );
  }
  // Signing an IAM token needs AWS credentials: none found, or the role could not be assumed.
  if (
    config?.iam &&
    /CredentialsProviderError|AssumeRole|security token|credentials/i.test(`${(err as { name?: string }).name ?? ''} ${text}`)
  ) {
    return new AuthError(
      `${where}: no AWS credentials to sign the IAM token for user "${user}" (${text}): give the worker an AWS identity, or check source.iam.roleArn`,
    );
  }
  if (code === '28P01')
    return new AuthError(`${where}: password authentication failed for user "${user}" at ${server}: check source.password`);
  if (code === '28000') return new AuthError(`${where}: ${server} refused user "${user}" (${text}): check pg_hba.conf and source.user`);
  if (code === '42501')
    return new AuthError(`${where}: permission denied (${text}): see docs/postgres.md for the GRANTs the collector needs`, {
      grant: 'see docs/postgres.md',
    });
  if (code === '3D000') return new ConfigError(`${where}: ${text}: check source.databases`);
  if (code === '57014') {
    return new TransientError(
      `${where}: cancelled by the server's statement timeout (${config?.statementTimeout ?? 'statementTimeout'}): raise source.statementTimeout or narrow source.schemas`,
    );
  }
  if (
    code === '53300' ||
    code === '53400' ||
    code === '57P01' ||
    code === '57P02' ||
    code === '57P03' ||
    code.startsWith('08') ||
    code === '40001' ||
    code === '40P01'
  ) {
    return new TransientError(`${where}: ${text}`);
  }
  if (NETWORK_CODES.has(code))
    return new TransientError(
      `${where}: cannot reach ${server} (${code}): check source.host and source.port, and that this network may reach it`,
    );
  if (/does not support SSL/i.test(text)) {
    return new ConfigError(
      `${where}: ${server} does not offer TLS but source.sslmode is ${config?.sslmode ?? 'set'}: enable ssl on the server, or set sslmode: disable where the network itself is trusted`,
    );
  }
  if (TLS_VERIFY.test(text) && config && config.sslmode !== 'disable') {
    return new ConfigError(
      `${where}: the server's TLS certificate was not accepted (${text}): give its CA in source.ca, or set sslmode: require to encrypt without verifying`,
    );
  }
  if (/timeout expired|Connection terminated/i.test(text)) return new TransientError(`${where}: ${text}`);
  // Syntax or catalog errors from our own SQL on an unusual server: a retry would meet them again.
  if (/^(42|0A|22)/.test(code))
    return new ConfigError(`${where}: ${text} (SQLSTATE ${code}): the server may be older than PostgreSQL 12 or not PostgreSQL`);
  return new TransientError(`${where}: ${text}`);
}
