/**
 * The HWM in S3: `<prefix>/<collector>_hwm.txt`, compare-and-set on the object's ETag with conditional
 * PutObjects; removal sends If-Match too (the shared store in ../object-store/hwm.ts; the S3 calls in
 * ./client.ts). Needs s3:GetObject, s3:PutObject (and s3:DeleteObject for `collector hwm reset`) on the key.
 */
import { z } from 'zod';
import type { HwmPlugin } from '../../contracts/plugin';
import { ObjectStoreHwm } from '../object-store/hwm';
import { s3ConnectionTargets } from '../aws/targets';
import { S3ObjectClient } from './client';
import { refineS3Connection, s3ConnectionFields } from './config';

export const s3HwmSchema = z
  .object({ type: z.literal('s3'), ...s3ConnectionFields })
  .strict()
  .superRefine(refineS3Connection);

export type S3HwmConfig = z.infer<typeof s3HwmSchema>;

export const s3HwmPlugin: HwmPlugin<S3HwmConfig> = {
  type: 's3',
  configSchema: s3HwmSchema,
  create: (config, ctx) => new ObjectStoreHwm(new S3ObjectClient(config, 's3 HWM store', ctx.log), ctx),
  targets: s3ConnectionTargets,
};
