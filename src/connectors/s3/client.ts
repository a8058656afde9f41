/**
 * The S3 half of the object-store driver: credentials (static keys, AssumeRole, the default chain), the
 * SDK calls (one conditional PutObject, or a multipart upload completed with If-None-Match `*`, both with
 * SHA-256 checksums S3 verifies), error classification naming the IAM grant, and the write-only proof.
 *
 * Write-only proof (only s3:PutObject granted): the same bytes are PUT again with If-Match set to the
 * ETag these bytes must have (the MD5, or the multipart MD5-of-MD5s for our part size). S3 accepts it
 * only when the existing object has that ETag, i.e. the same bytes, and then rewrites identical content;
 * 412 means different content. Costs one more transfer, only on this rare path. Impossible with SSE-KMS
 * (ETags are not MD5s there) and above 5 GiB: those need s3:GetObject.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type CompletedPart,
  type PutObjectCommandInput,
} from '@aws-sdk/client-s3';
import { awsCredentials } from '../aws/credentials';
import type { Logger } from 'pino';
import { AuthError, CollectorError, ConfigError, TransientError, ValidationError } from '../../contracts/errors';
import type { Check, PutOptions } from '../../contracts/plugin';
import { parseDuration } from '../../run/duration';
import { checkPrefix, joinObjectName, probeObjectName } from '../../landing/object-name';
import { isNetworkError, retryPolicy, safeMessage, scrub, withRetry, type RetryPolicy, type Verdict } from '../object-store/transfer';
import { assertUnchanged, base64ToHex, chooseBlockSize, objectMetadata, pumpBlocks, type BlockSource } from '../object-store/blocks';
import type { Content, HwmClient, Judgement, LandingClient, StoredProperties, Try } from '../object-store/client';
import type { S3ConnectionConfig } from './config';

const MiB = 1024 * 1024;
const MAX_PARTS = 10_000;
const MAX_SINGLE_PUT = 5 * 1024 * MiB;

// ---------------------------------------------------------------- the connection

/** Landing-only settings: how bytes go out. */
export interface S3UploadOptions {
  /** Bytes per part; files up to one part are one PutObject. */
  partSize: number;
  /** Parts in flight per file. */
  concurrency: number;
}

/** One bucket and prefix, with the client and error mapping the landing and the HWM store share. */
export class S3ObjectClient implements LandingClient, HwmClient {
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
    readonly label: string,
    private readonly log: Logger,
    private readonly upload: S3UploadOptions = { partSize: 16 * MiB, concurrency: 4 },
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
    const credentials = awsCredentials(config, {
      sessionName: config.roleSessionName ?? `temporal-collectors-${randomUUID().slice(0, 8)}`,
      durationMs: config.roleSessionDuration ? parseDuration(config.roleSessionDuration) : 3_600_000,
    });
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

  call<T>(what: string, key: string, signal: AbortSignal, op: Try<T>, grant?: string): Promise<T> {
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
      return {
        retry: false,
        error: new AuthError(`${this.label}: ${what} on ${target} was refused (${label}): ${msg}. ${this.authHint(name, grant)}`, {
          ...details,
          grant,
        }),
      };
    }
    if (status === 403) {
      return {
        retry: false,
        error: new AuthError(`${this.label}: ${what} on ${target} was refused (${label}): ${msg}. Grant ${grant}`, { ...details, grant }),
      };
    }
    if (name === 'NoSuchBucket')
      return {
        retry: false,
        error: new ConfigError(`${this.label}: bucket ${this.bucket} does not exist (or is in another account/region)`),
      };
    if (name === 'RequestTimeTooSkewed')
      return {
        retry: false,
        error: new ConfigError(`${this.label}: the worker's clock is too far off for S3 (RequestTimeTooSkewed); fix NTP`),
      };
    if (name === 'PermanentRedirect' || name === 'AuthorizationHeaderMalformed' || name === 'IllegalLocationConstraintException') {
      return {
        retry: false,
        error: new ConfigError(`${this.label}: bucket ${this.bucket} is not in region ${this.regionName} (${label}); fix region`),
      };
    }
    if (status === 501 || name === 'NotImplemented') {
      // An S3-compatible store without conditional writes: the same request fails the same way every time.
      return {
        retry: false,
        error: new ConfigError(
          `${this.label}: the store at ${this.endpointName} does not implement ${what} (${label}): ${msg}. Use a store that supports conditional writes (If-None-Match)`,
        ),
      };
    }
    if ((status !== undefined && (status === 408 || status === 429 || status >= 500)) || (name !== undefined && RETRY_CODES.has(name))) {
      return { retry: true, error: new TransientError(`${this.label}: ${what} on ${target} failed (${label}): ${msg}`, details) };
    }
    if (isNetworkError(err))
      return { retry: true, error: new TransientError(`${this.label}: ${what} on ${target}: network error: ${msg}`, details) };
    if (name === 'CredentialsProviderError') {
      return {
        retry: false,
        error: new AuthError(`${this.label}: no usable AWS credentials: ${msg}. Configure keys, a role, or the worker's IAM identity`),
      };
    }
    return {
      retry: false,
      error: new TransientError(`${this.label}: ${what} on ${target} failed${label ? ` (${label})` : ''}: ${msg}`, details),
    };
  }

  private authHint(code: string, grant: string): string {
    if (code === 'InvalidAccessKeyId' || code === 'SignatureDoesNotMatch' || code === 'InvalidClientTokenId')
      return 'The AWS credentials were rejected: check the key id and secret';
    if (code === 'ExpiredToken' || code === 'TokenRefreshRequired' || code === 'InvalidToken')
      return 'The session token is expired or invalid: refresh it, or use roleArn so credentials refresh themselves';
    if (this.roleArn && /AssumeRole/i.test(code + grant))
      return `Allow sts:AssumeRole on ${this.roleArn} (and the role's trust policy must allow the caller)`;
    return `Grant ${grant}`;
  }

  status(err: unknown): number | undefined {
    return s3Status(err);
  }

  /** Whether the credential may read objects: unknown until a read is tried. */
  readonly canRead = undefined;
  readonly canDelete = undefined;

  /** S3 has no expiring token to check locally. */
  assertUsable(): void {}

  url(key: string): string {
    return `s3://${this.bucket}/${key}`;
  }

  private closed = false;

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.client.destroy();
  }

  // ---------------------------------------------------------------- the landing's half

  isMultiBlock(bytes: number): boolean {
    return bytes > chooseBlockSize(bytes, this.upload.partSize, MAX_PARTS);
  }

  /** Small files are one conditional PutObject, larger ones a multipart upload with a conditional complete. */
  create(source: BlockSource, c: Content, key: string, options: PutOptions): Promise<boolean> {
    const partSize = chooseBlockSize(c.bytes, this.upload.partSize, MAX_PARTS);
    return c.bytes > partSize ? this.putMultipart(source, c, key, partSize, options) : this.putSingle(source, c, key, options);
  }

  async head(key: string, signal: AbortSignal): Promise<StoredProperties> {
    const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal: signal });
    return {
      metadata: head.Metadata,
      digestMatches: (c) => head.ContentLength === c.bytes && head.ETag?.replace(/"/g, '') === base64ToHex(c.md5),
    };
  }

  async deleteOnce(key: string, signal: AbortSignal): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal: signal });
  }

  async checkCredentials(): Promise<Check> {
    try {
      const creds = await this.client.config.credentials();
      return { name: 'credentials', ok: true, required: true, detail: `access key ${creds.accessKeyId.slice(0, 4)}...` };
    } catch (e) {
      const v = this.verdict(e, 'credential lookup', '', 'sts:AssumeRole (or static keys / a worker IAM identity)');
      return {
        name: 'credentials',
        ok: false,
        required: true,
        detail: v.error.message,
        grant: 'valid AWS credentials (keys, roleArn, or the worker identity)',
      };
    }
  }

  /** A one-part multipart upload: the last part of an upload may be smaller than 5 MiB. */
  async extraProbeChecks(probe: {
    id: string;
    source: BlockSource;
    content: Content;
    signal: AbortSignal;
  }): Promise<{ checks: Check[]; keys: string[] }> {
    const key = this.key(probeObjectName(probe.id, '-multipart'));
    try {
      await this.putMultipart(probe.source, probe.content, key, probe.content.bytes, { signal: probe.signal });
      return { checks: [{ name: 'multipart upload', ok: true, required: true }], keys: [key] };
    } catch (e) {
      return {
        checks: [{ name: 'multipart upload', ok: false, required: true, detail: (e as Error).message, grant: this.writeGrant() }],
        keys: [key],
      };
    }
  }

  conflictHint(readsAllowed: boolean): string {
    return readsAllowed ? '' : ' (with SSE-KMS as bucket default, grant s3:GetObject: write-only comparison relies on MD5 ETags)';
  }

  readonly proof = {
    detail: 'write-only: by a conditional rewrite (If-Match on the MD5 ETag); no read permission needed',
    failed: (j: Judgement) => ({
      detail: `the write-only check judged the probe ${j} (is SSE-KMS the bucket default? then grant s3:GetObject)`,
      grant: 's3:GetObject',
    }),
  };

  get grants(): LandingClient['grants'] {
    return {
      write: this.writeGrant(),
      read: (key) => `s3:GetObject on arn:aws:s3:::${this.bucket}/${key}`,
      verify: `s3:GetObject on ${this.resource()}`,
      delete: 's3:DeleteObject',
    };
  }

  /** The objects under the prefix, as an IAM resource. */
  private resource(): string {
    return `arn:aws:s3:::${this.bucket}/${this.prefix ? `${this.prefix}/` : ''}*`;
  }
  private common(c: Content): Omit<PutObjectCommandInput, 'Key' | 'Body'> & { Bucket: string } {
    return {
      Bucket: this.bucket,
      ContentType: c.contentType,
      ...(c.contentEncoding ? { ContentEncoding: c.contentEncoding } : {}),
      Metadata: objectMetadata(c.metadata, c.sha256),
      ...this.sse,
    };
  }

  /** One conditional PutObject; false when the key already exists. */
  private async putSingle(source: BlockSource, c: Content, key: string, options: PutOptions): Promise<boolean> {
    // S3 checks the body against ChecksumSHA256 (the validated sha256): changed bytes are refused there.
    const body = 'buffer' in source ? source.buffer : await readSmall(source.path, c.bytes);
    if ('path' in source) await assertUnchanged(source.path, source.fingerprint, key);
    const created = await this.call('upload', key, options.signal, async (ts) => {
      try {
        await this.client.send(
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
    const created = await this.call('start of multipart upload', key, signal, (ts) =>
      this.client.send(new CreateMultipartUploadCommand({ ...this.common(c), Key: key, ChecksumAlgorithm: 'SHA256' }), { abortSignal: ts }),
    );
    const uploadId = created.UploadId;
    if (!uploadId) throw new TransientError(`${this.label}: no upload id for ${key}`);
    let completed = false;
    try {
      const parts: CompletedPart[] = [];
      await pumpBlocks({
        source,
        size: c.bytes,
        blockSize: partSize,
        concurrency: this.upload.concurrency,
        signal,
        onProgress: options.onProgress,
        send: async (block, s) => {
          const checksum = createHash('sha256').update(block.data).digest('base64');
          const r = await this.call(`upload of part ${block.index + 1}`, key, s, (ts) =>
            this.client.send(
              new UploadPartCommand({
                Bucket: this.bucket,
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
      const result = await this.call('completion of multipart upload', key, signal, async (ts) => {
        try {
          await this.client.send(
            new CompleteMultipartUploadCommand({
              Bucket: this.bucket,
              Key: key,
              UploadId: uploadId,
              MultipartUpload: { Parts: parts },
              IfNoneMatch: '*',
            }),
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
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }), {
        abortSignal: AbortSignal.timeout(10_000),
      });
    } catch (e) {
      this.log.debug(
        { object: key, err: this.scrub(safeMessage(e)) },
        `${this.label}: could not abort a multipart upload; the bucket lifecycle rule removes it`,
      );
    }
  }

  /** PUT the same bytes again, accepted only if the existing object's ETag is the one these bytes have. */
  async proveIdentity(source: BlockSource, c: Content, key: string, signal: AbortSignal): Promise<Judgement> {
    const partSize = chooseBlockSize(c.bytes, this.upload.partSize, MAX_PARTS);
    const unverifiable = (why: string) =>
      new AuthError(
        `${this.label}: ${key} already exists and cannot be compared without read permission: ${why}. Grant s3:GetObject on arn:aws:s3:::${this.bucket}/${key}`,
        {
          grant: 's3:GetObject',
          object: key,
        },
      );
    if (this.kmsKeyId) throw unverifiable('with SSE-KMS the ETag is not a content hash');
    if (c.bytes > MAX_SINGLE_PUT) throw unverifiable('objects over 5 GiB cannot be re-sent in one conditional PUT');
    // A multipart object has the MD5-of-part-MD5s ETag; once a write-only check has rewritten it in one
    // PUT it has the plain MD5. Both mean these bytes, so both are tried (the second only on a 412).
    const etags = [...new Set([await expectedEtag(source, c.bytes, c.md5, partSize), base64ToHex(c.md5)])];
    let judgement: Judgement = 'different';
    for (const etag of etags) {
      judgement = await this.call('write-only verification of the existing object', key, signal, async (ts) => {
        try {
          await this.client.send(
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

  // ---------------------------------------------------------------- the HWM store's half

  readonly deleteOfMissingSucceeds = true;

  async readText(key: string, signal: AbortSignal): Promise<{ text: string; etag: string | undefined } | undefined> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal: signal });
      return { text: (await r.Body?.transformToString('utf-8')) ?? '', etag: r.ETag };
    } catch (e) {
      if (s3Status(e) === 404 || s3Code(e) === 'NoSuchKey') return undefined;
      throw e;
    }
  }

  async writeText(key: string, text: string, expected: string | null, signal: AbortSignal): Promise<string | null> {
    const r = await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: text,
        ContentType: 'text/plain; charset=utf-8',
        ChecksumSHA256: createHash('sha256').update(text).digest('base64'),
        ...(expected === null ? { IfNoneMatch: '*' } : { IfMatch: expected }),
        ...this.sse,
      }),
      { abortSignal: signal },
    );
    return r.ETag ?? null;
  }

  async deleteIfMatch(key: string, etag: string, signal: AbortSignal): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key, IfMatch: etag }), { abortSignal: signal });
  }

  get hwmGrants(): HwmClient['hwmGrants'] {
    return {
      read: (key) => `s3:GetObject on arn:aws:s3:::${this.bucket}/${key}`,
      write: this.writeGrant(),
      delete: (key) => `s3:DeleteObject on arn:aws:s3:::${this.bucket}/${key}`,
    };
  }
}

function sdkLogger(log: Logger | undefined): {
  debug(...a: unknown[]): void;
  info(...a: unknown[]): void;
  warn(...a: unknown[]): void;
  error(...a: unknown[]): void;
} {
  const at = (...a: unknown[]) => log?.debug({ sdk: a.map((x) => (typeof x === 'string' ? x : safeMessage(x))).join(' ') }, 'aws-sdk');
  return { debug: () => undefined, info: () => undefined, warn: at, error: at };
}

const AUTH_CODES = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'TokenRefreshRequired',
  'InvalidToken',
  'AllAccessDisabled',
  'AccountProblem',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'KMS.AccessDeniedException',
  'KMS.DisabledException',
  'KMS.NotFoundException',
  'InvalidObjectState',
]);
const RETRY_CODES = new Set([
  'SlowDown',
  'InternalError',
  'ServiceUnavailable',
  'RequestTimeout',
  'BadDigest',
  'InvalidDigest',
  'XAmzContentSHA256Mismatch',
  'ConditionalRequestConflict',
  'OperationAborted',
  'Throttling',
  'ThrottlingException',
  'RequestTimeTooSkewedRetry',
  'TimeoutError',
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

/** The ETag S3 gives these bytes without SSE-KMS: the MD5, or the MD5 of the part MD5s and a part count. */
export async function expectedEtag(source: BlockSource, bytes: number, md5Base64: string, partSize: number): Promise<string> {
  if (bytes <= partSize) return base64ToHex(md5Base64);
  const digests: Buffer[] = [];
  if ('buffer' in source) {
    for (let off = 0; off < bytes; off += partSize)
      digests.push(
        createHash('md5')
          .update(source.buffer.subarray(off, off + partSize))
          .digest(),
      );
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
