/**
 * One config's PostgreSQL source (the implementation behind the plugin in index.ts, loaded with the `pg`
 * driver on the first `create`).
 */
import type { ExtractContext, ExtractUnit, Source, SourceContext } from '../../contracts/plugin';
import { PostgresSessions } from './client';
import { databaseNames, schemaNames } from './catalog';
import { schemaFilter, type PostgresConfig } from './config';
import { eventsUnit } from './events';
import { lineageUnit } from './lineage';
import { metadataUnit } from './metadata';
import { testPostgresConnection } from './test-connection';
import { usageUnit } from './usage';

export class PostgresSource implements Source {
  readonly concurrency: number;
  private readonly sessions: PostgresSessions;

  constructor(
    config: PostgresConfig,
    private readonly ctx: SourceContext,
  ) {
    this.concurrency = config.maxConnections;
    // No session opens until the first statement.
    this.sessions = new PostgresSessions(config, ctx.apiCall);
  }

  async *units(ctx: ExtractContext): AsyncGenerator<ExtractUnit> {
    const keep = schemaFilter(this.sessions.config);
    const databases = await databaseNames(this.sessions, ctx.signal);
    // Server-wide statistics, read once for the databases this source covers.
    if (this.sessions.config.usage) yield usageUnit(this.sessions, ctx, databases);
    for (const database of databases) {
      const schemas = (await schemaNames(this.sessions, database, ctx.signal)).filter((s) => keep(s.name));
      const denied = schemas.filter((s) => !s.usable).map((s) => s.name);
      if (denied.length) {
        ctx.warn(
          `database ${database}: no USAGE on schema(s) ${denied.join(', ')}, so their tables are missing; grant it (collector test-connection prints the GRANT)`,
        );
      }
      const usable = schemas.filter((s) => s.usable).map((s) => s.name);
      for (const schema of usable) yield metadataUnit(this.sessions, ctx, database, schema);
      if (usable.length) yield lineageUnit(this.sessions, ctx, database, usable);
      if (this.sessions.config.ddlEvents) yield eventsUnit(this.sessions, ctx, database, keep);
    }
  }

  testConnection() {
    return testPostgresConnection(this.sessions, this.ctx.signal);
  }

  close() {
    return this.sessions.close();
  }
}
