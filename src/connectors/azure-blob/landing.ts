/**
 * Azure Blob Storage landing zone: staged blocks (transactional MD5 each) committed once with
 * If-None-Match `*`, so an object appears whole or not at all and never twice.
 *
 * Existing objects under a final name (a retry after a lost response, a re-run of a window) are judged:
 * - `read`: the blob's metadata sha256 (or Content-MD5) is compared; needs SAS `r`/RBAC read.
 * - `write-only` (a container SAS of only `cw`): nothing can be read, so identity is proven by
 *   committing, with If-Match `*`, a block list that names only *committed* blocks whose IDs are
 *   derived from this file's sha256. The service accepts it only if the existing blob was committed
 *   from exactly these blocks (the same bytes) and rewrites those same bytes; otherwise it answers
 *   400 InvalidBlockList and changes nothing, which is a conflict. Cost: the identical blob gets a new
 *   ETag (and a new version / BlobCreated event where those are enabled).
 * - `auto` (default): `read` unless the SAS lacks `r`, or a read is refused; then `write-only`.
 */
import { azureConnectionTargets } from './targets';
import { parseConnectionString } from './connection-string';
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
import { z } from 'zod';
import { duration, secretRef } from '../../config/fields';
import {
  AuthError,
  CollectorError,
  ConfigError,
  ConflictError,
  TransientError,
  ValidationError,
} from '../../contracts/errors';
import type { Check, LandingPlugin, LandingZone, OutgoingFile, PluginContext, PutOptions, PutOutcome } from '../../contracts/plugin';
import { parseDuration } from '../../run/duration';
import { checkPrefix, COLLECTOR_TMP_DIR, joinObjectName, landingPrefix, probeObjectName } from '../../landing/object-name';
import { isNetworkError, retryPolicy, safeMessage, scrub, withRetry, type RetryPolicy, type Verdict } from '../object-store/transfer';
import { endpointUrl } from '../object-store/endpoint-url';
import { assertUnchanged, blockCount, checkStagedFile, chooseBlockSize, metadataValue, objectMetadata, pumpBlocks, type BlockSource } from '../object-store/blocks';

const MiB = 1024 * 1024;
const MAX_BLOCKS = 50_000;
const MAX_BLOCK_MIB = 4000;
/** For the one request the SDK cannot express (a committed-only block list). */
const RAW_API_VERSION = '2023-11-03';
const STORAGE_SCOPE = 'https://storage.azure.com/.default';
const SHA256_EMPTY = createHash('sha256').digest('hex');

// ---------------------------------------------------------------- config (shared with the HWM store)

/** Connection and auth fields common to the azure-blob landing and HWM store. */
export const azureConnectionFields = {
  /** Storage account name; the endpoint is https://<account>.blob.core.windows.net. */
  account: z
    .string()
    .regex(/^[a-z0-9]{3,24}$/, { message: 'must be a storage account name: 3-24 lower-case letters and digits' })
    .optional(),
  /** Full blob service URL instead of `account` (Azurite, sovereign clouds, private endpoints). */
  serviceUrl: endpointUrl().optional(),
  container: z.string().regex(/^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/, {
    message: 'must be a container name: 3-63 lower-case letters, digits and single dashes',
  }),
  path: landingPrefix(),
  /** A container or account SAS (without or with the leading `?`). */
  sasToken: secretRef().optional(),
  connectionString: secretRef().optional(),
  /** Microsoft Entra ID through DefaultAzureCredential (managed identity, workload identity, CLI...). */
  auth: z.literal('azure-ad').optional(),
  /** Client id of a user-assigned managed identity or workload identity (with auth: azure-ad). */
  clientId: z.string().min(1).optional(),
  /** Each request is abandoned and retried after this long (default 2m). */
  requestTimeout: duration().optional(),
  /** Retries per request for throttling, 5xx, resets and timeouts (default 5). */
  maxRetries: z.number().int().min(0).max(20).optional(),
};

interface AzureConnectionConfig {
  account?: string | undefined;
  serviceUrl?: string | undefined;
  container: string;
  path: string;
  sasToken?: string | undefined;
  connectionString?: string | undefined;
  auth?: 'azure-ad' | undefined;
  clientId?: string | undefined;
  requestTimeout?: string | undefined;
  maxRetries?: number | undefined;
}

/** Exactly one way to authenticate and one way to name the endpoint. */
export function refineAzureConnection(cfg: AzureConnectionConfig, ctx: z.RefinementCtx): void {
  const auths = [cfg.sasToken && 'sasToken', cfg.connectionString && 'connectionString', cfg.auth && 'auth'].filter(Boolean);
  if (auths.length !== 1) {
    ctx.addIssue({
      code: 'custom',
      path: auths.length ? [String(auths[1])] : ['auth'],
      message: auths.length
        ? `give exactly one of sasToken, connectionString or auth: azure-ad (got ${auths.join(' and ')})`
        : 'required: one of sasToken, connectionString or auth: azure-ad',
    });
  }
  if (cfg.connectionString) {
    if (cfg.account || cfg.serviceUrl) {
      ctx.addIssue({ code: 'custom', path: [cfg.account ? 'account' : 'serviceUrl'], message: 'the connection string already names the endpoint; remove this field' });
    }
  } else if (!cfg.account === !cfg.serviceUrl) {
    ctx.addIssue({ code: 'custom', path: ['account'], message: cfg.account ? 'give account or serviceUrl, not both' : 'required: account (or serviceUrl)' });
  }
  if (cfg.clientId && cfg.auth !== 'azure-ad') {
    ctx.addIssue({ code: 'custom', path: ['clientId'], message: 'only used with auth: azure-ad' });
  }
}

export const azureBlobLandingSchema = z
  .object({
    type: z.literal('azure-blob'),
    ...azureConnectionFields,
    /** Block size in MiB (default 16); raised automatically so a blob stays within 50,000 blocks. */
    blockSizeMiB: z.number().int().min(1).max(MAX_BLOCK_MIB).optional(),
    /** Blocks in flight per file (default 4). */
    concurrency: z.number().int().min(1).max(64).optional(),
    /** How an existing object under the same name is judged; see docs/landing-zones.md. */
    verifyExisting: z.enum(['auto', 'read', 'write-only']).optional(),
  })
  .strict()
  .superRefine(refineAzureConnection);

export type AzureBlobLandingConfig = z.infer<typeof azureBlobLandingSchema>;

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

/** One container, with everything the landing and the HWM store need to talk to it safely. */
export class AzureTarget {
  readonly container: ContainerClient;
  readonly prefix: string;
  readonly authKind: AuthKind;
  readonly sas: SasInfo | undefined;
  readonly retry: RetryPolicy;
  private readonly secrets: string[] = [];
  private readonly credential: TokenCredential | undefined;
  private readonly where: string;

  constructor(
    config: AzureConnectionConfig,
    private readonly type: string,
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
      throw new AuthError(`${this.type}: the SAS token for ${this.describe()} expired at ${sas.expiresOn.toISOString()}; issue a new one (see docs/landing-zones.md for the permissions)`, {
        grant: 'a SAS token whose se= is in the future',
      });
    }
    // Five minutes of clock skew is what Azure itself tolerates.
    if (sas.startsOn && sas.startsOn.getTime() > now.getTime() + 300_000) {
      throw new AuthError(`${this.type}: the SAS token for ${this.describe()} is not valid until ${sas.startsOn.toISOString()} (st=); check the clock or the token`);
    }
    if (!/[cw]/.test(sas.permissions)) {
      throw new AuthError(`${this.type}: the SAS token for ${this.describe()} has permissions "${sas.permissions}" but needs at least c and w`, { grant: 'SAS permissions c,w' });
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

  blobName(objectName: string): string {
    return joinObjectName(this.prefix, objectName);
  }

  /** Runs one service call with our retry policy; failures come out as typed, scrubbed errors. */
  call<T>(what: string, blobName: string, signal: AbortSignal, op: (signal: AbortSignal, attempt: number) => Promise<T>): Promise<T> {
    return withRetry(this.retry, signal, (err) => this.verdict(err, what, blobName), op);
  }

  /** URL and headers for a raw request to `blob` (SAS in the URL, or an Entra ID bearer token). */
  async rawRequest(blob: BlockBlobClient, query: string, signal: AbortSignal): Promise<{ url: string; headers: Record<string, string> }> {
    const url = `${blob.url}${blob.url.includes('?') ? '&' : '?'}${query}`;
    const headers: Record<string, string> = { 'x-ms-version': RAW_API_VERSION, 'x-ms-client-request-id': randomUUID() };
    if (this.authKind === 'azure-ad' && this.credential) {
      const token = await this.credential.getToken(STORAGE_SCOPE, { abortSignal: signal });
      if (!token) throw new AuthError(`${this.type}: no Entra ID token for ${this.describe()}`);
      headers.authorization = `Bearer ${token.token}`;
    } else if (this.authKind !== 'sas') {
      throw new ConfigError(`${this.type}: verifyExisting: write-only needs a SAS or auth: azure-ad (an account key can always read; use read)`);
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
      return { retry: false, error: new AuthError(`${this.type}: ${what} on ${target} was refused (${label}): ${msg}. ${authHint(code, this.authKind)}`, details) };
    }
    if (status === 404 && code === 'ContainerNotFound') {
      return { retry: false, error: new ConfigError(`${this.type}: container ${this.where} does not exist; create it or fix container/serviceUrl`) };
    }
    if (status === 408 || status === 429 || (status !== undefined && status >= 500)) {
      return { retry: true, error: new TransientError(`${this.type}: ${what} on ${target} failed (${label}): ${msg}`, details) };
    }
    if (status === 400 && (code === 'Md5Mismatch' || code === 'Crc64Mismatch' || code === 'InvalidMd5')) {
      return { retry: true, error: new TransientError(`${this.type}: ${what} on ${target}: data corrupted in transit (${label})`, details) };
    }
    if (isNetworkError(err)) {
      return { retry: true, error: new TransientError(`${this.type}: ${what} on ${target}: network error: ${msg}`, details) };
    }
    const name = err instanceof Error ? err.name : '';
    if (name === 'CredentialUnavailableError' || name === 'AuthenticationRequiredError' || name === 'AggregateAuthenticationError') {
      return {
        retry: false,
        error: new AuthError(`${this.type}: no usable Entra ID credential for ${this.describe()}: ${msg}. Give the worker a managed or workload identity (AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE) or use a SAS`),
      };
    }
    if (name === 'AuthenticationError') {
      return { retry: status === undefined || status >= 500, error: new AuthError(`${this.type}: Entra ID sign-in failed: ${msg}`) };
    }
    // Anything else is unexpected: no blind local retries, but the activity may retry.
    return { retry: false, error: new TransientError(`${this.type}: ${what} on ${target} failed${label ? ` (${label})` : ''}: ${msg}`, details) };
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
  const rec = err as { code?: unknown; details?: { errorCode?: unknown }; response?: { headers?: { get?(n: string): string | undefined } } };
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
  return (s === 409 && (code === undefined || code === 'BlobAlreadyExists')) || (s === 412 && (code === undefined || code === 'ConditionNotMet'));
}

// ---------------------------------------------------------------- the landing zone

/** What put() needs to know about the bytes, wherever they come from. */
interface Content {
  bytes: number;
  sha256: string;
  md5: string;
  contentType: string;
  contentEncoding?: string | undefined;
  metadata: Record<string, string>;
}

type Judgement = 'identical' | 'different' | 'absent';

/** Block IDs derived from the whole file's sha256 and the block layout: the same bytes give the same IDs. */
export function azureBlockId(sha256: string, blockSize: number, index: number): string {
  return createHash('sha256').update(`${sha256.toLowerCase()}/${blockSize}/${index}`).digest('base64');
}

class AzureBlobLanding implements LandingZone {
  private readonly t: AzureTarget;
  private readonly blockSize: number;
  private readonly concurrency: number;
  private readonly mode: 'auto' | 'read' | 'write-only';
  /** Set once a read was refused in auto mode: later puts go straight to the write-only proof. */
  private readDenied = false;

  constructor(
    config: AzureBlobLandingConfig,
    private readonly ctx: PluginContext,
  ) {
    this.t = new AzureTarget(config, 'azure-blob');
    this.blockSize = (config.blockSizeMiB ?? 16) * MiB;
    this.concurrency = config.concurrency ?? 4;
    this.mode = config.verifyExisting ?? 'auto';
    if (this.mode === 'write-only' && this.t.authKind === 'shared-key') {
      throw new ConfigError('verifyExisting: write-only needs a SAS or auth: azure-ad (an account key can always read; use auto or read)');
    }
  }

  describe(): string {
    return this.t.describe();
  }

  async put(file: OutgoingFile, objectName: string, options: PutOptions): Promise<PutOutcome> {
    const name = this.t.blobName(objectName);
    this.t.assertUsable();
    const fp = await checkStagedFile(file.path, file.bytes);
    return this.upload({ path: file.path, fingerprint: fp }, file, name, options);
  }

  private async upload(source: BlockSource, c: Content, name: string, options: PutOptions): Promise<PutOutcome> {
    const { signal } = options;
    const blob = this.t.container.getBlockBlobClient(name);
    const blockSize = chooseBlockSize(c.bytes, this.blockSize, MAX_BLOCKS);
    const ids = Array.from({ length: blockCount(c.bytes, blockSize) }, (_, i) => azureBlockId(c.sha256, blockSize, i));
    const headers: BlobHTTPHeaders = {
      blobContentType: c.contentType,
      blobContentEncoding: c.contentEncoding,
      // Whole-blob MD5, stored for readers; each block is verified by its own transactional MD5.
      blobContentMD5: Buffer.from(c.md5, 'base64'),
    };
    const metadata = objectMetadata(c.metadata, c.sha256);

    // A retry of a large file that is already there should not resend it, when reading is allowed.
    if (ids.length > 1 && this.readsAllowed()) {
      const j = await this.judgeByReading(blob, name, c, signal);
      if (j === 'identical') return 'already-present';
      if (j === 'different') throw this.conflict(name, c);
    }

    // More than one round only if the blob vanishes between "already exists" and the comparison.
    for (let round = 0; round < 3; round++) {
      if (ids.length > 0) {
        await pumpBlocks({
          source,
          size: c.bytes,
          blockSize,
          concurrency: this.concurrency,
          signal,
          onProgress: options.onProgress,
          send: async (block, s) => {
            const md5 = createHash('md5').update(block.data).digest();
            await this.t.call(`upload of block ${block.index}`, name, s, (ts) =>
              blob.stageBlock(ids[block.index]!, block.data, block.data.length, { transactionalContentMD5: md5, abortSignal: ts }),
            );
          },
        });
        if ('path' in source) await assertUnchanged(source.path, source.fingerprint, name);
      } else if (c.sha256.toLowerCase() !== SHA256_EMPTY) {
        throw new ValidationError(`${name}: the manifest says 0 bytes but sha256 ${c.sha256}`);
      }
      const created = await this.t.call('commit', name, signal, async (ts) => {
        try {
          await blob.commitBlockList(ids, { conditions: { ifNoneMatch: '*' }, blobHTTPHeaders: headers, metadata, abortSignal: ts });
          return true;
        } catch (e) {
          if (isAlreadyExists(e)) return false;
          throw e;
        }
      });
      if (created) return 'created';
      const j = await this.judge(blob, name, c, ids, headers, metadata, signal);
      if (j === 'identical') return 'already-present';
      if (j === 'different') throw this.conflict(name, c);
    }
    throw new TransientError(`azure-blob: ${name} kept appearing and disappearing while being uploaded; retry later`);
  }

  private readsAllowed(): boolean {
    if (this.mode === 'write-only') return false;
    if (this.mode === 'read') return true;
    return this.t.canRead !== false && !this.readDenied;
  }

  private async judge(
    blob: BlockBlobClient,
    name: string,
    c: Content,
    ids: string[],
    headers: BlobHTTPHeaders,
    metadata: Record<string, string>,
    signal: AbortSignal,
  ): Promise<Judgement> {
    if (this.readsAllowed()) {
      const j = await this.judgeByReading(blob, name, c, signal);
      if (j !== 'denied') return j;
    }
    if (ids.length === 0) {
      // An empty file has no blocks to prove identity with. Whatever is there, no data of ours is
      // lost by leaving it (we carry no rows), so this is accepted and said loudly.
      this.ctx.log.warn({ object: name }, 'azure-blob: an object already exists under this name; an empty file cannot be compared without read permission, treating it as present');
      return 'identical';
    }
    return this.proveByRecommit(blob, name, c, ids, headers, metadata, signal);
  }

  /** Compares the existing blob's recorded sha256 (else Content-MD5 and length) with ours. */
  private async judgeByReading(blob: BlockBlobClient, name: string, c: Content, signal: AbortSignal): Promise<Judgement | 'denied'> {
    const props = await this.t.call('read of the existing object', name, signal, async (ts) => {
      try {
        return await blob.getProperties({ abortSignal: ts });
      } catch (e) {
        const s = httpStatus(e);
        if (s === 404) return 'absent' as const;
        if (s === 403 && this.mode === 'auto') return 'denied' as const;
        throw e;
      }
    });
    if (props === 'absent') return 'absent';
    if (props === 'denied') {
      this.readDenied = true;
      this.ctx.log.info({ target: this.describe() }, 'azure-blob: reading existing objects is not permitted; verifying them write-only');
      return 'denied';
    }
    const theirSha = metadataValue(props.metadata, 'sha256');
    if (theirSha) return theirSha.toLowerCase() === c.sha256.toLowerCase() ? 'identical' : 'different';
    const theirMd5 = props.contentMD5 ? Buffer.from(props.contentMD5).toString('base64') : undefined;
    return theirMd5 === c.md5 && props.contentLength === c.bytes ? 'identical' : 'different';
  }

  /**
   * Write-only identity proof: commit the existing blob's committed blocks, named by our content-derived
   * IDs, with If-Match `*`. Accepted only when the blob holds exactly those blocks; a rewrite of the same
   * bytes. The SDK always sends blocks as "Latest", which would pick up our uncommitted blocks, so
   * this one request is made directly.
   */
  private async proveByRecommit(
    blob: BlockBlobClient,
    name: string,
    c: Content,
    ids: string[],
    headers: BlobHTTPHeaders,
    metadata: Record<string, string>,
    signal: AbortSignal,
  ): Promise<Judgement> {
    const body = `<?xml version="1.0" encoding="utf-8"?><BlockList>${ids.map((id) => `<Committed>${id}</Committed>`).join('')}</BlockList>`;
    return this.t.call('write-only verification of the existing object', name, signal, async (ts) => {
      const { url, headers: auth } = await this.t.rawRequest(blob, 'comp=blocklist', ts);
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
          `azure-blob: ${name} already exists and cannot be compared: the write-only check was refused (403 ${code ?? ''}). Grant w (to re-commit) or r (to read) on the container`,
          { grant: 'SAS permission w (or r)' },
        );
      }
      throw new HttpStatusError(res.status, code, message);
    });
  }

  private conflict(name: string, c: Content): ConflictError {
    return new ConflictError(
      `azure-blob: ${this.t.url(name)} already exists with different content (ours: sha256 ${c.sha256}, ${c.bytes} bytes); not overwriting it. ` +
        'Remove or rename the existing object if it is stale, and check that no other collector writes the same names',
      { object: name, sha256: c.sha256 },
    );
  }

  async testConnection(): Promise<Check[]> {
    const checks: Check[] = [];
    const signal = this.ctx.signal;
    const where = this.describe();
    const cw = this.t.authKind === 'sas' ? 'SAS permissions c,w' : 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write';
    try {
      this.t.assertUsable();
      await this.t.checkIdentity(signal);
      checks.push({
        name: 'credentials',
        ok: true,
        required: true,
        detail: this.t.sas
          ? `SAS sp=${this.t.sas.permissions}${this.t.sas.expiresOn ? `, expires ${this.t.sas.expiresOn.toISOString()}` : ''}`
          : this.t.authKind,
      });
    } catch (e) {
      const fallback = this.t.authKind === 'azure-ad' ? 'a managed or workload identity for the worker (AZURE_CLIENT_ID...)' : 'a valid SAS token';
      const grant = e instanceof AuthError && typeof e.details?.grant === 'string' ? e.details.grant : fallback;
      checks.push({ name: 'credentials', ok: false, required: true, detail: (e as Error).message, grant });
      return checks;
    }
    // Under the prefix consumers ignore: without delete permission the probe stays there.
    const probeName = this.t.blobName(probeObjectName(randomUUID()));
    const text = Buffer.from(`temporal-collectors connection probe ${new Date().toISOString()}\n`);
    const content: Content = {
      bytes: text.length,
      sha256: createHash('sha256').update(text).digest('hex'),
      md5: createHash('md5').update(text).digest('base64'),
      contentType: 'text/plain; charset=utf-8',
      metadata: { purpose: 'connection-probe' },
    };
    const blob = this.t.container.getBlockBlobClient(probeName);
    try {
      await this.upload({ buffer: text }, content, probeName, { signal });
      checks.push({ name: 'create object', ok: true, required: true, detail: `wrote ${where}/${COLLECTOR_TMP_DIR}/...` });
    } catch (e) {
      checks.push({ name: 'create object', ok: false, required: true, detail: this.t.scrub((e as Error).message), grant: cw });
      return checks;
    }
    // The same name again must be refused: that is what makes uploads exactly-once.
    try {
      const again = await this.t.call('conditional create', probeName, signal, async (ts) => {
        try {
          await blob.commitBlockList([], { conditions: { ifNoneMatch: '*' }, abortSignal: ts });
          return 'overwrote';
        } catch (e) {
          if (isAlreadyExists(e)) return 'refused';
          throw e;
        }
      });
      checks.push(
        again === 'refused'
          ? { name: 'conditional create (If-None-Match)', ok: true, required: true }
          : { name: 'conditional create (If-None-Match)', ok: false, required: true, detail: 'the service overwrote an existing blob despite If-None-Match: *; uploads cannot be exactly-once here' },
      );
    } catch (e) {
      checks.push({ name: 'conditional create (If-None-Match)', ok: false, required: true, detail: this.t.scrub((e as Error).message) });
    }
    checks.push(await this.checkVerification(blob, probeName, content, signal));
    checks.push(await this.cleanUpProbe(blob, probeName, signal));
    return checks;
  }

  /** Exercises exactly the path a retry takes when the object is already there. */
  private async checkVerification(blob: BlockBlobClient, name: string, c: Content, signal: AbortSignal): Promise<Check> {
    const check = 'verify existing objects';
    try {
      if (this.readsAllowed()) {
        const j = await this.judgeByReading(blob, name, c, signal);
        if (j === 'identical') return { name: check, ok: true, required: true, detail: 'by reading metadata (sha256)' };
        if (j !== 'denied') return { name: check, ok: false, required: true, detail: `the probe read back as ${j}` };
      }
      const blockSize = chooseBlockSize(c.bytes, this.blockSize, MAX_BLOCKS);
      const ids = Array.from({ length: blockCount(c.bytes, blockSize) }, (_, i) => azureBlockId(c.sha256, blockSize, i));
      const headers: BlobHTTPHeaders = { blobContentType: c.contentType, blobContentMD5: Buffer.from(c.md5, 'base64') };
      const j = await this.proveByRecommit(blob, name, c, ids, headers, objectMetadata(c.metadata, c.sha256), signal);
      return j === 'identical'
        ? { name: check, ok: true, required: true, detail: 'write-only: by re-committing the existing blocks (no read permission needed)' }
        : { name: check, ok: false, required: true, detail: `the write-only check judged the probe ${j}` };
    } catch (e) {
      return {
        name: check,
        ok: false,
        required: true,
        detail: this.t.scrub((e as Error).message),
        grant: this.t.authKind === 'sas' ? 'SAS permission w (write-only check) or r (read check)' : 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read',
      };
    }
  }

  /** The SDK's clients hold no sockets of their own between requests. */
  async close(): Promise<void> {}

  private async cleanUpProbe(blob: BlockBlobClient, name: string, signal: AbortSignal): Promise<Check> {
    const check = 'delete probe (optional)';
    if (this.t.canDelete === false) {
      return { name: check, ok: true, required: false, detail: `no delete permission (not needed); the probe stays at ${name}` };
    }
    try {
      await this.t.call('delete of the probe', name, signal, (ts) => blob.delete({ abortSignal: ts }));
      return { name: check, ok: true, required: false, detail: 'probe removed' };
    } catch (e) {
      return { name: check, ok: false, required: false, detail: `the probe stays at ${name}: ${this.t.scrub((e as Error).message)}`, grant: 'SAS permission d (optional)' };
    }
  }
}

export const azureBlobLanding: LandingPlugin<AzureBlobLandingConfig> = {
  type: 'azure-blob',
  configSchema: azureBlobLandingSchema,
  create: (config, ctx) => new AzureBlobLanding(config, ctx),
  targets: azureConnectionTargets,
};
