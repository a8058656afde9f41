/**
 * The `postgres` source: per schema, the metadata of every relation from pg_catalog; per database, the
 * lineage of views and materialized views from pg_depend. Also for what speaks PostgreSQL's catalog:
 * RDS, Aurora, Cloud SQL, Azure Database for PostgreSQL. This file stays light (schema, targets): the
 * implementation and its driver load with the first `create`.
 */
import type { Connector, SourcePlugin } from '../../contracts/plugin';
import { awsConnectionTargets } from '../aws/targets';
import { caFilePath, postgresConfigSchema, type PostgresConfig } from './config';

export { postgresConfigSchema, type PostgresConfig } from './config';

export const postgresSource: SourcePlugin<PostgresConfig> = {
  type: 'postgres',
  configSchema: postgresConfigSchema,
  create: (config, ctx) => new (require('./source') as typeof import('./source')).PostgresSource(config, ctx),
  // Without a password the driver falls back on the worker's own PGPASSWORD or ~/.pgpass; a `ca` path is
  // a file of the worker's that it reads.
  targets: (config) => {
    const ca = caFilePath(config);
    return [
      { kind: 'endpoint', field: 'host', value: `${config.host.toLowerCase()}:${config.port}` },
      // IAM tokens are signed with the worker's AWS identity (or the role it assumes with it).
      ...(config.iam ? awsConnectionTargets({ roleArn: config.iam.roleArn }).map((t) => ({ ...t, field: `iam.${t.field}` })) : []),
      ...(config.password === undefined && !config.iam
        ? [{ kind: 'ambient-credentials' as const, field: 'password', value: "the worker's PGPASSWORD or ~/.pgpass" }]
        : []),
      ...(ca ? [{ kind: 'path' as const, field: 'ca', value: ca }] : []),
    ];
  },
};

export const postgres: Connector = { system: 'postgres', sources: [postgresSource] };
