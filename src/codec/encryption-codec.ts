/**
 * Opt-in AES-256-GCM payload encryption, so the Temporal cluster stores only ciphertext of workflow inputs,
 * results, signals and (with data-converter.ts) failure messages.
 *
 * Wire format of one encrypted payload:
 *   metadata: encoding = "binary/encrypted", encryption-key-id = <key id>
 *   data:     12-byte random IV || ciphertext || 16-byte GCM tag
 * The plaintext is the whole original Payload protobuf (metadata included), and the key id is the
 * additional authenticated data, so a payload cannot be relabelled to another key.
 *
 * Rotation: the first key encrypts; every listed key decrypts. Add a new key first, keep old ones until
 * no open workflow or retained history needs them.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { ConfigError } from '../contracts/errors';
import { encryptionConfigSchema, KEY_ID, type EncryptionConfig } from '../config/encryption';
import { SecretResolver } from '../secrets/resolve';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

const ProtoPayload = temporal.api.common.v1.Payload;

/** A payload that cannot be decrypted or encrypted; says which key and why, never key material. */
export class CodecError extends Error {
  override get name(): string {
    return 'CodecError';
  }
}

export interface EncryptionKey {
  id: string;
  /** 32 bytes. */
  key: Uint8Array;
}

export class EncryptionCodec implements PayloadCodec {
  /** The id new payloads are encrypted with (the first key). */
  readonly encryptionKeyId: string;
  readonly keyIds: readonly string[];
  private readonly keys: ReadonlyMap<string, Buffer>;

  constructor(keys: readonly EncryptionKey[]) {
    if (!keys.length) throw new ConfigError('payload encryption needs at least one key');
    const map = new Map<string, Buffer>();
    for (const k of keys) {
      if (!KEY_ID.test(k.id))
        throw new ConfigError(`payload encryption key id "${k.id}" must be 1-64 letters, digits, dots, dashes or underscores`);
      if (map.has(k.id)) throw new ConfigError(`payload encryption key id "${k.id}" is listed twice`);
      if (k.key.length !== KEY_BYTES)
        throw new ConfigError(`payload encryption key "${k.id}" must be ${KEY_BYTES} bytes, not ${k.key.length}`);
      map.set(k.id, Buffer.from(k.key));
    }
    this.keys = map;
    this.keyIds = [...map.keys()];
    this.encryptionKeyId = this.keyIds[0]!;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const id = this.encryptionKeyId;
    const key = this.keys.get(id)!;
    const aad = Buffer.from(id, 'utf8');
    return payloads.map((p) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(aad);
      const plain = ProtoPayload.encode(p).finish();
      const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return { metadata: { encoding: Buffer.from(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: aad }, data };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => {
      // Payloads written before encryption was turned on stay readable.
      if (text(p.metadata?.encoding) !== ENCRYPTED_ENCODING) return p;
      const idBytes = p.metadata?.[KEY_ID_METADATA];
      if (!idBytes?.length) throw new CodecError(`encrypted payload has no "${KEY_ID_METADATA}" metadata; cannot choose a key`);
      const id = text(idBytes)!;
      const key = this.keys.get(id);
      if (!key) {
        throw new CodecError(
          `payload was encrypted with key id "${id.slice(0, 64)}", which is not configured here (configured: ${this.keyIds.join(', ')}); ` +
            'add that key to encryption.keys (old keys must stay listed until no history needs them)',
        );
      }
      const data = p.data ?? new Uint8Array();
      if (data.length < IV_BYTES + TAG_BYTES) throw new CodecError(`encrypted payload (key "${id}") is truncated: ${data.length} bytes`);
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      decipher.setAAD(idBytes);
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      let plain: Buffer;
      try {
        plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      } catch {
        throw new CodecError(
          `payload encrypted with key "${id}" failed authentication: wrong key material for that id, or the data was altered`,
        );
      }
      return ProtoPayload.decode(plain);
    });
  }
}

/**
 * The codec for a config: each key is a secret reference, resolved once here (at process start), and
 * must decode to 32 bytes from base64 (44 characters) or hex (64 characters).
 */
export async function createEncryptionCodec(
  config: EncryptionConfig,
  resolver: SecretResolver = new SecretResolver(),
): Promise<EncryptionCodec> {
  const parsed = encryptionConfigSchema.safeParse(config);
  if (!parsed.success) {
    throw new ConfigError(
      'invalid payload encryption config',
      parsed.error.issues.map((i) => `encryption.${i.path.join('.')}: ${i.message}`),
    );
  }
  const keys: EncryptionKey[] = [];
  for (const [i, k] of parsed.data.keys.entries()) {
    const material = await resolver.resolve(k.key, `encryption.keys[${i}].key`);
    keys.push({ id: k.id, key: parseKeyMaterial(material, k.id) });
  }
  return new EncryptionCodec(keys);
}

/** 32 key bytes from base64 (standard or URL-safe) or hex text; the error never quotes the text. */
export function parseKeyMaterial(material: string, id: string): Buffer {
  const t = material.trim();
  let key: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(t)) key = Buffer.from(t, 'hex');
  else if (/^[A-Za-z0-9+/]{43}=?$/.test(t) || /^[A-Za-z0-9_-]{43}=?$/.test(t)) key = Buffer.from(t, 'base64');
  if (!key || key.length !== KEY_BYTES) {
    throw new ConfigError(
      `payload encryption key "${id}" must be ${KEY_BYTES} random bytes written as base64 (44 characters) or hex (64 characters); ` +
        `got ${t.length} characters. Generate one with: openssl rand -base64 32`,
    );
  }
  return key;
}

/** A new random key as base64, for `CODEC_KEY_n`. */
export function generateEncryptionKey(): string {
  return randomBytes(KEY_BYTES).toString('base64');
}

function text(b: Uint8Array | null | undefined): string | undefined {
  return b ? Buffer.from(b).toString('utf8') : undefined;
}
