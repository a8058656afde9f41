/**
 * The SQL engine behind StartQueryExecution: DuckDB, loaded with the seed's catalog as Athena's
 * information_schema (columns, tables, views, schemata) per catalog, plus empty tables for small seeds.
 *
 * DuckDB owns the name `information_schema`, so each catalog's copy lives in a schema `__information_schema`
 * and queries are rewritten on DuckDB's own parse tree (json_serialize_sql): only table references whose
 * schema is information_schema change. Results stay in DuckDB tables and are paged from there.
 */
import { randomUUID } from 'node:crypto';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { hiveToTrinoType, type AthenaSeed, type SeedTable } from './model';
import { showCreateTable } from './show-create';

export interface QueryContext {
  catalog: string;
  database: string;
}

export interface ResultColumn {
  name: string;
  type: string;
  precision: number;
  scale: number;
}

export interface QueryResult {
  table: string;
  rowCount: number;
  columns: ResultColumn[];
}

const SHOW_CREATE_VIEW = /^\s*SHOW\s+CREATE\s+VIEW\s+((?:[\w"`-]+\.){0,2}[\w"`-]+)\s*;?\s*$/i;

/** A query failure as Athena reports it: `code` prefixes StateChangeReason. */
export class SqlError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly category: number,
    readonly errorType: number,
  ) {
    super(message);
  }
  get reason(): string {
    return `${this.code}: ${this.message}`;
  }
}

/** Above this many tables, a seed's tables are not created as (empty) DuckDB tables. */
const MAX_DATA_TABLES = 5000;
const INFO = '__information_schema';

const ident = (s: string) => `"${s.replace(/"/g, '""')}"`;
const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;
const lc = (s: string) => s.toLowerCase();

/** DuckDB column type for a Hive type; complex types become VARCHAR (the tables are empty anyway). */
function duckType(hive: string): string {
  const t = lc(hive.trim());
  const dec = /^decimal\s*\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)$/.exec(t);
  if (dec) return `DECIMAL(${Math.min(38, Number(dec[1]))},${Number(dec[2] ?? 0)})`;
  const map: Record<string, string> = {
    int: 'INTEGER',
    integer: 'INTEGER',
    bigint: 'BIGINT',
    smallint: 'SMALLINT',
    tinyint: 'TINYINT',
    double: 'DOUBLE',
    float: 'REAL',
    real: 'REAL',
    boolean: 'BOOLEAN',
    date: 'DATE',
    timestamp: 'TIMESTAMP',
    binary: 'BLOB',
    decimal: 'DECIMAL(10,0)',
  };
  return map[t] ?? 'VARCHAR';
}

/** Athena's ColumnInfo type for a DuckDB result type. */
function athenaColumn(name: string, duck: string): ResultColumn {
  const t = duck.toUpperCase();
  const dec = /^DECIMAL\((\d+),\s*(\d+)\)$/.exec(t);
  if (dec) return { name, type: 'decimal', precision: Number(dec[1]), scale: Number(dec[2]) };
  if (t.endsWith('[]')) return { name, type: 'array', precision: 0, scale: 0 };
  if (t.startsWith('STRUCT')) return { name, type: 'row', precision: 0, scale: 0 };
  if (t.startsWith('MAP')) return { name, type: 'map', precision: 0, scale: 0 };
  const simple: Record<string, [string, number]> = {
    BIGINT: ['bigint', 19],
    INTEGER: ['integer', 10],
    SMALLINT: ['smallint', 5],
    TINYINT: ['tinyint', 3],
    HUGEINT: ['decimal', 38],
    DOUBLE: ['double', 17],
    FLOAT: ['real', 24],
    BOOLEAN: ['boolean', 0],
    DATE: ['date', 0],
    TIMESTAMP: ['timestamp', 3],
    'TIMESTAMP WITH TIME ZONE': ['timestamp with time zone', 3],
    BLOB: ['varbinary', 2147483647],
  };
  const s = simple[t];
  return s ? { name, type: s[0], precision: s[1], scale: 0 } : { name, type: 'varchar', precision: 2147483647, scale: 0 };
}

/** Maps a DuckDB error to Athena's error code and category. Types are illustrative, not AWS's table. */
function toSqlError(e: unknown): SqlError {
  const raw = e instanceof Error ? e.message : String(e);
  const m = /^([A-Za-z ]+?) Error: ([\s\S]*)$/.exec(raw);
  const kind = m ? (m[1] as string) : '';
  // DuckDB appends the rewritten statement ("LINE 1: ..."): internal names the user never wrote.
  const msg = ((m ? (m[2] as string) : raw).split(/\n\s*LINE \d+:/)[0] ?? '').trim();
  const table = /^Table with name (\S+) does not exist/.exec(msg);
  if (kind === 'Catalog' && table) return new SqlError('TABLE_NOT_FOUND', `Table '${table[1]}' does not exist`, 2, 1006);
  const column = /^Referenced column "([^"]+)" not found/.exec(msg);
  if (kind === 'Binder' && column)
    return new SqlError(
      'COLUMN_NOT_FOUND',
      `Column '${column[1]}' cannot be resolved or requester is not authorized to access requested resources`,
      2,
      1006,
    );
  if (kind === 'Parser') return new SqlError('SYNTAX_ERROR', msg, 2, 1004);
  if (kind === 'Catalog' && /^Table with name/.test(msg)) return new SqlError('TABLE_NOT_FOUND', msg, 2, 1006);
  if (kind === 'Catalog' && /Function with name/.test(msg)) return new SqlError('FUNCTION_NOT_FOUND', msg, 2, 1006);
  if (kind === 'Catalog' && /^Catalog/.test(msg)) return new SqlError('CATALOG_NOT_FOUND', msg, 2, 1006);
  if (kind === 'Catalog') return new SqlError('SCHEMA_NOT_FOUND', msg, 2, 1006);
  if (kind === 'Binder' && /column/i.test(msg)) return new SqlError('COLUMN_NOT_FOUND', msg, 2, 1006);
  if (kind === 'Conversion' || kind === 'Invalid Input') return new SqlError('INVALID_CAST_ARGUMENT', msg, 2, 1006);
  if (kind === 'INTERRUPT') return new SqlError('USER_CANCELLED', 'Query cancelled by user', 2, 1005);
  if (kind === 'Out of Memory') return new SqlError('EXCEEDED_MEMORY_LIMIT', msg, 1, 1);
  if (kind === 'Permission') return new SqlError('PERMISSION_DENIED', msg, 2, 1006);
  if (kind === 'Binder' || kind === 'Not implemented') return new SqlError('NOT_SUPPORTED', msg, 2, 1006);
  return new SqlError('GENERIC_INTERNAL_ERROR', msg, 1, 1);
}

type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };

/** Points information_schema references at the catalog's `__information_schema` copy. */
function rewrite(node: JsonValue, catalog: string): void {
  if (Array.isArray(node)) {
    for (const n of node) rewrite(n, catalog);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  if (node.type === 'BASE_TABLE' && typeof node.schema_name === 'string' && lc(node.schema_name) === 'information_schema') {
    const cat = typeof node.catalog_name === 'string' && node.catalog_name ? node.catalog_name : catalog;
    node.catalog_name = lc(cat);
    node.schema_name = INFO;
  }
  for (const v of Object.values(node)) rewrite(v, catalog);
}

/**
 * JSON.parse would round 64-bit integers (DuckDB writes an unknown query_location as 2^64-1): long
 * number tokens outside strings are swapped for placeholders and put back after the rewrite.
 */
function protectBigInts(text: string, bigs: string[], tag: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i] as string;
    if (ch === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (/[-\d]/.test(ch)) {
      const m = /^-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?/.exec(text.slice(i, i + 64)) as RegExpExecArray;
      const tok = m[0];
      out += /^-?\d{16,}$/.test(tok) ? `"${tag}${bigs.push(tok) - 1}"` : tok;
      i += Math.max(1, tok.length);
    } else {
      out += ch;
      i++;
    }
  }
  return out;
}
const restoreBigInts = (text: string, bigs: string[], tag: string) =>
  text.replace(new RegExp(`"${tag}(\\d+)"`, 'g'), (_, k: string) => bigs[Number(k)] ?? '0');

/** Athena names unaliased expressions `_col<position>`; DuckDB would name them after their text. */
function nameColumnsLikeAthena(statement: JsonValue): void {
  if (statement === null || typeof statement !== 'object' || Array.isArray(statement)) return;
  const node = statement.node;
  if (node === null || typeof node !== 'object' || Array.isArray(node) || node.type !== 'SELECT_NODE' || !Array.isArray(node.select_list))
    return;
  node.select_list.forEach((e, i) => {
    if (e === null || typeof e !== 'object' || Array.isArray(e)) return;
    if (e.alias === '' && e.class !== 'COLUMN_REF' && e.class !== 'STAR') e.alias = `_col${i}`;
  });
}

export class Engine {
  private ready?: Promise<DuckDBInstance>;
  private readonly running = new Map<string, DuckDBConnection>();
  private readonly cancelled = new Set<string>();
  private readonly schemas = new Set<string>();
  private closed = false;

  constructor(private readonly seed: AthenaSeed) {}

  /** Loads the seed on first use, so a server that never runs a query never starts DuckDB. */
  private init(): Promise<DuckDBInstance> {
    this.ready ??= (async () => {
      const db = await DuckDBInstance.create(':memory:', { threads: '1' });
      const conn = await db.connect();
      try {
        await conn.run(`ATTACH ':memory:' AS __results`);
        for (const c of this.seed.catalogs()) await this.loadCatalog(conn, c.name);
        // Queries must not read the host's files or reach the network.
        await conn.run(`SET enable_external_access = false`);
      } finally {
        conn.closeSync();
      }
      return db;
    })();
    return this.ready;
  }

  private async loadCatalog(conn: DuckDBConnection, catalogName: string): Promise<void> {
    const cat = lc(catalogName);
    const c = ident(cat);
    const seedTables = `${c}.${INFO}.__seed_tables`;
    await conn.run(`ATTACH ':memory:' AS ${c}`);
    await conn.run(`CREATE SCHEMA ${c}.${INFO}`);
    await conn.run(
      `CREATE TABLE ${seedTables} (table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR, table_type VARCHAR, view_definition VARCHAR, p0 BIGINT, p1 BIGINT, p2 BIGINT, p3 BIGINT, p4 BIGINT)`,
    );
    const gen = this.seed.columnsAsSql;
    if (!gen)
      await conn.run(
        `CREATE TABLE ${c}.${INFO}.__seed_columns (table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR, column_name VARCHAR, ordinal_position BIGINT, column_default VARCHAR, is_nullable VARCHAR, data_type VARCHAR, comment VARCHAR, extra_info VARCHAR)`,
      );
    const dbs = this.seed.databases(catalogName) ?? [];
    let total = 0;
    for (const d of dbs) total += this.seed.tableCount(catalogName, d.name);
    const withData = !gen && total <= MAX_DATA_TABLES;

    const tApp = await conn.createAppender('__seed_tables', INFO, cat);
    const cApp = gen ? undefined : await conn.createAppender('__seed_columns', INFO, cat);
    const str = (a: typeof tApp, v: string | undefined) => (v === undefined ? a.appendNull() : a.appendVarchar(v));
    for (const d of dbs) {
      const schema = lc(d.name);
      if (withData) {
        await conn.run(`CREATE SCHEMA IF NOT EXISTS ${c}.${ident(schema)}`);
        this.schemas.add(`${cat}.${schema}`);
      }
      const n = this.seed.tableCount(catalogName, d.name);
      for (let i = 0; i < n; i++) {
        const t = this.seed.tableAt(catalogName, d.name, i);
        const isView = t.tableType === 'VIRTUAL_VIEW';
        str(tApp, cat);
        str(tApp, schema);
        str(tApp, lc(t.name));
        str(tApp, isView ? 'VIEW' : 'BASE TABLE');
        str(tApp, isView ? (t.viewSql ?? '') : undefined);
        const p = gen ? gen.params(catalogName, d.name, i) : [0, 0, 0, 0, 0];
        for (let k = 0; k < 5; k++) tApp.appendBigInt(BigInt(p[k] ?? 0));
        tApp.endRow();
        if (cApp) this.appendColumns(cApp, cat, schema, t);
        if (withData) await this.createDataTable(conn, c, schema, t);
      }
    }
    tApp.closeSync();
    cApp?.closeSync();

    const infoTables = ['columns', 'schemata', 'tables', 'views'];
    const infoRows = infoTables.map((t) => `(${lit(cat)}, 'information_schema', ${lit(t)}, 'BASE TABLE')`).join(', ');
    await conn.run(
      `CREATE VIEW ${c}.${INFO}.tables AS SELECT table_catalog, table_schema, table_name, table_type FROM ${seedTables}
       UNION ALL SELECT * FROM (VALUES ${infoRows}) v(table_catalog, table_schema, table_name, table_type)`,
    );
    await conn.run(
      `CREATE VIEW ${c}.${INFO}.views AS SELECT table_catalog, table_schema, table_name, view_definition FROM ${seedTables} WHERE table_type = 'VIEW'`,
    );
    const schemaRows = [...dbs.map((d) => lc(d.name)), 'information_schema'].map((s) => `(${lit(cat)}, ${lit(s)})`).join(', ');
    await conn.run(`CREATE VIEW ${c}.${INFO}.schemata AS SELECT * FROM (VALUES ${schemaRows}) v(catalog_name, schema_name)`);
    const columnsSelect = gen ? gen.sql.replace(/\b__seed_tables\b/g, seedTables) : `SELECT * FROM ${c}.${INFO}.__seed_columns`;
    await conn.run(`CREATE VIEW ${c}.${INFO}.columns AS ${columnsSelect}`);
  }

  private appendColumns(app: Awaited<ReturnType<DuckDBConnection['createAppender']>>, cat: string, schema: string, t: SeedTable): void {
    const all = [...t.columns.map((c) => ({ c, part: false })), ...t.partitionKeys.map((c) => ({ c, part: true }))];
    all.forEach(({ c, part }, i) => {
      app.appendVarchar(cat);
      app.appendVarchar(schema);
      app.appendVarchar(lc(t.name));
      app.appendVarchar(c.name);
      app.appendBigInt(BigInt(i + 1));
      app.appendNull();
      app.appendVarchar('YES');
      app.appendVarchar(hiveToTrinoType(c.type));
      if (c.comment === undefined) app.appendNull();
      else app.appendVarchar(c.comment);
      if (part) app.appendVarchar('partition key');
      else app.appendNull();
      app.endRow();
    });
  }

  private async createDataTable(conn: DuckDBConnection, c: string, schema: string, t: SeedTable): Promise<void> {
    const cols = [...t.columns, ...t.partitionKeys];
    const seen = new Set<string>();
    const defs = cols.filter((x) => !seen.has(lc(x.name)) && seen.add(lc(x.name))).map((x) => `${ident(lc(x.name))} ${duckType(x.type)}`);
    if (!defs.length) defs.push('"_" VARCHAR');
    await conn.run(`CREATE TABLE IF NOT EXISTS ${c}.${ident(schema)}.${ident(lc(t.name))} (${defs.join(', ')})`);
  }

  /** Runs one SELECT into a result table named after the execution; throws SqlError like Athena fails. */
  async run(id: string, sql: string, ctx: QueryContext): Promise<QueryResult> {
    const db = await this.init();
    if (this.closed) throw new SqlError('GENERIC_INTERNAL_ERROR', 'athena-local is shutting down', 1, 1);
    const conn = await db.connect();
    this.running.set(id, conn);
    // DuckDB forgets an interrupt that lands between statements, so each step checks for a stop first.
    const step = () => {
      if (this.cancelled.has(id)) throw new SqlError('USER_CANCELLED', 'Query cancelled by user', 2, 1005);
    };
    try {
      step();
      const show = SHOW_CREATE_VIEW.exec(sql);
      if (show) return await this.showCreateView(conn, id, show, ctx);
      // SHOW CREATE TABLE is answered from the seed, as rows of a VALUES query.
      const shown = showCreateTable(this.seed, sql, ctx.catalog, ctx.database);
      if (shown && 'error' in shown) throw new SqlError('HIVE_METASTORE_ERROR', shown.error, 2, 1006);
      const ser = await conn.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)', [shown ? shown.select : sql]);
      const bigs: string[] = [];
      // A per-query tag, so no string in the user's SQL can pass for a placeholder.
      const tag = `__int_${randomUUID().replace(/-/g, '')}_`;
      const tree = JSON.parse(protectBigInts(String(ser.getRowsJS()[0]?.[0] ?? '{}'), bigs, tag)) as { [k: string]: JsonValue };
      if (tree.error === true) {
        const msg = String(tree.error_message ?? 'parse error');
        if (/Only SELECT statements/i.test(msg))
          throw new SqlError(
            'NOT_SUPPORTED',
            'athena-local runs SELECT queries only; DDL and DML are recorded in history but do not change the seeded catalog',
            2,
            1006,
          );
        throw toSqlError(`Parser Error: ${msg.replace(/^Parser Error: /, '')}`);
      }
      const statements = tree.statements;
      if (!Array.isArray(statements) || statements.length !== 1)
        throw new SqlError(
          'SYNTAX_ERROR',
          'Only one sql statement is allowed. Got: ' + (Array.isArray(statements) ? statements.length : 0),
          2,
          1004,
        );
      const cat = lc(ctx.catalog);
      if (!this.seed.databases(ctx.catalog)) throw new SqlError('CATALOG_NOT_FOUND', `Catalog '${ctx.catalog}' does not exist`, 2, 1006);
      rewrite(tree, cat);
      nameColumnsLikeAthena(statements[0] ?? null);
      const des = await conn.runAndReadAll('SELECT json_deserialize_sql($1::VARCHAR)', [restoreBigInts(JSON.stringify(tree), bigs, tag)]);
      const rewritten = String(des.getRowsJS()[0]?.[0] ?? '');
      const schema = lc(ctx.database);
      const use =
        schema === 'information_schema'
          ? `${ident(cat)}.${INFO}`
          : this.schemas.has(`${cat}.${schema}`)
            ? `${ident(cat)}.${ident(schema)}`
            : `${ident(cat)}.main`;
      step();
      await conn.run(`USE ${use}`);
      const table = `__results.main.${ident(`q_${id}`)}`;
      step();
      await conn.run(`CREATE TABLE ${table} AS ${rewritten}`);
      const probe = await conn.runAndReadAll(`SELECT * FROM ${table} LIMIT 0`);
      const names = probe.columnNames();
      const types = probe.columnTypes();
      const count = await conn.runAndReadAll(`SELECT count(*) FROM ${table}`);
      return {
        table,
        rowCount: Number(count.getRowsJS()[0]?.[0] ?? 0),
        columns: names.map((n, i) => athenaColumn(n, String(types[i]))),
      };
    } catch (e) {
      throw e instanceof SqlError ? e : toSqlError(e);
    } finally {
      this.running.delete(id);
      this.cancelled.delete(id);
      conn.closeSync();
    }
  }

  /**
   * `SHOW CREATE VIEW [[catalog.]db.]name`, which DuckDB does not parse: one row, column `Create View
   * Statement`, as Athena answers it (peer collectors read view SQL this way, one query per view).
   */
  private async showCreateView(conn: DuckDBConnection, id: string, m: RegExpExecArray, ctx: QueryContext): Promise<QueryResult> {
    const parts = (m[1] ?? '').split('.').map((p) => p.replace(/^["`]|["`]$/g, ''));
    const name = parts.pop() ?? '';
    const database = parts.pop() ?? ctx.database;
    const catalog = parts.pop() ?? ctx.catalog;
    const i = this.seed.databases(catalog) ? this.seed.findTable(catalog, database, name) : -1;
    const t = i >= 0 ? this.seed.tableAt(catalog, database, i) : undefined;
    if (!t) throw new SqlError('TABLE_NOT_FOUND', `line 1:18: View '${lc(catalog)}.${database}.${name}' does not exist`, 2, 1006);
    if (t.tableType !== 'VIRTUAL_VIEW' || t.viewSql === undefined)
      throw new SqlError('NOT_SUPPORTED', `line 1:1: Relation '${lc(catalog)}.${database}.${name}' is a table, not a view`, 2, 1006);
    const text = `CREATE VIEW "${database}"."${t.name}" AS\n${t.viewSql}`;
    const table = `__results.main.${ident(`q_${id}`)}`;
    await conn.run(`CREATE TABLE ${table} AS SELECT $1::VARCHAR AS "Create View Statement"`, [text]);
    return { table, rowCount: 1, columns: [athenaColumn('Create View Statement', 'VARCHAR')] };
  }

  /** Rows [offset, offset + limit) of a result as strings (null for SQL NULL), in result order. */
  async page(result: QueryResult, offset: number, limit: number): Promise<(string | null)[][]> {
    if (limit <= 0 || offset >= result.rowCount) return [];
    const db = await this.init();
    const conn = await db.connect();
    try {
      const cols = result.columns.map((_, i) => `CAST(#${i + 1} AS VARCHAR)`).join(', ');
      const r = await conn.runAndReadAll(
        `SELECT ${cols || "''"} FROM (SELECT *, rowid AS __r FROM ${result.table} WHERE rowid >= ${offset} AND rowid < ${offset + limit}) ORDER BY __r`,
      );
      return r.getRowsJS().map((row) => row.slice(0, result.columns.length).map((v) => (v === null || v === undefined ? null : String(v))));
    } finally {
      conn.closeSync();
    }
  }

  async drop(result: QueryResult): Promise<void> {
    const db = await this.init();
    const conn = await db.connect();
    try {
      await conn.run(`DROP TABLE IF EXISTS ${result.table}`);
    } finally {
      conn.closeSync();
    }
  }

  /** Interrupts a running query; it then fails with USER_CANCELLED. */
  cancel(id: string): void {
    this.cancelled.add(id);
    // Interrupt until the run notices: a single interrupt can fall between two of its statements.
    const tick = () => {
      const conn = this.running.get(id);
      if (!conn) return;
      conn.interrupt();
      setTimeout(tick, 50).unref();
    };
    tick();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const c of this.running.values()) c.interrupt();
    if (this.ready) {
      const db = await this.ready.catch(() => undefined);
      db?.closeSync();
    }
  }
}
