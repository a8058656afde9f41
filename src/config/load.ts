/**
 * Loads collectors.yaml (or an inline recipe) and checks every field, listing every problem by path,
 * e.g. `collectors.athena-prod.source.region: required`.
 */
import { readFileSync, statSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { ConfigError } from '../contracts/errors';
import type { PluginRegistry } from '../contracts/registry';
import type { EncryptionConfig } from './encryption';
import { SECRET_FIELD, SECRET_REF, secretRefFields } from './fields';
import { RECIPE_PREFIX, RECIPES_OFF, recipesOffIssue, recipeSecretIssues, type RecipePolicy } from './recipe-policy';
import { formatIssues } from './issues';
import { collectorSchema, collectorsFileSchema, recipeSchema, type CollectorSpec, type Recipe } from './schema';

const MAX_FILE_BYTES = 1024 * 1024;
const MAX_STRING = 64 * 1024;

/** A collector whose plugin blocks have each passed their plugin's schema. */
export interface Collector extends CollectorSpec {
  name: string;
  /** Parsed by the source plugin's schema; may still hold `${REF}`s, resolved inside activities. */
  source: { type: string } & Record<string, unknown>;
  landing: { type: string } & Record<string, unknown>;
  hwm: ({ type: string } & Record<string, unknown>) | undefined;
  /** `config`: written by the worker's operator; `recipe`: carried by a workflow input, held to `recipes:`. */
  origin: 'config' | 'recipe';
}

export interface CollectorsConfig {
  path: string;
  collectors: Map<string, Collector>;
  encryption: EncryptionConfig | undefined;
  /** What inline recipes may touch; recipes are off unless the file enables them. */
  recipes: RecipePolicy;
}

export function loadCollectorsFile(path: string, registry: PluginRegistry): CollectorsConfig {
  let text: string;
  try {
    const size = statSync(path).size;
    if (size > MAX_FILE_BYTES) throw new ConfigError(`${path}: ${size} bytes is larger than the 1 MiB a collectors file may be`);
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError(
      code === 'ENOENT'
        ? `collectors file not found: ${path} (set COLLECTOR_CONFIG or pass --config)`
        : `cannot read collectors file ${path}: ${(e as Error).message}`,
    );
  }
  return parseCollectorsText(text, path, registry);
}

export function parseCollectorsText(text: string, path: string, registry: PluginRegistry): CollectorsConfig {
  if (text.includes('\u0000')) throw new ConfigError(`${path}: contains a NUL byte; is this a text file?`);
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    throw new ConfigError(
      `${path} is not valid YAML`,
      doc.errors.map((e) => `line ${e.linePos?.[0]?.line ?? '?'}: ${e.message.split('\n')[0]}`),
    );
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    // e.g. an alias bomb: refuse the file rather than expand it.
    throw new ConfigError(`${path} cannot be read: ${(e as Error).message}`);
  }
  const issues = [...scanValues(raw, [])];
  const collectors = new Map<string, Collector>();
  // The file's shape first, then each collector on its own, so one bad entry hides no other problem.
  const file = collectorsFileSchema.safeParse(raw);
  if (!file.success) {
    issues.push(...formatIssues(file.error));
  }
  const entries = raw && typeof raw === 'object' && 'collectors' in raw ? (raw as { collectors: unknown }).collectors : undefined;
  if (entries && typeof entries === 'object' && !Array.isArray(entries)) {
    for (const [name, value] of Object.entries(entries)) {
      const base = ['collectors', name];
      const spec = collectorSchema.safeParse(value);
      if (!spec.success) issues.push(...formatIssues(spec.error, base));
      // Plugin blocks are checked even when other fields are wrong, so every problem shows at once.
      const checked = checkPlugins(name, spec.success ? spec.data : pluginBlocksOf(value), registry, base);
      issues.push(...checked.issues);
      if (spec.success && checked.collector) collectors.set(name, checked.collector);
    }
  }
  if (issues.length) {
    const unique = dedupe(issues);
    throw new ConfigError(`${path} has ${unique.length} problem(s)`, unique);
  }
  return {
    path,
    collectors,
    encryption: file.success ? file.data.encryption : undefined,
    recipes: (file.success && file.data.recipes) || RECIPES_OFF,
  };
}

/**
 * Validates an inline recipe exactly as a collectors.yaml entry is validated, then holds it to the
 * worker's recipe policy: recipes enabled, and every secret reference granted. (What its resolved config
 * reaches is checked where it is resolved: CollectorRuntime.) Its name is prefixed with `recipe.`, so its
 * HWM, lease, staging and object names never meet a configured collector's.
 */
export function parseRecipe(raw: unknown, registry: PluginRegistry, policy: RecipePolicy = RECIPES_OFF): Collector {
  const issues = [...recipesOffIssue(policy), ...scanValues(raw, ['recipe'])];
  const parsed = recipeSchema.safeParse(raw);
  if (!parsed.success) issues.push(...formatIssues(parsed.error, ['recipe']));
  issues.push(...recipeSecretIssues(policy, secretRefFields(raw, 'recipe')));
  let collector: Collector | undefined;
  if (parsed.success) {
    const { name, ...spec } = parsed.data as Recipe;
    const checked = checkPlugins(`${RECIPE_PREFIX}${name}`, spec, registry, ['recipe'], 'recipe');
    issues.push(...checked.issues);
    collector = checked.collector;
  }
  if (issues.length || !collector) throw new ConfigError('the inline recipe is invalid', dedupe(issues).slice(0, 50));
  return collector;
}

/** The source/landing/hwm blocks of an entry that failed the collector schema, where they look usable. */
function pluginBlocksOf(value: unknown): CollectorSpec {
  const v = (value && typeof value === 'object' ? value : {}) as Record<string, unknown>;
  const block = (b: unknown) =>
    b && typeof b === 'object' && typeof (b as { type?: unknown }).type === 'string' ? (b as { type: string }) : undefined;
  return { source: block(v.source), landing: block(v.landing), hwm: block(v.hwm) } as unknown as CollectorSpec;
}

function checkPlugins(
  name: string,
  spec: CollectorSpec,
  registry: PluginRegistry,
  base: string[],
  origin: Collector['origin'] = 'config',
): { collector?: Collector; issues: string[] } {
  const issues: string[] = [];
  const block = <P extends { configSchema: import('zod').ZodType<unknown> }>(
    field: 'source' | 'landing' | 'hwm',
    value: { type: string } | undefined,
    plugins: Map<string, P>,
  ): ({ type: string } & Record<string, unknown>) | undefined => {
    if (!value) return undefined;
    const plugin = plugins.get(value.type);
    if (!plugin) {
      issues.push(
        `${[...base, field, 'type'].join('.')}: unknown ${field} type "${value.type}" (known: ${[...plugins.keys()].join(', ') || 'none'})`,
      );
      return undefined;
    }
    const r = plugin.configSchema.safeParse(value);
    if (!r.success) {
      issues.push(...formatIssues(r.error, [...base, field]));
      return undefined;
    }
    return r.data as { type: string } & Record<string, unknown>;
  };
  const source = block('source', spec.source, registry.sources);
  const landing = block('landing', spec.landing, registry.landings);
  const hwm = block('hwm', spec.hwm, registry.hwmStores);
  if (spec.schedule?.cron && spec.schedule?.every) issues.push(`${[...base, 'schedule'].join('.')}: give cron or every, not both`);
  if (issues.length || !source || !landing || (spec.hwm && !hwm)) return { issues };
  return { collector: { ...spec, name, source, landing, hwm, origin }, issues };
}

/** Checks every string once, whatever the schema: NUL bytes, huge values, plain values in secret fields. */
function* scanValues(value: unknown, path: (string | number)[]): Generator<string> {
  if (typeof value === 'string') {
    const at = path.join('.') || '(root)';
    if (value.includes('\u0000')) yield `${at}: contains a NUL byte`;
    if (value.length > MAX_STRING) yield `${at}: is ${value.length} characters long; at most ${MAX_STRING} are allowed`;
    const key = path[path.length - 1];
    if (typeof key === 'string' && SECRET_FIELD.test(key) && !SECRET_REF.test(value)) {
      yield `${at}: holds a plain value; secrets must be references such as \${${key.toUpperCase()}} so they never reach workflow history or logs`;
    }
    return;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) yield* scanValues(value[i], [...path, i]);
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) yield* scanValues(v, [...path, k]);
  }
}

function dedupe(items: string[]): string[] {
  return [...new Set(items)];
}

/** The collector `name`, or a ConfigError naming the known ones. */
export function findCollector(config: CollectorsConfig, name: string): Collector {
  const found = config.collectors.get(name);
  if (!found) {
    const known = [...config.collectors.keys()];
    throw new ConfigError(
      `unknown collector ${JSON.stringify(name.slice(0, 80))}${name.length > 80 ? '…' : ''} in ${config.path}; known collectors: ${known.length ? known.join(', ') : '(none)'}`,
    );
  }
  return found;
}
