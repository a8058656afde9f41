/**
 * Amazon S3 (and S3-compatible) landing zone. Small files are one PutObject, larger ones a multipart
 * upload (parts in parallel); both carry SHA-256 checksums S3 verifies, and both are conditional creates
 * (If-None-Match `*` on PutObject / CompleteMultipartUpload), so an object appears whole, once.
 *
 * An existing object under a final name is judged:
 * - `read`: HeadObject, compare the recorded sha256 metadata; needs s3:GetObject.
 * - `write-only` (only s3:PutObject granted): the same bytes are PUT again with If-Match set to the ETag
 *   these bytes must have (the MD5, or the multipart MD5-of-MD5s for our part size). S3 accepts it only
 *   when the existing object has that ETag, i.e. the same bytes, and then rewrites identical content;
 *   412 means different content. Costs one more transfer, only on this rare path. Impossible with
 *   SSE-KMS (ETags are not MD5s there) and above 5 GiB: those need s3:GetObject.
 * - `auto` (default): `read`, falling back to `write-only` once HeadObject is refused.
 */
import { s3ConnectionTargets } from '../aws/targets';
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type CompletedPart,
  type PutObjectCommandInput,
} from '@aws-sdk/client-s3';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { z } from 'zod';
import { duration, secretRef } from '../../config/fields';
import { AuthError, CollectorError, ConfigError, ConflictError, TransientError, ValidationError } from '../../contracts/errors';
import type { Logger } from 'pino';
import type { Check, LandingPlugin, LandingZone, OutgoingFile, PluginContext, PutOptions, PutOutcome } from '../../contracts/plugin';
import { parseDuration } from '../../run/duration';
import { checkPrefix, COLLECTOR_TMP_DIR, joinObjectName, landingPrefix, probeObjectName } from '../../landing/object-name';
import { isNetworkError, retryPolicy, safeMessage, scrub, withRetry, type RetryPolicy, type Verdict } from '../object-store/transfer';
import { endpointUrl } from '../object-store/endpoint-url';
import { assertUnchanged, base64ToHex, checkStagedFile, chooseBlockSize, metadataValue, objectMetadata, pumpBlocks, type BlockSource } from '../object-store/blocks';

const MiB = 1024 * 1024;
const MAX_PARTS = 10_000;
const MAX_SINGLE_PUT = 5 * 1024 * MiB;

// ---------------------------------------------------------------- config (shared with the HWM store)

export const s3ConnectionFields = {
  bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { message: 'must be an S3 bucket name' }),
  prefix: landingPrefix(),
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$|^[a-z0-9-]+$/, { message: 'must be an AWS region such as eu-west-1' }),
  /** An S3-compatible endpoint or VPC endpoint URL. */
  endpoint: endpointUrl().optional(),
  /** Path-style URLs (bucket in the path), for most S3-compatible stores. */
  forcePathStyle: z.boolean().optional(),
  /** Static keys; without them the default chain applies (IRSA, ECS task role, instance profile...). */
  accessKeyId: secretRef().optional(),
  secretAccessKey: secretRef().optional(),
  sessionToken: secretRef().optional(),
  /** A role to assume (from the keys above or the default chain); credentials refresh before expiry. */
  roleArn: z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/, { message: 'must be an IAM role ARN' }).optional(),
  externalId: z.string().min(2).max(1224).optional(),
  roleSessionName: z.string().regex(/^[\w+=,.@-]{2,64}$/).optional(),
  /** Session length of the assumed role, 15m to 12h (default 1h). */
  roleSessionDuration: duration().optional(),
  /** STS endpoint for AssumeRole (VPC endpoints, tests). */
  stsEndpoint: endpointUrl().optional(),
  /** SSE-KMS key id or ARN; without it the bucket's default encryption applies. */
  kmsKeyId: z.string().min(1).optional(),
  /** Each request is abandoned and retried after this long (default 2m). */
  requestTimeout: duration().optional(),
  /** Retries per request for throttling, 5xx, resets and timeouts (default 5). */
  maxRetries: z.number().int().min(0).max(20).optional(),
};

export interface S3ConnectionConfig {
  bucket: string;
  prefix: string;
  region: string;
  endpoint?: string | undefined;
  forcePathStyle?: boolean | undefined;
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
  sessionToken?: string | undefined;
  roleArn?: string | undefined;
  externalId?: string | undefined;
  roleSessionName?: string | undefined;
  roleSessionDuration?: string | undefined;
  stsEndpoint?: string | undefined;
  kmsKeyId?: string | undefined;
  requestTimeout?: string | undefined;
  maxRetries?: number | undefined;
}

export function refineS3Connection(cfg: S3ConnectionConfig, ctx: z.RefinementCtx): void {
  if (!cfg.accessKeyId !== !cfg.secretAccessKey) {
    ctx.addIssue({ code: 'custom', path: [cfg.accessKeyId ? 'secretAccessKey' : 'accessKeyId'], message: 'give accessKeyId and secretAccessKey together' });
  }
  if (cfg.sessionToken && !cfg.accessKeyId) ctx.addIssue({ code: 'custom', path: ['sessionToken'], message: 'only used with accessKeyId and secretAccessKey' });
  for (const f of ['externalId', 'roleSessionName', 'roleSessionDuration'] as const) {
    if (cfg[f] && !cfg.roleArn) ctx.addIssue({ code: 'custom', path: [f], message: 'only used with roleArn' });
  }
  if (cfg.roleSessionDuration) {
    const ms = parseDuration(cfg.roleSessionDuration) ?? 0;
    if (ms < 900_000 || ms > 43_200_000) ctx.addIssue({ code: 'custom', path: ['roleSessionDuration'], message: 'must be between 15m and 12h' });
  }
}

export const s3LandingSchema = z
  .object({
    type: z.literal('s3'),
    ...s3ConnectionFields,
    /** Part size in MiB for multipart uploads (default 16, min 5); files up to one part are one PutObject. */
    partSizeMiB: z.number().int().min(5).max(5120).optional(),
    /** Parts in flight per file (default 4). */
    concurrency: z.number().int().min(1).max(64).optional(),
    /** How an existing object under the same name is judged; see docs/landing-zones.md. */
    verifyExisting: z.enum(['auto', 'read', 'write-only']).optional(),
  })
  .strict()
  .superRefine(refineS3Connection);

export type S3LandingConfig = z.infer<typeof s3LandingSchema>;

// ---------------------------------------------------------------- the connection

/** One bucket and prefix, with the client and error mapping the landing and the HWM store share. */
export class S3Target {
  readonly client: S3Client;
  readonly bucket: string;
  private readonly regionName: string;
  private readonly endpointName: string;
  readonly prefix: string;
  readonly retry: RetryPolicy;
  readonly kmsKeyId: string | undefined;
  private readonly secrets: string[];
  private readonly roleArn: string | undefined;

  constructor(
    config: S3ConnectionConfig,
    private readonly type: string,
    log?: Logger,
  ) {
    this.bucket = config.bucket;
    // The client's resolved region is an async provider; error messages need the configured text.
    this.regionName = config.region;
    this.endpointName = config.endpoint ?? 'AWS S3';
    this.prefix = checkPrefix(config.prefix, 'prefix');
    this.kmsKeyId = config.kmsKeyId;
    this.roleArn = config.roleArn;
    this.secrets = [config.secretAccessKey ?? '', config.sessionToken ?? ''];
    const timeout = config.requestTimeout ? parseDuration(config.requestTimeout) : undefined;
    this.retry = retryPolicy(config.maxRetries, timeout);
    const statics = config.accessKeyId && config.secretAccessKey
      ? { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey, ...(config.sessionToken ? { sessionToken: config.sessionToken } : {}) }
      : undefined;
    const credentials = config.roleArn
      ? fromTemporaryCredentials({
          params: {
            RoleArn: config.roleArn,
            RoleSessionName: config.roleSessionName ?? `temporal-collectors-${randomUUID().slice(0, 8)}`,
            ...(config.externalId ? { ExternalId: config.externalId } : {}),
            DurationSeconds: Math.round((config.roleSessionDuration ? parseDuration(config.roleSessionDuration)! : 3_600_000) / 1000),
          },
          ...(statics ? { masterCredentials: statics } : {}),
          clientConfig: { region: config.region, ...(config.stsEndpoint ? { endpoint: config.stsEndpoint } : {}), maxAttempts: 3 },
        })
      : statics;
    this.client = new S3Client({
      region: config.region,
      ...(config.endpoint ? { endpoint: config.endpoint } : {}),
      ...(config.forcePathStyle !== undefined ? { forcePathStyle: config.forcePathStyle } : {}),
      ...(credentials ? { credentials } : {}),
      // Our retry loop owns retries and per-try timeouts, as for Azure.
      maxAttempts: 1,
      requestHandler: { requestTimeout: this.retry.tryTimeoutMs, connectionTimeout: 10_000 },
      // We send our own SHA-256 checksums; no second (CRC32) pass by the SDK.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // The SDK prints some warnings to the console without a logger; ours keeps them at debug.
      logger: sdkLogger(log),
    });
  }

  describe(): string {
    return `s3://${this.bucket}${this.prefix ? `/${this.prefix}` : ''}`;
  }

  key(objectName: string): string {
    return joinObjectName(this.prefix, objectName);
  }

  scrub(text: string): string {
    return scrub(text, this.secrets);
  }

  /** SSE parameters for every write. */
  get sse(): Pick<PutObjectCommandInput, 'ServerSideEncryption' | 'SSEKMSKeyId'> {
    return this.kmsKeyId ? { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: this.kmsKeyId } : {};
  }

  /** The IAM grant a refused write needs. */
  writeGrant(): string {
    const res = `arn:aws:s3:::${this.bucket}/${this.prefix ? `${this.prefix}/` : ''}*`;
    return `s3:PutObject on ${res}${this.kmsKeyId ? `; kms:GenerateDataKey and kms:Decrypt on ${this.kmsKeyId}` : ''}`;
  }

  call<T>(what: string, key: string, signal: AbortSignal, op: (signal: AbortSignal, attempt: number) => Promise<T>, grant?: string): Promise<T> {
    return withRetry(this.retry, signal, (err) => this.verdict(err, what, key, grant), op);
  }

  verdict(err: unknown, what: string, key: string, grant = this.writeGrant()): Verdict {
    if (err instanceof CollectorError) return { retry: !err.nonRetryable, error: err };
    const status = s3Status(err);
    const name = s3Code(err);
    const target = key ? `s3://${this.bucket}/${key}` : this.describe();
    const label = `${status ?? ''}${name ? ` ${name}` : ''}`.trim();
    const msg = safeMessage(err, this.secrets);
    const details = { status, code: name, target };
    if (name && AUTH_CODES.has(name)) {
      return { retry: false, error: new AuthError(`${this.type}: ${what} on ${target} was refused (${label}): ${msg}. ${this.authHint(name, grant)}`, { ...details, grant }) };
    }
    if (status === 403) {
      return { retry: false, error: new AuthError(`${this.type}: ${what} on ${target} was refused (${label}): ${msg}. Grant ${grant}`, { ...details, grant }) };
    }
    if (name === 'NoSuchBucket') return { retry: false, error: new ConfigError(`${this.type}: bucket ${this.bucket} does not exist (or is in another account/region)`) };
    if (name === 'RequestTimeTooSkewed') return { retry: false, error: new ConfigError(`${this.type}: the worker's clock is too far off for S3 (RequestTimeTooSkewed); fix NTP`) };
    if (name === 'PermanentRedirect' || name === 'AuthorizationHeaderMalformed' || name === 'IllegalLocationConstraintException') {
      return { retry: false, error: new ConfigError(`${this.type}: bucket ${this.bucket} is not in region ${this.regionName} (${label}); fix region`) };
    }
    if (status === 501 || name === 'NotImplemented') {
      // An S3-compatible store without conditional writes: the same request fails the same way every time.
      return { retry: false, error: new ConfigError(`${this.type}: the store at ${this.endpointName} does not implement ${what} (${label}): ${msg}. Use a store that supports conditional writes (If-None-Match)`) };
    }
    if (
      (status !== undefined && (status === 408 || status === 429 || status >= 500)) ||
      (name !== undefined && RETRY_CODES.has(name))
    ) {
      return { retry: true, error: new TransientError(`${this.type}: ${what} on ${target} failed (${label}): ${msg}`, details) };
    }
    if (isNetworkError(err)) return { retry: true, error: new TransientError(`${this.type}: ${what} on ${target}: network error: ${msg}`, details) };
    if (name === 'CredentialsProviderError') {
      return { retry: false, error: new AuthError(`${this.type}: no usable AWS credentials: ${msg}. Configure keys, a role, or the worker's IAM identity`) };
    }
    return { retry: false, error: new TransientError(`${this.type}: ${what} on ${target} failed${label ? ` (${label})` : ''}: ${msg}`, details) };
  }

  private authHint(code: string, grant: string): string {
    if (code === 'InvalidAccessKeyId' || code === 'SignatureDoesNotMatch' || code === 'InvalidClientTokenId') return 'The AWS credentials were rejected: check the key id and secret';
    if (code === 'ExpiredToken' || code === 'TokenRefreshRequired' || code === 'InvalidToken') return 'The session token is expired or invalid: refresh it, or use roleArn so credentials refresh themselves';
    if (this.roleArn && /AssumeRole/i.test(code + grant)) return `Allow sts:AssumeRole on ${this.roleArn} (and the role's trust policy must allow the caller)`;
    return `Grant ${grant}`;
  }
}

function sdkLogger(log: Logger | undefined): { debug(...a: unknown[]): void; info(...a: unknown[]): void; warn(...a: unknown[]): void; error(...a: unknown[]): void } {
  const at = (...a: unknown[]) => log?.debug({ sdk: a.map((x) => (typeof x === 'string' ? x : safeMessage(x))).join(' ') }, 'aws-sdk');
  return { debug: () => undefined, info: () => undefined, warn: at, error: at };
}

const AUTH_CODES = new Set([
  'AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'TokenRefreshRequired', 'InvalidToken',
  'AllAccessDisabled', 'AccountProblem', 'InvalidClientTokenId', 'UnrecognizedClientException', 'KMS.AccessDeniedException',
  'KMS.DisabledException', 'KMS.NotFoundException', 'InvalidObjectState',
]);
const RETRY_CODES = new Set([
  'SlowDown', 'InternalError', 'ServiceUnavailable', 'RequestTimeout', 'BadDigest', 'InvalidDigest', 'XAmzContentSHA256Mismatch',
  'ConditionalRequestConflict', 'OperationAborted', 'Throttling', 'ThrottlingException', 'RequestTimeTooSkewedRetry', 'TimeoutError',
]);

export function s3Status(err: unknown): number | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const s = (err as { $metadata?: { httpStatusCode?: unknown } }).$metadata?.httpStatusCode;
  return typeof s === 'number' ? s : undefined;
}

export function s3Code(err: unknown): string | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const rec = err as { Code?: unknown; name?: unknown };
  if (typeof rec.Code === 'string') return rec.Code;
  return typeof rec.name === 'string' && rec.name !== 'Error' ? rec.name : undefined;
}

function isPreconditionFailed(err: unknown): boolean {
  return s3Status(err) === 412 || s3Code(err) === 'PreconditionFailed';
}

// ---------------------------------------------------------------- the landing zone

interface Content {
  bytes: number;
  sha256: string;
  md5: string;
  contentType: string;
  contentEncoding?: string | undefined;
  metadata: Record<string, string>;
}

type Judgement = 'identical' | 'different' | 'absent';

/** The ETag S3 gives these bytes without SSE-KMS: the MD5, or the MD5 of the part MD5s and a part count. */
export async function expectedEtag(source: BlockSource, bytes: number, md5Base64: string, partSize: number): Promise<string> {
  if (bytes <= partSize) return base64ToHex(md5Base64);
  const digests: Buffer[] = [];
  if ('buffer' in source) {
    for (let off = 0; off < bytes; off += partSize) digests.push(createHash('md5').update(source.buffer.subarray(off, off + partSize)).digest());
  } else {
    const fh = await open(source.path, 'r');
    try {
      const buf = Buffer.allocUnsafe(partSize);
      for (let off = 0; off < bytes; off += partSize) {
        const len = Math.min(partSize, bytes - off);
        let got = 0;
        while (got < len) {
          const { bytesRead } = await fh.read(buf, got, len - got, off + got);
          if (bytesRead === 0) throw new ValidationError(`${source.path} is shorter than ${bytes} bytes`);
          got += bytesRead;
        }
        digests.push(createHash('md5').update(buf.subarray(0, len)).digest());
      }
    } finally {
      await fh.close();
    }
  }
  return `${createHash('md5').update(Buffer.concat(digests)).digest('hex')}-${digests.length}`;
}

class S3Landing implements LandingZone {
  private readonly t: S3Target;
  private readonly partSize: number;
  private readonly concurrency: number;
  private readonly mode: 'auto' | 'read' | 'write-only';
  private readDenied = false;

  constructor(
    config: S3LandingConfig,
    private readonly ctx: PluginContext,
  ) {
    this.t = new S3Target(config, 's3', ctx.log);
    this.partSize = (config.partSizeMiB ?? 16) * MiB;
    this.concurrency = config.concurrency ?? 4;
    this.mode = config.verifyExisting ?? 'auto';
  }

  describe(): string {
    return this.t.describe();
  }

  async put(file: OutgoingFile, objectName: string, options: PutOptions): Promise<PutOutcome> {
    const key = this.t.key(objectName);
    const fp = await checkStagedFile(file.path, file.bytes);
    return this.upload({ path: file.path, fingerprint: fp }, file, key, options);
  }

  private async upload(source: BlockSource, c: Content, key: string, options: PutOptions): Promise<PutOutcome> {
    const partSize = chooseBlockSize(c.bytes, this.partSize, MAX_PARTS);
    const multipart = c.bytes > partSize;
    if (multipart && this.readsAllowed()) {
      const j = await this.judgeByReading(key, c, options.signal);
      if (j === 'identical') return 'already-present';
      if (j === 'different') throw this.conflict(key, c);
    }
    for (let round = 0; round < 3; round++) {
      const created = multipart ? await this.putMultipart(source, c, key, partSize, options) : await this.putSingle(source, c, key, options);
      if (created) return 'created';
      const j = await this.judge(source, c, key, partSize, options.signal);
      if (j === 'identical') return 'already-present';
      if (j === 'different') throw this.conflict(key, c);
    }
    throw new TransientError(`s3: ${key} kept appearing and disappearing while being uploaded; retry later`);
  }

  private common(c: Content): Omit<PutObjectCommandInput, 'Key' | 'Body'> & { Bucket: string } {
    return {
      Bucket: this.t.bucket,
      ContentType: c.contentType,
      ...(c.contentEncoding ? { ContentEncoding: c.contentEncoding } : {}),
      Metadata: objectMetadata(c.metadata, c.sha256),
      ...this.t.sse,
    };
  }

  /** One conditional PutObject; false when the key already exists. */
  private async putSingle(source: BlockSource, c: Content, key: string, options: PutOptions): Promise<boolean> {
    // S3 checks the body against ChecksumSHA256 (the validated sha256): changed bytes are refused there.
    const body = 'buffer' in source ? source.buffer : await readSmall(source.path, c.bytes);
    if ('path' in source) await assertUnchanged(source.path, source.fingerprint, key);
    const created = await this.t.call('upload', key, options.signal, async (ts) => {
      try {
        await this.t.client.send(
          new PutObjectCommand({
            ...this.common(c),
            Key: key,
            Body: body,
            ContentLength: c.bytes,
            ChecksumSHA256: Buffer.from(c.sha256, 'hex').toString('base64'),
            IfNoneMatch: '*',
          }),
          { abortSignal: ts },
        );
        return true;
      } catch (e) {
        if (isPreconditionFailed(e)) return false;
        throw e;
      }
    });
    if (created) options.onProgress?.(c.bytes);
    return created;
  }

  /** Create, parts in parallel (each with its SHA-256), then a conditional complete. */
  private async putMultipart(source: BlockSource, c: Content, key: string, partSize: number, options: PutOptions): Promise<boolean> {
    const { signal } = options;
    const created = await this.t.call('start of multipart upload', key, signal, (ts) =>
      this.t.client.send(new CreateMultipartUploadCommand({ ...this.common(c), Key: key, ChecksumAlgorithm: 'SHA256' }), { abortSignal: ts }),
    );
    const uploadId = created.UploadId;
    if (!uploadId) throw new TransientError(`s3: no upload id for ${key}`);
    let completed = false;
    try {
      const parts: CompletedPart[] = [];
      await pumpBlocks({
        source,
        size: c.bytes,
        blockSize: partSize,
        concurrency: this.concurrency,
        signal,
        onProgress: options.onProgress,
        send: async (block, s) => {
          const checksum = createHash('sha256').update(block.data).digest('base64');
          const r = await this.t.call(`upload of part ${block.index + 1}`, key, s, (ts) =>
            this.t.client.send(
              new UploadPartCommand({
                Bucket: this.t.bucket,
                Key: key,
                UploadId: uploadId,
                PartNumber: block.index + 1,
                Body: block.data,
                ContentLength: block.data.length,
                ChecksumAlgorithm: 'SHA256',
                ChecksumSHA256: checksum,
              }),
              { abortSignal: ts },
            ),
          );
          parts[block.index] = { PartNumber: block.index + 1, ETag: r.ETag, ChecksumSHA256: r.ChecksumSHA256 ?? checksum };
        },
      });
      if ('path' in source) await assertUnchanged(source.path, source.fingerprint, key);
      const result = await this.t.call('completion of multipart upload', key, signal, async (ts) => {
        try {
          await this.t.client.send(
            new CompleteMultipartUploadCommand({ Bucket: this.t.bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts }, IfNoneMatch: '*' }),
            { abortSignal: ts },
          );
          return 'created' as const;
        } catch (e) {
          if (isPreconditionFailed(e)) return 'exists' as const;
          // A retried complete whose first try succeeded may find the upload gone: judge what is there.
          if (s3Code(e) === 'NoSuchUpload') return 'gone' as const;
          throw e;
        }
      });
      completed = result === 'created' || result === 'gone';
      return result === 'created';
    } finally {
      if (!completed) await this.abort(key, uploadId);
    }
  }

  /** Best effort: needs s3:AbortMultipartUpload, which least privilege may not grant (a lifecycle rule cleans up). */
  private async abort(key: string, uploadId: string): Promise<void> {
    try {
      await this.t.client.send(new AbortMultipartUploadCommand({ Bucket: this.t.bucket, Key: key, UploadId: uploadId }), {
        abortSignal: AbortSignal.timeout(10_000),
      });
    } catch (e) {
      this.ctx.log.debug({ object: key, err: this.t.scrub(safeMessage(e)) }, 's3: could not abort a multipart upload; the bucket lifecycle rule removes it');
    }
  }

  private readsAllowed(): boolean {
    if (this.mode === 'write-only') return false;
    return this.mode === 'read' || !this.readDenied;
  }

  private async judge(source: BlockSource, c: Content, key: string, partSize: number, signal: AbortSignal): Promise<Judgement> {
    if (this.readsAllowed()) {
      const j = await this.judgeByReading(key, c, signal);
      if (j !== 'denied') return j;
    }
    return this.proveByConditionalRewrite(source, c, key, partSize, signal);
  }

  private async judgeByReading(key: string, c: Content, signal: AbortSignal): Promise<Judgement | 'denied'> {
    const grant = `s3:GetObject on arn:aws:s3:::${this.t.bucket}/${key}`;
    const head = await this.t.call(
      'read of the existing object',
      key,
      signal,
      async (ts) => {
        try {
          return await this.t.client.send(new HeadObjectCommand({ Bucket: this.t.bucket, Key: key }), { abortSignal: ts });
        } catch (e) {
          const s = s3Status(e);
          if (s === 404) return 'absent' as const;
          if (s === 403 && this.mode === 'auto') return 'denied' as const;
          throw e;
        }
      },
      grant,
    );
    if (head === 'absent') return 'absent';
    if (head === 'denied') {
      this.readDenied = true;
      this.ctx.log.info({ target: this.describe() }, 's3: reading existing objects is not permitted; verifying them write-only');
      return 'denied';
    }
    const theirs = metadataValue(head.Metadata, 'sha256');
    if (theirs) return theirs.toLowerCase() === c.sha256.toLowerCase() ? 'identical' : 'different';
    return head.ContentLength === c.bytes && head.ETag?.replace(/"/g, '') === base64ToHex(c.md5) ? 'identical' : 'different';
  }

  /** PUT the same bytes again, accepted only if the existing object's ETag is the one these bytes have. */
  private async proveByConditionalRewrite(source: BlockSource, c: Content, key: string, partSize: number, signal: AbortSignal): Promise<Judgement> {
    const unverifiable = (why: string) =>
      new AuthError(`s3: ${key} already exists and cannot be compared without read permission: ${why}. Grant s3:GetObject on arn:aws:s3:::${this.t.bucket}/${key}`, {
        grant: 's3:GetObject',
        object: key,
      });
    if (this.t.kmsKeyId) throw unverifiable('with SSE-KMS the ETag is not a content hash');
    if (c.bytes > MAX_SINGLE_PUT) throw unverifiable('objects over 5 GiB cannot be re-sent in one conditional PUT');
    // A multipart object has the MD5-of-part-MD5s ETag; once a write-only check has rewritten it in one
    // PUT it has the plain MD5. Both mean these bytes, so both are tried (the second only on a 412).
    const etags = [...new Set([await expectedEtag(source, c.bytes, c.md5, partSize), base64ToHex(c.md5)])];
    let judgement: Judgement = 'different';
    for (const etag of etags) {
      judgement = await this.t.call('write-only verification of the existing object', key, signal, async (ts) => {
        try {
          await this.t.client.send(
            new PutObjectCommand({
              ...this.common(c),
              Key: key,
              Body: 'buffer' in source ? source.buffer : createReadStream(source.path),
              ContentLength: c.bytes,
              ChecksumSHA256: Buffer.from(c.sha256, 'hex').toString('base64'),
              IfMatch: `"${etag}"`,
            }),
            { abortSignal: ts },
          );
          return 'identical' as const;
        } catch (e) {
          if (isPreconditionFailed(e)) return 'different' as const;
          if (s3Status(e) === 404) return 'absent' as const;
          throw e;
        }
      });
      if (judgement !== 'different') return judgement;
    }
    return judgement;
  }

  private conflict(key: string, c: Content): ConflictError {
    return new ConflictError(
      `s3: s3://${this.t.bucket}/${key} already exists with different content (ours: sha256 ${c.sha256}, ${c.bytes} bytes); not overwriting it. ` +
        'Remove or rename the existing object if it is stale, and check that no other collector writes the same names' +
        (this.readsAllowed() ? '' : ' (with SSE-KMS as bucket default, grant s3:GetObject: write-only comparison relies on MD5 ETags)'),
      { object: key, sha256: c.sha256 },
    );
  }

  async testConnection(): Promise<Check[]> {
    const checks: Check[] = [];
    const signal = this.ctx.signal;
    try {
      const creds = await this.t.client.config.credentials();
      checks.push({ name: 'credentials', ok: true, required: true, detail: `access key ${creds.accessKeyId.slice(0, 4)}...` });
    } catch (e) {
      const v = this.t.verdict(e, 'credential lookup', '', 'sts:AssumeRole (or static keys / a worker IAM identity)');
      checks.push({ name: 'credentials', ok: false, required: true, detail: v.error.message, grant: 'valid AWS credentials (keys, roleArn, or the worker identity)' });
      return checks;
    }
    const id = randomUUID();
    // Under the prefix consumers ignore: without s3:DeleteObject the probes stay there.
    const key = this.t.key(probeObjectName(id));
    const text = Buffer.from(`temporal-collectors connection probe ${new Date().toISOString()}\n`);
    const content: Content = {
      bytes: text.length,
      sha256: createHash('sha256').update(text).digest('hex'),
      md5: createHash('md5').update(text).digest('base64'),
      contentType: 'text/plain; charset=utf-8',
      metadata: { purpose: 'connection-probe' },
    };
    try {
      await this.putSingle({ buffer: text }, content, key, { signal });
      checks.push({ name: 'create object', ok: true, required: true, detail: `wrote ${this.describe()}/${COLLECTOR_TMP_DIR}/...` });
    } catch (e) {
      checks.push({ name: 'create object', ok: false, required: true, detail: (e as Error).message, grant: this.t.writeGrant() });
      return checks;
    }
    try {
      const again = await this.putSingle({ buffer: text }, content, key, { signal });
      checks.push(
        again
          ? { name: 'conditional create (If-None-Match)', ok: false, required: true, detail: 'the store overwrote an existing object despite If-None-Match: *; uploads cannot be exactly-once here' }
          : { name: 'conditional create (If-None-Match)', ok: true, required: true },
      );
    } catch (e) {
      checks.push({ name: 'conditional create (If-None-Match)', ok: false, required: true, detail: (e as Error).message });
    }
    const mpKey = this.t.key(probeObjectName(id, '-multipart'));
    try {
      // One part: the last part of an upload may be smaller than 5 MiB.
      await this.putMultipart({ buffer: text }, content, mpKey, content.bytes, { signal });
      checks.push({ name: 'multipart upload', ok: true, required: true });
    } catch (e) {
      checks.push({ name: 'multipart upload', ok: false, required: true, detail: (e as Error).message, grant: this.t.writeGrant() });
    }
    checks.push(await this.checkVerification(content, key, text, signal));
    checks.push(await this.cleanUp([key, mpKey], signal));
    return checks;
  }

  private async checkVerification(c: Content, key: string, text: Buffer, signal: AbortSignal): Promise<Check> {
    const name = 'verify existing objects';
    try {
      if (this.readsAllowed()) {
        const j = await this.judgeByReading(key, c, signal);
        if (j === 'identical') return { name, ok: true, required: true, detail: 'by reading metadata (sha256)' };
        if (j !== 'denied') return { name, ok: false, required: true, detail: `the probe read back as ${j}` };
      }
      const j = await this.proveByConditionalRewrite({ buffer: text }, c, key, this.partSize, signal);
      return j === 'identical'
        ? { name, ok: true, required: true, detail: 'write-only: by a conditional rewrite (If-Match on the MD5 ETag); no read permission needed' }
        : { name, ok: false, required: true, detail: `the write-only check judged the probe ${j} (is SSE-KMS the bucket default? then grant s3:GetObject)`, grant: 's3:GetObject' };
    } catch (e) {
      return { name, ok: false, required: true, detail: (e as Error).message, grant: `s3:GetObject on arn:aws:s3:::${this.t.bucket}/${this.t.prefix ? `${this.t.prefix}/` : ''}*` };
    }
  }

  async close(): Promise<void> {
    this.t.client.destroy();
  }

  private async cleanUp(keys: string[], signal: AbortSignal): Promise<Check> {
    const name = 'delete probe (optional)';
    try {
      for (const key of keys) {
        await this.t.call('delete of the probe', key, signal, (ts) => this.t.client.send(new DeleteObjectCommand({ Bucket: this.t.bucket, Key: key }), { abortSignal: ts }), 's3:DeleteObject');
      }
      return { name, ok: true, required: false, detail: 'probe objects removed' };
    } catch (e) {
      return { name, ok: false, required: false, detail: `probe objects stay under ${this.describe()}/${COLLECTOR_TMP_DIR}/ (not needed for uploads; consumers ignore it): ${(e as Error).message}`, grant: 's3:DeleteObject (optional)' };
    }
  }
}

async function readSmall(path: string, bytes: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(bytes);
    let got = 0;
    while (got < bytes) {
      const { bytesRead } = await fh.read(buf, got, bytes - got, got);
      if (bytesRead === 0) throw new ValidationError(`${path} is shorter than ${bytes} bytes`);
      got += bytesRead;
    }
    return buf;
  } finally {
    await fh.close();
  }
}

export const s3Landing: LandingPlugin<S3LandingConfig> = {
  type: 's3',
  configSchema: s3LandingSchema,
  create: (config, ctx) => new S3Landing(config, ctx),
  targets: s3ConnectionTargets,
};
