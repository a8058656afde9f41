/**
 * The demo's PostgreSQL: a real server (./server.ts) with a small shop schema (a partitioned table,
 * keys, an enum, comments, a view and a materialized view), pg_stat_statements, the DDL audit table of
 * docs/postgres-ddl-audit.sql (so the schema's creation shows as events), a read-only role for the
 * collector, and an application role whose traffic gives usage something to count.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DemoPostgres } from '../../src/cli/dev-tools';
import { startPostgres, type TestPostgres } from './server';

export type { DemoPostgres };

const SCHEMA = `
  CREATE EXTENSION pg_stat_statements;
  CREATE SCHEMA sales;
  CREATE SCHEMA reporting;
  CREATE TYPE sales.order_status AS ENUM ('new', 'paid', 'shipped', 'refunded');
  CREATE TABLE sales.customers (
    customer_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email text NOT NULL UNIQUE,
    segment text NOT NULL DEFAULT 'retail',
    created_at timestamptz NOT NULL DEFAULT now()
  );
  COMMENT ON TABLE sales.customers IS 'Customer master data (contains PII)';
  COMMENT ON COLUMN sales.customers.email IS 'Where receipts go';
  CREATE TABLE sales.products (product_id int PRIMARY KEY, name text NOT NULL, unit_price numeric(10, 2) NOT NULL);
  CREATE TABLE sales.orders (
    order_id bigint NOT NULL,
    customer_id bigint NOT NULL REFERENCES sales.customers (customer_id),
    status sales.order_status NOT NULL DEFAULT 'new',
    ordered_at date NOT NULL,
    amount numeric(12, 2) NOT NULL,
    PRIMARY KEY (order_id, ordered_at)
  ) PARTITION BY RANGE (ordered_at);
  COMMENT ON TABLE sales.orders IS 'One row per customer order, partitioned by year';
  CREATE TABLE sales.orders_2026 PARTITION OF sales.orders FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
  CREATE TABLE sales.orders_2027 PARTITION OF sales.orders FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');
  CREATE TABLE sales.order_items (
    order_id bigint NOT NULL,
    ordered_at date NOT NULL,
    product_id int NOT NULL REFERENCES sales.products (product_id),
    quantity int NOT NULL CHECK (quantity > 0),
    FOREIGN KEY (order_id, ordered_at) REFERENCES sales.orders (order_id, ordered_at)
  );
  CREATE TABLE reporting.daily_revenue (day date PRIMARY KEY, orders bigint NOT NULL, revenue numeric(14, 2) NOT NULL);
  CREATE VIEW reporting.customer_orders AS
    SELECT c.email, c.segment, o.order_id, o.ordered_at, o.amount
    FROM sales.customers c JOIN sales.orders o ON o.customer_id = c.customer_id;
  CREATE MATERIALIZED VIEW reporting.customer_ltv AS
    SELECT c.customer_id, c.segment, sum(o.amount) AS lifetime_value, count(*) AS orders
    FROM sales.customers c JOIN sales.orders o ON o.customer_id = c.customer_id
    GROUP BY c.customer_id, c.segment;
  INSERT INTO sales.products VALUES (1, 'notebook', 4.50), (2, 'pen', 1.20), (3, 'backpack', 39.00);
`;

export async function startDemoPostgres(): Promise<DemoPostgres> {
  const pg: TestPostgres = await startPostgres();
  const password = 'demo-metadata-reader';
  try {
    // One statement each: CREATE DATABASE cannot run inside the implicit transaction of several.
    for (const statement of [
      `CREATE ROLE metadata_reader LOGIN PASSWORD '${password}'`,
      `CREATE ROLE shop_app LOGIN PASSWORD 'demo-shop-app'`,
      'GRANT pg_read_all_stats TO metadata_reader',
      'CREATE DATABASE shop',
    ]) {
      await pg.sql(statement);
    }
    await pg.sql(
      `${readFileSync(join(__dirname, '..', '..', 'docs', 'postgres-ddl-audit.sql'), 'utf8')}
       ${SCHEMA}
       GRANT USAGE ON SCHEMA sales, reporting TO metadata_reader, shop_app;
       GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA sales, reporting TO shop_app;`,
      'shop',
    );
  } catch (e) {
    await pg.stop();
    throw e;
  }
  return {
    host: pg.host,
    port: pg.port,
    database: 'shop',
    user: 'metadata_reader',
    password,
    async traffic(round) {
      // As the application would: statements of their own shape, several calls each.
      const app = await pg.connect('shop');
      try {
        await app.query('SET ROLE shop_app');
        for (let i = 0; i < 5; i++) {
          const n = round * 100 + i;
          const { rows } = await app.query<{ customer_id: string }>(
            'INSERT INTO sales.customers (email, segment) VALUES ($1, $2) RETURNING customer_id',
            [`buyer${n}@example.com`, i % 2 ? 'retail' : 'business'],
          );
          await app.query('INSERT INTO sales.orders (order_id, customer_id, status, ordered_at, amount) VALUES ($1, $2, $3, $4, $5)', [
            n,
            rows[0]!.customer_id,
            'paid',
            '2026-12-01',
            10 + i,
          ]);
          await app.query('INSERT INTO sales.order_items VALUES ($1, $2, $3, $4)', [n, '2026-12-01', 1 + (i % 3), 1 + i]);
          await app.query('SELECT email, segment FROM sales.customers WHERE customer_id = $1', [rows[0]!.customer_id]);
        }
        await app.query("UPDATE sales.orders SET status = 'shipped' WHERE status = 'paid' AND ordered_at < now()");
        await app.query(
          `INSERT INTO reporting.daily_revenue (day, orders, revenue)
           SELECT ordered_at, count(*), sum(amount) FROM sales.orders GROUP BY ordered_at
           ON CONFLICT (day) DO UPDATE SET orders = excluded.orders, revenue = excluded.revenue`,
        );
        await app.query('SELECT segment, count(*) FROM reporting.customer_orders GROUP BY segment');
      } finally {
        await app.end();
      }
    },
    stop: () => pg.stop(),
  };
}
