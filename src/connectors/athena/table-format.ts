/**
 * What a Glue table's parameters say about its storage: the open table format (Iceberg, Delta, Hudi or
 * plain Hive files), an Iceberg partition spec, and partition projection. Pure functions over the
 * parameters Athena returns (and, for the spec, the text of SHOW CREATE TABLE).
 */
import { tokenize, type Token } from '../../sql/index';

export type TableFormat = 'ICEBERG' | 'DELTA' | 'HUDI' | 'HIVE';

/** S3 Tables buckets appear in Athena as catalogs `s3tablescatalog/<table bucket>`; every table in them is Iceberg. */
export function isS3TablesCatalog(catalog: string): boolean {
  return /^s3tablescatalog\//i.test(catalog);
}

const get = (params: Record<string, string>, key: string): string => (params[key] ?? '').trim().toLowerCase();

/**
 * The table's format from its parameters: `table_type` ICEBERG / DELTA / HUDI (Athena, Glue and Iceberg's
 * catalogs write it), Spark's `spark.sql.sources.provider`, Hudi's input formats; HIVE for any other table
 * read through a Hive input format; null for views and where nothing tells.
 */
export function tableFormat(params: Record<string, string>, isView: boolean, catalog: string): TableFormat | null {
  if (isView) return null;
  if (isS3TablesCatalog(catalog)) return 'ICEBERG';
  const type = get(params, 'table_type');
  const provider = get(params, 'spark.sql.sources.provider');
  if (type === 'iceberg' || provider === 'iceberg') return 'ICEBERG';
  if (type === 'delta' || provider === 'delta') return 'DELTA';
  const input = get(params, 'inputformat');
  if (type === 'hudi' || provider === 'hudi' || /\b(?:org\.apache\.hudi|com\.uber\.hoodie)\./.test(input)) return 'HUDI';
  return input ? 'HIVE' : null;
}

/** One field of an Iceberg partition spec: the source column and its transform (`width` for bucket/truncate). */
export interface PartitionField {
  column: string;
  transform: string;
  width?: number;
}

const TRANSFORMS = new Set(['identity', 'year', 'month', 'day', 'hour', 'bucket', 'truncate', 'void']);
/** Athena's and Spark's plural spellings. */
const ALIASES: Record<string, string> = { years: 'year', months: 'month', days: 'day', hours: 'hour', date: 'day', date_hour: 'hour' };

/** `bucket[16]`, `truncate[4]`, `day`... as Iceberg's metadata spells transforms. */
function parseTransform(text: string): { transform: string; width?: number } | null {
  const m = /^([a-z_]+)(?:\[(\d+)\])?$/.exec(text.trim().toLowerCase());
  if (!m) return null;
  const transform = ALIASES[m[1]!] ?? m[1]!;
  if (!TRANSFORMS.has(transform)) return null;
  return m[2] !== undefined ? { transform, width: Number(m[2]) } : { transform };
}

/**
 * The spec from Iceberg's own table properties, where a catalog exposes them (Iceberg's Hive-metastore
 * catalog writes `current-partition-spec`, with `source-id`s that `current-schema` names); null when
 * absent or unreadable.
 */
export function partitionSpecFromParameters(params: Record<string, string>): PartitionField[] | null {
  const specText = params['current-partition-spec'];
  if (!specText) return null;
  try {
    const spec = JSON.parse(specText) as { fields?: { transform?: unknown; 'source-id'?: unknown }[] };
    const schema = params['current-schema']
      ? (JSON.parse(params['current-schema']) as { fields?: { id?: unknown; name?: unknown }[] })
      : {};
    const names = new Map<unknown, string>();
    for (const f of schema.fields ?? []) if (typeof f.name === 'string') names.set(f.id, f.name.toLowerCase());
    const out: PartitionField[] = [];
    for (const f of spec.fields ?? []) {
      const t = typeof f.transform === 'string' ? parseTransform(f.transform) : null;
      const column = names.get(f['source-id']);
      if (!t || !column) return null; // a field we cannot name: no half a spec
      out.push({ column, ...t });
    }
    return out;
  } catch {
    return null;
  }
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The current spec from an Iceberg table metadata file (the JSON `metadata_location` points at): the
 * spec `default-spec-id` names (format v2; v1's `partition-spec` otherwise), its `source-id`s named from
 * the schema `current-schema-id` names (v1: `schema`). Null when a field cannot be read or named.
 */
export function partitionSpecFromMetadataFile(doc: unknown): PartitionField[] | null {
  if (!isObject(doc)) return null;
  const schemas = Array.isArray(doc.schemas) ? doc.schemas.filter(isObject) : [];
  const schema = schemas.find((x) => x['schema-id'] === doc['current-schema-id']) ?? (isObject(doc.schema) ? doc.schema : undefined);
  const specs = Array.isArray(doc['partition-specs']) ? doc['partition-specs'].filter(isObject) : [];
  const fields = specs.find((x) => x['spec-id'] === doc['default-spec-id'])?.fields ?? doc['partition-spec'];
  if (!schema || !Array.isArray(schema.fields) || !Array.isArray(fields)) return null;
  const names = new Map<unknown, string>();
  for (const f of schema.fields) if (isObject(f) && typeof f.name === 'string') names.set(f.id, f.name.toLowerCase());
  const out: PartitionField[] = [];
  for (const f of fields) {
    if (!isObject(f)) return null;
    const t = typeof f.transform === 'string' ? parseTransform(f.transform) : null;
    const column = names.get(f['source-id']);
    if (!t || !column) return null;
    // A dropped partition field of a v1 table stays in the spec as `void`: not a partition any more.
    if (t.transform !== 'void') out.push({ column, ...t });
  }
  return out;
}

const identifierOf = (t: Token | undefined): string | null => {
  if (!t) return null;
  if (t.type === 'word') return t.text.toLowerCase();
  // Hive's lexer reads "x" as a string; where a name must stand it is one.
  const quoted = t.type === 'backquoted_identifier' || t.type === 'quoted_identifier' || (t.type === 'string' && t.text.startsWith('"'));
  if (quoted && !t.unterminated)
    return t.text
      .slice(1, -1)
      .replace(/``|""/g, (q) => q[0]!)
      .toLowerCase();
  return null;
};

/**
 * The spec from the `PARTITIONED BY (...)` clause of SHOW CREATE TABLE for an Iceberg table:
 * `day(ts)`, `bucket(16, id)`, `truncate(4, name)`, a bare `col` (identity), any quoting. Null when the
 * statement has no such clause ([] would claim the table is unpartitioned) or a field is unreadable.
 */
export function partitionSpecFromCreateTable(ddl: string): PartitionField[] | null {
  const tokens = tokenize(ddl, { dialect: 'hive' }).filter((t) => t.type !== 'whitespace' && !t.type.endsWith('_comment'));
  const isWord = (t: Token | undefined, w: string) => t?.type === 'word' && t.text.toUpperCase() === w;
  const isOp = (t: Token | undefined, op: string) => t?.type === 'operator' && t.text === op;
  let i = tokens.findIndex((t, k) => isWord(t, 'PARTITIONED') && isWord(tokens[k + 1], 'BY') && isOp(tokens[k + 2], '('));
  if (i < 0) return null;
  i += 3;
  const out: PartitionField[] = [];
  for (;;) {
    const name = identifierOf(tokens[i]);
    if (name === null) return null;
    if (isOp(tokens[i + 1], '(')) {
      // transform(col) or transform(n, col)
      const t = parseTransform(name);
      if (!t) return null;
      let j = i + 2;
      let width: number | undefined;
      if (tokens[j]?.type === 'number' && isOp(tokens[j + 1], ',')) {
        width = Number(tokens[j]!.text);
        j += 2;
      }
      const column = identifierOf(tokens[j]);
      if (column === null || !isOp(tokens[j + 1], ')')) return null;
      out.push(width !== undefined ? { column, transform: t.transform, width } : { column, transform: t.transform });
      i = j + 2;
    } else {
      out.push({ column: name, transform: 'identity' });
      i += 1;
    }
    if (isOp(tokens[i], ',')) i++;
    else if (isOp(tokens[i], ')')) return out;
    else return null;
  }
}

export interface PartitionProjection {
  enabled: boolean;
  /** Per projected column, its settings without the `projection.<column>.` prefix: type, range, format... */
  columns: Record<string, Record<string, string>>;
  storage_location_template?: string;
}

/** Partition projection (`projection.*` and `storage.location.template` parameters); null when the table has none. */
export function partitionProjection(params: Record<string, string>): PartitionProjection | null {
  let found = false;
  const out: PartitionProjection = { enabled: false, columns: {} };
  for (const [key, value] of Object.entries(params)) {
    const k = key.toLowerCase();
    if (k === 'projection.enabled') {
      found = true;
      out.enabled = value.trim().toLowerCase() === 'true';
    } else if (k === 'storage.location.template') {
      found = true;
      out.storage_location_template = value;
    } else if (k.startsWith('projection.')) {
      // projection.<column>.<setting>; the setting may itself hold dots (interval.unit).
      const rest = key.slice('projection.'.length);
      const dot = rest.indexOf('.');
      if (dot <= 0 || dot === rest.length - 1) continue;
      found = true;
      const column = rest.slice(0, dot).toLowerCase();
      (out.columns[column] ??= {})[rest.slice(dot + 1)] = value;
    }
  }
  return found ? out : null;
}
