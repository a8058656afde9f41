/**
 * `linkages` rows of one database: every view's and materialized view's sources from pg_depend (table
 * level, exact), then column level: each view column's source columns, read from the view's query with
 * PostgreSQL's own parser and kept only where pg_depend confirms the source column is one the view uses.
 */
import type { ExtractContext, ExtractUnit, UnitOutput } from '../../contracts/plugin';
import type { Row } from '../../contracts/extract-format';
import type { PostgresSessions } from './client';
import { viewColumnDependencies, viewDependencies, viewQueries } from './catalog';
import { queryColumns, type RelationName } from './column-lineage';
import { loadPostgresParser } from './sql-text';

export function lineageUnitKey(database: string): string {
  return `lineage:${database}`;
}

export function lineageUnit(s: PostgresSessions, ctx: ExtractContext, database: string, schemas: string[]): ExtractUnit {
  return {
    key: lineageUnitKey(database),
    async run(out) {
      const kinds = new Map<string, string>();
      for (const d of await viewDependencies(s, database, schemas, ctx.signal)) {
        kinds.set(`${d.view_schema}.${d.view_name}`, d.view_kind);
        await out.write('linkages', edge(database, d.source_schema, d.source_name, d.view_schema, d.view_name, d.view_kind));
      }
      if (kinds.size) await writeColumnLineage(s, ctx, out, database, schemas, kinds);
    },
  };
}

function edge(
  database: string,
  sourceSchema: string,
  sourceName: string,
  viewSchema: string,
  viewName: string,
  viewKind: string,
  column?: { source: string; target: string; transformation: string },
): Row {
  return {
    source_catalog: database,
    source_database: sourceSchema,
    source_table: sourceName,
    target_catalog: database,
    target_database: viewSchema,
    target_table: viewName,
    target_type: viewKind === 'm' ? 'MATERIALIZED_VIEW' : 'VIEW',
    origin: 'VIEW_DEFINITION',
    query_id: null,
    observed_at: null,
    source_column: column?.source ?? null,
    target_column: column?.target ?? null,
    transformation: column?.transformation ?? null,
  };
}

async function writeColumnLineage(
  s: PostgresSessions,
  ctx: ExtractContext,
  out: UnitOutput,
  database: string,
  schemas: string[],
  kinds: Map<string, string>,
): Promise<void> {
  // What pg_depend says each view uses, per view: source relation -> its used columns.
  const used = new Map<string, Map<string, { schema: string; name: string; columns: Set<string> }>>();
  for (const d of await viewColumnDependencies(s, database, schemas, ctx.signal)) {
    const view = `${d.view_schema}.${d.view_name}`;
    const sources = used.get(view) ?? new Map();
    used.set(view, sources);
    const rel = `${d.source_schema}.${d.source_name}`;
    if (!sources.has(rel)) sources.set(rel, { schema: d.source_schema, name: d.source_name, columns: new Set() });
    sources.get(rel)!.columns.add(d.source_column);
  }
  await loadPostgresParser();
  for (const v of await viewQueries(s, database, schemas, ctx.signal)) {
    const view = `${v.view_schema}.${v.view_name}`;
    const sources = used.get(view);
    const kind = kinds.get(view);
    if (!sources || !kind || !v.definition) continue;
    // pg_get_viewdef leaves names on the search path unqualified: the dependency records say which relation.
    const find = (t: RelationName) => {
      const all = [...sources.values()].filter((x) => x.name === t.name && (t.schema === undefined || x.schema === t.schema));
      return all.length === 1 ? all[0] : undefined;
    };
    const outputs = queryColumns(v.definition, (t) => {
      const rel = find(t);
      return rel ? [...rel.columns] : undefined;
    });
    if (!outputs) {
      ctx.count('lineage_table_level_only');
      continue;
    }
    const seen = new Set<string>();
    for (const [i, o] of outputs.entries()) {
      const target = v.columns[i];
      if (target === undefined) break;
      for (const src of o.sources) {
        const rel = find(src.table);
        // Only what the server's own records confirm: a pair the parse suggests but pg_depend does not know is dropped.
        if (!rel || !rel.columns.has(src.column)) continue;
        const k = `${rel.schema}.${rel.name}.${src.column}>${target}`;
        if (seen.has(k)) continue;
        seen.add(k);
        await out.write(
          'linkages',
          edge(database, rel.schema, rel.name, v.view_schema, v.view_name, kind, {
            source: src.column,
            target,
            transformation: o.transformation,
          }),
        );
      }
    }
  }
}
