/**
 * `linkages` rows from a parsed statement: one table-level row per source table of the statement's
 * target, then one column-level row per (target column, source column) where the reader could tell.
 */
import type { ExtractContext, UnitOutput } from '../../contracts/plugin';
import type { LineageResult, TableRef } from '../../sql/index';

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
  if (result.degraded !== undefined) {
    // Tables are still exact; only the columns could not be read.
    ctx.count('lineage_table_level_only');
    ctx.log.debug({ reason: result.degraded, queryId: origin.queryId }, 'statement read for table-level lineage only');
  }
  const target = result.target ?? locationTarget(result.location);
  if (!target) {
    if (result.sources.length) ctx.count('lineage_without_target');
    return;
  }
  const edge = (s: TableRef, column?: { source: string; target: string; transformation: string }) => ({
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
    source_column: column?.source ?? null,
    target_column: column?.target ?? null,
    transformation: column?.transformation ?? null,
  });
  const seen = new Set<string>();
  for (const s of result.sources) {
    const key = `${s.catalog}\u0000${s.database}\u0000${s.table}`;
    if (seen.has(key)) continue;
    seen.add(key);
    await out.write('linkages', edge(s));
  }
  for (const c of result.columns ?? []) {
    for (const s of c.sources) {
      const key = `${s.table.catalog}\u0000${s.table.database}\u0000${s.table.table}\u0000${s.column}\u0000${c.target}\u0000${c.transformation}`;
      if (seen.has(key)) continue;
      seen.add(key);
      await out.write('linkages', edge(s.table, { source: s.column, target: c.target, transformation: c.transformation }));
    }
  }
}

/**
 * An UNLOAD writes to S3, not a table. Its target is written as catalog `s3`, database = bucket,
 * table = the whole `s3://` location (target_type LOCATION), so the required columns stay filled and
 * the location stays unambiguous.
 */
function locationTarget(location: string | undefined): TableRef | null {
  const m = location ? /^s3a?n?:\/\/([^/]+)/i.exec(location) : null;
  return m ? { catalog: 's3', database: m[1]!, table: location! } : null;
}
