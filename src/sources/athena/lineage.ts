/**
 * `linkages` rows from a parsed statement: one per source table of the statement's target.
 */
import type { ExtractContext, UnitOutput } from '../../plugins/types';
import type { extractLineage } from './sql';

export type LineageResult = ReturnType<typeof extractLineage>;

export interface LineageOrigin {
  origin: 'VIEW_DEFINITION' | 'QUERY';
  queryId?: string;
  observedAt?: Date;
}

/** Writes the rows of `result`; unparseable statements are counted, never fatal. */
export async function writeLineage(out: UnitOutput, ctx: ExtractContext, result: LineageResult, origin: LineageOrigin): Promise<void> {
  if (result.kind === 'unparseable') {
    ctx.count('unparseable_statements');
    ctx.log.debug({ reason: result.reason, queryId: origin.queryId }, 'statement not parsed for lineage');
    return;
  }
  if (result.kind !== 'lineage') return;
  const target = result.target;
  // An UNLOAD writes to an S3 location, not a table: no table-level linkage to record.
  if (!target) {
    if (result.sources.length) ctx.count('lineage_without_table_target');
    return;
  }
  const seen = new Set<string>();
  for (const s of result.sources) {
    const key = `${s.catalog}\u0000${s.database}\u0000${s.table}`;
    if (seen.has(key)) continue;
    seen.add(key);
    await out.write('linkages', {
      source_catalog: s.catalog,
      source_database: s.database,
      source_table: s.table,
      target_catalog: target.catalog,
      target_database: target.database,
      target_table: target.table,
      target_type: result.targetType,
      origin: origin.origin,
      query_id: origin.queryId ?? null,
      observed_at: origin.observedAt ?? null,
    });
  }
}
