/**
 * The Azure Blob half of the object-store driver: SAS and connection-string handling, the SDK calls
 * (staged blocks with transactional MD5 committed once with If-None-Match `*`), error classification,
 * and the write-only identity proof.
 *
 * Write-only proof (a container SAS of only `cw`): nothing can be read, so identity is proven by
 * committing, with If-Match `*`, a block list that names only *committed* blocks whose IDs are derived
 * from this file's sha256. The service accepts it only if the existing blob was committed from exactly
 * these blocks (the same bytes) and rewrites those same bytes; otherwise it answers 400 InvalidBlockList
 * and changes nothing, which is a conflict. Cost: the identical blob gets a new ETag (and a new version /
 * BlobCreated event where those are enabled).
 */
import { createHash, randomUUID } from 'node:crypto';
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import {
  AnonymousCredential,
  BlobServiceClient,
  ContainerClient,
  type BlobHTTPHeaders,
  type BlockBlobClient,
  type StoragePipelineOptions,
} from '@azure/storage-blob';
import type { Logger } from 'pino';
import { AuthError, CollectorError, ConfigError, TransientError, ValidationError } from '../../contracts/errors';
import type { Check, PutOptions } from '../../contracts/plugin';
import { parseDuration } from '../../run/duration';
import { checkPrefix, joinObjectName } from '../../landing/object-name';
import { isNetworkError, retryPolicy, safeMessage, scrub, withRetry, type RetryPolicy, type Verdict } from '../object-store/transfer';
import { assertUnchanged, blockCount, chooseBlockSize, objectMetadata, pumpBlocks, type BlockSource } from '../object-store/blocks';
import type { Content, HwmClient, Judgement, LandingClient, StoredProperties, Try } from '../object-store/client';
import type { AzureConnectionConfig } from './config';
import { parseConnectionString } from './connection-string';

const MiB = 1024 * 1024;
const MAX_BLOCKS = 50_000;
/** For the one request the SDK cannot express (a committed-only block list). */
const RAW_API_VERSION = '2023-11-03';
const STORAGE_SCOPE = 'https://storage.azure.com/.default';
const SHA256_EMPTY = createHash('sha256').digest('hex');
const RBAC = 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs';

// ---------------------------------------------------------------- SAS and connection strings

export interface SasInfo {
  permissions: string;
  expiresOn: Date | undefined;
  startsOn: Date | undefined;
}

/** The parts of a SAS the client can check without a request. */
export function parseSas(token: string): SasInfo {
  const params = new URLSearchParams(token.replace(/^\?/, ''));
  if (!params.get('sig')) throw new ConfigError('sasToken: does not look like a SAS token (no sig= parameter)');
  const date = (v: string | null) => {
    if (!v) return undefined;
    const d = new Date(v);
    return Number.isNaN(d.getTime()) ? undefined : d;
  };
  return { permissions: params.get('sp') ?? '', expiresOn: date(params.get('se')), startsOn: date(params.get('st')) };
}

// ---------------------------------------------------------------- the connection

type AuthKind = 'sas' | 'shared-key' | 'azure-ad';

/** Landing-only settings: how bytes go out. */
export interface AzureUploadOptions {
  /** Bytes per block (raised so a blob stays within 50,000 blocks). */
  blockSize: number;
  /** Blocks in flight per file. */
  concurrency: number;
}

/** One container, with everything the landing and the HWM store need to talk to it safely. */
export class AzureBlobClient implements LandingClient, HwmClient {
  readonly container: ContainerClient;
  readonly prefix: string;
  readonly authKind: AuthKind;
  readonly sas: SasInfo | undefined;
  readonly retry: RetryPolicy;
  private readonly secrets: string[] = [];
  private readonly credential: TokenCredential | undefined;
  private readonly where: string;

  readonly deleteOfMissingSucceeds = false;

  constructor(
    config: AzureConnectionConfig,
    readonly label: string,
    private readonly log: Logger,
    private readonly upload: AzureUploadOptions = { blockSize: 16 * MiB, concurrency: 4 },
  ) {
    this.prefix = checkPrefix(config.path, 'path');
    const timeout = config.requestTimeout ? parseDuration(config.requestTimeout) : undefined;
    this.retry = retryPolicy(config.maxRetries, timeout);
    // Our own retry loop owns retries and timeouts (the SDK's cannot time out a stalled try).
    const pipeline: StoragePipelineOptions = {
      retryOptions: { maxTries: 1 },
      userAgentOptions: { userAgentPrefix: 'temporal-collectors' },
    };
    const base = config.serviceUrl ? config.serviceUrl.replace(/\/+$/, '') : `https://${config.account}.blob.core.windows.net`;
    if (config.sasToken) {
      const token = config.sasToken.replace(/^\?/, '');
      this.secrets.push(token, new URLSearchParams(token).get('sig') ?? '');
      this.sas = parseSas(token);
      this.authKind = 'sas';
      this.container = new ContainerClient(`${base}/${config.container}?${token}`, new AnonymousCredential(), pipeline);
      this.where = `${base}/${config.container}`;
    } else if (config.connectionString) {
      const cs = parseConnectionString(config.connectionString);
      const key = cs.get('accountkey');
      const sas = cs.get('sharedaccesssignature');
      this.secrets.push(config.connectionString, key ?? '', sas ?? '', sas ? (new URLSearchParams(sas).get('sig') ?? '') : '');
      this.sas = sas ? parseSas(sas) : undefined;
      this.authKind = key ? 'shared-key' : 'sas';
      try {
        this.container = BlobServiceClient.fromConnectionString(config.connectionString, pipeline).getContainerClient(config.container);
      } catch (e) {
        throw new ConfigError(`connectionString: not a usable Azure Storage connection string: ${safeMessage(e, this.secrets)}`);
      }
      const endpoint = cs.get('blobendpoint') ?? `https://${cs.get('accountname')}.blob.${cs.get('endpointsuffix') ?? 'core.windows.net'}`;
      this.where = `${endpoint.replace(/\/+$/, '')}/${config.container}`;
    } else {
      this.sas = undefined;
      this.authKind = 'azure-ad';
      this.credential = new DefaultAzureCredential(
        config.clientId ? { managedIdentityClientId: config.clientId, workloadIdentityClientId: config.clientId } : {},
      );
      this.container = new ContainerClient(`${base}/${config.container}`, this.credential, pipeline);
      this.where = `${base}/${config.container}`;
    }
  }

  describe(): string {
    const url = this.where.replace(/^https:\/\/([a-z0-9]+)\.blob\.core\.windows\.net/, 'azure://$1');
    return this.prefix ? `${url}/${this.prefix}` : url;
  }

  /** Whether the credential can read blobs: known from a SAS's `sp`, true for a key, unknown for AD. */
  get canRead(): boolean | undefined {
    if (this.sas) return this.sas.permissions.includes('r');
    return this.authKind === 'shared-key' ? true : undefined;
  }

  get canDelete(): boolean | undefined {
    if (this.sas) return this.sas.permissions.includes('d');
    return this.authKind === 'shared-key' ? true : undefined;
  }

  /** Fails before any request when the SAS is expired or not yet valid (saves a round trip, and says why). */
  assertUsable(now = new Date()): void {
    const sas = this.sas;
    if (!sas) return;
    if (sas.expiresOn && sas.expiresOn.getTime() <= now.getTime()) {
      throw new AuthError(
        `${this.label}: the SAS token for ${this.describe()} expired at ${sas.expiresOn.toISOString()}; issue a new one (see docs/landing-zones.md for the permissions)`,
        {
          grant: 'a SAS token whose se= is in the future',
        },
      );
    }
    // Five minutes of clock skew is what Azure itself tolerates.
    if (sas.startsOn && sas.startsOn.getTime() > now.getTime() + 300_000) {
      throw new AuthError(
        `${this.label}: the SAS token for ${this.describe()} is not valid until ${sas.startsOn.toISOString()} (st=); check the clock or the token`,
      );
    }
    if (!/[cw]/.test(sas.permissions)) {
      throw new AuthError(
        `${this.label}: the SAS token for ${this.describe()} has permissions "${sas.permissions}" but needs at least c and w`,
        { grant: 'SAS permissions c,w' },
      );
    }
  }

  /** For test-connection: an Entra ID token can be obtained (other kinds are checked locally). */
  async checkIdentity(signal: AbortSignal): Promise<void> {
    if (!this.credential) return;
    try {
      await this.credential.getToken(STORAGE_SCOPE, { abortSignal: signal });
    } catch (e) {
      throw this.verdict(e, 'sign-in', '').error;
    }
  }

  /** Scrubs credentials out of any text before it reaches an error or a log. */
  scrub(text: string): string {
    return scrub(text, this.secrets);
  }

  /** Where a blob lives, for messages (never with a SAS). */
  url(blobName: string): string {
    return `${this.where}/${blobName}`;
  }

  key(objectName: string): string {
    return joinObjectName(this.prefix, objectName);
  }

  /** Runs one service call with our retry policy; failures come out as typed, scrubbed errors. */
  call<T>(what: string, blobName: string, signal: AbortSignal, op: Try<T>): Promise<T> {
    return withRetry(this.retry, signal, (err) => this.verdict(err, what, blobName), op);
  }

  status(err: unknown): number | undefined {
    return httpStatus(err);
  }

  /** The SDK's clients hold no sockets of their own between requests. */
  async close(): Promise<void> {}

  // ---------------------------------------------------------------- the landing's half

  private blob(key: string): BlockBlobClient {
    return this.container.getBlockBlobClient(key);
  }

  private blockIds(c: Content): string[] {
    const blockSize = chooseBlockSize(c.bytes, this.upload.blockSize, MAX_BLOCKS);
    return Array.from({ length: blockCount(c.bytes, blockSize) }, (_, i) => azureBlockId(c.sha256, blockSize, i));
  }

  private headers(c: Content): BlobHTTPHeaders {
    return {
      blobContentType: c.contentType,
      blobContentEncoding: c.contentEncoding,
      // Whole-blob MD5, stored for readers; each block is verified by its own transactional MD5.
      blobContentMD5: Buffer.from(c.md5, 'base64'),
    };
  }

  isMultiBlock(bytes: number): boolean {
    return blockCount(bytes, chooseBlockSize(bytes, this.upload.blockSize, MAX_BLOCKS)) > 1;
  }

  /** Stages the blocks (content-derived IDs, transactional MD5 each), then commits with If-None-Match `*`. */
  async create(source: BlockSource, c: Content, key: string, options: PutOptions): Promise<boolean> {
    const { signal } = options;
    const blob = this.blob(key);
    const blockSize = chooseBlockSize(c.bytes, this.upload.blockSize, MAX_BLOCKS);
    const ids = this.blockIds(c);
    if (ids.length > 0) {
      await pumpBlocks({
        source,
        size: c.bytes,
        blockSize,
        concurrency: this.upload.concurrency,
        signal,
        onProgress: options.onProgress,
        send: async (block, s) => {
          const md5 = createHash('md5').update(block.data).digest();
          await this.call(`upload of block ${block.index}`, key, s, (ts) =>
            blob.stageBlock(ids[block.index]!, block.data, block.data.length, { transactionalContentMD5: md5, abortSignal: ts }),
          );
        },
      });
      if ('path' in source) await assertUnchanged(source.path, source.fingerprint, key);
    } else if (c.sha256.toLowerCase() !== SHA256_EMPTY) {
      throw new ValidationError(`${key}: the manifest says 0 bytes but sha256 ${c.sha256}`);
    }
    return this.call('commit', key, signal, async (ts) => {
      try {
        await blob.commitBlockList(ids, {
          conditions: { ifNoneMatch: '*' },
          blobHTTPHeaders: this.headers(c),
          metadata: objectMetadata(c.metadata, c.sha256),
          abortSignal: ts,
        });
        return true;
      } catch (e) {
        if (isAlreadyExists(e)) return false;
        throw e;
      }
    });
  }

  async head(key: string, signal: AbortSignal): Promise<StoredProperties> {
    const props = await this.blob(key).getProperties({ abortSignal: signal });
    return {
      metadata: props.metadata,
      digestMatches: (c) =>
        (props.contentMD5 ? Buffer.from(props.contentMD5).toString('base64') : undefined) === c.md5 && props.contentLength === c.bytes,
    };
  }

  /**
   * Write-only identity proof: commit the existing blob's committed blocks, named by our content-derived
   * IDs, with If-Match `*`. Accepted only when the blob holds exactly those blocks; a rewrite of the same
   * bytes. The SDK always sends blocks as "Latest", which would pick up our uncommitted blocks, so
   * this one request is made directly.
   */
  async proveIdentity(_source: BlockSource, c: Content, key: string, signal: AbortSignal): Promise<Judgement> {
    const ids = this.blockIds(c);
    if (ids.length === 0) {
      // An empty file has no blocks to prove identity with. Whatever is there, no data of ours is
      // lost by leaving it (we carry no rows), so this is accepted and said loudly.
      this.log.warn(
        { object: key },
        `${this.label}: an object already exists under this name; an empty file cannot be compared without read permission, treating it as present`,
      );
      return 'identical';
    }
    const headers = this.headers(c);
    const metadata = objectMetadata(c.metadata, c.sha256);
    const body = `<?xml version="1.0" encoding="utf-8"?><BlockList>${ids.map((id) => `<Committed>${id}</Committed>`).join('')}</BlockList>`;
    return this.call('write-only verification of the existing object', key, signal, async (ts) => {
      const { url, headers: auth } = await this.rawRequest(this.blob(key), 'comp=blocklist', ts);
      const h: Record<string, string> = {
        ...auth,
        'content-type': 'application/xml; charset=utf-8',
        'if-match': '*',
        'x-ms-blob-content-type': headers.blobContentType ?? 'application/octet-stream',
        'x-ms-blob-content-md5': c.md5,
      };
      if (headers.blobContentEncoding) h['x-ms-blob-content-encoding'] = headers.blobContentEncoding;
      for (const [k, v] of Object.entries(metadata)) h[`x-ms-meta-${k}`] = v;
      const res = await fetch(url, { method: 'PUT', headers: h, body, signal: ts });
      const text = await res.text();
      if (res.status === 200 || res.status === 201) return 'identical';
      const code = res.headers.get('x-ms-error-code') ?? /<Code>([^<]+)<\/Code>/.exec(text)?.[1];
      if (res.status === 400 && code === 'InvalidBlockList') return 'different';
      if (res.status === 412 || (res.status === 404 && code !== 'ContainerNotFound')) return 'absent';
      const message = /<Message>([^<]+)/.exec(text)?.[1] ?? res.statusText;
      if (res.status === 403) {
        throw new AuthError(
          `${this.label}: ${key} already exists and cannot be compared: the write-only check was refused (403 ${code ?? ''}). Grant w (to re-commit) or r (to read) on the container`,
          { grant: 'SAS permission w (or r)' },
        );
      }
      throw new HttpStatusError(res.status, code, message);
    });
  }

  async deleteOnce(key: string, signal: AbortSignal): Promise<void> {
    await this.blob(key).delete({ abortSignal: signal });
  }

  async checkCredentials(signal: AbortSignal): Promise<Check> {
    try {
      this.assertUsable();
      await this.checkIdentity(signal);
      return {
        name: 'credentials',
        ok: true,
        required: true,
        detail: this.sas
          ? `SAS sp=${this.sas.permissions}${this.sas.expiresOn ? `, expires ${this.sas.expiresOn.toISOString()}` : ''}`
          : this.authKind,
      };
    } catch (e) {
      const fallback =
        this.authKind === 'azure-ad' ? 'a managed or workload identity for the worker (AZURE_CLIENT_ID...)' : 'a valid SAS token';
      const grant = e instanceof AuthError && typeof e.details?.grant === 'string' ? e.details.grant : fallback;
      return { name: 'credentials', ok: false, required: true, detail: (e as Error).message, grant };
    }
  }

  conflictHint(): string {
    return '';
  }

  readonly proof = {
    detail: 'write-only: by re-committing the existing blocks (no read permission needed)',
    failed: (j: Judgement) => ({ detail: `the write-only check judged the probe ${j}` }),
  };

  get grants(): LandingClient['grants'] {
    const sas = this.authKind === 'sas';
    return {
      write: sas ? 'SAS permissions c,w' : `${RBAC}/write`,
      read: () => (sas ? 'SAS permission r' : `${RBAC}/read`),
      verify: sas ? 'SAS permission w (write-only check) or r (read check)' : `${RBAC}/read`,
      delete: 'SAS permission d',
    };
  }

  // ---------------------------------------------------------------- the HWM store's half

  async readText(key: string, signal: AbortSignal): Promise<{ text: string; etag: string | undefined } | undefined> {
    try {
      const r = await this.blob(key).download(0, undefined, { abortSignal: signal });
      return { text: await readText(r.readableStreamBody), etag: r.etag };
    } catch (e) {
      if (httpStatus(e) === 404) return undefined;
      throw e;
    }
  }

  async writeText(key: string, text: string, expected: string | null, signal: AbortSignal): Promise<string | null> {
    const body = Buffer.from(text);
    const r = await this.blob(key).upload(body, body.length, {
      conditions: expected === null ? { ifNoneMatch: '*' } : { ifMatch: expected },
      blobHTTPHeaders: { blobContentType: 'text/plain; charset=utf-8', blobContentMD5: createHash('md5').update(body).digest() },
      abortSignal: signal,
    });
    return r.etag ?? null;
  }

  async deleteIfMatch(key: string, etag: string, signal: AbortSignal): Promise<void> {
    await this.blob(key).delete({ conditions: { ifMatch: etag }, abortSignal: signal });
  }

  get hwmGrants(): HwmClient['hwmGrants'] {
    const sas = this.authKind === 'sas';
    return {
      read: () => (sas ? 'SAS permission r' : `${RBAC}/read`),
      write: sas ? 'SAS permissions c,w' : `${RBAC}/write`,
      delete: () => (sas ? 'SAS permission d' : `${RBAC}/delete`),
    };
  }

  /** URL and headers for a raw request to `blob` (SAS in the URL, or an Entra ID bearer token). */
  async rawRequest(blob: BlockBlobClient, query: string, signal: AbortSignal): Promise<{ url: string; headers: Record<string, string> }> {
    const url = `${blob.url}${blob.url.includes('?') ? '&' : '?'}${query}`;
    const headers: Record<string, string> = { 'x-ms-version': RAW_API_VERSION, 'x-ms-client-request-id': randomUUID() };
    if (this.authKind === 'azure-ad' && this.credential) {
      const token = await this.credential.getToken(STORAGE_SCOPE, { abortSignal: signal });
      if (!token) throw new AuthError(`${this.label}: no Entra ID token for ${this.describe()}`);
      headers.authorization = `Bearer ${token.token}`;
    } else if (this.authKind !== 'sas') {
      throw new ConfigError(
        `${this.label}: verifyExisting: write-only needs a SAS or auth: azure-ad (an account key can always read; use read)`,
      );
    }
    return { url, headers };
  }

  /** Maps a failed call to retry-or-fail with a typed error whose message holds no credential. */
  verdict(err: unknown, what: string, blobName: string): Verdict {
    if (err instanceof CollectorError) return { retry: !err.nonRetryable, error: err };
    const status = httpStatus(err);
    const code = errorCode(err);
    const target = blobName ? `${this.where}/${blobName}` : this.describe();
    const label = `${status ?? ''}${code ? ` ${code}` : ''}`.trim();
    const msg = safeMessage(err, this.secrets);
    const details = { status, code, target };
    if (status === 401 || status === 403) {
      return {
        retry: false,
        error: new AuthError(
          `${this.label}: ${what} on ${target} was refused (${label}): ${msg}. ${authHint(code, this.authKind)}`,
          details,
        ),
      };
    }
    if (status === 404 && code === 'ContainerNotFound') {
      return {
        retry: false,
        error: new ConfigError(`${this.label}: container ${this.where} does not exist; create it or fix container/serviceUrl`),
      };
    }
    if (status === 408 || status === 429 || (status !== undefined && status >= 500)) {
      return { retry: true, error: new TransientError(`${this.label}: ${what} on ${target} failed (${label}): ${msg}`, details) };
    }
    if (status === 400 && (code === 'Md5Mismatch' || code === 'Crc64Mismatch' || code === 'InvalidMd5')) {
      return {
        retry: true,
        error: new TransientError(`${this.label}: ${what} on ${target}: data corrupted in transit (${label})`, details),
      };
    }
    if (isNetworkError(err)) {
      return { retry: true, error: new TransientError(`${this.label}: ${what} on ${target}: network error: ${msg}`, details) };
    }
    const name = err instanceof Error ? err.name : '';
    if (name === 'CredentialUnavailableError' || name === 'AuthenticationRequiredError' || name === 'AggregateAuthenticationError') {
      return {
        retry: false,
        error: new AuthError(
          `${this.label}: no usable Entra ID credential for ${this.describe()}: ${msg}. Give the worker a managed or workload identity (AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE) or use a SAS`,
        ),
      };
    }
    if (name === 'AuthenticationError') {
      return { retry: status === undefined || status >= 500, error: new AuthError(`${this.label}: Entra ID sign-in failed: ${msg}`) };
    }
    // Anything else is unexpected: no blind local retries, but the activity may retry.
    return {
      retry: false,
      error: new TransientError(`${this.label}: ${what} on ${target} failed${label ? ` (${label})` : ''}: ${msg}`, details),
    };
  }
}

function authHint(code: string | undefined, kind: AuthKind): string {
  if (code === 'AuthorizationPermissionMismatch' || code === 'AuthorizationResourceTypeMismatch') {
    return kind === 'azure-ad'
      ? 'The identity lacks a data-plane permission: assign Storage Blob Data Contributor on the container (or the custom role in docs/landing-zones.md)'
      : 'The SAS lacks a permission for this operation: uploads need sp=cw, the HWM store rcwd (see docs/landing-zones.md)';
  }
  if (code === 'AuthorizationSourceIPMismatch') return 'The SAS does not allow this source IP (sip=)';
  if (code === 'AuthorizationProtocolMismatch') return 'The SAS does not allow this protocol (spr=)';
  return kind === 'sas'
    ? 'The SAS was rejected: it may be tampered, revoked, expired or for another container'
    : kind === 'shared-key'
      ? 'The account key was rejected: rotate it in the secret store'
      : 'The Entra ID token was rejected';
}

/** A status answered to a raw request, shaped like the SDK's RestError for `verdict`. */
class HttpStatusError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'HttpStatusError';
  }
}

export function httpStatus(err: unknown): number | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const s = (err as { statusCode?: unknown }).statusCode;
  return typeof s === 'number' ? s : undefined;
}

export function errorCode(err: unknown): string | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const rec = err as {
    code?: unknown;
    details?: { errorCode?: unknown };
    response?: { headers?: { get?(n: string): string | undefined } };
  };
  if (typeof rec.details?.errorCode === 'string') return rec.details.errorCode;
  // HEAD answers carry no body: the code is only in a header.
  const header = rec.response?.headers?.get?.('x-ms-error-code');
  if (header) return header;
  return typeof rec.code === 'string' && !/^E[A-Z]+$/.test(rec.code) && rec.code !== 'REQUEST_SEND_ERROR' ? rec.code : undefined;
}

/** The answer to a create with If-None-Match `*` when the name is taken (not a lease or tier conflict). */
function isAlreadyExists(err: unknown): boolean {
  const s = httpStatus(err);
  const code = errorCode(err);
  return (
    (s === 409 && (code === undefined || code === 'BlobAlreadyExists')) || (s === 412 && (code === undefined || code === 'ConditionNotMet'))
  );
}

/** Block IDs derived from the whole file's sha256 and the block layout: the same bytes give the same IDs. */
export function azureBlockId(sha256: string, blockSize: number, index: number): string {
  return createHash('sha256').update(`${sha256.toLowerCase()}/${blockSize}/${index}`).digest('base64');
}

async function readText(stream: NodeJS.ReadableStream | undefined): Promise<string> {
  if (!stream) return '';
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}
