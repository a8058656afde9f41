/**
 * The `athena` source: table metadata per catalog/database, and query history, lineage and DDL events
 * per workgroup, as resumable units. This file stays light (schema, targets): the implementation and the
 * AWS SDK load with the first `create`, so commands that only read collectors.yaml start fast.
 */
import { hostOf, type Connector, type SourcePlugin } from '../../contracts/plugin';
import { athenaConfigSchema, type AthenaConfig } from './config';
import { awsConnectionTargets } from '../aws/targets';
import { awsSecretPatterns } from '../aws/secret-patterns';

export { athenaConfigSchema, type AthenaConfig, type AthenaConfigInput } from './config';
export { DEFAULT_QUOTAS, ATHENA_OPERATIONS, type AthenaOperation } from './quotas';

export const athenaSource: SourcePlugin<AthenaConfig> = {
  type: 'athena',
  configSchema: athenaConfigSchema,
  create: (config, ctx) => new (require('./source') as typeof import('./source')).AthenaSource(config, ctx),
  // The bucket of outputLocation is written by Athena with the collector's identity: a target like any.
  // s3Endpoint receives requests signed with the same credentials (Iceberg metadata reads).
  targets: (config) => [
    ...awsConnectionTargets(config),
    ...(config.s3Endpoint ? [{ kind: 'endpoint' as const, field: 's3Endpoint', value: hostOf(config.s3Endpoint) }] : []),
    ...(config.outputLocation
      ? [{ kind: 'endpoint' as const, field: 'outputLocation', value: `s3://${config.outputLocation.slice(5).split('/')[0]}` }]
      : []),
  ],
};

export const athena: Connector = { system: 'athena', sources: [athenaSource], secretPatterns: awsSecretPatterns };
