/** Connection and auth fields common to the s3 landing and HWM store, and their rules. */
import { z } from 'zod';
import { duration, secretRef } from '../../config/fields';
import { landingPrefix } from '../../landing/object-name';
import { parseDuration } from '../../run/duration';
import { endpointUrl } from '../object-store/endpoint-url';

export const s3ConnectionFields = {
  bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { message: 'must be an S3 bucket name' }),
  prefix: landingPrefix(),
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$|^[a-z0-9-]+$/, { message: 'must be an AWS region such as eu-west-1' }),
  /** An S3-compatible endpoint or VPC endpoint URL. */
  endpoint: endpointUrl().optional(),
  /** Path-style URLs (bucket in the path), for most S3-compatible stores. */
  forcePathStyle: z.boolean().optional(),
  /** Static keys; without them the default chain applies (IRSA, ECS task role, instance profile...). */
  accessKeyId: secretRef().optional(),
  secretAccessKey: secretRef().optional(),
  sessionToken: secretRef().optional(),
  /** A role to assume (from the keys above or the default chain); credentials refresh before expiry. */
  roleArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/, { message: 'must be an IAM role ARN' })
    .optional(),
  externalId: z.string().min(2).max(1224).optional(),
  roleSessionName: z
    .string()
    .regex(/^[\w+=,.@-]{2,64}$/)
    .optional(),
  /** Session length of the assumed role, 15m to 12h (default 1h). */
  roleSessionDuration: duration().optional(),
  /** STS endpoint for AssumeRole (VPC endpoints, tests). */
  stsEndpoint: endpointUrl().optional(),
  /** SSE-KMS key id or ARN; without it the bucket's default encryption applies. */
  kmsKeyId: z.string().min(1).optional(),
  /** Each request is abandoned and retried after this long (default 2m). */
  requestTimeout: duration().optional(),
  /** Retries per request for throttling, 5xx, resets and timeouts (default 5). */
  maxRetries: z.number().int().min(0).max(20).optional(),
};

export interface S3ConnectionConfig {
  bucket: string;
  prefix: string;
  region: string;
  endpoint?: string | undefined;
  forcePathStyle?: boolean | undefined;
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
  sessionToken?: string | undefined;
  roleArn?: string | undefined;
  externalId?: string | undefined;
  roleSessionName?: string | undefined;
  roleSessionDuration?: string | undefined;
  stsEndpoint?: string | undefined;
  kmsKeyId?: string | undefined;
  requestTimeout?: string | undefined;
  maxRetries?: number | undefined;
}

export function refineS3Connection(cfg: S3ConnectionConfig, ctx: z.RefinementCtx): void {
  if (!cfg.accessKeyId !== !cfg.secretAccessKey) {
    ctx.addIssue({
      code: 'custom',
      path: [cfg.accessKeyId ? 'secretAccessKey' : 'accessKeyId'],
      message: 'give accessKeyId and secretAccessKey together',
    });
  }
  if (cfg.sessionToken && !cfg.accessKeyId)
    ctx.addIssue({ code: 'custom', path: ['sessionToken'], message: 'only used with accessKeyId and secretAccessKey' });
  for (const f of ['externalId', 'roleSessionName', 'roleSessionDuration'] as const) {
    if (cfg[f] && !cfg.roleArn) ctx.addIssue({ code: 'custom', path: [f], message: 'only used with roleArn' });
  }
  if (cfg.roleSessionDuration) {
    const ms = parseDuration(cfg.roleSessionDuration) ?? 0;
    if (ms < 900_000 || ms > 43_200_000)
      ctx.addIssue({ code: 'custom', path: ['roleSessionDuration'], message: 'must be between 15m and 12h' });
  }
}

/** An `s3` block: the connection fields plus `extra`, strict, with the connection rules. */
export function s3Schema<E extends z.ZodRawShape>(extra: E) {
  return (
    z
      .object({ type: z.literal('s3'), ...s3ConnectionFields, ...extra })
      .strict()
      // TypeScript cannot see through the generic `extra` that the connection fields are still there.
      .superRefine((cfg, ctx) => refineS3Connection(cfg as S3ConnectionConfig, ctx))
  );
}
