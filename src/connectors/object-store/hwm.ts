/**
 * The HWM in an object store: `<prefix>/<collector>_hwm.txt`, the same text as the file store. The
 * object's ETag is the version; writes are conditional (If-Match the version read, or If-None-Match `*`
 * for the first), so of two runs racing from one version exactly one wins. Written once against an
 * HwmClient; a retried write may meet its own earlier success, which is recognised, not a conflict.
 */
import { HwmConflictError } from '../../contracts/errors';
import type { Logger } from 'pino';
import type { ZodType } from 'zod';
import {
  hwmFileName,
  type Check,
  type HwmPlugin,
  type HwmState,
  type HwmStore,
  type PluginContext,
  type Target,
} from '../../contracts/plugin';
import { hwmProbeName, probeHwmStore } from '../../hwm/probe';
import { formatHwmText, parseHwmText } from '../../hwm/text';
import { COLLECTOR_TMP_DIR } from '../../landing/object-name';
import type { HwmClient } from './client';

export class ObjectStoreHwm implements HwmStore {
  constructor(
    private readonly client: HwmClient,
    private readonly ctx: PluginContext,
  ) {}

  describe(): string {
    return this.client.describe();
  }

  async get(collector: string): Promise<HwmState> {
    const key = this.key(collector);
    this.client.assertUsable();
    const got = await this.client.call(
      'read of the HWM',
      key,
      this.ctx.signal,
      (ts) => this.client.readText(key, ts),
      this.client.hwmGrants.read(key),
    );
    if (!got) return { value: null, version: null };
    return { ...parseHwmText(got.text, `${this.describe()}/${hwmFileName(collector)}`), version: got.etag ?? null };
  }

  async compareAndSet(collector: string, expectedVersion: string | null, value: string, cursor?: string | null): Promise<HwmState> {
    const key = this.key(collector);
    this.client.assertUsable();
    const text = formatHwmText(value, cursor);
    // Set when a try failed without an answer: our write may have landed, and the retry then "conflicts" with it.
    let ambiguous = false;
    const etag = await this.client.call('write of the HWM', key, this.ctx.signal, async (ts, attempt) => {
      if (attempt > 0) ambiguous = true;
      try {
        return await this.client.writeText(key, text, expectedVersion, ts);
      } catch (e) {
        const s = this.client.status(e);
        // 412: the version moved; 404: it was removed; 409: a concurrent conditional write won.
        if (s === 412 || s === 409 || (s === 404 && expectedVersion !== null)) return undefined;
        throw e;
      }
    });
    if (etag !== undefined) return { ...parseHwmText(text, key), version: etag };
    if (ambiguous) {
      const now = await this.get(collector);
      if (now.value !== null && Date.parse(now.value) === Date.parse(value) && (now.cursor ?? null) === (cursor ?? null)) return now;
    }
    throw new HwmConflictError(
      `HWM of "${collector}" in ${this.describe()} changed since version ${expectedVersion ?? '(none)'} was read; another run advanced it, so this one does not`,
    );
  }

  async remove(collector: string, expectedVersion: string | null): Promise<void> {
    if (expectedVersion === null) {
      // Only while there is still no HWM.
      const now = await this.get(collector);
      if (now.version !== null) throw new HwmConflictError(`HWM of "${collector}" appeared meanwhile (now ${now.value}); not removed`);
      return;
    }
    const key = this.key(collector);
    this.client.assertUsable();
    if (this.client.deleteOfMissingSucceeds) {
      // The delete alone cannot tell "removed" from "never there": the version is checked first, then
      // sent as If-Match (honoured where the store supports conditional deletes).
      const now = await this.get(collector);
      if (now.version === null) return;
      if (now.version !== expectedVersion)
        throw new HwmConflictError(`HWM of "${collector}" in ${this.describe()} changed meanwhile (now ${now.value}); not removed`);
    }
    let ambiguous = false;
    const outcome = await this.client.call(
      'removal of the HWM',
      key,
      this.ctx.signal,
      async (ts, attempt) => {
        if (attempt > 0) ambiguous = true;
        try {
          await this.client.deleteIfMatch(key, expectedVersion, ts);
          return 'removed' as const;
        } catch (e) {
          const s = this.client.status(e);
          if (s === 404) return 'absent' as const;
          if (s === 412) return 'changed' as const;
          throw e;
        }
      },
      this.client.hwmGrants.delete(key),
    );
    // Absent after an unanswered try is our own delete having landed.
    if (outcome === 'removed' || (outcome === 'absent' && (ambiguous || this.client.deleteOfMissingSucceeds))) return;
    throw new HwmConflictError(`HWM of "${collector}" in ${this.describe()} changed meanwhile; not removed`);
  }

  /** A probe under the prefix consumers ignore, like the landing's. */
  testConnection(): Promise<Check[]> {
    const g = this.client.hwmGrants;
    const probe = hwmProbeName(`${COLLECTOR_TMP_DIR}/`);
    const key = this.key(probe);
    return probeHwmStore(this, probe, { read: g.read(key), write: g.write, delete: `${g.delete(key)} (for collector hwm reset)` });
  }

  close(): Promise<void> {
    return this.client.close();
  }

  private key(collector: string): string {
    return this.client.key(hwmFileName(collector));
  }
}

/** An object store's HWM plugin: its schema, its client for a config, and what a config reaches. */
export function objectStoreHwmPlugin<C>(
  type: string,
  configSchema: ZodType<C>,
  client: (config: C, log: Logger) => HwmClient,
  targets: (config: C) => Target[],
): HwmPlugin<C> {
  return { type, configSchema, create: (config, ctx) => new ObjectStoreHwm(client(config, ctx.log), ctx), targets };
}
