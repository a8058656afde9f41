/** Azure Blob Storage (and ADLS Gen2 accounts) as landing zone and HWM store. */
import type { Connector } from '../../contracts/plugin';
import { azureBlobHwmPlugin } from './hwm';
import { azureBlobLanding } from './landing';
import { azureSecretPatterns } from './secret-patterns';

export { azureBlobLanding, type AzureBlobLandingConfig } from './landing';
export { azureBlobHwmPlugin, type AzureBlobHwmConfig } from './hwm';

export const azureBlob: Connector = {
  system: 'azure-blob',
  landings: [azureBlobLanding],
  hwmStores: [azureBlobHwmPlugin],
  secretPatterns: azureSecretPatterns,
};
