/**
 * Azure Blob Storage landing zone: staged blocks (transactional MD5 each) committed once with
 * If-None-Match `*`, so an object appears whole or not at all and never twice (the shared protocol in
 * ../object-store/landing.ts; the Azure calls in ./client.ts).
 *
 * Existing objects under a final name (a retry after a lost response, a re-run of a window) are judged:
 * - `read`: the blob's metadata sha256 (or Content-MD5) is compared; needs SAS `r`/RBAC read.
 * - `write-only` (a container SAS of only `cw`): identity is proven by re-committing the blocks this
 *   file's sha256 names (see ./client.ts); a different blob refuses that, which is a conflict.
 * - `auto` (default): `read` unless the SAS lacks `r`, or a read is refused; then `write-only`.
 */
import { z } from 'zod';
import { ConfigError } from '../../contracts/errors';
import type { LandingPlugin } from '../../contracts/plugin';
import { objectLandingFields, ObjectStoreLanding } from '../object-store/landing';
import { azureBlobClient } from './lazy-client';
import { azureBlobSchema } from './config';
import { azureConnectionTargets } from './targets';

const MiB = 1024 * 1024;
const MAX_BLOCK_MIB = 4000;

export const azureBlobLandingSchema = azureBlobSchema({
  /** Block size in MiB (default 16); raised automatically so a blob stays within 50,000 blocks. */
  blockSizeMiB: z.number().int().min(1).max(MAX_BLOCK_MIB).optional(),
  ...objectLandingFields,
});

export type AzureBlobLandingConfig = z.infer<typeof azureBlobLandingSchema>;

export const azureBlobLanding: LandingPlugin<AzureBlobLandingConfig> = {
  type: 'azure-blob',
  configSchema: azureBlobLandingSchema,
  create(config, ctx) {
    const client = azureBlobClient(config, 'azure-blob', ctx.log, {
      blockSize: (config.blockSizeMiB ?? 16) * MiB,
      concurrency: config.concurrency ?? 4,
    });
    const mode = config.verifyExisting ?? 'auto';
    if (mode === 'write-only' && client.authKind === 'shared-key') {
      throw new ConfigError('verifyExisting: write-only needs a SAS or auth: azure-ad (an account key can always read; use auto or read)');
    }
    return new ObjectStoreLanding(client, mode, ctx);
  },
  targets: azureConnectionTargets,
};
