/**
 * The HWM in Azure Blob Storage: `<path>/<collector>_hwm.txt`, compare-and-set on the blob's ETag
 * (the shared store in ../object-store/hwm.ts; the Azure calls in ./client.ts).
 * Needs read, create, write (and delete for `collector hwm reset`): SAS `rcwd`.
 */
import type { z } from 'zod';
import type { HwmPlugin } from '../../contracts/plugin';
import { objectStoreHwmPlugin } from '../object-store/hwm';
import { azureBlobClient } from './lazy-client';
import { azureBlobSchema } from './config';
import { azureConnectionTargets } from './targets';

export const azureBlobHwmSchema = azureBlobSchema({});

export type AzureBlobHwmConfig = z.infer<typeof azureBlobHwmSchema>;

export const azureBlobHwmPlugin: HwmPlugin<AzureBlobHwmConfig> = objectStoreHwmPlugin(
  'azure-blob',
  azureBlobHwmSchema,
  (config, log) => azureBlobClient(config, 'azure-blob HWM store', log),
  azureConnectionTargets,
);
