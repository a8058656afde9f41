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
    /** Without it, the server must accept the user another way (trust, certificate). */
    password: secretRef().optional(),
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
    /** Tables read per catalog query: bounds memory whatever the size of the database. */
    pageSize: z.number().int().min(10).max(10_000).default(500),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.ca && c.sslmode !== 'verify-ca' && c.sslmode !== 'verify-full') {
      ctx.addIssue({ code: 'custom', path: ['ca'], message: 'is only used with sslmode verify-ca or verify-full' });
    }
  });

export type PostgresConfig = z.output<typeof postgresConfigSchema>;

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
