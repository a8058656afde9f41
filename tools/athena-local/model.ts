/**
 * The seed model: what the local Athena serves. A seed is read through `AthenaSeed` accessors so a
 * generated seed can compute any table or execution from its index instead of holding them in memory.
 */
import type { StatementType } from './statements';

export type CatalogType = 'GLUE' | 'LAMBDA' | 'HIVE' | 'FEDERATED';
export type WorkGroupState = 'ENABLED' | 'DISABLED';
export type ExecutionState = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';
export const STORAGE_FORMATS = ['parquet', 'orc', 'csv', 'json', 'avro', 'iceberg', 'delta', 'hudi'] as const;
export type StorageFormat = (typeof STORAGE_FORMATS)[number];

export interface SeedColumn {
  name: string;
  /** Hive type as Glue stores it: string, bigint, decimal(12,2), array<string>... */
  type: string;
  comment?: string;
}

export interface SeedTable {
  name: string;
  /** EXTERNAL_TABLE, MANAGED_TABLE or VIRTUAL_VIEW (Iceberg tables are EXTERNAL_TABLE + format iceberg). */
  tableType: string;
  columns: SeedColumn[];
  partitionKeys: SeedColumn[];
  /** The view's SQL (VIRTUAL_VIEW only); served as information_schema.views.view_definition. */
  viewSql?: string;
  comment?: string;
  /** Fills inputformat/outputformat/serde defaults; explicit fields win. */
  format?: StorageFormat;
  /**
   * An Iceberg table's partition spec as Athena's DDL writes it: `day(ts)`, `bucket(16, id)`, `region`.
   * Hidden partitions are not partition keys: Athena's table metadata does not show them (SHOW CREATE
   * TABLE does).
   */
  partitionSpec?: string[];
  /** SHOW CREATE TABLE fails with this message (a table Lake Formation hides, a broken metadata file). */
  showCreateError?: string;
  location?: string;
  inputFormat?: string;
  outputFormat?: string;
  serde?: string;
  /** Extra table parameters, merged over the derived ones. */
  parameters: Record<string, string>;
  createTime: Date;
  lastAccessTime?: Date;
}

export interface SeedDatabase {
  name: string;
  description?: string;
  parameters?: Record<string, string>;
  tables: SeedTable[];
}

export interface SeedCatalog {
  name: string;
  type: CatalogType;
  /**
   * false: usable by name but not returned by ListDataCatalogs, like the `s3tablescatalog/<bucket>`
   * catalogs of S3 Tables, which live in Glue and are not Athena data sources unless registered.
   */
  listed?: boolean;
  description?: string;
  parameters?: Record<string, string>;
  databases: SeedDatabase[];
}

export interface SeedWorkGroup {
  name: string;
  state: WorkGroupState;
  /** Configuration.ResultConfiguration.OutputLocation; none means queries need one in the request. */
  outputLocation?: string;
  /** EnforceWorkGroupConfiguration: the workgroup's output location overrides the request's. */
  enforceConfiguration?: boolean;
  description?: string;
  creationTime: Date;
  /** PREPARE'd statements of the workgroup, for GetPreparedStatement. */
  preparedStatements?: SeedPreparedStatement[];
}

export interface SeedPreparedStatement {
  name: string;
  /** The statement text after `PREPARE <name> FROM`. */
  statement: string;
  description?: string;
  lastModified?: Date;
}

export interface SeedExecutionError {
  message: string;
  /** AthenaError.ErrorCategory: 1 system, 2 user, 3 other. */
  category?: number;
  type?: number;
  retryable?: boolean;
}

export interface SeedExecutionStats {
  dataScannedBytes?: number;
  engineMs?: number;
  queueMs?: number;
  planningMs?: number;
  preProcessingMs?: number;
  processingMs?: number;
  totalMs?: number;
}

export interface SeedExecution {
  id: string;
  query: string;
  statementType: StatementType;
  substatementType?: string;
  state: ExecutionState;
  submittedAt: Date;
  /**
   * Where ListQueryExecutions places it, as an instant (default: submittedAt). Athena's listing is only
   * roughly newest-first; a later instant lists this execution among newer ones, on an earlier page.
   */
  listedAt?: Date;
  completedAt?: Date;
  workgroup: string;
  catalog?: string;
  database?: string;
  /** Defaults to the workgroup's location + `<id>.csv`. */
  outputLocation?: string;
  error?: SeedExecutionError;
  stats?: SeedExecutionStats;
}

/** Plain data form of a seed (what YAML/JSON files and demoSeed describe). */
export interface SeedData {
  catalogs: SeedCatalog[];
  workgroups: SeedWorkGroup[];
  executions: SeedExecution[];
  /** Athena keeps 45 days of query history; null keeps everything. */
  historyRetentionDays?: number | null;
}

export interface CatalogInfo {
  name: string;
  type: CatalogType;
  listed?: boolean;
  description?: string;
  parameters?: Record<string, string>;
}

export interface DatabaseInfo {
  name: string;
  description?: string;
  parameters?: Record<string, string>;
}

/**
 * For seeds too large to list their columns: integers stored beside each table in DuckDB, and a SELECT
 * that expands them into information_schema.columns rows (so a million columns never sit in JS).
 */
export interface ColumnsAsSql {
  params(catalog: string, database: string, index: number): readonly number[];
  /** Reads `__seed_tables` (table_catalog, table_schema, table_name, p0..p4); yields the columns view's columns. */
  sql: string;
}

/** Read access to a seed; lookups of catalog, database and table names are case-insensitive like Glue. */
export interface AthenaSeed {
  readonly label: string;
  readonly historyRetentionDays: number | null;
  catalogs(): readonly CatalogInfo[];
  databases(catalog: string): readonly DatabaseInfo[] | undefined;
  tableCount(catalog: string, database: string): number;
  tableAt(catalog: string, database: string, index: number): SeedTable;
  /** Index of the table, or -1. */
  findTable(catalog: string, database: string, name: string): number;
  workgroups(): readonly SeedWorkGroup[];
  /** Executions in listing order, oldest first: by `listedAt`, else submission time. */
  executionCount(): number;
  executionAt(index: number): SeedExecution;
  /** Cheap partial reads for listing without building whole executions. */
  executionWorkgroup(index: number): string;
  /** The instant that orders the listing (listedAt, else submittedAt). */
  executionTime(index: number): number;
  /** Index of the execution, or -1. */
  findExecution(id: string): number;
  readonly columnsAsSql?: ColumnsAsSql;
}

const lc = (s: string) => s.toLowerCase();

/** A seed over plain data: everything in memory (fine for demos and fixtures). */
export class StaticSeed implements AthenaSeed {
  readonly label: string;
  readonly historyRetentionDays: number | null;
  private readonly catalogMap = new Map<string, SeedCatalog>();
  private readonly dbMap = new Map<string, SeedDatabase>();
  private readonly tableIdx = new Map<string, number>();
  private readonly execs: SeedExecution[];
  private readonly execIdx = new Map<string, number>();

  constructor(
    readonly data: SeedData,
    label = 'static',
  ) {
    this.label = label;
    this.historyRetentionDays = data.historyRetentionDays === undefined ? 45 : data.historyRetentionDays;
    for (const c of data.catalogs) {
      this.catalogMap.set(lc(c.name), c);
      for (const d of c.databases) {
        this.dbMap.set(`${lc(c.name)}\u0000${lc(d.name)}`, d);
        d.tables.forEach((t, i) => this.tableIdx.set(`${lc(c.name)}\u0000${lc(d.name)}\u0000${lc(t.name)}`, i));
      }
    }
    this.execs = data.executions.slice().sort((a, b) => listed(a) - listed(b));
    this.execs.forEach((e, i) => this.execIdx.set(e.id, i));
  }

  catalogs(): readonly CatalogInfo[] {
    return this.data.catalogs;
  }
  databases(catalog: string): readonly DatabaseInfo[] | undefined {
    return this.catalogMap.get(lc(catalog))?.databases;
  }
  private db(catalog: string, database: string): SeedDatabase | undefined {
    return this.dbMap.get(`${lc(catalog)}\u0000${lc(database)}`);
  }
  tableCount(catalog: string, database: string): number {
    return this.db(catalog, database)?.tables.length ?? 0;
  }
  tableAt(catalog: string, database: string, index: number): SeedTable {
    const t = this.db(catalog, database)?.tables[index];
    if (!t) throw new RangeError(`no table ${index} in ${catalog}.${database}`);
    return t;
  }
  findTable(catalog: string, database: string, name: string): number {
    return this.tableIdx.get(`${lc(catalog)}\u0000${lc(database)}\u0000${lc(name)}`) ?? -1;
  }
  workgroups(): readonly SeedWorkGroup[] {
    return this.data.workgroups;
  }
  executionCount(): number {
    return this.execs.length;
  }
  executionAt(index: number): SeedExecution {
    const e = this.execs[index];
    if (!e) throw new RangeError(`no execution ${index}`);
    return e;
  }
  executionWorkgroup(index: number): string {
    return this.executionAt(index).workgroup;
  }
  executionTime(index: number): number {
    return listed(this.executionAt(index));
  }
  findExecution(id: string): number {
    return this.execIdx.get(id) ?? -1;
  }
}

const listed = (e: SeedExecution): number => (e.listedAt ?? e.submittedAt).getTime();

export function seedFromData(data: SeedData, label?: string): AthenaSeed {
  return new StaticSeed(data, label);
}

// ---------------------------------------------------------------- what Athena derives from Glue

const FORMATS: Record<Exclude<StorageFormat, 'iceberg' | 'delta'>, { input: string; output: string; serde: string }> = {
  parquet: {
    input: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
    output: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
    serde: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
  },
  orc: {
    input: 'org.apache.hadoop.hive.ql.io.orc.OrcInputFormat',
    output: 'org.apache.hadoop.hive.ql.io.orc.OrcOutputFormat',
    serde: 'org.apache.hadoop.hive.ql.io.orc.OrcSerde',
  },
  csv: {
    input: 'org.apache.hadoop.mapred.TextInputFormat',
    output: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
    serde: 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe',
  },
  json: {
    input: 'org.apache.hadoop.mapred.TextInputFormat',
    output: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
    serde: 'org.openx.data.jsonserde.JsonSerDe',
  },
  hudi: {
    input: 'org.apache.hudi.hadoop.HoodieParquetInputFormat',
    output: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
    serde: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
  },
  avro: {
    input: 'org.apache.hadoop.hive.ql.io.avro.AvroContainerInputFormat',
    output: 'org.apache.hadoop.hive.ql.io.avro.AvroContainerOutputFormat',
    serde: 'org.apache.hadoop.hive.serde2.avro.AvroSerDe',
  },
};

/**
 * TableMetadata.Parameters as Athena returns them: Glue's table parameters flattened with the storage
 * descriptor (location, inputformat, outputformat, serde.serialization.lib, serde.param.*). Views carry
 * only the Presto view markers: Athena does not return a view's SQL here (information_schema.views does).
 */
export function athenaTableParameters(t: SeedTable): Record<string, string> {
  if (t.tableType === 'VIRTUAL_VIEW') return { comment: 'Presto View', presto_view: 'true', ...t.parameters };
  const p: Record<string, string> = {};
  const fmt = t.format ?? 'parquet';
  if (fmt === 'iceberg') {
    p.table_type = 'ICEBERG';
    if (t.location) p.metadata_location = `${t.location.replace(/\/$/, '')}/metadata/00000-${t.name}.metadata.json`;
  } else if (fmt === 'delta') {
    // Athena's native Delta Lake tables: the format is a table property; the storage descriptor is empty.
    p.EXTERNAL = 'TRUE';
    p.table_type = 'DELTA';
  } else {
    p.EXTERNAL = 'TRUE';
    p.classification = fmt;
  }
  p.transient_lastDdlTime = String(Math.floor(t.createTime.getTime() / 1000));
  if (t.comment) p.comment = t.comment;
  if (t.location !== undefined) p.location = t.location;
  if (fmt !== 'iceberg' && fmt !== 'delta') {
    const d = FORMATS[fmt];
    p.inputformat = t.inputFormat ?? d.input;
    p.outputformat = t.outputFormat ?? d.output;
    p['serde.serialization.lib'] = t.serde ?? d.serde;
    p['serde.param.serialization.format'] = fmt === 'csv' ? ',' : '1';
    if (fmt === 'csv') p['serde.param.field.delim'] = ',';
  }
  return { ...p, ...t.parameters };
}

/** Splits `a,b<c,d>,e` at top-level commas. */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '<' || ch === '(') depth++;
    if (ch === '>' || ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

/** The engine's name for a Hive type, as information_schema.columns.data_type shows it (string -> varchar). */
export function hiveToTrinoType(hive: string): string {
  const t = hive.trim();
  const lower = t.toLowerCase();
  const generic = /^(array|map|struct)\s*<([\s\S]*)>$/i.exec(t);
  if (generic) {
    const kind = (generic[1] as string).toLowerCase();
    const inner = splitTop(generic[2] as string);
    if (kind === 'array') return `array(${hiveToTrinoType(inner[0] ?? 'string')})`;
    if (kind === 'map') return `map(${hiveToTrinoType(inner[0] ?? 'string')}, ${hiveToTrinoType(inner[1] ?? 'string')})`;
    return `row(${inner
      .map((f) => {
        const i = f.indexOf(':');
        return `${f.slice(0, i).trim()} ${hiveToTrinoType(f.slice(i + 1))}`;
      })
      .join(', ')})`;
  }
  switch (lower) {
    case 'string':
      return 'varchar';
    case 'int':
      return 'integer';
    case 'float':
      return 'real';
    case 'binary':
      return 'varbinary';
    case 'timestamp':
      return 'timestamp(3)';
    default:
      return lower;
  }
}
