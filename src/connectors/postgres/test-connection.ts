/**
 * `collector test-connection` for a postgres source: one check per thing the collector needs, each
 * failure naming the GRANT or setting to change.
 */
import type { Check } from '../../contracts/plugin';
import { errorMessage } from '../../contracts/errors';
import { MAINTENANCE_DATABASE, type PostgresSessions } from './client';
import { databaseNames, schemaNames } from './catalog';
import { schemaFilter } from './config';
import { extensionDatabase } from './usage';

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

export async function testPostgresConnection(s: PostgresSessions, signal: AbortSignal): Promise<Check[]> {
  const c = s.config;
  const first = c.databases?.[0] ?? MAINTENANCE_DATABASE;
  const checks: Check[] = [];
  let session;
  try {
    [session] = await s.query<{ version: string; ssl: boolean | null; read_only: string }>(
      first,
      'connect',
      `SELECT current_setting('server_version') AS version, current_setting('default_transaction_read_only') AS read_only,
              (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()) AS ssl`,
      [],
      signal,
    );
  } catch (e) {
    return [{ name: `connect to ${c.host}:${c.port} as ${c.user}`, ok: false, detail: errorMessage(e), required: true }];
  }
  checks.push({
    name: `connect to ${c.host}:${c.port} as ${c.user}`,
    ok: true,
    detail: `PostgreSQL ${session!.version}, read-only session: ${session!.read_only}`,
    required: true,
  });
  if (c.sslmode !== 'disable') {
    checks.push({
      name: `TLS (sslmode ${c.sslmode})`,
      ok: session!.ssl === true,
      detail: session!.ssl ? 'negotiated' : 'the session is not encrypted',
      required: true,
    });
  }
  let databases: string[];
  try {
    databases = await databaseNames(s, signal);
  } catch (e) {
    checks.push({ name: 'list databases', ok: false, detail: errorMessage(e), required: true });
    return checks;
  }
  checks.push({
    name: 'databases to read',
    ok: databases.length > 0,
    detail: databases.join(', ') || `user ${c.user} may connect to none`,
    required: true,
    ...(databases.length ? {} : { grant: `GRANT CONNECT ON DATABASE <name> TO ${quoteIdent(c.user)}` }),
  });
  const keep = schemaFilter(c);
  // Usage is checked through the databases that answered (a closed one already has its own failed check).
  const reachable: string[] = [];
  for (const database of databases) {
    try {
      const schemas = (await schemaNames(s, database, signal)).filter((x) => keep(x.name));
      reachable.push(database);
      const denied = schemas.filter((x) => !x.usable).map((x) => x.name);
      checks.push({
        name: `database ${database}: USAGE on its schemas`,
        ok: denied.length === 0,
        detail: denied.length ? `no USAGE on ${denied.join(', ')}: their tables would be missing` : `${schemas.length} schema(s)`,
        required: true,
        ...(denied.length
          ? { grant: denied.map((n) => `GRANT USAGE ON SCHEMA ${quoteIdent(n)} TO ${quoteIdent(c.user)};`).join(' ') }
          : {}),
      });
    } catch (e) {
      const detail = errorMessage(e);
      checks.push({
        name: `database ${database}: connect`,
        ok: false,
        detail,
        required: true,
        ...(/permission denied|CONNECT/i.test(detail)
          ? { grant: `GRANT CONNECT ON DATABASE ${quoteIdent(database)} TO ${quoteIdent(c.user)};` }
          : {}),
      });
    }
  }
  if (c.usage && reachable.length) checks.push(...(await usageChecks(s, reachable, signal)));
  return checks;
}

/**
 * What usage needs: pg_stat_statements loaded and created in a database the collector reads, and
 * pg_read_all_stats to see other roles' statements. Not required: without them a run succeeds with a
 * warning and no (or partial) usage, so test-connection says what to add but does not fail.
 */
async function usageChecks(s: PostgresSessions, databases: string[], signal: AbortSignal): Promise<Check[]> {
  const c = s.config;
  const user = quoteIdent(c.user);
  const checks: Check[] = [];
  const preload = "shared_preload_libraries = 'pg_stat_statements' in postgresql.conf (a restart), then";
  try {
    const db = await extensionDatabase(s, databases, signal);
    if (db === null) {
      checks.push({
        name: 'usage: pg_stat_statements',
        ok: false,
        detail: `the extension is not created in any database the collector reads (${databases.join(', ')}): no usage rows`,
        required: false,
        grant: `${preload} CREATE EXTENSION pg_stat_statements; in database ${quoteIdent(databases[0]!)}`,
      });
    } else {
      const [probe] = await s.query<{ n: string }>(
        db,
        'probe pg_stat_statements',
        'SELECT count(*) AS n FROM pg_stat_statements',
        [],
        signal,
      );
      checks.push({
        name: 'usage: pg_stat_statements',
        ok: true,
        detail: `in database ${db}, ${probe!.n} statement(s) tracked`,
        required: false,
      });
    }
  } catch (e) {
    const detail = errorMessage(e);
    checks.push({
      name: 'usage: pg_stat_statements',
      ok: false,
      detail,
      required: false,
      ...(/shared_preload_libraries/i.test(detail) ? { grant: `${preload} restart the server` } : {}),
    });
  }
  try {
    const [r] = await s.query<{ ok: boolean }>(
      databases[0]!,
      'check pg_read_all_stats',
      `SELECT pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS ok`,
      [],
      signal,
    );
    checks.push({
      name: 'usage: statements of every role (pg_read_all_stats)',
      ok: r!.ok,
      detail: r!.ok ? 'granted' : `other roles' statements are hidden from ${c.user}: usage would count only its own`,
      required: false,
      ...(r!.ok ? {} : { grant: `GRANT pg_read_all_stats TO ${user};` }),
    });
  } catch (e) {
    checks.push({ name: 'usage: statements of every role (pg_read_all_stats)', ok: false, detail: errorMessage(e), required: false });
  }
  return checks;
}
