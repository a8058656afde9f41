/**
 * The HWM in S3: `<prefix>/<collector>_hwm.txt`, the same text as the file store. The object's ETag is
 * the version; writes are conditional PutObjects (If-Match the version read, or If-None-Match `*` for
 * the first), so of two runs racing from one version exactly one wins. Removal sends If-Match too.
 * Needs s3:GetObject, s3:PutObject (and s3:DeleteObject for `collector hwm reset`) on the key.
 */
import { s3ConnectionTargets } from '../aws/targets';
import { createHash } from 'node:crypto';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { HwmConflictError } from '../../contracts/errors';
import { refineS3Connection, s3Code, s3ConnectionFields, s3Status, S3Target } from './landing';
import { COLLECTOR_TMP_DIR } from '../../landing/object-name';
import { hwmProbeName, probeHwmStore } from '../../hwm/probe';
import { hwmFileName, type Check, type HwmPlugin, type HwmState, type HwmStore, type PluginContext } from '../../contracts/plugin';
import { assertStillAbsent, settleConditionalWrite } from '../object-store/conditional-write';
import { formatHwmText, parseHwmText } from '../../hwm/text';

export const s3HwmSchema = z
  .object({ type: z.literal('s3'), ...s3ConnectionFields })
  .strict()
  .superRefine(refineS3Connection);

export type S3HwmConfig = z.infer<typeof s3HwmSchema>;

class S3HwmStore implements HwmStore {
  private readonly t: S3Target;

  constructor(
    config: S3HwmConfig,
    private readonly ctx: PluginContext,
  ) {
    this.t = new S3Target(config, 's3 HWM store', ctx.log);
  }

  describe(): string {
    return this.t.describe();
  }

  async get(collector: string): Promise<HwmState> {
    const key = this.t.key(hwmFileName(collector));
    const got = await this.t.call(
      'read of the HWM',
      key,
      this.ctx.signal,
      async (ts) => {
        try {
          const r = await this.t.client.send(new GetObjectCommand({ Bucket: this.t.bucket, Key: key }), { abortSignal: ts });
          return { text: (await r.Body?.transformToString('utf-8')) ?? '', etag: r.ETag };
        } catch (e) {
          if (s3Status(e) === 404 || s3Code(e) === 'NoSuchKey') return undefined;
          throw e;
        }
      },
      `s3:GetObject on arn:aws:s3:::${this.t.bucket}/${key}`,
    );
    if (!got) return { value: null, version: null };
    return { value: parseHwmText(got.text, `s3://${this.t.bucket}/${key}`), version: got.etag ?? null };
  }

  async compareAndSet(collector: string, expectedVersion: string | null, value: string): Promise<HwmState> {
    const key = this.t.key(hwmFileName(collector));
    const text = formatHwmText(value);
    // Set when a try failed without an answer: our write may have landed, and the retry then "conflicts" with it.
    let ambiguous = false;
    const etag = await this.t.call('write of the HWM', key, this.ctx.signal, async (ts, attempt) => {
      if (attempt > 0) ambiguous = true;
      try {
        const r = await this.t.client.send(
          new PutObjectCommand({
            Bucket: this.t.bucket,
            Key: key,
            Body: text,
            ContentType: 'text/plain; charset=utf-8',
            ChecksumSHA256: createHash('sha256').update(text).digest('base64'),
            ...(expectedVersion === null ? { IfNoneMatch: '*' } : { IfMatch: expectedVersion }),
            ...this.t.sse,
          }),
          { abortSignal: ts },
        );
        return r.ETag ?? null;
      } catch (e) {
        const s = s3Status(e);
        // 412: the version moved; 404: it was removed; 409: a concurrent conditional write won.
        if (s === 412 || s === 409 || (s === 404 && expectedVersion !== null)) return undefined;
        throw e;
      }
    });
    return settleConditionalWrite({
      store: this,
      collector,
      value,
      expectedVersion,
      written: etag !== undefined ? { value: parseHwmText(text, key), version: etag } : undefined,
      ambiguous,
    });
  }

  async remove(collector: string, expectedVersion: string | null): Promise<void> {
    if (expectedVersion === null) return assertStillAbsent(this, collector);
    const key = this.t.key(hwmFileName(collector));
    // S3 deletes of a missing key succeed, so the version is checked first, then sent as If-Match
    // (honoured where S3 supports conditional deletes; the check above covers the rest).
    const now = await this.get(collector);
    if (now.version === null) return;
    if (now.version !== expectedVersion) throw new HwmConflictError(`HWM of "${collector}" in ${this.describe()} changed meanwhile (now ${now.value}); not removed`);
    const outcome = await this.t.call(
      'removal of the HWM',
      key,
      this.ctx.signal,
      async (ts) => {
        try {
          await this.t.client.send(new DeleteObjectCommand({ Bucket: this.t.bucket, Key: key, IfMatch: expectedVersion }), { abortSignal: ts });
          return 'removed' as const;
        } catch (e) {
          const s = s3Status(e);
          if (s === 404) return 'removed' as const;
          if (s === 412) return 'changed' as const;
          throw e;
        }
      },
      `s3:DeleteObject on arn:aws:s3:::${this.t.bucket}/${key}`,
    );
    if (outcome === 'changed') throw new HwmConflictError(`HWM of "${collector}" in ${this.describe()} changed meanwhile; not removed`);
  }

  /** Under the prefix consumers ignore, like the landing's probe. */
  testConnection(): Promise<Check[]> {
    const resource = `arn:aws:s3:::${this.t.bucket}/${this.t.prefix ? `${this.t.prefix}/` : ''}*`;
    return probeHwmStore(this, hwmProbeName(`${COLLECTOR_TMP_DIR}/`), {
      read: `s3:GetObject on ${resource}`,
      write: this.t.writeGrant(),
      delete: `s3:DeleteObject on ${resource} (for collector hwm reset)`,
    });
  }

  async close(): Promise<void> {
    this.t.client.destroy();
  }
}

export const s3HwmPlugin: HwmPlugin<S3HwmConfig> = {
  type: 's3',
  configSchema: s3HwmSchema,
  create: (config, ctx) => new S3HwmStore(config, ctx),
  targets: s3ConnectionTargets,
};
