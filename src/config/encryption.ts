/** The `encryption:` block of collectors.yaml: payload-encryption keys as secret references, newest first. */
import { z } from 'zod';
import { secretRef } from './fields';

export const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

export const encryptionConfigSchema = z
  .object({
    keys: z
      .array(
        z
          .object({
            id: z.string().regex(KEY_ID, { message: 'must be 1-64 letters, digits, dots, dashes or underscores' }),
            key: secretRef(),
          })
          .strict(),
      )
      .min(1, { message: 'needs at least one key; the first one encrypts' }),
  })
  .strict()
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.keys.forEach((k, i) => {
      if (seen.has(k.id)) ctx.addIssue({ code: 'custom', path: ['keys', i, 'id'], message: `duplicate key id "${k.id}"` });
      seen.add(k.id);
    });
  });

/** `{ keys: [{ id: 'k2', key: '${CODEC_KEY_2}' }, { id: 'k1', key: '${CODEC_KEY_1}' }] }`: newest first. */
export type EncryptionConfig = z.infer<typeof encryptionConfigSchema>;
