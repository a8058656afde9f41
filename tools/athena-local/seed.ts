/**
 * Seeds: the typed model (model.ts), seed files (YAML or JSON, zod-validated), the demo seed and the
 * procedural generator. Times in a file are relative to the moment it is loaded (`-2h`, `-1d3h`, `now`)
 * so a demo always has fresh history, or absolute ISO 8601 for reproducible fixtures.
 */
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { z } from 'zod';
import { formatIssues } from '../../src/config/issues';
import { ConfigError } from '../../src/contracts/errors';
import { parseColumn } from './demo';
import {
  STORAGE_FORMATS,
  seedFromData,
  type AthenaSeed,
  type SeedColumn,
  type SeedData,
  type SeedExecution,
  type SeedTable,
} from './model';
import { classifyStatement } from './statements';

export { demoSeed, demoSeedData } from './demo';
export { generateSeed, type GenerateOptions } from './generate';
export {
  athenaTableParameters,
  hiveToTrinoType,
  seedFromData,
  type AthenaSeed,
  type CatalogInfo,
  type DatabaseInfo,
  type SeedCatalog,
  type SeedColumn,
  type SeedData,
  type SeedDatabase,
  type SeedExecution,
  type SeedTable,
  type SeedWorkGroup,
} from './model';

/** Optional table fields a seed file states as they are (times aside). */
const OPTIONAL_TABLE_FIELDS = [
  'comment',
  'format',
  'partitionSpec',
  'showCreateError',
  'location',
  'inputFormat',
  'outputFormat',
  'serde',
] as const;

const UNIT_MS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/** `now`, `-2h`, `-1d3h20m`, `+5m` (relative to `now`) or ISO 8601; undefined when unparseable. */
export function parseSeedTime(text: string, now: Date): Date | undefined {
  const s = text.trim();
  if (s === 'now') return new Date(now.getTime());
  const rel = /^(now\s*)?([+-])\s*((?:\d+(?:ms|d|h|m|s))+)$/.exec(s);
  if (rel) {
    let ms = 0;
    for (const m of (rel[3] as string).matchAll(/(\d+)(ms|d|h|m|s)/g)) ms += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
    return new Date(now.getTime() + (rel[2] === '-' ? -ms : ms));
  }
  if (!/^\d{4}-\d{2}-\d{2}/.test(s)) return undefined;
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** The inverse for whole-second offsets: `-1d2h3m4s`; anything else as ISO 8601. */
export function formatSeedTime(t: Date, now: Date): string {
  const diff = now.getTime() - t.getTime();
  if (diff % 1000 !== 0) return t.toISOString();
  if (diff === 0) return 'now';
  let rest = Math.abs(diff);
  let out = '';
  for (const u of ['d', 'h', 'm', 's']) {
    const n = Math.floor(rest / (UNIT_MS[u] as number));
    rest -= n * (UNIT_MS[u] as number);
    if (n) out += `${n}${u}`;
  }
  return `${diff > 0 ? '-' : '+'}${out}`;
}

function fileSchema(now: Date) {
  const time = z.union([z.string(), z.date()]).transform((v, ctx) => {
    if (v instanceof Date) return v;
    const d = parseSeedTime(v, now);
    if (!d) {
      ctx.addIssue({ code: 'custom', message: `"${v}" is not a time: use ISO 8601 or a relative time like -2h, -1d3h, now` });
      return z.NEVER;
    }
    return d;
  });
  const params = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String));
  const column = z
    .union([z.string(), z.strictObject({ name: z.string().min(1), type: z.string().min(1), comment: z.string().optional() })])
    .transform((v, ctx): SeedColumn => {
      if (typeof v !== 'string') return v;
      try {
        return parseColumn(v);
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: (e as Error).message });
        return z.NEVER;
      }
    });
  const table = z
    .strictObject({
      name: z.string().min(1),
      type: z.string().optional(),
      view: z.string().optional(),
      comment: z.string().optional(),
      format: z.enum(STORAGE_FORMATS).optional(),
      partitionSpec: z.array(z.string().min(1)).optional(),
      showCreateError: z.string().min(1).optional(),
      location: z.string().optional(),
      inputFormat: z.string().optional(),
      outputFormat: z.string().optional(),
      serde: z.string().optional(),
      parameters: params.optional(),
      createTime: time.optional(),
      lastAccessTime: time.optional(),
      columns: z.array(column).default([]),
      partitionKeys: z.array(column).default([]),
    })
    .transform((t): SeedTable => {
      const out: SeedTable = {
        name: t.name,
        tableType: t.type ?? (t.view !== undefined ? 'VIRTUAL_VIEW' : 'EXTERNAL_TABLE'),
        columns: t.columns,
        partitionKeys: t.partitionKeys,
        parameters: t.parameters ?? {},
        createTime: t.createTime ?? new Date(now.getTime() - 30 * 86_400_000),
      };
      for (const k of [...OPTIONAL_TABLE_FIELDS, 'lastAccessTime'] as const) if (t[k] !== undefined) Object.assign(out, { [k]: t[k] });
      if (t.view !== undefined) out.viewSql = t.view;
      return out;
    });
  const database = z.strictObject({
    name: z.string().min(1),
    description: z.string().optional(),
    parameters: params.optional(),
    tables: z.array(table).default([]),
  });
  const catalog = z.strictObject({
    name: z.string().min(1),
    type: z.enum(['GLUE', 'LAMBDA', 'HIVE', 'FEDERATED']).default('GLUE'),
    listed: z.boolean().optional(),
    description: z.string().optional(),
    parameters: params.optional(),
    databases: z.array(database).default([]),
  });
  const workgroup = z.strictObject({
    name: z.string().regex(/^[a-zA-Z0-9._-]{1,128}$/, 'workgroup names are 1-128 of a-z A-Z 0-9 . _ -'),
    state: z.enum(['ENABLED', 'DISABLED']).default('ENABLED'),
    outputLocation: z
      .string()
      .regex(/^s3:\/\//, 'an S3 URI: s3://bucket/prefix/')
      .optional(),
    enforceConfiguration: z.boolean().optional(),
    description: z.string().optional(),
    creationTime: time.optional(),
  });
  const execution = z
    .strictObject({
      id: z.string().min(1),
      query: z.string().min(1),
      statementType: z.enum(['DDL', 'DML', 'UTILITY']).optional(),
      substatementType: z.string().optional(),
      state: z.enum(['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED']).default('SUCCEEDED'),
      submittedAt: time,
      listedAt: time.optional(),
      completedAt: time.optional(),
      durationMs: z.number().int().nonnegative().optional(),
      workgroup: z.string().default('primary'),
      catalog: z.string().default('AwsDataCatalog'),
      database: z.string().optional(),
      outputLocation: z.string().optional(),
      error: z
        .union([
          z.string().transform((message) => ({ message })),
          z.strictObject({
            message: z.string(),
            category: z.number().int().optional(),
            type: z.number().int().optional(),
            retryable: z.boolean().optional(),
          }),
        ])
        .optional(),
      stats: z
        .strictObject({
          dataScannedBytes: z.number().nonnegative().optional(),
          engineMs: z.number().nonnegative().optional(),
          queueMs: z.number().nonnegative().optional(),
          planningMs: z.number().nonnegative().optional(),
          preProcessingMs: z.number().nonnegative().optional(),
          processingMs: z.number().nonnegative().optional(),
          totalMs: z.number().nonnegative().optional(),
        })
        .optional(),
    })
    .transform((e): SeedExecution => {
      const c = classifyStatement(e.query);
      const terminal = e.state === 'SUCCEEDED' || e.state === 'FAILED' || e.state === 'CANCELLED';
      const completedAt =
        e.completedAt ?? (terminal ? new Date(e.submittedAt.getTime() + (e.durationMs ?? e.stats?.totalMs ?? 1500)) : undefined);
      const out: SeedExecution = {
        id: e.id,
        query: e.query,
        statementType: e.statementType ?? c.statementType,
        substatementType: e.substatementType ?? c.substatementType,
        state: e.state,
        submittedAt: e.submittedAt,
        workgroup: e.workgroup,
        catalog: e.catalog,
      };
      if (completedAt) out.completedAt = completedAt;
      if (e.listedAt) out.listedAt = e.listedAt;
      if (e.database !== undefined) out.database = e.database;
      if (e.outputLocation !== undefined) out.outputLocation = e.outputLocation;
      if (e.error) out.error = e.error;
      const stats = { ...e.stats };
      if (completedAt && stats.totalMs === undefined) stats.totalMs = completedAt.getTime() - e.submittedAt.getTime();
      out.stats = stats;
      return out;
    });
  return z
    .strictObject({
      historyRetentionDays: z.number().int().positive().nullable().optional(),
      catalogs: z.array(catalog).min(1),
      workgroups: z.array(workgroup).default([{ name: 'primary', state: 'ENABLED' }]),
      executions: z.array(execution).default([]),
    })
    .transform((s): SeedData => ({
      ...(s.historyRetentionDays !== undefined ? { historyRetentionDays: s.historyRetentionDays } : {}),
      catalogs: s.catalogs.map((c) => ({ ...c, databases: c.databases.map((d) => ({ ...d })) })),
      workgroups: s.workgroups.map((w) => {
        const { creationTime, ...rest } = w;
        return { ...rest, creationTime: creationTime ?? new Date(now.getTime() - 365 * 86_400_000) };
      }),
      executions: s.executions,
    }))
    .superRefine((s, ctx) => {
      const wgs = new Set(s.workgroups.map((w) => w.name));
      s.executions.forEach((e, i) => {
        if (!wgs.has(e.workgroup))
          ctx.addIssue({ code: 'custom', path: ['executions', i, 'workgroup'], message: `no workgroup "${e.workgroup}" in workgroups` });
      });
      const ids = new Set<string>();
      s.executions.forEach((e, i) => {
        if (ids.has(e.id)) ctx.addIssue({ code: 'custom', path: ['executions', i, 'id'], message: `duplicate execution id "${e.id}"` });
        ids.add(e.id);
      });
    });
}

/** Validates parsed YAML/JSON into seed data; errors name the path of every bad field. */
export function parseSeedData(value: unknown, now: Date = new Date(), source = 'seed'): SeedData {
  const r = fileSchema(now).safeParse(value);
  if (!r.success) throw new ConfigError(`invalid athena-local seed ${source}`, formatIssues(r.error));
  return r.data;
}

/** Loads a YAML or JSON seed file (JSON is YAML); relative times count from `now`. */
export function loadSeedFile(path: string, now: Date = new Date()): AthenaSeed {
  let value: unknown;
  try {
    value = YAML.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ConfigError(`cannot read athena-local seed ${path}: ${(e as Error).message}`);
  }
  return seedFromData(parseSeedData(value, now, path), path);
}

/** Seed data as the file format, with times relative to `now` where they are whole seconds away. */
export function seedDataToYaml(data: SeedData, now: Date, header = ''): string {
  const t = (d: Date) => formatSeedTime(d, now);
  // The `name type -- comment` shorthand where it reads back the same; an object otherwise.
  const col = (c: SeedColumn) =>
    /^\S+$/.test(c.name) &&
    !/\s--\s/.test(c.type) &&
    c.type.trim() === c.type &&
    (c.comment === undefined || c.comment.trim() === c.comment)
      ? `${c.name} ${c.type}${c.comment ? ` -- ${c.comment}` : ''}`
      : { ...c };
  const doc = {
    ...(data.historyRetentionDays !== undefined ? { historyRetentionDays: data.historyRetentionDays } : {}),
    catalogs: data.catalogs.map((c) => ({
      ...c,
      databases: c.databases.map((d) => ({
        ...d,
        tables: d.tables.map((tb) => {
          const o: Record<string, unknown> = { name: tb.name };
          if (tb.tableType !== (tb.viewSql !== undefined ? 'VIRTUAL_VIEW' : 'EXTERNAL_TABLE')) o.type = tb.tableType;
          for (const k of OPTIONAL_TABLE_FIELDS) if (tb[k] !== undefined) o[k] = tb[k];
          if (Object.keys(tb.parameters).length) o.parameters = tb.parameters;
          o.createTime = t(tb.createTime);
          if (tb.lastAccessTime) o.lastAccessTime = t(tb.lastAccessTime);
          o.columns = tb.columns.map(col);
          if (tb.partitionKeys.length) o.partitionKeys = tb.partitionKeys.map(col);
          if (tb.viewSql !== undefined) o.view = tb.viewSql;
          return o;
        }),
      })),
    })),
    workgroups: data.workgroups.map((w) => ({ ...w, creationTime: t(w.creationTime) })),
    executions: data.executions.map((e) => {
      const o: Record<string, unknown> = { id: e.id, workgroup: e.workgroup, state: e.state, submittedAt: t(e.submittedAt) };
      if (e.completedAt) o.durationMs = e.completedAt.getTime() - e.submittedAt.getTime();
      if (e.listedAt) o.listedAt = t(e.listedAt);
      if (e.catalog !== undefined) o.catalog = e.catalog;
      if (e.database !== undefined) o.database = e.database;
      o.query = e.query;
      const c = classifyStatement(e.query);
      if (e.statementType !== c.statementType) o.statementType = e.statementType;
      if (e.substatementType !== undefined && e.substatementType !== c.substatementType) o.substatementType = e.substatementType;
      if (e.outputLocation !== undefined) o.outputLocation = e.outputLocation;
      if (e.error) o.error = e.error;
      if (e.stats) o.stats = e.stats;
      return o;
    }),
  };
  return header + YAML.stringify(doc, { lineWidth: 0 });
}
