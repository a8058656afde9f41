/**
 * The HWM in Azure Blob Storage: `<path>/<collector>_hwm.txt`, the same text as the file store. The
 * blob's ETag is the version; writes are conditional (If-Match the version read, or If-None-Match `*`
 * for the first one), so of two runs racing from one version exactly one wins.
 * Needs read, create, write (and delete for `collector hwm reset`): SAS `rcwd`.
 */
import { azureConnectionTargets } from './targets';
import type { BlockBlobClient } from '@azure/storage-blob';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { HwmConflictError } from '../../contracts/errors';
import { azureConnectionFields, AzureTarget, httpStatus, refineAzureConnection } from './landing';
import { COLLECTOR_TMP_DIR } from '../../landing/object-name';
import { hwmProbeName, probeHwmStore } from '../../hwm/probe';
import { hwmFileName, type Check, type HwmPlugin, type HwmState, type HwmStore, type PluginContext } from '../../contracts/plugin';
import { assertStillAbsent, settleConditionalWrite } from '../object-store/conditional-write';
import { formatHwmText, parseHwmText } from '../../hwm/text';

export const azureBlobHwmSchema = z
  .object({ type: z.literal('azure-blob'), ...azureConnectionFields })
  .strict()
  .superRefine(refineAzureConnection);

export type AzureBlobHwmConfig = z.infer<typeof azureBlobHwmSchema>;

class AzureBlobHwmStore implements HwmStore {
  private readonly t: AzureTarget;

  constructor(
    config: AzureBlobHwmConfig,
    private readonly ctx: PluginContext,
  ) {
    this.t = new AzureTarget(config, 'azure-blob HWM store');
  }

  describe(): string {
    return this.t.describe();
  }

  async get(collector: string): Promise<HwmState> {
    const { blob, name } = this.blob(collector);
    this.t.assertUsable();
    const got = await this.t.call('read of the HWM', name, this.ctx.signal, async (ts) => {
      try {
        const r = await blob.download(0, undefined, { abortSignal: ts });
        return { text: await readText(r.readableStreamBody), etag: r.etag };
      } catch (e) {
        if (httpStatus(e) === 404) return undefined;
        throw e;
      }
    });
    if (!got) return { value: null, version: null };
    return { value: parseHwmText(got.text, `${this.describe()}/${hwmFileName(collector)}`), version: got.etag ?? null };
  }

  async compareAndSet(collector: string, expectedVersion: string | null, value: string): Promise<HwmState> {
    const { blob, name } = this.blob(collector);
    this.t.assertUsable();
    const text = formatHwmText(value);
    const body = Buffer.from(text);
    // Set when a try failed without an answer: our write may have landed, and the retry then "conflicts" with it.
    let ambiguous = false;
    const etag = await this.t.call('write of the HWM', name, this.ctx.signal, async (ts, attempt) => {
      if (attempt > 0) ambiguous = true;
      try {
        const r = await blob.upload(body, body.length, {
          conditions: expectedVersion === null ? { ifNoneMatch: '*' } : { ifMatch: expectedVersion },
          blobHTTPHeaders: { blobContentType: 'text/plain; charset=utf-8', blobContentMD5: createHash('md5').update(body).digest() },
          abortSignal: ts,
        });
        return r.etag ?? null;
      } catch (e) {
        const s = httpStatus(e);
        if (s === 409 || s === 412 || (s === 404 && expectedVersion !== null)) return undefined;
        throw e;
      }
    });
    return settleConditionalWrite({
      store: this,
      collector,
      value,
      expectedVersion,
      written: etag !== undefined ? { value: parseHwmText(text, name), version: etag } : undefined,
      ambiguous,
    });
  }

  async remove(collector: string, expectedVersion: string | null): Promise<void> {
    if (expectedVersion === null) return assertStillAbsent(this, collector);
    const { blob, name } = this.blob(collector);
    this.t.assertUsable();
    let ambiguous = false;
    const outcome = await this.t.call('removal of the HWM', name, this.ctx.signal, async (ts, attempt) => {
      if (attempt > 0) ambiguous = true;
      try {
        await blob.delete({ conditions: { ifMatch: expectedVersion }, abortSignal: ts });
        return 'removed' as const;
      } catch (e) {
        const s = httpStatus(e);
        if (s === 404) return 'absent' as const;
        if (s === 412) return 'changed' as const;
        throw e;
      }
    });
    // Absent after an unanswered try is our own delete having landed.
    if (outcome === 'removed' || (outcome === 'absent' && ambiguous)) return;
    throw new HwmConflictError(`HWM of "${collector}" in ${this.describe()} changed meanwhile; not removed`);
  }

  /** Under the prefix consumers ignore, like the landing's probe. */
  testConnection(): Promise<Check[]> {
    const sas = this.t.authKind === 'sas';
    const rbac = 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs';
    return probeHwmStore(this, hwmProbeName(`${COLLECTOR_TMP_DIR}/`), {
      read: sas ? 'SAS permission r' : `${rbac}/read`,
      write: sas ? 'SAS permissions c,w' : `${rbac}/write`,
      delete: sas ? 'SAS permission d (for collector hwm reset)' : `${rbac}/delete (for collector hwm reset)`,
    });
  }

  /** The SDK's clients hold no sockets of their own between requests. */
  async close(): Promise<void> {}

  private blob(collector: string): { blob: BlockBlobClient; name: string } {
    const name = this.t.blobName(hwmFileName(collector));
    return { blob: this.t.container.getBlockBlobClient(name), name };
  }
}

async function readText(stream: NodeJS.ReadableStream | undefined): Promise<string> {
  if (!stream) return '';
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

export const azureBlobHwmPlugin: HwmPlugin<AzureBlobHwmConfig> = {
  type: 'azure-blob',
  configSchema: azureBlobHwmSchema,
  create: (config, ctx) => new AzureBlobHwmStore(config, ctx),
  targets: azureConnectionTargets,
};
