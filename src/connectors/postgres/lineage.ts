/** `linkages` rows of one database: every view's and materialized view's sources, from pg_depend. */
import type { ExtractContext, ExtractUnit } from '../../contracts/plugin';
import type { PostgresSessions } from './client';
import { viewDependencies } from './catalog';

export function lineageUnitKey(database: string): string {
  return `lineage:${database}`;
}

export function lineageUnit(s: PostgresSessions, ctx: ExtractContext, database: string, schemas: string[]): ExtractUnit {
  return {
    key: lineageUnitKey(database),
    async run(out) {
      for (const d of await viewDependencies(s, database, schemas, ctx.signal)) {
        await out.write('linkages', {
          source_catalog: database,
          source_database: d.source_schema,
          source_table: d.source_name,
          target_catalog: database,
          target_database: d.view_schema,
          target_table: d.view_name,
          target_type: d.view_kind === 'm' ? 'MATERIALIZED_VIEW' : 'VIEW',
          origin: 'VIEW_DEFINITION',
          query_id: null,
          observed_at: null,
        });
      }
    },
  };
}
