/**
 * A local Athena endpoint: a real HTTP server speaking AWS JSON 1.1 as @aws-sdk/client-athena does
 * (POST /, X-Amz-Target: AmazonAthena.<Operation>), over a seed, with faults and counters controllable
 * in-process and over HTTP (/_local/...) for workers in other processes. SigV4 is accepted unverified.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AwsError, faultSpecSchema, Faults, resourceFaultError, resourceFaultSchema, type FaultSpec, type ResourceFault } from './faults';
import type { AthenaSeed } from './model';
import { ACCOUNT, AthenaService, OPERATIONS, type JsonObject, type Operation } from './service';
import { IcebergFiles, icebergMetadataFile } from './iceberg';

export type { FaultSpec, ResourceFault, ResourceFaultKind } from './faults';
export { generateSeed, demoSeed, loadSeedFile, type AthenaSeed } from './seed';
export { athenaLocalControl, type AthenaLocalControl } from './control';

export interface AthenaLocalOptions {
  seed: AthenaSeed;
  /** 0 = random */
  port?: number;
  /** default 127.0.0.1 */
  host?: string;
  /** Appends a new finished synthetic execution at this interval, so later runs find new history. */
  liveQueriesEveryMs?: number;
  /** Seeds the PRNG behind fault probabilities, result shuffles and live queries. Default 1. */
  randomSeed?: number;
}

export interface AthenaLocal {
  endpoint: string;
  port: number;
  counters(): Record<string, number>;
  /**
   * Who signed the requests since the last reset: per access key id, the calls and whether they carried a
   * session token (temporary credentials). Signatures are not verified; this shows which credentials a
   * client used (e.g. an assumed role's).
   */
  callers(): Record<string, { calls: number; sessionToken: boolean }>;
  resetCounters(): void;
  /** e.g. 'ListQueryExecutions' or '*'; replaces that operation's previous spec. */
  setFaults(operation: string, spec: FaultSpec): void;
  /** A fault of one catalog's connector or one database (Lambda timeout, Lake Formation deny...). */
  setResourceFault(fault: ResourceFault): void;
  /** Clears operation and resource faults. */
  clearFaults(): void;
  /** S3 buckets whose objects (Iceberg metadata files) answer 403 AccessDenied; replaces the previous list. */
  setS3Denied(buckets: string[]): void;
  close(): Promise<void>;
}

const MAX_BODY = 10 * 1024 * 1024;
const TARGET_PREFIX = 'AmazonAthena.';

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new AwsError('SerializationException', 413, 'Request body too large', false));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** The region the client signed for (SigV4 credential scope), so ARNs in messages look right. */
function signingKey(req: IncomingMessage): string {
  return /Credential=([^/,\s]+)\//.exec(req.headers.authorization ?? '')?.[1] ?? '(unsigned)';
}

function signedRegion(req: IncomingMessage): string {
  const auth = req.headers.authorization ?? '';
  const m = /Credential=[^/]+\/\d{8}\/([^/]+)\/athena\//.exec(auth);
  return m ? (m[1] as string) : 'us-east-1';
}

function parseObject(text: string): JsonObject {
  const v: unknown = text.trim() ? JSON.parse(text) : {};
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw new AwsError('SerializationException', 400, 'Request body must be a JSON object', false);
  return v as JsonObject;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function startAthenaLocal(options: AthenaLocalOptions): Promise<AthenaLocal> {
  const randomSeed = options.randomSeed ?? 1;
  const service = new AthenaService({ seed: options.seed, randomSeed });
  const faults = new Faults(randomSeed);
  let callers: Record<string, { calls: number; sessionToken: boolean }> = {};
  // The HTTP control routes and the in-process handle reset the same things.
  const resetCounters = (): void => {
    faults.resetCounters();
    callers = {};
  };
  const known = new Set<string>(OPERATIONS);
  // A misspelt operation would never fire: refuse it.
  const checkOperation = (operation: string) => {
    if (operation !== '*' && !known.has(operation))
      throw new Error(`unknown operation "${operation}"; use "*" or one of ${OPERATIONS.join(', ')}`);
  };

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const text = JSON.stringify(body ?? {});
    res.writeHead(status, {
      'content-type': 'application/x-amz-json-1.1',
      'content-length': String(Buffer.byteLength(text)),
      'x-amzn-requestid': randomUUID(),
      ...headers,
    });
    res.end(text);
  };
  const sendError = (res: ServerResponse, e: AwsError) => send(res, e.status, e.body(), { 'x-amzn-errortype': e.code });

  /**
   * A path-style S3 GetObject of an Iceberg table's metadata file (`GET /<bucket>/<key>`), with S3's XML
   * errors; latency as configured for every operation ('*').
   */
  const icebergFiles = new IcebergFiles(service.seed);
  let s3Denied = new Set<string>();
  const handleS3 = async (res: ServerResponse, path: string) => {
    faults.count('S3GetObject');
    const [bucket = '', ...rest] = path.slice(1).split('/');
    const key = rest.map((p) => decodeURIComponent(p)).join('/');
    const latency = faults.delayMs('S3GetObject');
    if (latency > 0) await new Promise((r) => setTimeout(r, latency));
    const xmlError = (status: number, code: string, message: string) => {
      const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`;
      res.writeHead(status, { 'content-type': 'application/xml', 'content-length': String(Buffer.byteLength(body)) });
      res.end(body);
    };
    if (s3Denied.has(bucket)) return xmlError(403, 'AccessDenied', 'Access Denied');
    const t = icebergFiles.get(bucket, key);
    if (!t) return xmlError(404, 'NoSuchKey', 'The specified key does not exist.');
    const body = icebergMetadataFile(t);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
    res.end(body);
  };

  const handleAthena = async (req: IncomingMessage, res: ServerResponse) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    const op = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
    if (!known.has(op))
      return sendError(res, new AwsError('UnknownOperationException', 400, `Unknown operation ${target || '(no X-Amz-Target)'}`, false));
    const operation = op as Operation;
    faults.count(operation);
    const caller = (callers[signingKey(req)] ??= { calls: 0, sessionToken: false });
    caller.calls++;
    if (req.headers['x-amz-security-token']) caller.sessionToken = true;
    let input: JsonObject;
    try {
      input = parseObject(await readBody(req));
    } catch (e) {
      return sendError(res, e instanceof AwsError ? e : new AwsError('SerializationException', 400, 'Malformed JSON request body', false));
    }
    // The bucket is taken on arrival, as the service meters requests; the answer still takes the latency.
    const overQuota = faults.overQuota(operation);
    const latency = faults.delayMs(operation);
    if (latency > 0) await sleep(latency);
    const decision = overQuota ? ({ kind: 'throttle', code: 'ThrottlingException' } as const) : faults.decide(operation);
    if (decision.kind === 'denied') {
      const action = `athena:${operation}`;
      const arn = service.resourceArn(operation, input, signedRegion(req));
      return sendError(
        res,
        new AwsError(
          'AccessDeniedException',
          400,
          `User: arn:aws:iam::${ACCOUNT}:user/local is not authorized to perform: ${action} on resource: ${arn} because no identity-based policy allows the ${action} action`,
          false,
        ),
      );
    }
    if (decision.kind === 'throttle')
      return sendError(
        res,
        decision.code === 'TooManyRequestsException'
          ? new AwsError('TooManyRequestsException', 400, 'Rate exceeded', true, { Reason: 'CONCURRENT_QUERY_LIMIT_EXCEEDED' })
          : new AwsError('ThrottlingException', 400, 'Rate exceeded', false),
      );
    if (decision.kind === 'server')
      return sendError(
        res,
        decision.status === 503
          ? new AwsError('ServiceUnavailableException', 503, 'Service is unavailable. Retry the request.', false)
          : new AwsError('InternalServerException', 500, 'An internal error occurred. Retry the request.', true),
      );
    const text = (key: string) => (typeof input[key] === 'string' ? input[key] : undefined);
    const resourceFault = faults.resourceFault(
      operation,
      { catalog: text('CatalogName'), database: text('DatabaseName'), workgroup: text('WorkGroup') },
      text('NextToken') !== undefined,
    );
    if (resourceFault) {
      const region = signedRegion(req);
      const catalog = (resourceFault.catalog ?? '').toLowerCase();
      const info = service.seed.catalogs().find((c) => c.name.toLowerCase() === catalog);
      const fn =
        info?.parameters?.['metadata-function'] ??
        info?.parameters?.function ??
        `arn:aws:lambda:${region}:${ACCOUNT}:function:${catalog}-connector`;
      const arn = service.resourceArn(operation, input, region);
      return sendError(res, resourceFaultError(resourceFault, operation, fn, `arn:aws:iam::${ACCOUNT}:user/local`, arn));
    }
    try {
      send(
        res,
        200,
        await service.call(operation, input, {
          leaveUnprocessed: () => faults.unprocessed(operation),
          resultWriteDenied: () => faults.resultWriteDenied(operation),
          queryTiming: () => faults.queryTiming(operation),
        }),
      );
    } catch (e) {
      if (e instanceof AwsError) return sendError(res, e);
      sendError(res, new AwsError('InternalServerException', 500, e instanceof Error ? e.message : String(e), true));
    }
  };

  /** Control plane for tests in other processes. */
  const handleLocal = async (req: IncomingMessage, res: ServerResponse, path: string) => {
    const json = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(text);
    };
    const method = req.method ?? 'GET';
    try {
      if (path === '/_local/health' && method === 'GET') return json(200, { ok: true, seed: options.seed.label });
      if (path === '/_local/counters' && method === 'GET') return json(200, faults.counters());
      if (path === '/_local/counters' && method === 'DELETE') {
        resetCounters();
        return json(200, {});
      }
      if (path === '/_local/faults' && method === 'GET') return json(200, faults.snapshot());
      if (path === '/_local/faults' && method === 'POST') {
        const body = parseObject(await readBody(req));
        const { operation, ...spec } = body;
        if (typeof operation !== 'string' || !operation)
          return json(400, { error: 'body needs "operation" (an Athena operation name or "*") and fault fields' });
        checkOperation(operation);
        const parsed = faultSpecSchema.safeParse(spec);
        if (!parsed.success)
          return json(400, { error: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ') });
        faults.set(operation, parsed.data);
        return json(200, faults.snapshot());
      }
      if (path === '/_local/resource-faults' && method === 'GET') return json(200, faults.resourceSnapshot());
      if (path === '/_local/resource-faults' && method === 'POST') {
        const parsed = resourceFaultSchema.safeParse(parseObject(await readBody(req)));
        if (!parsed.success)
          return json(400, { error: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ') });
        faults.setResource(parsed.data);
        return json(200, faults.resourceSnapshot());
      }
      if (path === '/_local/faults' && method === 'DELETE') {
        faults.clear();
        return json(200, {});
      }
      if (path === '/_local/reset' && method === 'POST') {
        faults.clear();
        resetCounters();
        return json(200, {});
      }
      if (path === '/_local/executions' && method === 'POST') return json(200, { QueryExecutionId: service.appendLiveExecution() ?? null });
      return json(404, { error: `no ${method} ${path}` });
    } catch (e) {
      return json(400, { error: e instanceof Error ? e.message : String(e) });
    }
  };

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] as string;
    const work = path.startsWith('/_local/')
      ? handleLocal(req, res, path)
      : req.method === 'POST'
        ? handleAthena(req, res)
        : req.method === 'GET' && path.length > 1
          ? handleS3(res, path)
          : Promise.resolve(sendError(res, new AwsError('UnknownOperationException', 404, `Use POST / with X-Amz-Target`, false)));
    work.catch((e: unknown) => {
      if (!res.headersSent) sendError(res, new AwsError('InternalServerException', 500, e instanceof Error ? e.message : String(e), true));
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const live =
    options.liveQueriesEveryMs && options.liveQueriesEveryMs > 0
      ? setInterval(() => service.appendLiveExecution(), options.liveQueriesEveryMs)
      : undefined;
  live?.unref();

  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    counters: () => faults.counters(),
    callers: () => structuredClone(callers),
    resetCounters,
    setFaults: (operation, spec) => {
      checkOperation(operation);
      faults.set(operation, spec);
    },
    setResourceFault: (fault) => faults.setResource(fault),
    clearFaults: () => faults.clear(),
    setS3Denied: (buckets) => (s3Denied = new Set(buckets)),
    close: () =>
      (closing ??= (async () => {
        if (live) clearInterval(live);
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await closed;
        await service.close();
      })()),
  };
}
