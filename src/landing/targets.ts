/**
 * What the object-store connections reach, for the recipe policy (see Target in plugins/types.ts): the
 * host credentials and data go to, the bucket data lands in, the role assumed, or the worker's own
 * identity. Built from the resolved config, the same one the clients are built from.
 */
import type { Target } from '../plugins/types';
import { parseConnectionString } from './azure-connection-string';

/** `host` or `host:port` of a URL (default ports dropped, lower-cased), or the text itself if not a URL. */
export function hostOf(url: string): string {
  try {
    return new URL(url).host.toLowerCase();
  } catch {
    return url;
  }
}

export interface AwsConnectionTargetFields {
  endpoint?: string | undefined;
  stsEndpoint?: string | undefined;
  roleArn?: string | undefined;
  accessKeyId?: string | undefined;
}

/** The credential side of an AWS connection: custom endpoints, the role, or the default chain. */
export function awsConnectionTargets(cfg: AwsConnectionTargetFields): Target[] {
  const out: Target[] = [];
  if (cfg.endpoint) out.push({ kind: 'endpoint', field: 'endpoint', value: hostOf(cfg.endpoint) });
  if (cfg.stsEndpoint) out.push({ kind: 'endpoint', field: 'stsEndpoint', value: hostOf(cfg.stsEndpoint) });
  if (cfg.roleArn) out.push({ kind: 'role', field: 'roleArn', value: cfg.roleArn });
  if (!cfg.accessKeyId) {
    out.push({ kind: 'ambient-credentials', field: cfg.roleArn ? 'roleArn' : 'accessKeyId', value: 'the AWS default credential chain' });
  }
  return out;
}

export function s3ConnectionTargets(cfg: AwsConnectionTargetFields & { bucket: string }): Target[] {
  return [{ kind: 'endpoint', field: 'bucket', value: `s3://${cfg.bucket}` }, ...awsConnectionTargets(cfg)];
}

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
    const host = endpoint ? hostOf(endpoint) : `${parts.get('accountname') ?? '(no account)'}.blob.${parts.get('endpointsuffix') ?? 'core.windows.net'}`;
    out.push({ kind: 'endpoint', field: 'connectionString', value: host.toLowerCase() });
  }
  if (cfg.auth === 'azure-ad') {
    if (cfg.clientId) out.push({ kind: 'role', field: 'clientId', value: `azure-client-id:${cfg.clientId}` });
    out.push({ kind: 'ambient-credentials', field: 'auth', value: 'the worker\'s Microsoft Entra identity (DefaultAzureCredential)' });
  }
  return out;
}
