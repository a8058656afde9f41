/**
 * The credentials of an AWS connection (the Athena source, the S3 landing zone and HWM store): static
 * keys, the SDK's default chain, or a role assumed with either (and re-assumed before it expires).
 */
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';

export interface AwsCredentialFields {
  region: string;
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
  sessionToken?: string | undefined;
  roleArn?: string | undefined;
  externalId?: string | undefined;
  /** STS endpoint override (VPC endpoint, local emulator). */
  stsEndpoint?: string | undefined;
}

interface StaticCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Undefined: the SDK's default chain (environment, profile, web identity, instance role...). */
export function awsCredentials(
  cfg: AwsCredentialFields,
  role: { sessionName: string; durationMs?: number | undefined },
): StaticCredentials | ReturnType<typeof fromTemporaryCredentials> | undefined {
  const statics: StaticCredentials | undefined =
    cfg.accessKeyId && cfg.secretAccessKey
      ? {
          accessKeyId: cfg.accessKeyId,
          secretAccessKey: cfg.secretAccessKey,
          ...(cfg.sessionToken ? { sessionToken: cfg.sessionToken } : {}),
        }
      : undefined;
  if (!cfg.roleArn) return statics;
  // The SDK client memoizes these and calls AssumeRole again shortly before they expire.
  return fromTemporaryCredentials({
    params: {
      RoleArn: cfg.roleArn,
      RoleSessionName: role.sessionName,
      ...(cfg.externalId ? { ExternalId: cfg.externalId } : {}),
      ...(role.durationMs ? { DurationSeconds: Math.round(role.durationMs / 1000) } : {}),
    },
    ...(statics ? { masterCredentials: statics } : {}),
    clientConfig: { region: cfg.region, ...(cfg.stsEndpoint ? { endpoint: cfg.stsEndpoint } : {}), maxAttempts: 3 },
  });
}
