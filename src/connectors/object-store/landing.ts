/**
 * The landing protocol every object store shares, written once against a LandingClient:
 * - create: the bytes go out and the object is created only if its name is free (If-None-Match `*`),
 *   so it appears whole, once;
 * - judge: a taken name is compared with ours, by reading the stored sha256 (`read`), or without read
 *   permission by the vendor's identity proof (`write-only`); `auto` reads until a read is refused;
 * - conflict: other content under the name is a ConflictError, never overwritten;
 * - probe: test-connection exercises exactly these paths under `.collector-tmp/`.
 */
import { createHash, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { ConflictError, errorMessage, TransientError } from '../../contracts/errors';
import type { Check, LandingZone, OutgoingFile, PluginContext, PutOptions, PutOutcome } from '../../contracts/plugin';
import { COLLECTOR_TMP_DIR, probeObjectName } from '../../landing/object-name';
import { checkStagedFile, metadataValue, type BlockSource } from './blocks';
import type { Content, Judgement, LandingClient } from './client';

export type VerifyMode = 'auto' | 'read' | 'write-only';

/** Landing fields every object store has, besides its block or part size. */
export const objectLandingFields = {
  /** Blocks or parts in flight per file (default 4). */
  concurrency: z.number().int().min(1).max(64).optional(),
  /** How an existing object under the same name is judged; see docs/landing-zones.md. */
  verifyExisting: z.enum(['auto', 'read', 'write-only']).optional(),
};

export class ObjectStoreLanding implements LandingZone {
  /** Set once a read was refused in auto mode: later puts go straight to the write-only proof. */
  private readDenied = false;

  constructor(
    private readonly client: LandingClient,
    private readonly mode: VerifyMode,
    private readonly ctx: PluginContext,
  ) {}

  describe(): string {
    return this.client.describe();
  }

  async put(file: OutgoingFile, objectName: string, options: PutOptions): Promise<PutOutcome> {
    const key = this.client.key(objectName);
    this.client.assertUsable();
    const fp = await checkStagedFile(file.path, file.bytes);
    return this.upload({ path: file.path, fingerprint: fp }, file, key, options);
  }

  private async upload(source: BlockSource, c: Content, key: string, options: PutOptions): Promise<PutOutcome> {
    // A retry of a large file that is already there should not resend it, when reading is allowed.
    if (this.client.isMultiBlock(c.bytes) && this.readsAllowed()) {
      const j = await this.judgeByReading(key, c, options.signal);
      if (j === 'identical') return 'already-present';
      if (j === 'different') throw this.conflict(key, c);
    }
    // More than one round only if the object vanishes between "already exists" and the comparison.
    for (let round = 0; round < 3; round++) {
      if (await this.client.create(source, c, key, options)) return 'created';
      const j = await this.judge(source, c, key, options.signal);
      if (j === 'identical') return 'already-present';
      if (j === 'different') throw this.conflict(key, c);
    }
    throw new TransientError(`${this.client.label}: ${key} kept appearing and disappearing while being uploaded; retry later`);
  }

  private readsAllowed(): boolean {
    if (this.mode === 'write-only') return false;
    if (this.mode === 'read') return true;
    return this.client.canRead !== false && !this.readDenied;
  }

  private async judge(source: BlockSource, c: Content, key: string, signal: AbortSignal): Promise<Judgement> {
    if (this.readsAllowed()) {
      const j = await this.judgeByReading(key, c, signal);
      if (j !== 'denied') return j;
    }
    return this.client.proveIdentity(source, c, key, signal);
  }

  /** Compares the existing object's recorded sha256 (else the store's digest and length) with ours. */
  private async judgeByReading(key: string, c: Content, signal: AbortSignal): Promise<Judgement | 'denied'> {
    const props = await this.client.call(
      'read of the existing object',
      key,
      signal,
      async (ts) => {
        try {
          return await this.client.head(key, ts);
        } catch (e) {
          const s = this.client.status(e);
          if (s === 404) return 'absent' as const;
          if (s === 403 && this.mode === 'auto') return 'denied' as const;
          throw e;
        }
      },
      this.client.grants.read(key),
    );
    if (props === 'absent') return 'absent';
    if (props === 'denied') {
      this.readDenied = true;
      this.ctx.log.info(
        { target: this.describe() },
        `${this.client.label}: reading existing objects is not permitted; verifying them write-only`,
      );
      return 'denied';
    }
    const theirs = metadataValue(props.metadata, 'sha256');
    if (theirs) return theirs.toLowerCase() === c.sha256.toLowerCase() ? 'identical' : 'different';
    return props.digestMatches(c) ? 'identical' : 'different';
  }

  private conflict(key: string, c: Content): ConflictError {
    return new ConflictError(
      `${this.client.label}: ${this.client.url(key)} already exists with different content (ours: sha256 ${c.sha256}, ${c.bytes} bytes); not overwriting it. ` +
        'Remove or rename the existing object if it is stale, and check that no other collector writes the same names' +
        this.client.conflictHint(this.readsAllowed()),
      { object: key, sha256: c.sha256 },
    );
  }

  async testConnection(): Promise<Check[]> {
    const signal = this.ctx.signal;
    const credentials = await this.client.checkCredentials(signal);
    const checks: Check[] = [credentials];
    if (!credentials.ok) return checks;
    const id = randomUUID();
    // Under the prefix consumers ignore: without delete permission the probe stays there.
    const key = this.client.key(probeObjectName(id));
    const text = Buffer.from(`temporal-collectors connection probe ${new Date().toISOString()}\n`);
    const content: Content = {
      bytes: text.length,
      sha256: createHash('sha256').update(text).digest('hex'),
      md5: createHash('md5').update(text).digest('base64'),
      contentType: 'text/plain; charset=utf-8',
      metadata: { purpose: 'connection-probe' },
    };
    const source: BlockSource = { buffer: text };
    try {
      await this.client.create(source, content, key, { signal });
      checks.push({ name: 'create object', ok: true, required: true, detail: `wrote ${this.describe()}/${COLLECTOR_TMP_DIR}/...` });
    } catch (e) {
      checks.push({
        name: 'create object',
        ok: false,
        required: true,
        detail: this.client.scrub(errorMessage(e)),
        grant: this.client.grants.write,
      });
      return checks;
    }
    // The same name again must be refused: that is what makes uploads exactly-once.
    const conditional = 'conditional create (If-None-Match)';
    try {
      const overwrote = await this.client.create(source, content, key, { signal });
      checks.push(
        overwrote
          ? {
              name: conditional,
              ok: false,
              required: true,
              detail: 'the store overwrote an existing object despite If-None-Match: *; uploads cannot be exactly-once here',
            }
          : { name: conditional, ok: true, required: true },
      );
    } catch (e) {
      checks.push({ name: conditional, ok: false, required: true, detail: this.client.scrub(errorMessage(e)) });
    }
    const extra = (await this.client.extraProbeChecks?.({ id, source, content, signal })) ?? { checks: [], keys: [] };
    checks.push(...extra.checks);
    checks.push(await this.checkVerification(source, content, key, signal));
    checks.push(await this.cleanUp([key, ...extra.keys], signal));
    return checks;
  }

  /** Exercises exactly the path a retry takes when the object is already there. */
  private async checkVerification(source: BlockSource, c: Content, key: string, signal: AbortSignal): Promise<Check> {
    const name = 'verify existing objects';
    try {
      if (this.readsAllowed()) {
        const j = await this.judgeByReading(key, c, signal);
        if (j === 'identical') return { name, ok: true, required: true, detail: 'by reading metadata (sha256)' };
        if (j !== 'denied') return { name, ok: false, required: true, detail: `the probe read back as ${j}` };
      }
      const j = await this.client.proveIdentity(source, c, key, signal);
      return j === 'identical'
        ? { name, ok: true, required: true, detail: this.client.proof.detail }
        : { name, ok: false, required: true, ...this.client.proof.failed(j) };
    } catch (e) {
      return { name, ok: false, required: true, detail: this.client.scrub(errorMessage(e)), grant: this.client.grants.verify };
    }
  }

  private async cleanUp(keys: string[], signal: AbortSignal): Promise<Check> {
    const name = 'delete probe (optional)';
    if (this.client.canDelete === false) {
      return { name, ok: true, required: false, detail: `no delete permission (not needed); the probe stays at ${keys.join(', ')}` };
    }
    try {
      for (const key of keys)
        await this.client.call('delete of the probe', key, signal, (ts) => this.client.deleteOnce(key, ts), this.client.grants.delete);
      return { name, ok: true, required: false, detail: 'probe objects removed' };
    } catch (e) {
      return {
        name,
        ok: false,
        required: false,
        detail: `probe objects stay under ${this.describe()}/${COLLECTOR_TMP_DIR}/ (not needed for uploads; consumers ignore it): ${this.client.scrub(errorMessage(e))}`,
        grant: `${this.client.grants.delete} (optional)`,
      };
    }
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
