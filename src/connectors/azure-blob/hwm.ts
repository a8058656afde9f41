/**
 * The HWM in Azure Blob Storage: `<path>/<collector>_hwm.txt`, compare-and-set on the blob's ETag
 * (the shared store in ../object-store/hwm.ts; the Azure calls in ./client.ts).
 * Needs read, create, write (and delete for `collector hwm reset`): SAS `rcwd`.
 */
import { z } from 'zod';
import type { HwmPlugin } from '../../contracts/plugin';
import { ObjectStoreHwm } from '../object-store/hwm';
import { AzureBlobClient } from './client';
import { azureConnectionFields, refineAzureConnection } from './config';
import { azureConnectionTargets } from './targets';

export const azureBlobHwmSchema = z
  .object({ type: z.literal('azure-blob'), ...azureConnectionFields })
  .strict()
  .superRefine(refineAzureConnection);

export type AzureBlobHwmConfig = z.infer<typeof azureBlobHwmSchema>;

export const azureBlobHwmPlugin: HwmPlugin<AzureBlobHwmConfig> = {
  type: 'azure-blob',
  configSchema: azureBlobHwmSchema,
  create: (config, ctx) => new ObjectStoreHwm(new AzureBlobClient(config, 'azure-blob HWM store', ctx.log), ctx),
  targets: azureConnectionTargets,
};
