/**
 * SHOW CREATE TABLE, answered from the seed the way Athena answers it: one result column
 * `createtab_stmt`, one row per line of the DDL. For Iceberg tables the DDL is where Athena shows the
 * hidden partition spec (`PARTITIONED BY (day(ts), bucket(16, id))`) that table metadata does not.
 */
import { athenaTableParameters, type AthenaSeed, type SeedTable } from './model';

/** The table a `SHOW CREATE TABLE [db.]name` (leading comments allowed) names, or undefined for any other statement. */
function showCreateTarget(sql: string): string[] | undefined {
  const m = /^\s*(?:(?:\/\*[\s\S]*?\*\/|--[^\n]*(?:\n|$))\s*)*SHOW\s+CREATE\s+TABLE\s+([^;]+?)\s*;?\s*$/i.exec(sql);
  if (!m) return undefined;
  const parts = m[1]!.match(/`(?:[^`]|``)*`|"(?:[^"]|"")*"|[^.\s]+/g) ?? [];
  return parts.map((p) => (/^[`"]/.test(p) ? p.slice(1, -1).replace(/``|""/g, (q) => q[0]!) : p));
}

const quote = (name: string) => `\`${name}\``;

function ddlLines(database: string, t: SeedTable): string[] {
  const params = athenaTableParameters(t);
  const iceberg = t.format === 'iceberg';
  const lines = [`CREATE ${iceberg ? '' : 'EXTERNAL '}TABLE \`${database}\`.\`${t.name}\`(`];
  t.columns.forEach((c, i) => lines.push(`  ${quote(c.name)} ${c.type}${i < t.columns.length - 1 ? ',' : ')'}`));
  if (iceberg && t.partitionSpec?.length) lines.push(`PARTITIONED BY (${t.partitionSpec.join(', ')})`);
  else if (!iceberg && t.partitionKeys.length)
    lines.push(`PARTITIONED BY (${t.partitionKeys.map((c) => `${quote(c.name)} ${c.type}`).join(', ')})`);
  if (params.location) lines.push('LOCATION', `  '${params.location}'`);
  const props = Object.entries(params).filter(([k]) => !['location', 'inputformat', 'outputformat', 'serde.serialization.lib'].includes(k));
  lines.push('TBLPROPERTIES (');
  props.forEach(([k, v], i) => lines.push(`  '${k}'='${v}'${i < props.length - 1 ? ',' : ')'}`));
  return lines;
}

export type ShowCreate = { select: string } | { error: string };

/**
 * For SHOW CREATE TABLE: a SELECT that yields Athena's result rows, or the error Athena gives for a table
 * it does not have; undefined for every other statement.
 */
export function showCreateTable(seed: AthenaSeed, sql: string, catalog: string, database: string): ShowCreate | undefined {
  const parts = showCreateTarget(sql);
  if (!parts) return undefined;
  const [db, name] = parts.length >= 2 ? [parts[parts.length - 2]!, parts[parts.length - 1]!] : [database, parts[0]!];
  const i = name ? seed.findTable(catalog, db, name) : -1;
  if (i < 0) return { error: `Table ${db}.${name} not found` };
  const t = seed.tableAt(catalog, db, i);
  if (t.showCreateError) return { error: t.showCreateError };
  const rows = ddlLines(db.toLowerCase(), t).map((l) => `('${l.replace(/'/g, "''")}')`);
  return { select: `SELECT * FROM (VALUES ${rows.join(', ')}) AS t(createtab_stmt)` };
}
