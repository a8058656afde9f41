/**
 * The `athena` source block of collectors.yaml. Parsed while `${REF}`s are still references; the plugin
 * receives the same shape with secrets resolved.
 */
import { z } from 'zod';
import { duration, regexText, secretRef } from '../../config/fields';
import { parseDuration } from '../../run/duration';
import { ATHENA_OPERATIONS } from './quotas';

/** `arn:aws:iam::123456789012:role/path/name` in any partition (aws, aws-cn, aws-us-gov...). */
export const ROLE_ARN = /^arn:aws[-a-z]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;

const quota = z
  .object({
    /** Sustained calls per second. */
    perSecond: z.number().positive().max(10_000),
    /** Calls allowed at once after idling. */
    burst: z.number().int().min(1).max(100_000),
  })
  .partial()
  .strict();

export const athenaConfigSchema = z
  .object({
    type: z.literal('athena'),
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, { message: 'must be an AWS region such as us-east-1' }),
    /** Without these, the default AWS credential chain (env, profile, IRSA, instance role...) is used. */
    accessKeyId: secretRef().optional(),
    secretAccessKey: secretRef().optional(),
    sessionToken: secretRef().optional(),
    roleArn: z
      .string()
      .regex(ROLE_ARN, { message: 'must be an IAM role ARN such as arn:aws:iam::123456789012:role/collector-athena' })
      .optional(),
    externalId: z.string().min(2).max(1224).optional(),
    /** Length of each assumed-role session (STS allows 15m to 12h). */
    sessionDuration: duration()
      .refine(
        (s) => {
          const ms = parseDuration(s) ?? 0;
          return ms >= 900_000 && ms <= 43_200_000;
        },
        { message: 'must be between 15m and 12h' },
      )
      .optional(),
    /** Catalog names; default: every catalog ListDataCatalogs returns. */
    catalogs: z.array(z.string().min(1)).min(1).optional(),
    /** Full-match regular expressions on `database` or `catalog.database`; exclude wins. */
    databases: z
      .object({ include: z.array(regexText()).optional(), exclude: z.array(regexText()).optional() })
      .strict()
      .default({}),
    /** Workgroups whose query history is read; default: every ENABLED workgroup. */
    workgroups: z.array(z.string().min(1)).min(1).optional(),
    /** Workgroup that runs the collector's own information_schema queries; default the first of `workgroups`, else primary. */
    queryWorkgroup: z.string().min(1).optional(),
    /** S3 prefix for the collector's own query results; default: the query workgroup's. */
    outputLocation: z
      .string()
      .regex(/^s3:\/\/[^/]+(\/.*)?$/, { message: 'must be an s3:// location' })
      .optional(),
    /** Athena endpoint override (VPC endpoint, local endpoint for tests). */
    endpoint: z.url().optional(),
    /**
     * Units extracted at once. Each reads its pages one after another, so at 100-500 ms per call it
     * takes 4-10 of them to use ListTableMetadata's 20/s; the rate limiters, not this, bound the calls.
     */
    maxConcurrency: z.number().int().min(1).max(64).default(8),
    /**
     * Iceberg partition specs the table parameters lack: read from each table's metadata file on S3
     * (`metadata-file`), asked of Athena with SHOW CREATE TABLE, one DDL query per table (`query`), or
     * both, the file first and the query where S3 denies it (`true`, the default); `false`: neither.
     */
    icebergPartitionSpecs: z.union([z.boolean(), z.enum(['metadata-file', 'query'])]).default(true),
    /** S3 endpoint override for reading Iceberg metadata files (VPC endpoint, local endpoint for tests); path-style. */
    s3Endpoint: z.url().optional(),
    /** Replace literals in query text with `?` in databaselog and events. */
    mask: z.boolean().default(true),
    queryHistory: z.boolean().default(true),
    /** ListQueryExecutions is only roughly newest-first: keep paging until a whole page is this far before the window. */
    historyMargin: duration().default('1h'),
    /** Per-operation client-side rate limits; default: Athena's documented per-account quotas. */
    quotas: z.partialRecord(z.enum(ATHENA_OPERATIONS), quota).default({}),
    retry: z
      .object({
        maxAttempts: z.number().int().min(1).max(30).default(8),
        baseDelay: duration().default('200ms'),
        maxDelay: duration().default('20s'),
      })
      .strict()
      .default({ maxAttempts: 8, baseDelay: '200ms', maxDelay: '20s' }),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (Boolean(c.accessKeyId) !== Boolean(c.secretAccessKey)) {
      ctx.addIssue({
        code: 'custom',
        path: [c.accessKeyId ? 'secretAccessKey' : 'accessKeyId'],
        message: 'accessKeyId and secretAccessKey go together (or leave both out for the default AWS credential chain)',
      });
    }
    if (c.sessionToken && !c.accessKeyId) {
      ctx.addIssue({ code: 'custom', path: ['sessionToken'], message: 'needs accessKeyId and secretAccessKey' });
    }
    if ((c.externalId || c.sessionDuration) && !c.roleArn) {
      ctx.addIssue({ code: 'custom', path: [c.externalId ? 'externalId' : 'sessionDuration'], message: 'only applies with roleArn' });
    }
  });

export type AthenaConfig = z.output<typeof athenaConfigSchema>;
export type AthenaConfigInput = z.input<typeof athenaConfigSchema>;

/** The workgroup our own queries run in. */
export function queryWorkgroupOf(config: AthenaConfig): string {
  return config.queryWorkgroup ?? config.workgroups?.[0] ?? 'primary';
}

/** Compiled database filter: include (default all) minus exclude, each a full match. */
export function databaseFilter(config: AthenaConfig): (catalog: string, database: string) => boolean {
  const compile = (list: string[] | undefined) => (list ?? []).map((p) => new RegExp(`^(?:${p})$`));
  const include = compile(config.databases.include);
  const exclude = compile(config.databases.exclude);
  const hit = (res: RegExp[], catalog: string, database: string) =>
    res.some((re) => re.test(database) || re.test(`${catalog}.${database}`));
  return (catalog, database) => (include.length === 0 || hit(include, catalog, database)) && !hit(exclude, catalog, database);
}
