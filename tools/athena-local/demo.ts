/**
 * The product demo's seed: small and readable. Two catalogs, more than 50 tables in `sales` so listing
 * pages, views with SQL, and two days of history with CTAS, INSERT, CREATE VIEW and DDL for lineage.
 * fixtures/demo.yaml is this same data (main.ts --export-demo-yaml regenerates it; a test checks it).
 */
import {
  seedFromData,
  type AthenaSeed,
  type SeedColumn,
  type SeedData,
  type SeedExecution,
  type SeedTable,
  type StorageFormat,
} from './model';
import { indexedUuid } from './prng';
import { classifyStatement } from './statements';

const S = 1000;
const H = 3600 * S;
const D = 24 * H;

/** `name type -- comment` shorthand, the same the seed file accepts. */
export function parseColumn(spec: string): SeedColumn {
  const cut = /\s+--\s+/.exec(spec);
  const def = cut ? spec.slice(0, cut.index) : spec;
  const comment = cut ? spec.slice(cut.index + cut[0].length) : undefined;
  const m = /^\s*(\S+)\s+(.+?)\s*$/.exec(def);
  if (!m) throw new Error(`bad column "${spec}": expected "name type [-- comment]"`);
  const c: SeedColumn = { name: m[1] as string, type: m[2] as string };
  if (comment) c.comment = comment.trim();
  return c;
}
const cols = (...specs: string[]) => specs.map(parseColumn);

const ENTITIES: Record<string, SeedColumn[]> = {
  orders: cols(
    'order_id bigint -- Order key',
    'customer_id bigint',
    'store_id int',
    'order_ts timestamp',
    'status string -- open, paid, shipped, refunded',
    'currency string',
    'gross_amount decimal(12,2)',
    'net_amount decimal(12,2)',
    'channel string',
  ),
  order_items: cols(
    'order_id bigint',
    'line_no int',
    'product_id bigint',
    'quantity int',
    'unit_price decimal(12,2)',
    'discount decimal(5,2)',
  ),
  customers: cols(
    'customer_id bigint -- Customer key',
    'email string -- PII',
    'first_name string',
    'last_name string',
    'country string',
    'segment string',
    'signup_ts timestamp',
    'is_active boolean',
  ),
  products: cols(
    'product_id bigint',
    'sku string',
    'name string',
    'category string',
    'brand string',
    'list_price decimal(12,2)',
    'attributes map<string,string>',
  ),
  payments: cols('payment_id bigint', 'order_id bigint', 'method string', 'card_type string', 'amount decimal(12,2)', 'paid_ts timestamp'),
  refunds: cols('refund_id bigint', 'order_id bigint', 'amount decimal(12,2)', 'reason string', 'refund_ts timestamp'),
  shipments: cols(
    'shipment_id bigint',
    'order_id bigint',
    'carrier string',
    'tracking_number string',
    'shipped_ts timestamp',
    'delivered_ts timestamp',
  ),
  returns: cols('return_id bigint', 'order_id bigint', 'product_id bigint', 'quantity int', 'condition string'),
  promotions: cols('promotion_id int', 'code string', 'discount_pct double', 'starts_on date', 'ends_on date'),
  price_history: cols('product_id bigint', 'price decimal(12,2)', 'valid_from timestamp', 'valid_to timestamp'),
  stores: cols('store_id int', 'name string', 'city string', 'country string', 'opened_on date'),
  sales_reps: cols('rep_id int', 'name string', 'email string -- PII', 'region string', 'manager_id int'),
  quotas: cols('rep_id int', 'quarter string', 'quota_amount decimal(14,2)'),
  invoices: cols('invoice_id bigint', 'order_id bigint', 'issued_on date', 'due_on date', 'total decimal(12,2)', 'tax decimal(12,2)'),
  daily_revenue: cols('day date', 'store_id int', 'orders bigint', 'revenue decimal(14,2)'),
  targets: cols('region string', 'month string', 'target_revenue decimal(14,2)'),
  partner_orders: cols(
    'partner_order_id string',
    'sku string',
    'quantity int',
    'amount decimal(12,2)',
    'ordered_at string',
    'payload string -- raw JSON',
  ),
};
const PART_DT = cols('dt string -- Load date, yyyy-MM-dd');

function table(name: string, columns: SeedColumn[], created: number, o: Partial<SeedTable> = {}): SeedTable {
  return { name, tableType: 'EXTERNAL_TABLE', columns, partitionKeys: [], parameters: {}, createTime: new Date(created), ...o };
}

function salesTables(now: number, db: string): SeedTable[] {
  const loc = (n: string) => `s3://acme-datalake/${db}/${n}/`;
  const t = (name: string, entity: string, ageDays: number, format: StorageFormat, o: Partial<SeedTable> = {}) =>
    table(name, ENTITIES[entity] as SeedColumn[], now - ageDays * D, {
      format,
      location: loc(name),
      lastAccessTime: new Date(now - (ageDays % 5) * H - H),
      ...o,
    });
  const out: SeedTable[] = [
    t('orders', 'orders', 400, 'parquet', { partitionKeys: PART_DT, comment: 'One row per customer order' }),
    t('order_items', 'order_items', 400, 'parquet', { partitionKeys: PART_DT }),
    t('customers', 'customers', 420, 'parquet', { comment: 'Customer master data (contains PII)' }),
    t('products', 'products', 380, 'parquet'),
    t('payments', 'payments', 300, 'parquet', { partitionKeys: PART_DT }),
    t('refunds', 'refunds', 250, 'parquet'),
    t('shipments', 'shipments', 240, 'orc'),
    t('returns', 'returns', 200, 'orc'),
    t('promotions', 'promotions', 180, 'csv'),
    t('price_history', 'price_history', 170, 'parquet'),
    t('stores', 'stores', 500, 'csv'),
    t('sales_reps', 'sales_reps', 450, 'csv'),
    t('quotas', 'quotas', 90, 'csv'),
    t('invoices', 'invoices', 320, 'parquet', { partitionKeys: PART_DT }),
    t('orders_iceberg', 'orders', 60, 'iceberg', {
      comment: 'Orders as an Iceberg table (migration in progress)',
      partitionSpec: ['day(order_ts)', 'bucket(16, customer_id)'],
    }),
    t('customers_iceberg', 'customers', 60, 'iceberg', { partitionSpec: ['country'] }),
  ];
  for (const r of ['us', 'eu', 'apac', 'latam'])
    out.push(t(`daily_revenue_${r}`, 'daily_revenue', 150, 'parquet', { comment: `Daily revenue, ${r.toUpperCase()}` }));
  for (const r of ['us', 'eu', 'apac', 'latam']) out.push(t(`orders_${r}_raw`, 'orders', 350, 'json', { partitionKeys: PART_DT }));
  for (const y of [2019, 2020, 2021, 2022, 2023, 2024]) out.push(t(`orders_archive_${y}`, 'orders', 700 - (y - 2019) * 60, 'orc'));
  for (const e of [
    'orders',
    'customers',
    'payments',
    'products',
    'shipments',
    'refunds',
    'invoices',
    'order_items',
    'returns',
    'promotions',
  ])
    out.push(t(`stg_${e}`, e, 30, 'csv', { comment: `Staging copy of ${e}` }));
  for (const p of ['acme', 'globex', 'initech', 'umbrella', 'hooli', 'stark'])
    out.push(t(`ext_partner_${p}_orders`, 'partner_orders', 120, 'json', { partitionKeys: PART_DT }));
  for (const q of ['q1', 'q2', 'q3', 'q4']) out.push(t(`sales_targets_${q}`, 'targets', 100, 'csv'));
  const view = (name: string, sql: string, columns: SeedColumn[], ageDays: number): SeedTable =>
    table(name, columns, now - ageDays * D, { tableType: 'VIRTUAL_VIEW', viewSql: sql });
  out.push(
    view(
      'v_customer_ltv',
      "SELECT c.customer_id, c.email, c.segment, sum(o.net_amount) AS lifetime_value, count(*) AS orders\nFROM sales.customers c\nJOIN sales.orders o ON o.customer_id = c.customer_id\nWHERE o.status <> 'refunded'\nGROUP BY 1, 2, 3",
      cols('customer_id bigint', 'email string', 'segment string', 'lifetime_value decimal(22,2)', 'orders bigint'),
      45,
    ),
    view(
      'v_daily_revenue',
      "SELECT day, store_id, orders, revenue, 'us' AS region FROM sales.daily_revenue_us\nUNION ALL SELECT day, store_id, orders, revenue, 'eu' FROM sales.daily_revenue_eu\nUNION ALL SELECT day, store_id, orders, revenue, 'apac' FROM sales.daily_revenue_apac\nUNION ALL SELECT day, store_id, orders, revenue, 'latam' FROM sales.daily_revenue_latam",
      cols('day date', 'store_id int', 'orders bigint', 'revenue decimal(14,2)', 'region varchar(5)'),
      40,
    ),
    view(
      'v_open_orders',
      "SELECT order_id, customer_id, order_ts, gross_amount FROM sales.orders WHERE status = 'open'",
      cols('order_id bigint', 'customer_id bigint', 'order_ts timestamp', 'gross_amount decimal(12,2)'),
      30,
    ),
    view(
      'v_top_products',
      'SELECT p.product_id, p.name, sum(i.quantity) AS units\nFROM sales.order_items i JOIN sales.products p ON p.product_id = i.product_id\nGROUP BY 1, 2\nORDER BY units DESC\nLIMIT 100',
      cols('product_id bigint', 'name string', 'units bigint'),
      20,
    ),
    view(
      'v_orders_enriched',
      'SELECT o.*, c.country, c.segment, s.carrier\nFROM sales.orders o\nLEFT JOIN sales.customers c ON c.customer_id = o.customer_id\nLEFT JOIN sales.shipments s ON s.order_id = o.order_id',
      [...(ENTITIES.orders as SeedColumn[]), ...cols('country string', 'segment string', 'carrier string')],
      10,
    ),
  );
  return out;
}

function marketingTables(now: number): SeedTable[] {
  const t = (name: string, ageDays: number, columns: SeedColumn[], o: Partial<SeedTable> = {}) =>
    table(name, columns, now - ageDays * D, { format: 'parquet', location: `s3://acme-datalake/marketing/${name}/`, ...o });
  return [
    t('campaigns', 300, cols('campaign_id int', 'name string', 'channel string', 'budget decimal(12,2)', 'starts_on date', 'ends_on date')),
    t('ad_spend', 280, cols('campaign_id int', 'day date', 'impressions bigint', 'clicks bigint', 'spend decimal(12,2)'), {
      partitionKeys: PART_DT,
    }),
    t('email_sends', 200, cols('send_id bigint', 'campaign_id int', 'customer_id bigint', 'sent_ts timestamp')),
    t('email_events', 200, cols('send_id bigint', 'event_type string -- open, click, bounce', 'event_ts timestamp'), {
      partitionKeys: PART_DT,
    }),
    t(
      'web_sessions',
      150,
      cols(
        'session_id string',
        'customer_id bigint',
        'started_ts timestamp',
        'utm_source string',
        'utm_medium string',
        'utm_campaign string',
        'device struct<os:string,browser:string>',
      ),
      {
        partitionKeys: PART_DT,
        format: 'json',
      },
    ),
    t('page_views', 150, cols('session_id string', 'url string', 'viewed_ts timestamp', 'referrer string'), {
      partitionKeys: PART_DT,
      format: 'json',
    }),
    t('leads', 120, cols('lead_id bigint', 'email string -- PII', 'source string', 'score int', 'created_ts timestamp')),
    t('attribution_touchpoints', 90, cols('customer_id bigint', 'order_id bigint', 'campaign_id int', 'weight double')),
    t('utm_sources', 400, cols('utm_source string', 'channel_group string'), { format: 'csv' }),
    t('campaign_touches', 60, cols('campaign_id int', 'customer_id bigint', 'touched_ts timestamp'), { format: 'delta' }),
    // Partition projection: Athena computes the partitions from these settings instead of listing them.
    t('cdn_logs', 100, cols('request_id string', 'url string', 'status int', 'bytes bigint'), {
      format: 'json',
      partitionKeys: PART_DT,
      parameters: {
        'projection.enabled': 'true',
        'projection.dt.type': 'date',
        'projection.dt.range': '2024-01-01,NOW',
        'projection.dt.format': 'yyyy-MM-dd',
        'storage.location.template': 's3://acme-datalake/marketing/cdn_logs/${dt}/',
      },
    }),
    table(
      'v_campaign_roi',
      cols('campaign_id int', 'name string', 'spend decimal(22,2)', 'revenue decimal(22,2)', 'roi double'),
      now - 25 * D,
      {
        tableType: 'VIRTUAL_VIEW',
        viewSql:
          'SELECT c.campaign_id, c.name, sum(a.spend) AS spend, sum(o.net_amount * t.weight) AS revenue,\n  sum(o.net_amount * t.weight) / nullif(sum(a.spend), 0) AS roi\nFROM marketing.campaigns c\nJOIN marketing.ad_spend a ON a.campaign_id = c.campaign_id\nJOIN marketing.attribution_touchpoints t ON t.campaign_id = c.campaign_id\nJOIN sales.orders o ON o.order_id = t.order_id\nGROUP BY 1, 2',
      },
    ),
    table('v_funnel', cols('day date', 'sessions bigint', 'leads bigint', 'orders bigint'), now - 12 * D, {
      tableType: 'VIRTUAL_VIEW',
      viewSql:
        'SELECT date(s.started_ts) AS day, count(DISTINCT s.session_id) AS sessions, count(DISTINCT l.lead_id) AS leads, count(DISTINCT o.order_id) AS orders\nFROM marketing.web_sessions s\nLEFT JOIN marketing.leads l ON date(l.created_ts) = date(s.started_ts)\nLEFT JOIN sales.orders o ON o.customer_id = s.customer_id AND date(o.order_ts) = date(s.started_ts)\nGROUP BY 1',
    }),
  ];
}

function financeTables(now: number): SeedTable[] {
  const t = (name: string, ageDays: number, columns: SeedColumn[], o: Partial<SeedTable> = {}) =>
    table(name, columns, now - ageDays * D, { format: 'parquet', location: `s3://acme-finance/${name}/`, ...o });
  return [
    t(
      'gl_entries',
      600,
      cols('entry_id bigint', 'account string', 'cost_center string', 'amount decimal(16,2)', 'currency string', 'posted_on date'),
      { partitionKeys: cols('fiscal_year int', 'fiscal_month int') },
    ),
    t('invoices', 500, cols('invoice_id bigint', 'customer_id bigint', 'amount decimal(12,2)', 'issued_on date', 'paid_on date')),
    t('payments_ledger', 500, cols('payment_id bigint', 'invoice_id bigint', 'amount decimal(12,2)', 'received_on date')),
    t('fx_rates', 700, cols('currency string', 'day date', 'rate_to_usd double'), { format: 'csv' }),
    t('budgets', 300, cols('cost_center string', 'fiscal_year int', 'amount decimal(16,2)')),
    t('cost_centers', 800, cols('cost_center string', 'name string', 'owner_email string -- PII'), { format: 'csv' }),
    t('revenue_recognition', 60, cols('order_id bigint', 'recognized_on date', 'amount_usd decimal(14,2)'), {
      format: 'iceberg',
      comment: 'Recognized revenue in USD',
      partitionSpec: ['month(recognized_on)'],
    }),
    table('v_monthly_pnl', cols('month varchar', 'cost_center string', 'net decimal(26,2)'), now - 15 * D, {
      tableType: 'VIRTUAL_VIEW',
      viewSql: "SELECT date_format(posted_on, '%Y-%m') AS month, cost_center, sum(amount) AS net\nFROM finance.gl_entries\nGROUP BY 1, 2",
    }),
  ];
}

function hiveTables(now: number): SeedTable[] {
  const t = (name: string, columns: SeedColumn[], o: Partial<SeedTable> = {}) =>
    table(name, columns, now - 900 * D, { format: 'orc', location: `hdfs://warehouse/legacy_dw.db/${name}`, ...o });
  return [
    t('dim_customer', cols('customer_sk bigint', 'customer_id bigint', 'name string', 'valid_from date', 'valid_to date')),
    t('dim_product', cols('product_sk bigint', 'sku string', 'name string')),
    t('fact_sales', cols('customer_sk bigint', 'product_sk bigint', 'day date', 'amount decimal(14,2)'), {
      partitionKeys: cols('year int'),
    }),
    table('v_sales_summary', cols('year int', 'amount decimal(24,2)'), now - 800 * D, {
      tableType: 'VIRTUAL_VIEW',
      viewSql: 'SELECT year, sum(amount) AS amount FROM legacy_dw.fact_sales GROUP BY year',
    }),
  ];
}

/** The statements of the demo history; each runs a few times over two days. */
const HISTORY: { wg: string; db: string; sql: string; fail?: string }[] = [
  {
    wg: 'etl',
    db: 'sales',
    sql: "INSERT INTO sales.orders\nSELECT order_id, customer_id, store_id, order_ts, status, currency, gross_amount, net_amount, channel, dt\nFROM sales.stg_orders\nWHERE dt = '${day}'",
  },
  { wg: 'etl', db: 'sales', sql: "INSERT INTO sales.payments SELECT * FROM sales.stg_payments WHERE dt = '${day}'" },
  {
    wg: 'etl',
    db: 'sales',
    sql: "ALTER TABLE sales.orders ADD IF NOT EXISTS PARTITION (dt = '${part}') LOCATION 's3://acme-datalake/sales/orders/dt=${part}/'",
  },
  { wg: 'etl', db: 'marketing', sql: 'MSCK REPAIR TABLE marketing.email_events' },
  {
    wg: 'analytics',
    db: 'sales',
    sql: "SELECT c.segment, count(DISTINCT o.customer_id) AS buyers, sum(o.net_amount) AS revenue\nFROM sales.orders o\nJOIN sales.customers c ON c.customer_id = o.customer_id\nWHERE o.dt >= '${day}' AND o.status IN ('paid', 'shipped')\nGROUP BY 1\nORDER BY revenue DESC",
  },
  { wg: 'analytics', db: 'sales', sql: 'SELECT * FROM sales.v_customer_ltv ORDER BY lifetime_value DESC LIMIT 50' },
  {
    wg: 'etl',
    db: 'sales',
    sql: "CREATE TABLE sales.customer_ltv_${stamp}\nWITH (format = 'PARQUET', external_location = 's3://acme-datalake/sales/customer_ltv_${stamp}/')\nAS SELECT c.customer_id, c.segment, sum(o.net_amount) AS ltv\nFROM sales.customers c JOIN sales.orders o ON o.customer_id = c.customer_id\nGROUP BY 1, 2",
  },
  {
    wg: 'analytics',
    db: 'marketing',
    sql: 'SELECT campaign_id, name, roi FROM marketing.v_campaign_roi WHERE roi > 1.5 ORDER BY roi DESC',
  },
  {
    wg: 'primary',
    db: 'finance',
    sql: "SELECT month, sum(net) AS net FROM finance.v_monthly_pnl WHERE month >= '2025-01' GROUP BY 1 ORDER BY 1",
  },
  {
    wg: 'etl',
    db: 'finance',
    sql: "INSERT INTO finance.revenue_recognition\nSELECT o.order_id, date(o.order_ts), o.net_amount * f.rate_to_usd\nFROM sales.orders o JOIN finance.fx_rates f ON f.currency = o.currency AND f.day = date(o.order_ts)\nWHERE o.dt = '${day}'",
  },
  {
    wg: 'analytics',
    db: 'sales',
    sql: 'CREATE OR REPLACE VIEW sales.v_refund_rate AS\nSELECT date(o.order_ts) AS day, count(r.refund_id) * 1.0 / count(*) AS refund_rate\nFROM sales.orders o LEFT JOIN sales.refunds r ON r.order_id = o.order_id\nGROUP BY 1',
  },
  {
    wg: 'adhoc',
    db: 'sales',
    sql: 'SELECT order_id, gross_amount, discount_code FROM sales.orders LIMIT 10',
    fail: "COLUMN_NOT_FOUND: line 1:31: Column 'discount_code' cannot be resolved or requester is not authorized to access requested resources",
  },
  { wg: 'etl', db: 'sales', sql: 'DROP TABLE IF EXISTS `sales`.`tmp_orders_dedup`' },
  { wg: 'etl', db: 'sales', sql: "CREATE TABLE sales.tmp_orders_dedup AS\nSELECT DISTINCT * FROM sales.stg_orders WHERE dt = '${day}'" },
  {
    wg: 'analytics',
    db: 'marketing',
    sql: "SELECT s.utm_source, u.channel_group, count(*) AS sessions\nFROM marketing.web_sessions s LEFT JOIN marketing.utm_sources u ON u.utm_source = s.utm_source\nWHERE s.dt = '${day}'\nGROUP BY 1, 2",
  },
  { wg: 'primary', db: 'sales', sql: 'SHOW PARTITIONS sales.orders' },
  {
    wg: 'adhoc',
    db: 'sales',
    sql: 'SELECT * FROM sales.order_lines LIMIT 100',
    fail: "TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog.sales.order_lines' does not exist",
  },
  {
    wg: 'analytics',
    db: 'sales',
    sql: "SELECT p.category, sum(i.quantity * i.unit_price) AS revenue\nFROM sales.order_items i JOIN sales.products p ON p.product_id = i.product_id\nWHERE i.dt = '${day}'\nGROUP BY 1",
  },
  {
    wg: 'etl',
    db: 'marketing',
    sql: "CREATE TABLE marketing.campaign_daily_${stamp}\nWITH (format = 'PARQUET') AS\nSELECT a.campaign_id, a.day, a.spend, count(e.send_id) AS opens\nFROM marketing.ad_spend a LEFT JOIN marketing.email_sends e ON e.campaign_id = a.campaign_id\nGROUP BY 1, 2, 3",
  },
  {
    wg: 'analytics',
    db: 'finance',
    sql: 'CREATE OR REPLACE VIEW finance.v_open_invoices AS\nSELECT i.invoice_id, i.customer_id, i.amount FROM finance.invoices i\nLEFT JOIN finance.payments_ledger p ON p.invoice_id = i.invoice_id\nWHERE p.payment_id IS NULL',
  },
  {
    wg: 'adhoc',
    db: 'finance',
    sql: 'SELEC * FROM finance.budgets',
    fail: "line 1:1: mismatched input 'SELEC'. Expecting: 'ALTER', 'ANALYZE', 'CALL', 'COMMENT', 'COMMIT', 'CREATE', 'DEALLOCATE', 'DELETE', 'DESC', 'DESCRIBE', 'DROP', 'EXECUTE', 'EXPLAIN', 'GRANT', 'INSERT', 'MERGE', <query>",
  },
  {
    wg: 'primary',
    db: 'default',
    sql: "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'sales' ORDER BY 1, 2",
  },
];

/** The demo data: times are whole seconds before `now`, so fixtures/demo.yaml can say them as `-2h5m`. */
export function demoSeedData(now: Date): SeedData {
  const t0 = now.getTime();
  const executions: SeedExecution[] = [];
  for (let k = 0; k < 52; k++) {
    const h = HISTORY[(k * 7) % HISTORY.length] as (typeof HISTORY)[number];
    const ago = 47 * H - k * 54 * 60 * S - ((k * 37) % 600) * S;
    const submitted = t0 - ago;
    // Literals that do not depend on `now`, so the fixture file is the same data whenever it is loaded.
    const query = h.sql
      .replace(/'\$\{day\}'/g, "date_format(current_date - interval '1' day, '%Y-%m-%d')")
      .replace(/\$\{part\}/g, new Date(Date.UTC(2025, 0, 1) + k * D).toISOString().slice(0, 10))
      .replace(/\$\{stamp\}/g, `run${k}`);
    const total = (2 + ((k * 13) % 40)) * S + ((k * 211) % 1000);
    const e: SeedExecution = {
      id: indexedUuid(4242, k),
      query,
      ...classifyStatement(query),
      state: h.fail ? 'FAILED' : 'SUCCEEDED',
      submittedAt: new Date(submitted),
      completedAt: new Date(submitted + total),
      workgroup: h.wg,
      catalog: 'AwsDataCatalog',
      database: h.db,
      stats: {
        dataScannedBytes: h.fail ? 0 : ((k * 7919) % 5000) * 1_048_576,
        totalMs: total,
        queueMs: 80 + ((k * 31) % 400),
        planningMs: 150 + ((k * 17) % 300),
        engineMs: total - 300,
      },
    };
    if (h.fail) e.error = { message: h.fail, category: 2, type: h.fail.startsWith('line') ? 1004 : 1006, retryable: false };
    executions.push(e);
  }
  // The newest statement was stopped by its user.
  const last = executions[executions.length - 1] as SeedExecution;
  last.state = 'CANCELLED';
  delete last.error;
  return {
    historyRetentionDays: 45,
    catalogs: [
      {
        name: 'AwsDataCatalog',
        type: 'GLUE',
        description: 'Glue Data Catalog of account 000000000000',
        parameters: { 'catalog-id': '000000000000' },
        databases: [
          {
            name: 'sales',
            description: 'Orders, customers and revenue',
            parameters: { owner: 'sales-analytics' },
            tables: salesTables(t0, 'sales'),
          },
          { name: 'marketing', description: 'Campaigns, web and email engagement', tables: marketingTables(t0) },
          {
            name: 'finance',
            description: 'General ledger and invoicing',
            parameters: { owner: 'finance-data', classification: 'confidential' },
            tables: financeTables(t0),
          },
        ],
      },
      {
        name: 'hive_onprem',
        type: 'HIVE',
        description: 'On-premises Hive metastore through a Lambda connector',
        parameters: { 'metadata-function': 'arn:aws:lambda:us-east-1:000000000000:function:athena-hms' },
        databases: [{ name: 'legacy_dw', description: 'The old warehouse', tables: hiveTables(t0) }],
      },
      {
        // An S3 Tables bucket: reachable by this name (list it in `catalogs`), not an Athena data source.
        name: 's3tablescatalog/acme-analytics',
        type: 'GLUE',
        listed: false,
        databases: [
          {
            name: 'product',
            tables: [
              table('feature_usage', cols('account_id bigint', 'feature string', 'event_ts timestamp'), t0 - 30 * D, {
                format: 'iceberg',
                location: 's3://acme-analytics--table-s3/',
                partitionSpec: ['day(event_ts)'],
              }),
            ],
          },
        ],
      },
    ],
    workgroups: [
      {
        name: 'primary',
        state: 'ENABLED',
        outputLocation: 's3://acme-athena-results/primary/',
        description: 'Default workgroup',
        creationTime: new Date(t0 - 900 * D),
      },
      {
        name: 'analytics',
        state: 'ENABLED',
        outputLocation: 's3://acme-athena-results/analytics/',
        enforceConfiguration: true,
        description: 'BI and analysts',
        creationTime: new Date(t0 - 400 * D),
      },
      {
        name: 'etl',
        state: 'ENABLED',
        outputLocation: 's3://acme-athena-results/etl/',
        description: 'Scheduled pipelines',
        creationTime: new Date(t0 - 380 * D),
      },
      { name: 'adhoc', state: 'ENABLED', description: 'Exploration; no default output location', creationTime: new Date(t0 - 200 * D) },
      {
        name: 'legacy',
        state: 'DISABLED',
        outputLocation: 's3://acme-athena-results/legacy/',
        description: 'Retired',
        creationTime: new Date(t0 - 1000 * D),
      },
    ],
    executions,
  };
}

export function demoSeed(now: Date): AthenaSeed {
  return seedFromData(demoSeedData(now), 'demo');
}
