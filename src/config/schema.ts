/**
 * The shape of collectors.yaml. Source, landing and HWM blocks are checked here only for their `type`;
 * each plugin's own schema checks the rest (see checkPlugins in config/load.ts), so a new plugin needs no
 * change here.
 */
import { z } from 'zod';
import { collectorName, duration, taskQueueName } from './fields';
import { encryptionConfigSchema } from './encryption';
import { RECIPE_PREFIX, recipePolicySchema } from './recipe-policy';

export const DEFAULT_EXECUTOR = 'collectors';

const pluginBlock = () => z.object({ type: z.string().min(1) }).loose();

export const optionsSchema = z
  .object({
    /** How far back the very first run reaches when there is no HWM and no previous result. */
    initialLookback: duration().default('1d'),
    /** Window end = run start minus this, so late-arriving source records are not missed. */
    safetyLag: duration().default('5m'),
    /** gzip the extract files (`.csv.gz`). */
    compress: z.boolean().default(false),
    /** Stop after validation and keep the staged files for inspection. */
    dryRun: z.boolean().default(false),
    /** Wait for `collector approve` before uploading. */
    requireApproval: z.boolean().default(false),
    approvalTimeout: duration().default('24h'),
    extractTimeout: duration().default('2h'),
    uploadTimeout: duration().default('1h'),
    /** An activity that stays silent this long is presumed dead and retried. */
    heartbeatTimeout: duration().default('2m'),
    /** How long a step may wait for its host to pick it up before the attempt moves to another host. */
    hostPickupTimeout: duration().default('2m'),
    /** Whole-attempt retries on another worker host after a host is lost. */
    maxHostAttempts: z.number().int().min(1).max(20).default(3),
    uploadConcurrency: z.number().int().min(1).max(64).default(4),
  })
  .strict();

export const scheduleSchema = z
  .object({
    cron: z.string().optional(),
    every: duration().optional(),
    timezone: z.string().optional(),
    jitter: duration().optional(),
  })
  .strict();

export const collectorSchema = z
  .object({
    /** The task queue whose workers run this collector's activities (like DataHub's executor id). */
    executor: taskQueueName().default(DEFAULT_EXECUTOR),
    source: pluginBlock(),
    landing: pluginBlock(),
    /** Where the high-water mark lives; default: a file store in the worker's state directory. */
    hwm: pluginBlock().optional(),
    options: optionsSchema.default(() => optionsSchema.parse({})),
    schedule: scheduleSchema.optional(),
  })
  .strict();

export type CollectorSpec = z.infer<typeof collectorSchema>;

export const collectorsFileSchema = z
  .object({
    version: z.literal(1).default(1),
    /** Opt-in payload encryption for everything this deployment puts in Temporal (see docs/security.md). */
    encryption: encryptionConfigSchema.optional(),
    /** What inline recipes (workflow inputs carrying a collector definition) may touch; off by default. */
    recipes: recipePolicySchema.optional(),
    // Entries are checked one by one in load.ts; here only the names and the map itself.
    collectors: z.record(
      collectorName().refine((n) => !n.startsWith(RECIPE_PREFIX), {
        message: `names starting with "${RECIPE_PREFIX}" are reserved for inline recipes`,
      }),
      z.unknown(),
    ),
  })
  .strict();

/** An inline recipe in a workflow input: a collector definition carried by the run itself. */
export const recipeSchema = collectorSchema.extend({ name: collectorName() });
export type Recipe = z.infer<typeof recipeSchema>;
