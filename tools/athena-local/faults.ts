/**
 * Injectable faults and request counters. A spec applies to one operation or to `*`; for each field the
 * operation's spec wins over `*`. Probabilities draw from one seeded PRNG, so a run is reproducible.
 */
import { z } from 'zod';
import { DEFAULT_QUOTAS as ATHENA_QUOTAS } from '../../src/connectors/athena/quotas';
import { Prng } from './prng';

export interface FaultSpec {
  latencyMs?: number;
  throttleRate?: number;
  throttleNext?: number;
  serverErrorRate?: number;
  serverErrorNext?: number;
  accessDenied?: boolean;
  unprocessedRate?: number;
  /**
   * StartQueryExecution only: the query is accepted, then fails because the caller may not write the
   * result location (s3:PutObject), the way Athena reports it.
   */
  resultWriteDenied?: boolean;
  /** 500 InternalServerException (default) or 503 ServiceUnavailableException. */
  serverErrorStatus?: 500 | 503;
  /** ThrottlingException (default, the API rate limit) or TooManyRequestsException (Athena's own). */
  throttleCode?: 'ThrottlingException' | 'TooManyRequestsException';
  /** Extra delay per call drawn uniformly from [0, latencyJitterMs], on top of latencyMs. */
  latencyJitterMs?: number;
  /** StartQueryExecution only: how long a started query stays QUEUED, then RUNNING (at least), in ms. */
  queueMs?: number;
  runMs?: number;
  /**
   * Server-side token buckets at Athena's per-account quotas (ATHENA_QUOTAS): a call beyond its
   * operation's bucket is answered ThrottlingException "Rate exceeded", as Athena does.
   */
  quotas?: boolean;
}

const rate = z.number().min(0).max(1);
const count = z.number().int().min(0);
export const faultSpecSchema = z.strictObject({
  latencyMs: count.optional(),
  throttleRate: rate.optional(),
  throttleNext: count.optional(),
  serverErrorRate: rate.optional(),
  serverErrorNext: count.optional(),
  accessDenied: z.boolean().optional(),
  unprocessedRate: rate.optional(),
  resultWriteDenied: z.boolean().optional(),
  serverErrorStatus: z.union([z.literal(500), z.literal(503)]).optional(),
  throttleCode: z.enum(['ThrottlingException', 'TooManyRequestsException']).optional(),
  latencyJitterMs: count.optional(),
  queueMs: count.optional(),
  runMs: count.optional(),
  quotas: z.boolean().optional(),
});

/**
 * A fault of one catalog's connector or of one database, as Athena reports it on the operations that read
 * that catalog's metadata (ListDatabases for a catalog-wide fault; ListTableMetadata, GetTableMetadata,
 * GetDatabase). Federated (Lambda, Hive) catalogs answer through a Lambda function, whose failures Athena
 * wraps in a MetadataException naming the function; Lake Formation denies come from Glue.
 */
export const RESOURCE_FAULT_KINDS = [
  /** The connector's Lambda ran out of time. */
  'lambda-timeout',
  /** Lambda throttled the connector's invocation. */
  'lambda-throttle',
  /** The caller may not invoke the connector (lambda:InvokeFunction). */
  'lambda-denied',
  /** The connector's function is gone. */
  'lambda-missing',
  /** The connector's own backend answered "Requested resource not found" (DynamoDB and others). */
  'connector-not-found',
  /** An explicit Lake Formation deny on the database. */
  'lake-formation-denied',
  /** IAM denies the athena: action on this catalog or workgroup only (a policy scoped by resource). */
  'access-denied',
  /** The database was dropped after it was listed: Glue's EntityNotFoundException, as Athena passes it on. */
  'dropped',
] as const;
export type ResourceFaultKind = (typeof RESOURCE_FAULT_KINDS)[number];

export interface ResourceFault {
  /** The catalog (for `access-denied`: a catalog or a workgroup). */
  catalog?: string;
  /** Only this database (else the whole catalog, its database listing included). */
  database?: string;
  /** `access-denied` only: the workgroup whose operations are denied (ListQueryExecutions, GetWorkGroup...). */
  workgroup?: string;
  kind: ResourceFaultKind;
  /** Only calls that carry a NextToken fail: the first page is served, the failure comes mid-listing. */
  afterFirstPage?: boolean;
  /** Fail only this many calls, then serve again (a transient fault); default: every call. */
  times?: number;
}

export const resourceFaultSchema = z
  .strictObject({
    catalog: z.string().min(1).optional(),
    database: z.string().min(1).optional(),
    workgroup: z.string().min(1).optional(),
    kind: z.enum(RESOURCE_FAULT_KINDS),
    afterFirstPage: z.boolean().optional(),
    times: count.optional(),
  })
  .refine((f) => (f.catalog === undefined) !== (f.workgroup === undefined), { message: 'name either a catalog or a workgroup' })
  .refine((f) => f.workgroup === undefined || f.kind === 'access-denied', { message: 'a workgroup fault is access-denied' })
  .refine((f) => f.database === undefined || f.catalog !== undefined, { message: 'a database needs its catalog' })
  .refine((f) => f.kind !== 'dropped' || f.database !== undefined, { message: 'a dropped fault names its database' });

/** Operations that read a catalog's metadata, and so invoke a federated catalog's connector. */
const CATALOG_OPERATIONS = new Set(['ListDatabases', 'GetDatabase', 'ListTableMetadata', 'GetTableMetadata']);

/** Operations that act on a workgroup. */
const WORKGROUP_OPERATIONS = new Set(['ListQueryExecutions', 'GetWorkGroup', 'StartQueryExecution']);

/**
 * The error Athena answers for `fault` on `operation` (`fn`: the connector's function ARN, `arn`: the
 * resource the call acts on).
 */
export function resourceFaultError(fault: ResourceFault, operation: string, fn: string, caller: string, arn: string): AwsError {
  const lambda = (detail: string) => new AwsError('MetadataException', 400, `Failed to invoke lambda function due to ${detail}`);
  switch (fault.kind) {
    case 'lambda-timeout':
      return lambda(`com.amazonaws.services.lambda.invoke.LambdaFunctionException: ${fn} Task timed out after 900.00 seconds`);
    case 'lambda-throttle':
      return lambda(
        'com.amazonaws.services.lambda.model.TooManyRequestsException: Rate Exceeded. (Service: AWSLambda; Status Code: 429; Error Code: TooManyRequestsException)',
      );
    case 'lambda-denied':
      return lambda(
        `com.amazonaws.services.lambda.model.AWSLambdaException: User: ${caller} is not authorized to perform: lambda:InvokeFunction on resource: ${fn} because no identity-based policy allows the lambda:InvokeFunction action (Service: AWSLambda; Status Code: 403; Error Code: AccessDeniedException)`,
      );
    case 'lambda-missing':
      return lambda(
        `com.amazonaws.services.lambda.model.ResourceNotFoundException: Function not found: ${fn} (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException)`,
      );
    case 'connector-not-found':
      return lambda(
        'com.amazonaws.services.lambda.invoke.LambdaFunctionException: Requested resource not found (Service: DynamoDb, Status Code: 400, Request ID: local)',
      );
    case 'lake-formation-denied':
      return new AwsError(
        'AccessDeniedException',
        400,
        `Insufficient Lake Formation permission(s) on ${fault.database ?? fault.catalog} (Service: AWSGlue; Status Code: 400; Error Code: AccessDeniedException)`,
        false,
      );
    case 'dropped':
      return new AwsError(
        'MetadataException',
        400,
        `Database ${fault.database ?? ''} not found. (Service: AWSGlue; Status Code: 400; Error Code: EntityNotFoundException)`,
      );
    case 'access-denied':
      return new AwsError(
        'AccessDeniedException',
        400,
        `User: ${caller} is not authorized to perform: athena:${operation} on resource: ${arn} because no identity-based policy allows the athena:${operation} action`,
        false,
      );
  }
}

/** An error as the service sends it: HTTP status, `__type`, message, extra members. */
export class AwsError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    /** Athena's modeled errors carry `Message`; AWS's common ones `message`. */
    readonly modeled = true,
    readonly fields: Record<string, string> = {},
  ) {
    super(message);
  }
  body(): Record<string, string> {
    return { __type: this.code, [this.modeled ? 'Message' : 'message']: this.message, ...this.fields };
  }
}

export type FaultDecision =
  { kind: 'ok' } | { kind: 'throttle'; code: string } | { kind: 'server'; status: 500 | 503 } | { kind: 'denied' };

export class Faults {
  private readonly specs = new Map<string, FaultSpec>();
  private rng: Prng;
  private readonly counts = new Map<string, number>();
  private resources: ResourceFault[] = [];
  private jitterRng: Prng;
  private readonly buckets = new Map<string, { tokens: number; last: number }>();

  constructor(private readonly randomSeed: number) {
    this.rng = new Prng(randomSeed);
    this.jitterRng = new Prng(randomSeed ^ 0x5bd1e995);
  }

  set(operation: string, spec: FaultSpec): void {
    this.specs.set(operation, { ...faultSpecSchema.parse(spec) });
  }
  clear(): void {
    this.specs.clear();
    this.resources = [];
    this.rng = new Prng(this.randomSeed);
    this.jitterRng = new Prng(this.randomSeed ^ 0x5bd1e995);
    this.buckets.clear();
  }
  snapshot(): Record<string, FaultSpec> {
    return Object.fromEntries([...this.specs].map(([k, v]) => [k, { ...v }]));
  }

  /** Adds a catalog or database fault (a later one for the same target and kind replaces it). */
  setResource(fault: ResourceFault): void {
    const f: ResourceFault = resourceFaultSchema.parse(fault);
    this.resources = this.resources.filter(
      (r) =>
        !(
          same(r.catalog ?? '', f.catalog ?? '') &&
          same(r.database ?? '', f.database ?? '') &&
          same(r.workgroup ?? '', f.workgroup ?? '') &&
          r.kind === f.kind
        ),
    );
    this.resources.push({ ...f });
  }
  resourceSnapshot(): ResourceFault[] {
    return this.resources.map((r) => ({ ...r }));
  }

  /** The fault this call meets, if any; a fault with `times` is used up by the calls it fails. */
  resourceFault(
    operation: string,
    on: { catalog?: string | undefined; database?: string | undefined; workgroup?: string | undefined },
    paging: boolean,
  ): ResourceFault | undefined {
    const applies = (r: ResourceFault): boolean => {
      if (r.workgroup !== undefined) return WORKGROUP_OPERATIONS.has(operation) && same(r.workgroup, on.workgroup ?? 'primary');
      return (
        CATALOG_OPERATIONS.has(operation) &&
        on.catalog !== undefined &&
        same(r.catalog ?? '', on.catalog) &&
        // A database's fault leaves the catalog's database listing alone.
        (r.database === undefined || (on.database !== undefined && same(r.database, on.database)))
      );
    };
    const hit = this.resources.find((r) => applies(r) && (!r.afterFirstPage || paging) && (r.times === undefined || r.times > 0));
    if (hit?.times !== undefined) hit.times--;
    return hit;
  }

  count(operation: string): void {
    this.counts.set(operation, (this.counts.get(operation) ?? 0) + 1);
  }
  counters(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
  resetCounters(): void {
    this.counts.clear();
  }

  private field<K extends keyof FaultSpec>(operation: string, key: K): FaultSpec[K] | undefined {
    return this.specs.get(operation)?.[key] ?? this.specs.get('*')?.[key];
  }

  /** Consumes one of "the next N" from the operation's spec first, then from `*`. */
  private takeNext(operation: string, key: 'throttleNext' | 'serverErrorNext'): boolean {
    for (const k of [operation, '*']) {
      const s = this.specs.get(k);
      const n = s?.[key];
      if (s && n !== undefined && n > 0) {
        s[key] = n - 1;
        return true;
      }
    }
    return false;
  }

  latencyMs(operation: string): number {
    return this.field(operation, 'latencyMs') ?? 0;
  }

  /** latencyMs plus this call's jitter. Jitter draws from its own PRNG so fault draws stay as they were. */
  delayMs(operation: string): number {
    const jitter = this.field(operation, 'latencyJitterMs') ?? 0;
    return this.latencyMs(operation) + (jitter > 0 ? Math.round(this.jitterRng.next() * jitter) : 0);
  }

  /** How long a query started now stays QUEUED, then RUNNING, before it finishes. */
  queryTiming(operation: string): { queueMs: number; runMs: number } {
    return { queueMs: this.field(operation, 'queueMs') ?? 0, runMs: this.field(operation, 'runMs') ?? 0 };
  }

  /** With `quotas` on: whether this call is over its operation's bucket (counted as a throttle). */
  overQuota(operation: string, now = performance.now()): boolean {
    if (!this.field(operation, 'quotas')) return false;
    const quota = ATHENA_QUOTAS[operation as keyof typeof ATHENA_QUOTAS];
    if (!quota) return false;
    let b = this.buckets.get(operation);
    if (!b) this.buckets.set(operation, (b = { tokens: quota.burst, last: now }));
    b.tokens = Math.min(quota.burst, b.tokens + ((now - b.last) / 1000) * quota.perSecond);
    b.last = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return false;
    }
    this.count(`${operation}:throttled`);
    return true;
  }

  /** What happens to this call: denial first (a permission problem is not transient), then throttling, then 5xx. */
  decide(operation: string): FaultDecision {
    if (this.field(operation, 'accessDenied')) return { kind: 'denied' };
    const throttleCode = this.field(operation, 'throttleCode') ?? 'ThrottlingException';
    if (this.takeNext(operation, 'throttleNext')) return { kind: 'throttle', code: throttleCode };
    const tr = this.field(operation, 'throttleRate');
    if (tr && this.rng.next() < tr) return { kind: 'throttle', code: throttleCode };
    const status = this.field(operation, 'serverErrorStatus') ?? 500;
    if (this.takeNext(operation, 'serverErrorNext')) return { kind: 'server', status };
    const sr = this.field(operation, 'serverErrorRate');
    if (sr && this.rng.next() < sr) return { kind: 'server', status };
    return { kind: 'ok' };
  }

  /** Whether a query started now fails to write its result. */
  resultWriteDenied(operation: string): boolean {
    return this.field(operation, 'resultWriteDenied') ?? false;
  }

  /** Whether BatchGetQueryExecution leaves one more id unprocessed. */
  unprocessed(operation: string): boolean {
    const r = this.field(operation, 'unprocessedRate');
    return !!r && this.rng.next() < r;
  }
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
