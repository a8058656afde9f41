/** What an Azure Blob connection reaches, for the recipe policy (see Target in contracts/plugin.ts). */
import { hostOf, type Target } from '../../contracts/plugin';
import { parseConnectionString } from './connection-string';

export interface AzureConnectionTargetFields {
  account?: string | undefined;
  serviceUrl?: string | undefined;
  connectionString?: string | undefined;
  auth?: 'azure-ad' | undefined;
  clientId?: string | undefined;
}

export function azureConnectionTargets(cfg: AzureConnectionTargetFields): Target[] {
  const out: Target[] = [];
  if (cfg.serviceUrl) out.push({ kind: 'endpoint', field: 'serviceUrl', value: hostOf(cfg.serviceUrl) });
  else if (cfg.account) out.push({ kind: 'endpoint', field: 'account', value: `${cfg.account}.blob.core.windows.net` });
  else if (cfg.connectionString) {
    const parts = parseConnectionString(cfg.connectionString);
    const endpoint = parts.get('blobendpoint');
    const host = endpoint
      ? hostOf(endpoint)
      : `${parts.get('accountname') ?? '(no account)'}.blob.${parts.get('endpointsuffix') ?? 'core.windows.net'}`;
    out.push({ kind: 'endpoint', field: 'connectionString', value: host.toLowerCase() });
  }
  if (cfg.auth === 'azure-ad') {
    if (cfg.clientId) out.push({ kind: 'role', field: 'clientId', value: `azure-client-id:${cfg.clientId}` });
    out.push({ kind: 'ambient-credentials', field: 'auth', value: "the worker's Microsoft Entra identity (DefaultAzureCredential)" });
  }
  return out;
}
