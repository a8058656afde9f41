/** The connectors every worker has: one line each. */
import { PluginRegistry } from './contracts/registry';
import { athena } from './connectors/athena';
import { azureBlob } from './connectors/azure-blob';
import { filesystem } from './connectors/filesystem';
import { postgres } from './connectors/postgres';
import { s3 } from './connectors/s3';

export const BUILTIN_CONNECTORS = [athena, postgres, filesystem, azureBlob, s3] as const;

export function builtinRegistry(): PluginRegistry {
  const registry = new PluginRegistry();
  for (const connector of BUILTIN_CONNECTORS) registry.addConnector(connector);
  return registry;
}
