/**
 * The Athena operations over a seed: request JSON in, response JSON out, AwsError for what Athena
 * rejects. Paging limits, error codes and timestamp encoding follow the real service.
 */
import { randomUUID } from 'node:crypto';
import { toExecution } from './generate';
import { AwsError } from './faults';
import { Engine, SqlError, type QueryResult } from './engine';
import { athenaTableParameters, type AthenaSeed, type SeedColumn, type SeedExecution, type SeedTable, type SeedWorkGroup } from './model';
import { hash32, Prng, shuffled } from './prng';
import { classifyStatement, syntheticStatement, type PickedTable } from './statements';

export type Json = string | number | boolean | null | Json[] | { [k: string]: Json | undefined };
export type JsonObject = { [k: string]: Json | undefined };

export const ACCOUNT = '000000000000';
const DAY = 86_400_000;
const ENGINE_VERSION = { SelectedEngineVersion: 'AUTO', EffectiveEngineVersion: 'Athena engine version 3' };

export const OPERATIONS = [
  'ListDataCatalogs',
  'GetDataCatalog',
  'ListDatabases',
  'GetDatabase',
  'ListTableMetadata',
  'GetTableMetadata',
  'ListWorkGroups',
  'GetWorkGroup',
  'GetPreparedStatement',
  'ListQueryExecutions',
  'BatchGetQueryExecution',
  'GetQueryExecution',
  'StartQueryExecution',
  'GetQueryResults',
  'StopQueryExecution',
] as const;
export type Operation = (typeof OPERATIONS)[number];

const invalid = (message: string) => new AwsError('InvalidRequestException', 400, message, true, { AthenaErrorCode: 'INVALID_INPUT' });
const metadata = (message: string) => new AwsError('MetadataException', 400, message);
/** Epoch seconds with milliseconds, as the service encodes timestamps. */
const secs = (d: Date | number) => (typeof d === 'number' ? d : d.getTime()) / 1000;

// ---------------------------------------------------------------- request fields

function str(input: JsonObject, key: string, required: true): string;
function str(input: JsonObject, key: string, required?: false): string | undefined;
function str(input: JsonObject, key: string, required = false): string | undefined {
  const v = input[key];
  if (v === undefined || v === null) {
    if (required)
      throw invalid(`1 validation error detected: Value null at '${lcFirst(key)}' failed to satisfy constraint: Member must not be null`);
    return undefined;
  }
  if (typeof v !== 'string') throw new AwsError('SerializationException', 400, `${key} must be a string`, false);
  return v;
}
function obj(input: JsonObject, key: string): JsonObject {
  const v = input[key];
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : {};
}
const lcFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);

/** MaxResults within the operation's documented range, else Athena's validation error. */
function maxResults(input: JsonObject, min: number, max: number, dflt: number): number {
  const v = input.MaxResults;
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw new AwsError('SerializationException', 400, 'MaxResults must be an integer', false);
  if (v > max)
    throw invalid(
      `1 validation error detected: Value '${v}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to ${max}`,
    );
  if (v < min)
    throw invalid(
      `1 validation error detected: Value '${v}' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to ${min}`,
    );
  return v === 0 ? dflt : v;
}

interface Token {
  op: string;
  pos: number;
  key: string;
}
function encodeToken(t: Token): string {
  return Buffer.from(JSON.stringify(t)).toString('base64url');
}
/** Tokens are bound to the operation and its arguments, as Athena rejects a token reused elsewhere. */
function decodeToken(input: JsonObject, op: string, key: string): number | undefined {
  const raw = str(input, 'NextToken');
  if (raw === undefined) return undefined;
  try {
    const t = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Partial<Token>;
    if (t.op === op && t.key === key && typeof t.pos === 'number' && Number.isInteger(t.pos) && t.pos >= 0) return t.pos;
  } catch {
    // fall through
  }
  throw invalid('The NextToken is invalid or expired.');
}

/** Glue's table-name pattern: `*` any characters, `.` any one character, `|` alternatives; case-insensitive. */
export function tableNamePattern(expression: string): RegExp {
  const alts = expression.split('|').map((a) =>
    a
      .split('')
      .map((ch) => (ch === '*' ? '.*' : ch === '.' ? '.' : ch.replace(/[\\^$+?()[\]{}]/g, '\\$&')))
      .join(''),
  );
  return new RegExp(`^(?:${alts.join('|')})$`, 'i');
}

// ---------------------------------------------------------------- runtime executions

/** Faults decided per call by the server's fault specs. */
export interface ServiceFaults {
  /** Per found id: whether BatchGetQueryExecution leaves it unprocessed. */
  leaveUnprocessed?: () => boolean;
  /** Whether the query being started may not write its result location. */
  resultWriteDenied?: () => boolean;
  /** How long the query being started stays QUEUED, then RUNNING at least (ms). */
  queryTiming?: () => { queueMs: number; runMs: number };
}

interface Runtime {
  exec: SeedExecution;
  /** The caller may not write the result location: the query fails once it has run. */
  resultWriteDenied?: boolean;
  result?: QueryResult;
  startedAt?: number;
  stopRequested?: boolean;
  evicted?: boolean;
  /** Simulated queue and minimum run time (faults' queueMs / runMs). */
  timing?: { queueMs: number; runMs: number };
}

const MAX_RESULT_ROWS = 5_000_000;

export interface ServiceOptions {
  seed: AthenaSeed;
  randomSeed: number;
  region?: () => string;
}

export class AthenaService {
  readonly seed: AthenaSeed;
  readonly engine: Engine;
  private readonly runtime: Runtime[] = [];
  private readonly runtimeIdx = new Map<string, number>();
  private readonly tokens = new Map<string, string>();
  private readonly wgs = new Map<string, SeedWorkGroup>();
  private readonly rng: Prng;
  private readonly pending = new Set<Promise<void>>();
  private readonly withResults: Runtime[] = [];

  constructor(private readonly o: ServiceOptions) {
    this.seed = o.seed;
    this.engine = new Engine(o.seed);
    this.rng = new Prng(hash32(o.randomSeed, 99));
    for (const w of o.seed.workgroups()) this.wgs.set(w.name, w);
  }

  async call(op: Operation, input: JsonObject, hooks: ServiceFaults = {}): Promise<JsonObject> {
    switch (op) {
      case 'ListDataCatalogs':
        return this.listDataCatalogs(input);
      case 'GetDataCatalog':
        return this.getDataCatalog(input);
      case 'ListDatabases':
        return this.listDatabases(input);
      case 'GetDatabase':
        return this.getDatabase(input);
      case 'ListTableMetadata':
        return this.listTableMetadata(input);
      case 'GetTableMetadata':
        return this.getTableMetadata(input);
      case 'ListWorkGroups':
        return this.listWorkGroups(input);
      case 'GetWorkGroup':
        return this.getWorkGroup(input);
      case 'GetPreparedStatement':
        return this.getPreparedStatement(input);
      case 'ListQueryExecutions':
        return this.listQueryExecutions(input);
      case 'BatchGetQueryExecution':
        return this.batchGetQueryExecution(input, hooks.leaveUnprocessed ?? (() => false));
      case 'GetQueryExecution':
        return this.getQueryExecution(input);
      case 'StartQueryExecution':
        return this.startQueryExecution(input, hooks.resultWriteDenied?.() ?? false, hooks.queryTiming?.());
      case 'GetQueryResults':
        return this.getQueryResults(input);
      case 'StopQueryExecution':
        return this.stopQueryExecution(input);
    }
  }

  /** The resource an operation acts on, for AccessDeniedException messages. */
  resourceArn(op: Operation, input: JsonObject, region: string): string {
    const base = `arn:aws:athena:${region}:${ACCOUNT}`;
    const catalog =
      typeof input.CatalogName === 'string'
        ? input.CatalogName
        : typeof input.Name === 'string' && op === 'GetDataCatalog'
          ? input.Name
          : undefined;
    if (catalog !== undefined) return `${base}:datacatalog/${catalog}`;
    if (op === 'ListDataCatalogs' || op === 'ListWorkGroups') return '*';
    const id = typeof input.QueryExecutionId === 'string' ? input.QueryExecutionId : undefined;
    const wg = typeof input.WorkGroup === 'string' ? input.WorkGroup : id ? (this.lookup(id)?.workgroup ?? 'primary') : 'primary';
    return `${base}:workgroup/${wg}`;
  }

  // ---------------------------------------------------------------- catalogs, databases, tables

  private catalogOrThrow(name: string) {
    const c = this.seed.catalogs().find((x) => x.name.toLowerCase() === name.toLowerCase());
    if (!c) throw invalid(`Data catalog ${name} does not exist.`);
    return c;
  }

  private listDataCatalogs(input: JsonObject): JsonObject {
    const max = maxResults(input, 2, 50, 50);
    const all = this.seed.catalogs().filter((c) => c.listed !== false);
    const pos = decodeToken(input, 'ListDataCatalogs', '') ?? 0;
    const page = all.slice(pos, pos + max);
    return {
      DataCatalogsSummary: page.map((c) => ({ CatalogName: c.name, Type: c.type })),
      NextToken: pos + max < all.length ? encodeToken({ op: 'ListDataCatalogs', pos: pos + max, key: '' }) : undefined,
    };
  }

  private getDataCatalog(input: JsonObject): JsonObject {
    const c = this.catalogOrThrow(str(input, 'Name', true));
    return { DataCatalog: { Name: c.name, Description: c.description, Type: c.type, Parameters: c.parameters ?? {} } };
  }

  private listDatabases(input: JsonObject): JsonObject {
    const catalog = this.catalogOrThrow(str(input, 'CatalogName', true)).name;
    const max = maxResults(input, 1, 50, 50);
    const all = this.seed.databases(catalog) ?? [];
    const key = catalog.toLowerCase();
    const pos = decodeToken(input, 'ListDatabases', key) ?? 0;
    return {
      DatabaseList: all.slice(pos, pos + max).map((d) => ({ Name: d.name, Description: d.description, Parameters: d.parameters })),
      NextToken: pos + max < all.length ? encodeToken({ op: 'ListDatabases', pos: pos + max, key }) : undefined,
    };
  }

  private databaseOrThrow(catalog: string, name: string) {
    const d = (this.seed.databases(catalog) ?? []).find((x) => x.name.toLowerCase() === name.toLowerCase());
    if (!d) throw metadata(`Database ${name} not found. (Service: AWSGlue; Status Code: 400; Error Code: EntityNotFoundException)`);
    return d;
  }

  private getDatabase(input: JsonObject): JsonObject {
    const catalog = this.catalogOrThrow(str(input, 'CatalogName', true)).name;
    const d = this.databaseOrThrow(catalog, str(input, 'DatabaseName', true));
    return { Database: { Name: d.name, Description: d.description, Parameters: d.parameters } };
  }

  private listTableMetadata(input: JsonObject): JsonObject {
    const catalog = this.catalogOrThrow(str(input, 'CatalogName', true)).name;
    const db = this.databaseOrThrow(catalog, str(input, 'DatabaseName', true)).name;
    const max = maxResults(input, 1, 50, 50);
    const expression = str(input, 'Expression');
    const re = expression ? tableNamePattern(expression) : undefined;
    const key = `${catalog.toLowerCase()}/${db}/${expression ?? ''}`;
    let pos = decodeToken(input, 'ListTableMetadata', key) ?? 0;
    const n = this.seed.tableCount(catalog, db);
    const out: Json[] = [];
    // Scans lazily from the cursor: a filtered listing of a huge database reads only what it returns.
    while (pos < n && out.length < max) {
      const t = this.seed.tableAt(catalog, db, pos++);
      if (!re || re.test(t.name)) out.push(tableJson(t));
    }
    return { TableMetadataList: out, NextToken: pos < n ? encodeToken({ op: 'ListTableMetadata', pos, key }) : undefined };
  }

  private getTableMetadata(input: JsonObject): JsonObject {
    const catalog = this.catalogOrThrow(str(input, 'CatalogName', true)).name;
    const db = this.databaseOrThrow(catalog, str(input, 'DatabaseName', true)).name;
    const name = str(input, 'TableName', true);
    const i = this.seed.findTable(catalog, db, name);
    if (i < 0) throw metadata(`Table ${name} not found. (Service: AWSGlue; Status Code: 400; Error Code: EntityNotFoundException)`);
    return { TableMetadata: tableJson(this.seed.tableAt(catalog, db, i)) };
  }

  // ---------------------------------------------------------------- workgroups

  private workgroupOrThrow(name: string): SeedWorkGroup {
    const w = this.wgs.get(name);
    if (!w) throw invalid(`WorkGroup ${name} is not found.`);
    return w;
  }

  private listWorkGroups(input: JsonObject): JsonObject {
    const max = maxResults(input, 1, 50, 50);
    const all = this.seed.workgroups();
    const pos = decodeToken(input, 'ListWorkGroups', '') ?? 0;
    return {
      WorkGroups: all.slice(pos, pos + max).map((w) => ({
        Name: w.name,
        State: w.state,
        Description: w.description,
        CreationTime: secs(w.creationTime),
        EngineVersion: ENGINE_VERSION,
      })),
      NextToken: pos + max < all.length ? encodeToken({ op: 'ListWorkGroups', pos: pos + max, key: '' }) : undefined,
    };
  }

  private getPreparedStatement(input: JsonObject): JsonObject {
    const name = str(input, 'StatementName', true);
    const w = this.workgroupOrThrow(str(input, 'WorkGroup', true));
    // Athena keeps the name as PREPARE'd it, and matches it case-insensitively as the engine does.
    const p = (w.preparedStatements ?? []).find((x) => x.name.toLowerCase() === name.toLowerCase());
    if (!p) throw new AwsError('ResourceNotFoundException', 400, `Prepared statement ${name} not found in workgroup ${w.name}`);
    return {
      PreparedStatement: {
        StatementName: p.name,
        QueryStatement: p.statement,
        WorkGroupName: w.name,
        Description: p.description,
        LastModifiedTime: secs(p.lastModified ?? w.creationTime),
      },
    };
  }

  private getWorkGroup(input: JsonObject): JsonObject {
    const w = this.workgroupOrThrow(str(input, 'WorkGroup', true));
    return {
      WorkGroup: {
        Name: w.name,
        State: w.state,
        Description: w.description,
        CreationTime: secs(w.creationTime),
        Configuration: {
          ResultConfiguration: w.outputLocation ? { OutputLocation: w.outputLocation } : undefined,
          EnforceWorkGroupConfiguration: w.enforceConfiguration ?? false,
          PublishCloudWatchMetricsEnabled: true,
          RequesterPaysEnabled: false,
          EngineVersion: ENGINE_VERSION,
        },
      },
    };
  }

  // ---------------------------------------------------------------- query history

  /** Executions live in one index space: the seed's [0, S) then this server's, both oldest first. */
  private get seedCount(): number {
    return this.seed.executionCount();
  }
  private cutoff(): number {
    const days = this.seed.historyRetentionDays;
    return days === null ? -Infinity : Date.now() - days * DAY;
  }
  private lookup(id: string): SeedExecution | undefined {
    const r = this.runtimeIdx.get(id);
    if (r !== undefined) return (this.runtime[r] as Runtime).exec;
    const i = this.seed.findExecution(id);
    if (i < 0) return undefined;
    const e = this.seed.executionAt(i);
    return e.submittedAt.getTime() >= this.cutoff() ? e : undefined;
  }

  private listQueryExecutions(input: JsonObject): JsonObject {
    const wg = this.workgroupOrThrow(str(input, 'WorkGroup') ?? 'primary').name;
    const max = maxResults(input, 0, 50, 50);
    const S = this.seedCount;
    const start = decodeToken(input, 'ListQueryExecutions', wg) ?? S + this.runtime.length;
    const cutoff = this.cutoff();
    const ids: string[] = [];
    // The token is a position counted from the oldest execution, so executions started while a client
    // pages do not shift its pages; they show up in the next listing.
    let k = start - 1;
    for (; k >= 0 && ids.length < max; k--) {
      if (k >= S) {
        const r = (this.runtime[k - S] as Runtime).exec;
        if (r.workgroup === wg) ids.push(r.id);
        continue;
      }
      if (this.seed.executionTime(k) < cutoff) {
        k = -1;
        break;
      }
      if (this.seed.executionWorkgroup(k) === wg) ids.push(this.seed.executionAt(k).id);
    }
    // Athena's order is only roughly newest-first: shuffle within the page so clients cannot rely on it.
    return {
      QueryExecutionIds: shuffled(ids, hash32(this.o.randomSeed, start)),
      NextToken: k >= 0 ? encodeToken({ op: 'ListQueryExecutions', pos: k + 1, key: wg }) : undefined,
    };
  }

  private batchGetQueryExecution(input: JsonObject, leaveUnprocessed: () => boolean): JsonObject {
    const raw = input.QueryExecutionIds;
    const ids = Array.isArray(raw) ? raw.filter((x): x is string => typeof x === 'string') : [];
    if (ids.length < 1)
      throw invalid(
        `1 validation error detected: Value '[]' at 'queryExecutionIds' failed to satisfy constraint: Member must have length greater than or equal to 1`,
      );
    if (ids.length > 50)
      throw invalid(
        `1 validation error detected: Value at 'queryExecutionIds' failed to satisfy constraint: Member must have length less than or equal to 50`,
      );
    const found: Json[] = [];
    const unprocessed: Json[] = [];
    for (const id of ids) {
      const e = this.lookup(id);
      if (!e) unprocessed.push({ QueryExecutionId: id, ErrorCode: 'INVALID_INPUT', ErrorMessage: `QueryExecution ${id} was not found` });
      else if (leaveUnprocessed())
        unprocessed.push({ QueryExecutionId: id, ErrorCode: 'INTERNAL_ERROR', ErrorMessage: 'Internal service error. Retry the request.' });
      else found.push(this.executionJson(e));
    }
    return { QueryExecutions: found, UnprocessedQueryExecutionIds: unprocessed };
  }

  private executionOrThrow(input: JsonObject): SeedExecution {
    const id = str(input, 'QueryExecutionId', true);
    const e = this.lookup(id);
    if (!e) throw invalid(`QueryExecution ${id} was not found`);
    return e;
  }

  private getQueryExecution(input: JsonObject): JsonObject {
    return { QueryExecution: this.executionJson(this.executionOrThrow(input)) };
  }

  private executionJson(e: SeedExecution): JsonObject {
    const wg = this.wgs.get(e.workgroup);
    const ext = e.statementType === 'DML' ? 'csv' : 'txt';
    const output = e.outputLocation ?? (wg?.outputLocation ? `${wg.outputLocation.replace(/\/?$/, '/')}${e.id}.${ext}` : undefined);
    const s = e.stats ?? {};
    const failed = e.state === 'FAILED';
    return {
      QueryExecutionId: e.id,
      Query: e.query,
      StatementType: e.statementType,
      SubstatementType: e.substatementType,
      ResultConfiguration: output ? { OutputLocation: output } : {},
      ResultReuseConfiguration: { ResultReuseByAgeConfiguration: { Enabled: false } },
      QueryExecutionContext: { Catalog: e.catalog, Database: e.database },
      Status: {
        State: e.state,
        StateChangeReason: e.error?.message,
        SubmissionDateTime: secs(e.submittedAt),
        CompletionDateTime: e.completedAt ? secs(e.completedAt) : undefined,
        AthenaError:
          failed && e.error
            ? {
                ErrorCategory: e.error.category ?? 2,
                ErrorType: e.error.type ?? 1006,
                Retryable: e.error.retryable ?? false,
                ErrorMessage: e.error.message,
              }
            : undefined,
      },
      Statistics: {
        EngineExecutionTimeInMillis: s.engineMs ?? 0,
        DataScannedInBytes: s.dataScannedBytes ?? 0,
        TotalExecutionTimeInMillis: s.totalMs ?? 0,
        QueryQueueTimeInMillis: s.queueMs ?? 0,
        ServicePreProcessingTimeInMillis: s.preProcessingMs ?? 0,
        QueryPlanningTimeInMillis: s.planningMs ?? 0,
        ServiceProcessingTimeInMillis: s.processingMs ?? 0,
        ResultReuseInformation: { ReusedPreviousResult: false },
      },
      WorkGroup: e.workgroup,
      EngineVersion: ENGINE_VERSION,
    };
  }

  // ---------------------------------------------------------------- running queries

  private append(r: Runtime): void {
    this.runtimeIdx.set(r.exec.id, this.runtime.length);
    this.runtime.push(r);
  }

  private startQueryExecution(input: JsonObject, resultWriteDenied: boolean, timing?: { queueMs: number; runMs: number }): JsonObject {
    const query = str(input, 'QueryString', true);
    if (query.length > 262144)
      throw invalid(
        `1 validation error detected: Value at 'queryString' failed to satisfy constraint: Member must have length less than or equal to 262144`,
      );
    const token = str(input, 'ClientRequestToken');
    const prior = token !== undefined ? this.tokens.get(token) : undefined;
    if (prior) return { QueryExecutionId: prior };
    const wg = this.workgroupOrThrow(str(input, 'WorkGroup') ?? 'primary');
    if (wg.state === 'DISABLED') throw invalid(`WorkGroup ${wg.name} is disabled.`);
    const rc = obj(input, 'ResultConfiguration');
    const requested = typeof rc.OutputLocation === 'string' ? rc.OutputLocation : undefined;
    const location = wg.enforceConfiguration && wg.outputLocation ? wg.outputLocation : (requested ?? wg.outputLocation);
    if (!location)
      throw invalid(
        'No output location provided. An output location is required either through the Workgroup result configuration setting or as an API input.',
      );
    const ctx = obj(input, 'QueryExecutionContext');
    const id = randomUUID();
    const c = classifyStatement(query);
    const exec: SeedExecution = {
      id,
      query,
      statementType: c.statementType,
      substatementType: c.substatementType,
      state: 'QUEUED',
      submittedAt: new Date(),
      workgroup: wg.name,
      catalog: typeof ctx.Catalog === 'string' ? ctx.Catalog : 'AwsDataCatalog',
      database: typeof ctx.Database === 'string' ? ctx.Database : 'default',
      outputLocation: `${location.replace(/\/?$/, '/')}${id}.${c.statementType === 'DML' ? 'csv' : 'txt'}`,
      stats: {},
    };
    if (token !== undefined) this.tokens.set(token, id);
    const r: Runtime = {
      exec,
      ...(resultWriteDenied ? { resultWriteDenied } : {}),
      ...(timing?.queueMs || timing?.runMs ? { timing } : {}),
    };
    this.append(r);
    const queued = r.timing?.queueMs ?? 0;
    const p = new Promise<void>((resolve) => (queued > 0 ? setTimeout(resolve, queued) : setImmediate(resolve))).then(() =>
      this.execute(r),
    );
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
    return { QueryExecutionId: id };
  }

  private async execute(r: Runtime): Promise<void> {
    const e = r.exec;
    if (e.state !== 'QUEUED') return;
    r.startedAt = Date.now();
    e.state = 'RUNNING';
    const planned = Date.now();
    try {
      r.result = await this.engine.run(e.id, e.query, { catalog: e.catalog ?? 'AwsDataCatalog', database: e.database ?? 'default' });
      await this.holdRunning(r);
      if (r.resultWriteDenied && !r.stopRequested) {
        r.result = undefined;
        // The shape Athena gives it: a user error (category 2) naming the result object it could not write.
        throw new SqlError(
          'PERMISSION_DENIED',
          `Access denied when writing output to url: ${e.outputLocation} . Make sure the S3 bucket allows the caller to write it (and its KMS key, if results are encrypted)`,
          2,
          1,
        );
      }
      e.state = r.stopRequested ? 'CANCELLED' : 'SUCCEEDED';
    } catch (err) {
      const sqlErr = err instanceof SqlError ? err : new SqlError('GENERIC_INTERNAL_ERROR', String(err), 1, 1);
      if (r.stopRequested || sqlErr.code === 'USER_CANCELLED') {
        e.state = 'CANCELLED';
        e.error = { message: 'Query cancelled by user' };
      } else {
        e.state = 'FAILED';
        e.error = { message: sqlErr.reason, category: sqlErr.category, type: sqlErr.errorType, retryable: sqlErr.category === 1 };
      }
    }
    const done = Date.now();
    e.completedAt = new Date(done);
    const queueMs = r.startedAt - e.submittedAt.getTime();
    e.stats = {
      dataScannedBytes: 0,
      queueMs,
      planningMs: planned - r.startedAt,
      engineMs: done - r.startedAt,
      preProcessingMs: 0,
      processingMs: 0,
      totalMs: done - e.submittedAt.getTime(),
    };
    if (r.result) await this.evictResults(r);
  }

  /** Keeps a query RUNNING until its simulated run time has passed (a stop ends the wait early). */
  private async holdRunning(r: Runtime): Promise<void> {
    const until = (r.startedAt ?? 0) + (r.timing?.runMs ?? 0);
    while (Date.now() < until && !r.stopRequested) await new Promise<void>((res) => setTimeout(res, Math.min(50, until - Date.now())));
  }

  /** Keeps the newest results up to MAX_RESULT_ROWS in total, so a long-lived server does not grow forever. */
  private async evictResults(latest: Runtime): Promise<void> {
    this.withResults.push(latest);
    let rows = this.withResults.reduce((n, x) => n + (x.result?.rowCount ?? 0), 0);
    while (rows > MAX_RESULT_ROWS && this.withResults.length > 1) {
      const old = this.withResults.shift() as Runtime;
      if (!old.result) continue;
      rows -= old.result.rowCount;
      await this.engine.drop(old.result);
      old.result = undefined;
      old.evicted = true;
    }
  }

  private stopQueryExecution(input: JsonObject): JsonObject {
    const e = this.executionOrThrow(input);
    const idx = this.runtimeIdx.get(e.id);
    const r = idx === undefined ? undefined : this.runtime[idx];
    if (r && (e.state === 'QUEUED' || e.state === 'RUNNING')) {
      r.stopRequested = true;
      if (e.state === 'QUEUED') {
        e.state = 'CANCELLED';
        e.error = { message: 'Query cancelled by user' };
        e.completedAt = new Date();
      } else this.engine.cancel(e.id);
    }
    return {};
  }

  private async getQueryResults(input: JsonObject): Promise<JsonObject> {
    const e = this.executionOrThrow(input);
    const max = maxResults(input, 0, 1000, 1000);
    if (e.state === 'QUEUED' || e.state === 'RUNNING') throw invalid(`Query has not yet finished. Current state: ${e.state}`);
    if (e.state !== 'SUCCEEDED') throw invalid(`Query did not finish successfully. Final query state: ${e.state}`);
    const idx = this.runtimeIdx.get(e.id);
    const run = idx === undefined ? undefined : (this.runtime[idx] as Runtime);
    if (run?.evicted)
      throw invalid(
        `athena-local dropped the results of ${e.id} to bound its memory (it keeps the newest ${MAX_RESULT_ROWS} rows); run the query again`,
      );
    const result = run?.result;
    // Seeded history has no stored results (the real ones would be in S3): an empty result set.
    if (!result) return { UpdateCount: 0, ResultSet: { Rows: [], ResultSetMetadata: { ColumnInfo: [] } } };
    const pos = decodeToken(input, 'GetQueryResults', e.id);
    const rows: Json[] = [];
    let offset = pos ?? 0;
    // Like Athena for SELECT: the first row of the first page is the header, and counts toward MaxResults.
    if (pos === undefined) rows.push({ Data: result.columns.map((c) => ({ VarCharValue: c.name })) });
    const data = await this.engine.page(result, offset, max - rows.length);
    for (const row of data) rows.push({ Data: row.map((v) => (v === null ? {} : { VarCharValue: v })) });
    offset += data.length;
    return {
      UpdateCount: 0,
      ResultSet: {
        Rows: rows,
        ResultSetMetadata: {
          ColumnInfo: result.columns.map((c) => ({
            CatalogName: 'hive',
            SchemaName: '',
            TableName: '',
            Name: c.name,
            Label: c.name,
            Type: c.type,
            Precision: c.precision,
            Scale: c.scale,
            Nullable: 'UNKNOWN',
            CaseSensitive: c.type === 'varchar',
          })),
        },
      },
      NextToken: offset < result.rowCount ? encodeToken({ op: 'GetQueryResults', pos: offset, key: e.id }) : undefined,
    };
  }

  // ---------------------------------------------------------------- live history

  /** Appends one finished synthetic execution, as if someone just ran a query (for live demos). */
  appendLiveExecution(): string | undefined {
    const enabled = this.seed.workgroups().filter((w) => w.state === 'ENABLED');
    const pickTable = (): PickedTable | undefined => {
      const cats = this.seed
        .catalogs()
        .filter((c) => (this.seed.databases(c.name) ?? []).some((d) => this.seed.tableCount(c.name, d.name) > 0));
      if (!cats.length) return undefined;
      const c = this.rng.pick(cats);
      const dbs = (this.seed.databases(c.name) ?? []).filter((d) => this.seed.tableCount(c.name, d.name) > 0);
      const d = this.rng.pick(dbs);
      const t = this.seed.tableAt(c.name, d.name, this.rng.int(this.seed.tableCount(c.name, d.name)));
      return {
        catalog: c.name,
        database: d.name,
        name: t.name,
        columns: t.columns.map((x) => x.name),
        partitionKeys: t.partitionKeys.map((x) => x.name),
        isView: t.tableType === 'VIRTUAL_VIEW',
      };
    };
    const first = pickTable();
    if (!first || !enabled.length) return undefined;
    const second = pickTable() ?? first;
    const rand = Array.from({ length: 10 }, () => this.rng.next());
    const now = Date.now();
    const st = syntheticStatement(
      (k) => (k === 0 ? first : second),
      (k) => rand[k % rand.length] as number,
      new Date(now),
      `live_${this.runtime.length}`,
    );
    const exec = toExecution(randomUUID(), this.rng.pick(enabled).name, now - st.durationMs, st);
    this.append({ exec });
    return exec.id;
  }

  async close(): Promise<void> {
    await this.engine.close();
    await Promise.allSettled([...this.pending]);
  }
}

function columnJson(c: SeedColumn): Json {
  return { Name: c.name, Type: c.type, Comment: c.comment };
}

/** TableMetadata as the SDK's type: Name, CreateTime, LastAccessTime, TableType, Columns, PartitionKeys, Parameters. */
export function tableJson(t: SeedTable): JsonObject {
  return {
    Name: t.name,
    CreateTime: secs(t.createTime),
    LastAccessTime: t.lastAccessTime ? secs(t.lastAccessTime) : undefined,
    TableType: t.tableType,
    Columns: t.columns.map(columnJson),
    PartitionKeys: t.partitionKeys.map(columnJson),
    Parameters: athenaTableParameters(t),
  };
}
