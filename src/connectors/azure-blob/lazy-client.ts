/** The Azure Blob client with the Azure SDK loaded on first use, not with the plugin: `validate-config` never needs it. */
import type { AzureBlobClient } from './client';

export function azureBlobClient(...args: ConstructorParameters<typeof AzureBlobClient>): AzureBlobClient {
  const { AzureBlobClient: Client } = require('./client') as typeof import('./client');
  return new Client(...args);
}
