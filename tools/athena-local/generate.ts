/**
 * A procedural seed: every catalog, database, table, column and execution is a pure function of its
 * index and the seed number, so 20,000 tables x 50 columns and 100,000 executions cost almost no memory.
 */
import {
  hiveToTrinoType,
  type AthenaSeed,
  type CatalogInfo,
  type ColumnsAsSql,
  type DatabaseInfo,
  type SeedColumn,
  type SeedExecution,
  type SeedTable,
  type SeedWorkGroup,
  type StorageFormat,
} from './model';
import { hash32, indexFromUuid, indexedUuid, unit } from './prng';
import { syntheticStatement, type PickedTable } from './statements';

export interface GenerateOptions {
  /** Number of data catalogs; the first is AwsDataCatalog. Default 1. */
  catalogs?: number;
  databasesPerCatalog: number;
  tablesPerDatabase: number;
  columnsPerTable: number;
  /** Number of workgroups; the first is `primary`. */
  workgroups: number;
  executions: number;
  /** History spreads over now - 60 days .. now. */
  now: Date;
  seed: number;
  /** Default 45 (Athena's retention); null keeps everything. */
  historyRetentionDays?: number | null;
}

const DAY = 86_400_000;
const HISTORY_DAYS = 60;

// 61 words (prime), so stepping through them with any step visits each once: unique names per table.
const WORDS = [
  'id',
  'customer_id',
  'order_id',
  'amount',
  'currency',
  'created_at',
  'updated_at',
  'status',
  'country',
  'region',
  'email',
  'product_id',
  'quantity',
  'price',
  'discount',
  'channel',
  'campaign_id',
  'session_id',
  'event_type',
  'event_time',
  'user_agent',
  'ip_address',
  'sku',
  'category',
  'brand',
  'supplier_id',
  'warehouse_id',
  'shipment_id',
  'carrier',
  'tracking_number',
  'invoice_id',
  'account_id',
  'balance',
  'fx_rate',
  'tax_amount',
  'net_amount',
  'gross_amount',
  'payment_method',
  'card_type',
  'is_active',
  'is_deleted',
  'score',
  'segment',
  'cohort',
  'source',
  'medium',
  'referrer',
  'page_url',
  'duration_ms',
  'revenue',
  'cost',
  'margin',
  'employee_id',
  'department',
  'manager_id',
  'hire_date',
  'ticket_id',
  'priority',
  'resolution',
  'notes',
  'attributes',
] as const;
// 11 types (prime-friendly with step 7).
const TYPES = [
  'bigint',
  'string',
  'int',
  'double',
  'decimal(12,2)',
  'timestamp',
  'date',
  'boolean',
  'string',
  'array<string>',
  'map<string,string>',
] as const;
const PARTITION_KEYS = ['dt', 'region'] as const;
const DOMAINS = ['sales', 'marketing', 'finance', 'product', 'logistics', 'support', 'hr', 'risk', 'web', 'iot', 'billing', 'growth'];
const NOUNS = [
  'orders',
  'customers',
  'events',
  'payments',
  'invoices',
  'sessions',
  'shipments',
  'tickets',
  'accounts',
  'products',
  'clicks',
  'refunds',
  'leads',
  'campaigns',
  'inventory',
  'employees',
];
const WORKGROUPS = ['primary', 'analytics', 'etl', 'adhoc', 'reporting', 'data_science', 'finance_bi', 'marketing_ops'];
const FORMATS: StorageFormat[] = ['parquet', 'parquet', 'parquet', 'orc', 'csv', 'json', 'iceberg', 'avro'];

const sqlList = (xs: readonly string[]) => `[${xs.map((x) => `'${x.replace(/'/g, "''")}'`).join(', ')}]`;

/** Column `i` of a table with params p (see ColumnsAsSql); mirrored exactly by COLUMNS_SQL. */
function columnName(p: readonly number[], i: number): string {
  const w = WORDS[((p[0] as number) + i * (p[1] as number)) % WORDS.length] as string;
  return i >= WORDS.length ? `${w}_${Math.floor(i / WORDS.length)}` : w;
}
function column(p: readonly number[], i: number): SeedColumn {
  const name = columnName(p, i);
  const c: SeedColumn = { name, type: TYPES[((p[2] as number) + i * 7) % TYPES.length] as string };
  if ((i + (p[0] as number)) % 4 === 0) c.comment = `${name} column`;
  return c;
}

const COLUMNS_SQL = `
SELECT table_catalog, table_schema, table_name,
  list_extract(${sqlList(WORDS)}, ((p0 + i * p1) % ${WORDS.length})::INTEGER + 1)
    || CASE WHEN i >= ${WORDS.length} THEN '_' || (i // ${WORDS.length})::VARCHAR ELSE '' END AS column_name,
  (i + 1)::BIGINT AS ordinal_position, NULL::VARCHAR AS column_default, 'YES' AS is_nullable,
  list_extract(${sqlList(TYPES.map(hiveToTrinoType))}, ((p2 + i * 7) % ${TYPES.length})::INTEGER + 1) AS data_type,
  CASE WHEN (i + p0) % 4 = 0 THEN
    list_extract(${sqlList(WORDS)}, ((p0 + i * p1) % ${WORDS.length})::INTEGER + 1)
    || CASE WHEN i >= ${WORDS.length} THEN '_' || (i // ${WORDS.length})::VARCHAR ELSE '' END || ' column' END AS comment,
  NULL::VARCHAR AS extra_info
FROM (SELECT *, unnest(range(p3)) AS i FROM __seed_tables)
UNION ALL
SELECT table_catalog, table_schema, table_name, list_extract(${sqlList(PARTITION_KEYS)}, i::INTEGER + 1),
  (p3 + i + 1)::BIGINT, NULL::VARCHAR, 'YES', 'varchar', NULL::VARCHAR, 'partition key'
FROM (SELECT *, unnest(range(p4)) AS i FROM __seed_tables)`;

class GeneratedSeed implements AthenaSeed {
  readonly label: string;
  readonly historyRetentionDays: number | null;
  readonly columnsAsSql: ColumnsAsSql;
  private readonly nCatalogs: number;
  private readonly catalogList: CatalogInfo[];
  private readonly dbList: DatabaseInfo[];
  private readonly wgList: SeedWorkGroup[];
  private readonly now: number;
  private readonly start: number;

  constructor(private readonly o: GenerateOptions) {
    this.label = `generated(seed=${o.seed})`;
    this.historyRetentionDays = o.historyRetentionDays === undefined ? 45 : o.historyRetentionDays;
    this.nCatalogs = Math.max(1, o.catalogs ?? 1);
    this.now = o.now.getTime();
    this.start = this.now - HISTORY_DAYS * DAY;
    this.catalogList = Array.from({ length: this.nCatalogs }, (_, c): CatalogInfo =>
      c === 0
        ? {
            name: 'AwsDataCatalog',
            type: 'GLUE',
            description: 'Glue Data Catalog of account 000000000000',
            parameters: { 'catalog-id': '000000000000' },
          }
        : {
            name: `lake_catalog_${String(c).padStart(2, '0')}`,
            type: 'HIVE',
            description: `Hive metastore ${c}`,
            parameters: { 'metadata-function': `arn:aws:lambda:us-east-1:000000000000:function:hms-${c}` },
          },
    );
    this.dbList = Array.from({ length: o.databasesPerCatalog }, (_, d) => {
      const domain = DOMAINS[d % DOMAINS.length] as string;
      const name = d < DOMAINS.length ? domain : `${domain}_${Math.floor(d / DOMAINS.length)}`;
      return { name, description: `${domain} data (generated)`, parameters: { owner: `${domain}-team` } };
    });
    this.wgList = Array.from({ length: Math.max(1, o.workgroups) }, (_, k) => {
      const name = k < WORKGROUPS.length ? (WORKGROUPS[k] as string) : `wg_${k}`;
      const wg: SeedWorkGroup = {
        name,
        state: k % 7 === 6 ? 'DISABLED' : 'ENABLED',
        description: `${name} workgroup`,
        creationTime: new Date(this.now - (400 - k) * DAY),
      };
      // Every fifth workgroup has no output location, so callers must pass one (or fail like Athena).
      if (k === 0 || k % 5 !== 4) wg.outputLocation = `s3://athena-results-000000000000-us-east-1/${name}/`;
      return wg;
    });
    this.columnsAsSql = { params: (c, d, i) => this.params(this.catIndex(c), this.dbIndex(d), i), sql: COLUMNS_SQL };
  }

  private catIndex(catalog: string): number {
    return this.catalogList.findIndex((c) => c.name.toLowerCase() === catalog.toLowerCase());
  }
  private dbIndex(database: string): number {
    return this.dbList.findIndex((d) => d.name === database.toLowerCase());
  }
  private global(c: number, d: number, i: number): number {
    return (c * this.o.databasesPerCatalog + d) * this.o.tablesPerDatabase + i;
  }
  private isView(c: number, d: number, i: number): boolean {
    return i > 0 && hash32(this.o.seed, this.global(c, d, i), 7) % 10 === 0;
  }
  private baseOf(c: number, d: number, i: number): number {
    let b = i - 1;
    while (b > 0 && this.isView(c, d, b)) b--;
    return b;
  }
  /** [name offset, name step, type offset, column count, partition key count]. */
  private params(c: number, d: number, i: number): readonly number[] {
    if (this.isView(c, d, i)) {
      const base = this.params(c, d, this.baseOf(c, d, i));
      return [base[0] as number, base[1] as number, base[2] as number, Math.min(base[3] as number, 8), 0];
    }
    const g = this.global(c, d, i);
    const s = this.o.seed;
    return [
      hash32(s, g, 1) % WORDS.length,
      1 + (hash32(s, g, 2) % (WORDS.length - 1)),
      hash32(s, g, 3) % TYPES.length,
      this.o.columnsPerTable,
      hash32(s, g, 4) % 3,
    ];
  }
  private tableName(c: number, d: number, i: number): string {
    const noun = NOUNS[hash32(this.o.seed, this.global(c, d, i), 5) % NOUNS.length] as string;
    return this.isView(c, d, i) ? `v_${noun}_${i}` : `${noun}_${i}`;
  }

  catalogs(): readonly CatalogInfo[] {
    return this.catalogList;
  }
  databases(catalog: string): readonly DatabaseInfo[] | undefined {
    return this.catIndex(catalog) < 0 ? undefined : this.dbList;
  }
  tableCount(catalog: string, database: string): number {
    return this.catIndex(catalog) < 0 || this.dbIndex(database) < 0 ? 0 : this.o.tablesPerDatabase;
  }
  tableAt(catalog: string, database: string, index: number): SeedTable {
    const c = this.catIndex(catalog);
    const d = this.dbIndex(database);
    if (c < 0 || d < 0 || index < 0 || index >= this.o.tablesPerDatabase)
      throw new RangeError(`no table ${index} in ${catalog}.${database}`);
    return this.table(c, d, index);
  }
  private table(c: number, d: number, i: number): SeedTable {
    const p = this.params(c, d, i);
    const g = this.global(c, d, i);
    const s = this.o.seed;
    const db = (this.dbList[d] as DatabaseInfo).name;
    const name = this.tableName(c, d, i);
    const columns = Array.from({ length: p[3] as number }, (_, k) => column(p, k));
    const createTime = new Date(this.now - (1 + (hash32(s, g, 8) % 700)) * DAY - (hash32(s, g, 9) % DAY));
    const t: SeedTable = {
      name,
      tableType: 'EXTERNAL_TABLE',
      columns,
      partitionKeys: Array.from({ length: p[4] as number }, (_, k) => ({ name: PARTITION_KEYS[k] as string, type: 'string' })),
      parameters: {},
      createTime,
    };
    if (hash32(s, g, 10) % 3 === 0) t.lastAccessTime = new Date(this.now - (hash32(s, g, 11) % (30 * DAY)));
    if (this.isView(c, d, i)) {
      const base = this.tableName(c, d, this.baseOf(c, d, i));
      t.tableType = 'VIRTUAL_VIEW';
      t.viewSql = `SELECT ${columns.map((x) => x.name).join(', ')}\nFROM "${db}"."${base}"\nWHERE ${(columns[0] as SeedColumn).name} IS NOT NULL`;
      return t;
    }
    t.format = FORMATS[hash32(s, g, 12) % FORMATS.length] as StorageFormat;
    t.location = `s3://datalake-000000000000/${db}/${name}/`;
    if (hash32(s, g, 13) % 2 === 0) t.comment = `${name.replace(/_\d+$/, '')} data of ${db}`;
    return t;
  }
  findTable(catalog: string, database: string, name: string): number {
    const c = this.catIndex(catalog);
    const d = this.dbIndex(database);
    const m = /_(\d+)$/.exec(name);
    if (c < 0 || d < 0 || !m) return -1;
    const i = Number(m[1]);
    return i < this.o.tablesPerDatabase && this.tableName(c, d, i) === name.toLowerCase() ? i : -1;
  }
  workgroups(): readonly SeedWorkGroup[] {
    return this.wgList;
  }

  executionCount(): number {
    return this.o.executions;
  }
  executionTime(i: number): number {
    // Evenly spaced with jitter below half a slot: index order is time order.
    const slot = (HISTORY_DAYS * DAY) / Math.max(1, this.o.executions);
    return Math.floor(this.start + (i + 0.5 + (unit(this.o.seed, i, 20) - 0.5) * 0.8) * slot);
  }
  executionWorkgroup(i: number): string {
    // Skewed towards the first workgroups, as real accounts are.
    const k = Math.floor(Math.pow(unit(this.o.seed, i, 21), 1.6) * this.wgList.length);
    return (this.wgList[Math.min(k, this.wgList.length - 1)] as SeedWorkGroup).name;
  }
  findExecution(id: string): number {
    const i = indexFromUuid(this.o.seed, id);
    return i >= 0 && i < this.o.executions ? i : -1;
  }
  executionAt(i: number): SeedExecution {
    if (i < 0 || i >= this.o.executions) throw new RangeError(`no execution ${i}`);
    const s = this.o.seed;
    const submitted = this.executionTime(i);
    const c = hash32(s, i, 30) % this.nCatalogs;
    const d = hash32(s, i, 31) % Math.max(1, this.o.databasesPerCatalog);
    const pick = (k: number): PickedTable => {
      const ti = hash32(s, i, 32 + k) % Math.max(1, this.o.tablesPerDatabase);
      const t = this.table(c, d, ti);
      return {
        catalog: (this.catalogList[c] as CatalogInfo).name,
        database: (this.dbList[d] as DatabaseInfo).name,
        name: t.name,
        columns: t.columns.map((x) => x.name),
        partitionKeys: t.partitionKeys.map((x) => x.name),
        isView: t.tableType === 'VIRTUAL_VIEW',
      };
    };
    const at = new Date(submitted);
    const bucket = at.toISOString().slice(0, 10).replace(/-/g, '') + `_${i % 100}`;
    const st = syntheticStatement(pick, (k) => unit(s, i, 40 + k), at, bucket);
    return toExecution(indexedUuid(s, i), this.executionWorkgroup(i), submitted, st);
  }
}

/** Shapes a synthetic statement into a recorded execution, splitting its duration like Athena's stats. */
export function toExecution(id: string, workgroup: string, submitted: number, st: ReturnType<typeof syntheticStatement>): SeedExecution {
  const total = st.durationMs;
  const queueMs = Math.floor(total * 0.05) + 20;
  const planningMs = Math.floor(total * 0.1);
  const engineMs = total - queueMs - Math.floor(total * 0.02);
  const e: SeedExecution = {
    id,
    query: st.query,
    statementType: st.statementType,
    substatementType: st.substatementType,
    state: st.state,
    submittedAt: new Date(submitted),
    completedAt: new Date(submitted + total),
    workgroup,
    catalog: st.catalog,
    database: st.database,
    stats: {
      dataScannedBytes: st.dataScannedBytes,
      engineMs,
      queueMs,
      planningMs,
      preProcessingMs: Math.floor(total * 0.01),
      processingMs: Math.floor(total * 0.01),
      totalMs: total,
    },
  };
  if (st.error) e.error = st.error;
  if (st.state === 'CANCELLED') e.error = { message: 'Query cancelled by user', category: 2, type: 1005, retryable: false };
  return e;
}

export function generateSeed(options: GenerateOptions): AthenaSeed {
  return new GeneratedSeed(options);
}
