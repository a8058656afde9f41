/**
 * Sessions to one PostgreSQL server: a small pool per database, every session read-only with a statement
 * and lock timeout, TLS as `sslmode` says. Each statement is reported to the source's API counters and
 * its errors are classified (faults.ts); a cancelled run ends its sessions.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { rdsTokenSource, type RdsTokenSource } from './rds-iam';
import { Pool, type PoolClient, type PoolConfig, type QueryResultRow } from 'pg';
import type { ApiOutcome } from '../../contracts/plugin';
import { parseDuration } from '../../run/duration';
import { caFilePath, type PostgresConfig } from './config';
import { toCollectorError } from './faults';

/** The database discovery and server-wide checks connect to when `databases` is not given. */
export const MAINTENANCE_DATABASE = 'postgres';

type Report = (operation: string, outcome: ApiOutcome) => void;

function tls(config: PostgresConfig): PoolConfig['ssl'] {
  if (config.sslmode === 'disable') return false;
  if (config.sslmode === 'require') return { rejectUnauthorized: false };
  const file = caFilePath(config);
  const ca = file ? readFileSync(file, 'utf8') : config.ca;
  return {
    rejectUnauthorized: true,
    ...(ca ? { ca } : {}),
    // verify-ca checks the chain only, as libpq does. verify-full checks the configured host against the
    // certificate itself: for an IP address there is no SNI name (RFC 6066), and Node would otherwise check
    // the name `localhost`.
    ...(config.sslmode === 'verify-ca'
      ? { checkServerIdentity: () => undefined }
      : {
          ...(isIP(config.host) ? {} : { servername: config.host }),
          checkServerIdentity: (_: string, cert: PeerCertificate) => checkServerIdentity(config.host, cert),
        }),
  };
}

export class PostgresSessions {
  private readonly pools = new Map<string, Pool>();
  private closed = false;

  /** With `iam`: a fresh token is the password of each new session. */
  private readonly iamTokens: RdsTokenSource | undefined;

  constructor(
    readonly config: PostgresConfig,
    private readonly report: Report = () => undefined,
    /** When IAM tokens are signed (tests sign at a known instant). */
    now?: () => Date,
  ) {
    this.iamTokens = config.iam ? rdsTokenSource(config, config.iam, now) : undefined;
  }

  private pool(database: string): Pool {
    if (this.closed) throw new Error('the postgres source was already closed');
    let pool = this.pools.get(database);
    if (!pool) {
      const c = this.config;
      pool = new Pool({
        host: c.host,
        port: c.port,
        user: c.user,
        ...(this.iamTokens ? { password: this.iamTokens.token } : c.password !== undefined ? { password: c.password } : {}),
        database,
        ssl: tls(c),
        max: c.maxConnections,
        idleTimeoutMillis: 10_000,
        connectionTimeoutMillis: 15_000,
        application_name: 'temporal-collectors',
        statement_timeout: parseDuration(c.statementTimeout),
        // Read-only sessions that never wait long for a lock or sit idle in a transaction.
        options: '-c default_transaction_read_only=on -c lock_timeout=2000 -c idle_in_transaction_session_timeout=60000',
      });
      // A pooled session the server ended (restart, admin) must not crash the process; the next query reconnects.
      pool.on('error', () => undefined);
      this.pools.set(database, pool);
    }
    return pool;
  }

  /**
   * Runs one statement in `database`. `operation` names it for the counters and errors; on `signal`
   * the statement is cancelled on the server and its session discarded.
   */
  async query<R extends QueryResultRow>(
    database: string,
    operation: string,
    sql: string,
    params: unknown[],
    signal?: AbortSignal,
  ): Promise<R[]> {
    signal?.throwIfAborted();
    this.report(operation, 'call');
    let client: PoolClient | undefined;
    const onAbort = () => {
      // The session is ended, not returned to the pool; the server's statement timeout bounds what it
      // may still be running for it.
      const c = client;
      client = undefined;
      c?.release(new Error('cancelled'));
    };
    try {
      client = await this.pool(database).connect();
      signal?.addEventListener('abort', onAbort, { once: true });
      const result = await client.query<R>(sql, params);
      client.release();
      client = undefined;
      return result.rows;
    } catch (err) {
      client?.release(err instanceof Error ? err : true);
      client = undefined;
      signal?.throwIfAborted();
      const failure = toCollectorError(err, this.config, `database ${database}: ${operation}`);
      this.report(operation, failure.nonRetryable ? 'failure' : 'network-error');
      throw failure;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
  }
}
