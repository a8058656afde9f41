/**
 * `collector test-connection` for a postgres source: one check per thing the collector needs, each
 * failure naming the GRANT or setting to change.
 */
import type { Check } from '../../contracts/plugin';
import { errorMessage } from '../../contracts/errors';
import { MAINTENANCE_DATABASE, type PostgresSessions } from './client';
import { databaseNames, schemaNames } from './catalog';
import { schemaFilter } from './config';

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
  for (const database of databases) {
    try {
      const schemas = (await schemaNames(s, database, signal)).filter((x) => keep(x.name));
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
  return checks;
}
