/**
 * The `postgres` source block of collectors.yaml. Parsed while `${REF}`s are still references; the plugin
 * receives the same shape with secrets resolved.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { duration, regexText, secretRef } from '../../config/fields';
import { parseDuration } from '../../run/duration';

/** Schemas no catalog wants: the system catalogs, TOAST storage and per-session temporary schemas. */
export const SYSTEM_SCHEMAS = /^(pg_catalog|information_schema|pg_toast|pg_temp_\d+|pg_toast_temp_\d+)$/;

export const postgresConfigSchema = z
  .object({
    type: z.literal('postgres'),
    host: z.string().min(1).max(253),
    port: z.number().int().min(1).max(65_535).default(5432),
    user: z.string().min(1).max(63),
    /** Without it, the server must accept the user another way (trust, certificate, `iam`). */
    password: secretRef().optional(),
    /**
     * RDS / Aurora IAM database authentication instead of a password: a token signed with the worker's
     * AWS credentials (default chain, or `roleArn` assumed) for each new session. The user needs
     * `GRANT rds_iam`, the identity `rds-db:connect` on the database user.
     */
    iam: z
      .object({
        /** Default: from an RDS endpoint host name (`....<region>.rds.amazonaws.com`). */
        region: z
          .string()
          .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as us-east-1')
          .optional(),
        roleArn: z
          .string()
          .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, 'must be an IAM role ARN')
          .optional(),
        externalId: secretRef().optional(),
      })
      .strict()
      .optional(),
    /** Databases to read; default: every database the user may connect to, templates excepted. */
    databases: z.array(z.string().min(1).max(63)).min(1).optional(),
    /** Full-match regular expressions on the schema name; exclude wins. System schemas are never read. */
    schemas: z
      .object({ include: z.array(regexText()).optional(), exclude: z.array(regexText()).optional() })
      .strict()
      .default({}),
    /**
     * As libpq: `disable` (no TLS), `require` (TLS, server not verified), `verify-ca` (chain checked),
     * `verify-full` (chain and host name checked). The default never sends the password unverified.
     */
    sslmode: z.enum(['disable', 'require', 'verify-ca', 'verify-full']).default('verify-full'),
    /** PEM of the CA that signed the server's certificate (e.g. `${file:rds-ca.pem}`); default: Node's CAs. */
    ca: z.string().min(1).optional(),
    /** Every statement of the collector is cancelled by the server after this long. */
    statementTimeout: duration()
      .refine((s) => (parseDuration(s) ?? 0) >= 1000, { message: 'must be at least 1s' })
      .default('60s'),
    /** Sessions at once, per database (also the number of units extracted at once). */
    maxConnections: z.number().int().min(1).max(16).default(4),
    /** Statement usage from pg_stat_statements (docs/postgres.md); off: no usage rows and no warning without it. */
    usage: z.boolean().default(true),
    /** DDL events from the audit table docs/postgres.md gives; off: no events and no warning without it. */
    ddlEvents: z.boolean().default(true),
    /** Tables read per catalog query: bounds memory whatever the size of the database. */
    pageSize: z.number().int().min(10).max(10_000).default(500),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.iam) {
      if (c.password !== undefined)
        ctx.addIssue({ code: 'custom', path: ['password'], message: 'is not used with iam: remove one of them' });
      if (c.sslmode === 'disable') {
        ctx.addIssue({ code: 'custom', path: ['sslmode'], message: 'must not be disable with iam: RDS accepts IAM tokens over TLS only' });
      }
      if (!c.iam.region && !regionOfRdsHost(c.host)) {
        ctx.addIssue({
          code: 'custom',
          path: ['iam', 'region'],
          message: 'is required: the host is not an RDS endpoint name (<name>.<id>.<region>.rds.amazonaws.com) to take it from',
        });
      }
    }
    if (c.ca && c.sslmode !== 'verify-ca' && c.sslmode !== 'verify-full') {
      ctx.addIssue({ code: 'custom', path: ['ca'], message: 'is only used with sslmode verify-ca or verify-full' });
    }
  });

export type PostgresConfig = z.output<typeof postgresConfigSchema>;

/** `<name>.<id>.<region>.rds.amazonaws.com` (and the China partition's `.com.cn`): the region, else undefined. */
export function regionOfRdsHost(host: string): string | undefined {
  return /\.([a-z]{2}(?:-[a-z]+)+-\d)\.rds\.amazonaws\.com(?:\.cn)?$/i.exec(host)?.[1]?.toLowerCase();
}

/** Which schemas of a database the config reads. */
export function schemaFilter(config: PostgresConfig): (schema: string) => boolean {
  const full = (p: string) => new RegExp(`^(?:${p})$`);
  const include = config.schemas.include?.map(full);
  const exclude = config.schemas.exclude?.map(full) ?? [];
  return (schema) =>
    !SYSTEM_SCHEMAS.test(schema) && (!include || include.some((r) => r.test(schema))) && !exclude.some((r) => r.test(schema));
}

/** `ca` holds PEM text (usually resolved from a secret reference) or, otherwise, the path of a PEM file. */
export function caFilePath(config: Pick<PostgresConfig, 'ca'>): string | undefined {
  return config.ca && !config.ca.includes('-----BEGIN') ? resolve(config.ca) : undefined;
}
