/**
 * Amazon S3 (and S3-compatible) landing zone. Small files are one PutObject, larger ones a multipart
 * upload (parts in parallel); both carry SHA-256 checksums S3 verifies, and both are conditional creates
 * (If-None-Match `*` on PutObject / CompleteMultipartUpload), so an object appears whole, once (the shared
 * protocol in ../object-store/landing.ts; the S3 calls in ./client.ts).
 *
 * An existing object under a final name is judged:
 * - `read`: HeadObject, compare the recorded sha256 metadata; needs s3:GetObject.
 * - `write-only` (only s3:PutObject granted): a conditional rewrite on the ETag these bytes must have
 *   (see ./client.ts); impossible with SSE-KMS and above 5 GiB, which need s3:GetObject.
 * - `auto` (default): `read`, falling back to `write-only` once HeadObject is refused.
 */
import { z } from 'zod';
import type { LandingPlugin } from '../../contracts/plugin';
import { objectLandingFields, ObjectStoreLanding } from '../object-store/landing';
import { s3ConnectionTargets } from '../aws/targets';
import { s3Client } from './lazy-client';
import { s3Schema } from './config';

const MiB = 1024 * 1024;

export const s3LandingSchema = s3Schema({
  /** Part size in MiB for multipart uploads (default 16, min 5); files up to one part are one PutObject. */
  partSizeMiB: z.number().int().min(5).max(5120).optional(),
  ...objectLandingFields,
});

export type S3LandingConfig = z.infer<typeof s3LandingSchema>;

export const s3Landing: LandingPlugin<S3LandingConfig> = {
  type: 's3',
  configSchema: s3LandingSchema,
  create: (config, ctx) =>
    new ObjectStoreLanding(
      s3Client(config, 's3', ctx.log, { partSize: (config.partSizeMiB ?? 16) * MiB, concurrency: config.concurrency ?? 4 }),
      config.verifyExisting ?? 'auto',
      ctx,
    ),
  targets: s3ConnectionTargets,
};
