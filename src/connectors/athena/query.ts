/**
 * Running one of our own SQL queries (information_schema, SELECT 1): start, poll with backoff, page results.
 */
import {
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  GetWorkGroupCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
  type GetQueryResultsCommandOutput,
} from '@aws-sdk/client-athena';
import { AuthError, ConfigError, TransientError } from '../../contracts/errors';
import type { AthenaSession } from './client';
import { queryWorkgroupOf } from './config';
import { sleep } from './sleep';

/**
 * The comment every query the collector starts begins with, so history can tell them from the account's
 * own usage and leave them out (Athena's history does not return ClientRequestToken, only the text).
 */
export const OWN_QUERY_MARKER = '/* temporal-collectors: own query */';

/** True when `text` is a query the collector started (see OWN_QUERY_MARKER). */
export function isOwnQuery(text: string): boolean {
  return text.trimStart().startsWith(OWN_QUERY_MARKER);
}

const POLL_FIRST_MS = 100;
const POLL_MAX_MS = 2_000;
const QUERY_TIMEOUT_MS = 15 * 60_000;

/** The query workgroup's result location, or undefined when the workgroup manages results itself. */
export function outputLocation(session: AthenaSession, signal?: AbortSignal): Promise<string | undefined> {
  const configured = session.config.outputLocation;
  if (configured) return Promise.resolve(configured);
  const workgroup = queryWorkgroupOf(session.config);
  return session.once(`output:${workgroup}`, async () => {
    const res = await session.call(
      'GetWorkGroup',
      (o) => session.client.send(new GetWorkGroupCommand({ WorkGroup: workgroup }), o),
      signal,
    );
    const conf = res.WorkGroup?.Configuration;
    const location = conf?.ResultConfiguration?.OutputLocation;
    if (location || conf?.ManagedQueryResultsConfiguration?.Enabled) return location;
    throw new ConfigError(
      `Athena workgroup "${workgroup}" has no query result location: set outputLocation (an s3:// prefix the collector may write to) or configure one on the workgroup`,
    );
  });
}

export interface QueryOptions {
  catalog?: string;
  database?: string;
  signal?: AbortSignal;
}

/** Starts `sql` (tagged as our own) and waits until it succeeded; returns its execution id. Failures say what to fix. */
export async function runQuery(session: AthenaSession, sql: string, options: QueryOptions = {}): Promise<string> {
  const { signal } = options;
  const location = await outputLocation(session, signal);
  const workgroup = queryWorkgroupOf(session.config);
  const started = await session.call(
    'StartQueryExecution',
    (o) =>
      session.client.send(
        new StartQueryExecutionCommand({
          QueryString: `${OWN_QUERY_MARKER}\n${sql}`,
          WorkGroup: workgroup,
          ...(location ? { ResultConfiguration: { OutputLocation: location } } : {}),
          ...(options.catalog || options.database
            ? { QueryExecutionContext: { Catalog: options.catalog, Database: options.database } }
            : {}),
        }),
        o,
      ),
    signal,
  );
  const id = started.QueryExecutionId;
  if (!id) throw new TransientError('Athena StartQueryExecution returned no QueryExecutionId');
  const deadline = Date.now() + QUERY_TIMEOUT_MS;
  let delay = POLL_FIRST_MS;
  let givenUp = false;
  try {
    for (;;) {
      const res = await session.call(
        'GetQueryExecution',
        (o) => session.client.send(new GetQueryExecutionCommand({ QueryExecutionId: id }), o),
        signal,
      );
      const status = res.QueryExecution?.Status;
      const state = status?.State;
      if (state === 'SUCCEEDED') return id;
      if (state === 'FAILED' || state === 'CANCELLED') {
        const reason = status?.AthenaError?.ErrorMessage ?? status?.StateChangeReason ?? state;
        if (/access denied|not authorized|AccessDenied/i.test(reason)) {
          const s3 = /s3|output|bucket/i.test(reason);
          throw new AuthError(
            `the collector's query ${id} failed: ${reason}; grant ${s3 ? `s3:PutObject and s3:GetBucketLocation on ${location ?? 'the output location'}` : 'the permission named above'}`,
            { queryExecutionId: id, action: s3 ? 's3:PutObject' : undefined },
          );
        }
        // ErrorCategory 1 is Athena's own (system) failure: worth another attempt.
        if (status?.AthenaError?.ErrorCategory === 1)
          throw new TransientError(`Athena query ${id} failed: ${reason}`, { queryExecutionId: id });
        throw new QueryFailedError(`Athena query ${id} failed: ${reason}`, [], { queryExecutionId: id });
      }
      if (Date.now() > deadline) {
        givenUp = true;
        throw new TransientError(`Athena query ${id} still ${state ?? 'pending'} after ${QUERY_TIMEOUT_MS / 60_000} minutes`);
      }
      await sleep(delay, signal);
      delay = Math.min(POLL_MAX_MS, delay * 2);
    }
  } catch (err) {
    if (signal?.aborted || givenUp) {
      // Best effort, unlimited by the cancelled signal: do not leave our query running in the customer's
      // account (a retry starts its own).
      await session
        .call('StopQueryExecution', (o) => session.client.send(new StopQueryExecutionCommand({ QueryExecutionId: id }), o))
        .catch(() => undefined);
    }
    throw err;
  }
}

/** A query that ran and failed for a reason of its own (syntax, unsupported catalog): a ConfigError. */
export class QueryFailedError extends ConfigError {}

/** The result rows of a finished query as arrays of strings (null for SQL NULL), header row skipped. */
export async function* queryRows(
  session: AthenaSession,
  queryExecutionId: string,
  signal?: AbortSignal,
): AsyncGenerator<(string | null)[]> {
  let first = true;
  for await (const page of session.pages<GetQueryResultsCommandOutput>(
    'GetQueryResults',
    (token, o) =>
      session.client.send(new GetQueryResultsCommand({ QueryExecutionId: queryExecutionId, MaxResults: 1000, NextToken: token }), o),
    signal,
  )) {
    const rows = page.ResultSet?.Rows ?? [];
    let start = 0;
    if (first) {
      first = false;
      // Athena repeats the column labels as the first row of a SELECT's first page.
      const labels = (page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? []).map((c) => c.Label ?? c.Name);
      const head = rows[0]?.Data?.map((d) => d.VarCharValue);
      if (head && labels.length && head.length === labels.length && head.every((v, i) => v === labels[i])) start = 1;
    }
    for (let i = start; i < rows.length; i++) yield (rows[i]!.Data ?? []).map((d) => d.VarCharValue ?? null);
  }
}

/** Quotes a string as a SQL literal. */
export function sqlString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
