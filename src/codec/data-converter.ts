/**
 * The DataConverter for encrypted deployments. Worker, client and the codec server must agree on it.
 *
 * The SDK (1.24) takes the failure converter as a module path, not an instance: workflow code runs in a
 * sandbox that loads it from the bundle. Prebuilt workflow bundles must be built with the same path:
 * `bundleWorkflowCode({ workflowsPath, failureConverterPath: FAILURE_CONVERTER_PATH })`.
 */
import type { DataConverter, PayloadCodec } from '@temporalio/common';
import { SecretResolver } from '../secrets/resolve';
import type { EncryptionConfig } from '../config/encryption';
import { createEncryptionCodec } from './encryption-codec';

/** Module exporting `failureConverter` (DefaultFailureConverter with encodeCommonAttributes: true). */
export const FAILURE_CONVERTER_PATH = require.resolve('./failure-converter');

/** `{ payloadCodecs: [codec], failureConverterPath }`: payloads and failure messages/stacks are encoded. */
export function encryptedDataConverter(codec: PayloadCodec): DataConverter {
  return { payloadCodecs: [codec], failureConverterPath: FAILURE_CONVERTER_PATH };
}

/** The converter for an optional `codec` config section; undefined when encryption is off. */
export async function dataConverterFromConfig(
  config: EncryptionConfig | undefined,
  resolver: SecretResolver = new SecretResolver(),
): Promise<DataConverter | undefined> {
  if (!config) return undefined;
  return encryptedDataConverter(await createEncryptionCodec(config, resolver));
}
