/**
 * The metadata unit of one catalog/database: every table's columns as `metadata` rows, view SQL, and the
 * lineage views imply. Streams table by table; only one page of tables (plus the next) is held.
 */
import { ListTableMetadataCommand, type ListTableMetadataCommandOutput, type TableMetadata } from '@aws-sdk/client-athena';
import { AuthError, CollectorError, UnitIncompleteError } from '../../contracts/errors';
import type { CursorValue, ExtractContext, ExtractUnit, UnitOutput } from '../../contracts/plugin';
import type { Row } from '../../contracts/extract-format';
import type { AthenaSession } from './client';
import { unitFailureReason } from './faults';
import { writeLineage } from './lineage';
import { LineageLookups } from './lineage-lookups';
import { QueryFailedError, queryRows, runQuery, sqlString } from './query';
import { viewLineage } from '../../sql/index';
import { decodePrestoView, isPrestoView } from './views';
import {
  partitionProjection,
  partitionSpecFromCreateTable,
  partitionSpecFromParameters,
  tableFormat,
  type PartitionField,
} from './table-format';

/** Parameters broken out into their own columns, so not repeated in table_parameters. */
const BROKEN_OUT: Record<string, 'location' | 'input_format' | 'output_format' | 'serde' | 'table_comment'> = {
  location: 'location',
  inputformat: 'input_format',
  outputformat: 'output_format',
  'serde.serialization.lib': 'serde',
  comment: 'table_comment',
};
/** Bulky view text that view_definition already carries. */
const VIEW_TEXT_KEYS = new Set(['view_original_text', 'view_expanded_text', 'viewOriginalText', 'viewExpandedText']);

/** The row of the `tables` file for one table or view; JSON and timestamps as pre-formatted text. */
type TableFields = {
  catalog: string;
  database: string;
  table_name: string;
  table_type: string;
  column_count: number;
  location: string | null;
  input_format: string | null;
  output_format: string | null;
  serde: string | null;
  table_create_time: string | null;
  table_last_access_time: string | null;
  table_comment: string | null;
  table_parameters: string | null;
  view_definition: string | null;
  table_format: string | null;
  partition_spec: string | null;
  partition_projection: string | null;
};

/** Iceberg tables whose SHOW CREATE TABLE one unit runs at once (Athena allows 20 DDL queries at a time per account by default). */
const SPEC_QUERIES_AT_ONCE = 4;
/** Iceberg metadata files one unit reads at once (S3 serves thousands of GETs a second per prefix). */
const FILE_READS_AT_ONCE = 16;

/** Runs `work` on every item, at most `limit` at once. */
async function eachAtOnce<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** One metadata (column) row; a literal of fixed shape (cheap to build a million of, unlike a spread). */
function columnRow(
  f: TableFields,
  column_name: string,
  ordinal_position: number,
  data_type: string | null,
  column_comment: string | null,
  is_partition_key: boolean,
): Row {
  return {
    catalog: f.catalog,
    database: f.database,
    table_name: f.table_name,
    column_name,
    ordinal_position,
    data_type,
    column_comment,
    is_partition_key,
  };
}

export const metadataUnitKey = (catalog: string, database: string) => `metadata:${catalog}/${database}`;
/** The unit that stands for a whole catalog whose databases could not be listed. */
export const catalogUnitKey = (catalog: string) => `metadata:${catalog}`;

/**
 * A catalog whose database listing failed for a reason of its own (its connector down, a catalog named in
 * `catalogs` that does not exist): recorded as an incomplete unit, so the run goes on and the manifest
 * says this catalog's tables are unknown in this window, not deleted.
 */
export function incompleteCatalogUnit(catalog: string, reason: string, cause: unknown): ExtractUnit {
  return {
    key: catalogUnitKey(catalog),
    run: () =>
      Promise.reject(
        new UnitIncompleteError(
          `catalog ${catalog}: listing its databases failed: ${reason}`,
          { catalog: catalog.toLowerCase() },
          { cause },
        ),
      ),
  };
}

/** The cursor entry of a database's Iceberg partition specs, so SHOW CREATE TABLE runs only for tables that changed. */
export const icebergSpecsCursorKey = (catalog: string, database: string) =>
  `athena.iceberg-specs:${catalog.toLowerCase()}/${database.toLowerCase()}`;

export function metadataUnit(session: AthenaSession, ctx: ExtractContext, catalog: string, database: string): ExtractUnit {
  return {
    key: metadataUnitKey(catalog, database),
    run: (out) => new DatabaseExtract(session, ctx, catalog, database, out).run(),
  };
}

class DatabaseExtract {
  /** view name -> SQL from information_schema.views, fetched once, only if a view lacks its text. */
  private viewSql: Promise<Map<string, string>> | undefined;
  /** One warning per database for Iceberg tables Athena would not describe. */
  private specWarned = false;
  /** Iceberg partition specs known from earlier runs, by table: [metadata_location, spec]. */
  private cachedSpecs: Record<string, CursorValue> = {};
  /** What this run knows, committed with its HWM for the next one. */
  private readonly nextSpecs: Record<string, CursorValue> = {};

  constructor(
    private readonly session: AthenaSession,
    private readonly ctx: ExtractContext,
    private readonly catalog: string,
    private readonly database: string,
    private readonly out: UnitOutput,
  ) {}

  async run(): Promise<void> {
    const { session, ctx } = this;
    const pages = session.pages<ListTableMetadataCommandOutput>(
      'ListTableMetadata',
      (token, o) =>
        session.client.send(
          new ListTableMetadataCommand({ CatalogName: this.catalog, DatabaseName: this.database, MaxResults: 50, NextToken: token }),
          o,
        ),
      ctx.signal,
    );
    let pagesRead = 0;
    const cached = ctx.cursor.get(icebergSpecsCursorKey(this.catalog, this.database));
    if (cached && typeof cached === 'object' && !Array.isArray(cached)) this.cachedSpecs = cached;
    try {
      for await (const page of pages) {
        pagesRead++;
        const tables = page.TableMetadataList ?? [];
        const specs = await this.icebergSpecs(tables);
        for (const table of tables) await this.writeTable(table, specs.get(table));
      }
      if (Object.keys(this.nextSpecs).length || Object.keys(this.cachedSpecs).length) {
        this.out.setCursor(icebergSpecsCursorKey(this.catalog, this.database), Object.keys(this.nextSpecs).length ? this.nextSpecs : null);
      }
    } catch (err) {
      // Dropped between listing and reading: Glue says so on the first page, and there is nothing to
      // extract. "Not found" later in the listing, or from a federated connector (its backend's own "not
      // found"), says nothing about the database: the unit is incomplete, never a silently partial database.
      const d = err instanceof CollectorError ? err.details : undefined;
      if (d?.fault === 'notFound' && pagesRead === 0 && d.connector === undefined) {
        ctx.warn(`Athena database ${this.catalog}.${this.database} disappeared during extraction; skipped`);
        return;
      }
      const reason = unitFailureReason(err);
      if (reason === undefined || ctx.signal.aborted) throw err;
      const where = pagesRead ? ` after ${pagesRead} page(s) of tables` : '';
      throw new UnitIncompleteError(
        `database ${this.catalog}.${this.database}${where}: ${reason}`,
        { catalog: this.catalog.toLowerCase(), database: this.database.toLowerCase() },
        { cause: err },
      );
    }
  }

  private async writeTable(t: TableMetadata, spec: PartitionField[] | null | undefined): Promise<void> {
    const params = t.Parameters ?? {};
    const isView = /VIEW/i.test(t.TableType ?? '');
    const format = tableFormat(params, isView, this.catalog);
    const projection = partitionProjection(params);
    // JSON and timestamps are pre-formatted here (identical text to the writer's own casts).
    const columns = (t.Columns ?? []).filter((c) => c.Name);
    const partitions = (t.PartitionKeys ?? []).filter((c) => c.Name);
    const f: TableFields = {
      // Lowercase like Athena's SQL and information_schema, so metadata joins lineage and events (Glue
      // names are lowercase already; Hive and federated catalogs may not be).
      catalog: this.catalog.toLowerCase(),
      database: this.database.toLowerCase(),
      table_name: (t.Name ?? '').toLowerCase(),
      table_type: t.TableType ?? (isView ? 'VIRTUAL_VIEW' : 'EXTERNAL_TABLE'),
      column_count: columns.length + partitions.length,
      location: null,
      input_format: null,
      output_format: null,
      serde: null,
      table_create_time: t.CreateTime ? t.CreateTime.toISOString() : null,
      table_last_access_time: t.LastAccessTime ? t.LastAccessTime.toISOString() : null,
      table_comment: null,
      table_parameters: null,
      view_definition: null,
      table_format: format,
      partition_spec: spec ? JSON.stringify(spec) : null,
      partition_projection: projection ? JSON.stringify(projection) : null,
    };
    if (format === 'ICEBERG') this.ctx.count('athena_iceberg_tables');
    const rest: Record<string, string> = {};
    let restCount = 0;
    let presto: string | undefined;
    for (const [k, v] of Object.entries(params)) {
      const column = BROKEN_OUT[k];
      // Athena marks every view with the comment "Presto View": a marker, not the owner's comment.
      if (column === 'table_comment' && isView && v === 'Presto View') continue;
      if (column) f[column] = v;
      else if (isPrestoView(v)) presto ??= decodePrestoView(v);
      else if (!VIEW_TEXT_KEYS.has(k)) {
        rest[k] = v;
        restCount++;
      }
    }
    if (restCount) f.table_parameters = JSON.stringify(rest);
    if (isView) {
      const sql = presto ?? (await this.viewFromInformationSchema(f.table_name));
      f.view_definition = sql ?? null;
      this.ctx.count('athena_views');
      if (sql) await this.writeViewLineage(f.table_name, sql);
    } else this.ctx.count('athena_tables');

    await this.out.write('tables', f);
    let ordinal = 0;
    for (const c of columns) await this.out.write('metadata', columnRow(f, c.Name!, ++ordinal, c.Type ?? null, c.Comment ?? null, false));
    for (const c of partitions) await this.out.write('metadata', columnRow(f, c.Name!, ++ordinal, c.Type ?? null, c.Comment ?? null, true));
  }

  /**
   * The partition spec of each Iceberg table of a page. Iceberg's hidden partitions (`day(ts)`,
   * `bucket(16, id)`) are not partition keys, and Glue does not keep the spec (it lives in the table's
   * metadata file). Unless the parameters carry it or the cursor has it for the same metadata file, it is
   * read from that file on S3, many at once; where S3 denies the bucket (or the file cannot be used),
   * Athena's SHOW CREATE TABLE is asked, a few tables at a time. A table neither answers for keeps an
   * empty spec, counted; the run goes on.
   */
  private async icebergSpecs(tables: TableMetadata[]): Promise<Map<TableMetadata, PartitionField[] | null>> {
    const specs = new Map<TableMetadata, PartitionField[] | null>();
    const mode = this.session.config.icebergPartitionSpecs;
    if (mode === false) {
      for (const t of tables) {
        const params = t.Parameters ?? {};
        if (tableFormat(params, /VIEW/i.test(t.TableType ?? ''), this.catalog) === 'ICEBERG')
          specs.set(t, partitionSpecFromParameters(params));
      }
      return specs;
    }
    const fromFile: TableMetadata[] = [];
    const ask: TableMetadata[] = [];
    for (const t of tables) {
      const params = t.Parameters ?? {};
      if (tableFormat(params, /VIEW/i.test(t.TableType ?? ''), this.catalog) !== 'ICEBERG') continue;
      const known = partitionSpecFromParameters(params);
      if (known) specs.set(t, known);
      else if (t.Name) {
        // Every Iceberg commit writes a new metadata file; the spec can only have changed with it.
        const location = params.metadata_location;
        const hit = this.cachedSpecs[t.Name];
        if (location && Array.isArray(hit) && hit[0] === location && Array.isArray(hit[1])) {
          specs.set(t, hit[1] as unknown as PartitionField[]);
          this.nextSpecs[t.Name] = hit;
          this.ctx.count('iceberg_partition_spec_unchanged');
        } else if (mode !== 'query' && location) fromFile.push(t);
        else if (mode !== 'metadata-file') ask.push(t);
        else this.ctx.count('iceberg_partition_spec_unavailable');
      }
    }
    const remember = (t: TableMetadata, spec: PartitionField[] | null) => {
      specs.set(t, spec);
      const location = t.Parameters?.metadata_location;
      // An unanswered table is asked again next run.
      if (spec && location) this.nextSpecs[t.Name!] = [location, spec as unknown as CursorValue];
    };
    await eachAtOnce(fromFile, FILE_READS_AT_ONCE, async (t) => {
      const read = await this.session.icebergFiles.read(t.Parameters!.metadata_location!, this.ctx.signal);
      if (read.kind === 'spec') {
        this.ctx.count('iceberg_partition_spec_from_file');
        return remember(t, read.spec);
      }
      if (read.kind === 'denied' && read.first)
        this.ctx.warn(
          `s3:GetObject denied on bucket ${read.bucket}: Iceberg partition specs of its tables ` +
            (mode === 'metadata-file'
              ? 'are left empty (icebergPartitionSpecs: metadata-file)'
              : 'are asked of Athena instead, one SHOW CREATE TABLE per table') +
            "; grant s3:GetObject on the tables' metadata/ prefixes to read them directly",
        );
      if (mode === 'metadata-file') this.ctx.count('iceberg_partition_spec_unavailable');
      else ask.push(t);
    });
    await eachAtOnce(ask, SPEC_QUERIES_AT_ONCE, async (t) => remember(t, await this.showCreateSpec(t.Name!)));
    return specs;
  }

  private async showCreateSpec(table: string): Promise<PartitionField[] | null> {
    const { session, ctx } = this;
    const quote = (name: string) => `\`${name.replace(/`/g, '``')}\``;
    try {
      const id = await runQuery(session, `SHOW CREATE TABLE ${quote(this.database)}.${quote(table)}`, {
        catalog: this.catalog,
        database: this.database,
        signal: ctx.signal,
      });
      const lines: string[] = [];
      for await (const [line] of queryRows(session, id, ctx.signal)) lines.push(line ?? '');
      const ddl = lines.join('\n');
      // No PARTITIONED BY clause: an unpartitioned table, said as an empty spec.
      return partitionSpecFromCreateTable(ddl) ?? (/\bPARTITIONED\s+BY\b/i.test(ddl) ? null : []);
    } catch (err) {
      // One table Athena will not describe (Lake Formation, a broken metadata file) is not the run's
      // failure; a result location we may not write is everyone's, and fails as it would for views.
      const tableLevel = err instanceof QueryFailedError || (err instanceof AuthError && err.details?.action !== 's3:PutObject');
      if (!tableLevel) throw err;
      ctx.count('iceberg_partition_spec_unavailable');
      if (!this.specWarned) {
        this.specWarned = true;
        // Without the query id, so a retried run warns (and its manifest reads) the same.
        const reason = err.message.replace(/query [0-9a-f-]{36} /i, 'query ');
        ctx.warn(`Iceberg partition specs of ${this.catalog}.${this.database} partly unavailable (first: ${table}: ${reason})`);
      }
      return null;
    }
  }

  private async writeViewLineage(view: string, sql: string): Promise<void> {
    const target = { catalog: this.catalog, database: this.database, table: view };
    // A view's `SELECT *` is expanded with the columns of the tables it reads (looked up when needed).
    const result = await new LineageLookups(this.session, this.ctx).lineage((options) => viewLineage(sql, target, 'athena', options));
    await writeLineage(this.out, this.ctx, result, { origin: 'VIEW_DEFINITION' });
  }

  private async viewFromInformationSchema(view: string): Promise<string | undefined> {
    this.viewSql ??= this.loadViews();
    return (await this.viewSql).get(view);
  }

  /** One query per database; holds that database's view SQL only. */
  private async loadViews(): Promise<Map<string, string>> {
    const { session, ctx } = this;
    const map = new Map<string, string>();
    try {
      const id = await runQuery(
        session,
        // information_schema holds names lowercased, as the engine resolves them.
        `SELECT table_name, view_definition FROM information_schema.views WHERE table_schema = ${sqlString(this.database.toLowerCase())}`,
        { catalog: this.catalog, signal: ctx.signal },
      );
      for await (const [name, sql] of queryRows(session, id, ctx.signal)) if (name && sql) map.set(name.toLowerCase(), sql);
    } catch (err) {
      // A catalog that cannot answer (federated, no views table) leaves view_definition empty, visibly.
      if (!(err instanceof QueryFailedError)) throw err;
      ctx.warn(`view definitions of ${this.catalog}.${this.database} unavailable: ${err.message}`);
    }
    return map;
  }
}
