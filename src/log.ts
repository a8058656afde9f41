/**
 * One pino logger for the process: the collector's own lines and the Temporal SDK's (see worker.ts).
 * Secret-bearing fields are redacted by path; free text is scrubbed by secrets/scrub.ts before logging.
 */
import pino, { type Logger } from 'pino';
import { settings } from './settings';

export type { Logger } from 'pino';

const SECRET_KEYS = [
  'password',
  'secret',
  'secretAccessKey',
  'sessionToken',
  'token',
  'sasToken',
  'accountKey',
  'connectionString',
  'apiKey',
  'authorization',
  'Authorization',
  'clientSecret',
  'privateKey',
];

/** pino redact paths: each secret key at the top level and up to three levels deep. */
const REDACT_PATHS = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`, `*.*.*.${k}`]);

export function createLogger(options: { level?: string; name?: string; destination?: pino.DestinationStream } = {}): Logger {
  return pino(
    {
      name: options.name ?? 'collector',
      level: options.level ?? settings().logLevel,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? pino.destination({ fd: 1, sync: true }),
  );
}
