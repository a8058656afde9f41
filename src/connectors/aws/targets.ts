/**
 * What an AWS connection reaches, for the recipe policy (see Target in contracts/plugin.ts): the hosts
 * credentials and data go to, the bucket data lands in, the role assumed, or the worker's own identity.
 * Built from the resolved config, the same one the clients are built from.
 */
import { hostOf, type Target } from '../../contracts/plugin';

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
