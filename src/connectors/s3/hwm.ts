/**
 * The HWM in S3: `<prefix>/<collector>_hwm.txt`, compare-and-set on the object's ETag with conditional
 * PutObjects; removal sends If-Match too (the shared store in ../object-store/hwm.ts; the S3 calls in
 * ./client.ts). Needs s3:GetObject, s3:PutObject (and s3:DeleteObject for `collector hwm reset`) on the key.
 */
import type { z } from 'zod';
import type { HwmPlugin } from '../../contracts/plugin';
import { objectStoreHwmPlugin } from '../object-store/hwm';
import { s3ConnectionTargets } from '../aws/targets';
import { s3Client } from './lazy-client';
import { s3Schema } from './config';

export const s3HwmSchema = s3Schema({});

export type S3HwmConfig = z.infer<typeof s3HwmSchema>;

export const s3HwmPlugin: HwmPlugin<S3HwmConfig> = objectStoreHwmPlugin(
  's3',
  s3HwmSchema,
  (config, log) => s3Client(config, 's3 HWM store', log),
  s3ConnectionTargets,
);
