/**
 * The `athena` source: table metadata per catalog/database, and query history, lineage and DDL events
 * per workgroup, as resumable units.
 */
import { getMaxListeners, setMaxListeners } from 'node:events';
import type { Connector, ExtractContext, ExtractUnit, SourcePlugin } from '../../contracts/plugin';
import { closeSession, sessionFor } from './client';
import { athenaConfigSchema, databaseFilter, type AthenaConfig } from './config';
import { catalogNames, databaseNames, workgroupNames } from './discovery';
import { historyUnit } from './history';
import { metadataUnit } from './metadata';
import { testAthenaConnection } from './test-connection';
import { awsConnectionTargets } from '../aws/targets';
import { awsSecretPatterns } from '../aws/secret-patterns';

export { athenaConfigSchema, type AthenaConfig, type AthenaConfigInput } from './config';
export { athenaApiCounters, ApiCounters, type OperationCounts } from './counters';
export { DEFAULT_QUOTAS, ATHENA_OPERATIONS, type AthenaOperation } from './quotas';
export { historyUnitKey } from './history';
export { metadataUnitKey } from './metadata';

/** How long Athena keeps query history. */
export const HISTORY_RETENTION_DAYS = 45;

async function* athenaUnits(config: AthenaConfig, ctx: ExtractContext): AsyncGenerator<ExtractUnit> {
  const session = sessionFor(config);
  // Every in-flight request and backoff listens on the run's signal; dozens at once is expected.
  setMaxListeners(Math.max(getMaxListeners(ctx.signal), 16 * config.maxConcurrency + 16), ctx.signal);
  if (config.queryHistory) {
    const oldest = Date.now() - HISTORY_RETENTION_DAYS * 86_400_000;
    if (Date.parse(ctx.window.start) < oldest) {
      ctx.warn(
        `window starts ${ctx.window.start}, more than ${HISTORY_RETENTION_DAYS} days ago: Athena keeps query history for ${HISTORY_RETENTION_DAYS} days, so queries before ${new Date(oldest).toISOString()} are gone and missing from this extract`,
      );
    }
    // History first: its units are long sequential page chains and should start early.
    for await (const workgroup of workgroupNames(session, ctx.signal)) yield historyUnit(session, ctx, workgroup);
  }
  const keep = databaseFilter(config);
  for await (const catalog of catalogNames(session, ctx.signal)) {
    for await (const database of databaseNames(session, catalog, ctx.signal)) {
      if (keep(catalog, database)) yield metadataUnit(session, ctx, catalog, database);
    }
  }
}

export const athenaSource: SourcePlugin<AthenaConfig> = {
  type: 'athena',
  configSchema: athenaConfigSchema,
  units: athenaUnits,
  concurrency: (config) => config.maxConcurrency,
  testConnection: testAthenaConnection,
  close: async (config) => closeSession(config),
  // The bucket of outputLocation is written by Athena with the collector's identity: a target like any.
  targets: (config) => [
    ...awsConnectionTargets(config),
    ...(config.outputLocation ? [{ kind: 'endpoint' as const, field: 'outputLocation', value: `s3://${config.outputLocation.slice(5).split('/')[0]}` }] : []),
  ],
};

export const athena: Connector = { system: 'athena', sources: [athenaSource], secretPatterns: awsSecretPatterns };
