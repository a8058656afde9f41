/**
 * Plugins loaded from files named in configuration: `--plugin <path[#sha256]>` (repeatable) or
 * COLLECTOR_PLUGINS (the same specs, separated by commas or newlines). Each file is a module exporting `{ sources?, landings?, hwmStores? }` (or a default export of that shape). With a
 * SHA-256 pin, the file's bytes are hashed BEFORE anything of it runs, and a mismatch is refused.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import * as errors from '../contracts/errors';
import { ConfigError } from '../contracts/errors';
import type { Logger } from '../log';
import { TOOL_VERSION } from '../version';
import { settingsFor, type Env } from '../settings';
import type { HwmPlugin, LandingPlugin, Source, SourceContext, SourcePlugin } from '../contracts/plugin';

/**
 * What a plugin module exported as a function receives: the collector's own zod (config schemas must
 * be zod 4 schemas) and error classes (their type decides retries), so a plugin file needs no
 * dependencies of its own and its errors are the collector's.
 */
export interface PluginHost {
  z: typeof z;
  errors: {
    ConfigError: typeof errors.ConfigError;
    SecretError: typeof errors.SecretError;
    AuthError: typeof errors.AuthError;
    ValidationError: typeof errors.ValidationError;
    ConflictError: typeof errors.ConflictError;
    HwmConflictError: typeof errors.HwmConflictError;
    TransientError: typeof errors.TransientError;
  };
  toolVersion: string;
}

const pluginHost: PluginHost = {
  z,
  errors: {
    ConfigError: errors.ConfigError,
    SecretError: errors.SecretError,
    AuthError: errors.AuthError,
    ValidationError: errors.ValidationError,
    ConflictError: errors.ConflictError,
    HwmConflictError: errors.HwmConflictError,
    TransientError: errors.TransientError,
  },
  toolVersion: TOOL_VERSION,
};

export interface PluginSpec {
  /** As given (relative paths are resolved against the working directory). */
  path: string;
  /** Lower-case hex; absent: unpinned (a warning is logged). */
  sha256?: string;
}

export interface LoadedPlugins {
  sources: SourcePlugin<unknown>[];
  landings: LandingPlugin<unknown>[];
  hwmStores: HwmPlugin<unknown>[];
  /** What was loaded, for the startup log line. */
  files: { path: string; sha256: string; pinned: boolean; types: string[] }[];
}

const SHA256 = /^[0-9a-f]{64}$/i;

/** `path` or `path#<64 hex>`; the hash is split at the last `#`. */
export function parsePluginSpec(spec: string): PluginSpec {
  const s = spec.trim();
  if (!s) throw new ConfigError('plugin: empty path');
  const at = s.lastIndexOf('#');
  if (at < 0) return { path: s };
  const path = s.slice(0, at);
  const hash = s.slice(at + 1).replace(/^sha256[:=]/i, '');
  if (!path) throw new ConfigError(`plugin "${s}": no path before "#"`);
  if (!SHA256.test(hash)) throw new ConfigError(`plugin "${s}": "${hash}" is not a SHA-256 (64 hex digits after "#")`);
  return { path, sha256: hash.toLowerCase() };
}

/** Specs from COLLECTOR_PLUGINS (commas or newlines) followed by `flags`. */
export function pluginSpecs(env?: Env, flags: string[] = []): PluginSpec[] {
  return [...settingsFor(env).plugins, ...flags].map(parsePluginSpec);
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

const fn = (v: Record<string, unknown>, k: string) => typeof v[k] === 'function';

function checkPlugin(file: string, list: string, i: number, v: unknown, methods: string[]): void {
  const where = `plugin ${file}: ${list}[${i}]`;
  if (!isRecord(v)) throw new ConfigError(`${where} is not an object`);
  if (typeof v.type !== 'string' || !/^[a-z][a-z0-9-]*$/.test(v.type))
    throw new ConfigError(`${where}.type must be a lower-case name such as "my-source"`);
  if (!isRecord(v.configSchema) || !fn(v.configSchema, 'safeParse') || !fn(v.configSchema, 'parse')) {
    throw new ConfigError(`${where} (${v.type}): configSchema must be a zod schema`);
  }
  for (const m of methods) if (!fn(v, m)) throw new ConfigError(`${where} (${v.type}): ${m}() is missing`);
}

/**
 * Before the Source lifecycle, a source plugin was the source itself (`units(config, ctx)`,
 * `testConnection(config, ctx)`...): refused with what to change rather than "create() is missing".
 */
function checkSourceShape(file: string, i: number, v: unknown): void {
  if (!isRecord(v) || fn(v, 'create') || !fn(v, 'units')) return;
  throw new ConfigError(
    `plugin ${file}: sources[${i}] (${String(v.type)}) has the old source shape (units(config, ctx) on the plugin): ` +
      'export create(config, ctx) returning { units(ctx), concurrency, testConnection(), close() } instead, and keep type, configSchema and targets on the plugin (docs/plugins.md)',
  );
}

/** A plugin file's source, checked where it is created: a bad one fails naming the plugin, not deep in a run. */
function checkedSource(
  file: string,
  type: string,
  create: (config: unknown, ctx: SourceContext) => unknown,
): SourcePlugin<unknown>['create'] {
  return (config, ctx) => {
    const s = create(config, ctx);
    const where = `plugin ${file}: source "${type}": create()`;
    if (!isRecord(s)) throw new ConfigError(`${where} returned no object`);
    for (const m of ['units', 'testConnection', 'close']) if (!fn(s, m)) throw new ConfigError(`${where} returned a source without ${m}()`);
    if (!Number.isInteger(s.concurrency) || (s.concurrency as number) < 1)
      throw new ConfigError(`${where} returned a source whose concurrency is not a positive integer`);
    const source = s as unknown as Source;
    let closed: Promise<void> | undefined;
    return {
      units: (c) => source.units(c),
      concurrency: source.concurrency,
      testConnection: async () => source.testConnection(),
      // Idempotent and always a promise, whatever the file's close() does.
      close: () => (closed ??= Promise.resolve().then(() => source.close())),
    };
  };
}

/** The module's plugins: its exports, its default export, or what its exported function returns for `pluginHost`. */
function exportsOf(mod: unknown): Record<string, unknown> {
  const m =
    isRecord(mod) && !('sources' in mod || 'landings' in mod || 'hwmStores' in mod) && mod.default !== undefined ? mod.default : mod;
  const v: unknown = typeof m === 'function' ? (m as (host: PluginHost) => unknown)(pluginHost) : m;
  return isRecord(v) ? v : {};
}

function listOf(file: string, exp: Record<string, unknown>, key: string): unknown[] {
  const v = exp[key];
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new ConfigError(`plugin ${file}: "${key}" must be an array`);
  return v;
}

/**
 * Loads every spec in order. Types must be new: a plugin may not replace a built-in or another plugin
 * (`taken` lists the types already known, per kind).
 */
export async function loadPlugins(
  specs: PluginSpec[],
  log: Logger,
  taken: { sources?: Iterable<string>; landings?: Iterable<string>; hwmStores?: Iterable<string> } = {},
): Promise<LoadedPlugins> {
  const out: LoadedPlugins = { sources: [], landings: [], hwmStores: [], files: [] };
  const seen = {
    sources: new Set(taken.sources ?? []),
    landings: new Set(taken.landings ?? []),
    hwmStores: new Set(taken.hwmStores ?? []),
  };
  for (const spec of specs) {
    const file = isAbsolute(spec.path) ? spec.path : resolve(spec.path);
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (e) {
      throw new ConfigError(`plugin ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
    const actual = sha256Hex(bytes);
    // The check comes before require/import: a tampered file never runs.
    if (spec.sha256 && spec.sha256 !== actual) {
      throw new ConfigError(`plugin ${file}: SHA-256 mismatch, refusing to load it: expected ${spec.sha256}, the file has ${actual}`);
    }
    if (!spec.sha256)
      log.warn({ plugin: file, sha256: actual }, `plugin ${file} is not pinned: add #${actual} to its spec to refuse a changed file`);
    let exp: Record<string, unknown>;
    try {
      // require() also loads ES modules on Node >= 20.19; one loader keeps the hash-then-load order simple.
      exp = exportsOf(require(file));
    } catch (e) {
      throw new ConfigError(`plugin ${file}: loading it failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    const sources = listOf(file, exp, 'sources');
    const landings = listOf(file, exp, 'landings');
    const hwmStores = listOf(file, exp, 'hwmStores');
    if (!sources.length && !landings.length && !hwmStores.length) {
      throw new ConfigError(`plugin ${file}: exports no plugins; export { sources?, landings?, hwmStores? } (arrays)`);
    }
    sources.forEach((p, i) => {
      checkSourceShape(file, i, p);
      checkPlugin(file, 'sources', i, p, ['create']);
    });
    landings.forEach((p, i) => checkPlugin(file, 'landings', i, p, ['create']));
    hwmStores.forEach((p, i) => checkPlugin(file, 'hwmStores', i, p, ['create']));
    const types: string[] = [];
    const claim = (kind: keyof typeof seen, type: string) => {
      if (seen[kind].has(type))
        throw new ConfigError(`plugin ${file}: ${kind} type "${type}" is already registered (built-in or an earlier plugin)`);
      seen[kind].add(type);
      types.push(`${kind}:${type}`);
    };
    for (const p of sources as SourcePlugin<unknown>[]) {
      claim('sources', p.type);
      out.sources.push({
        ...p,
        create: checkedSource(file, p.type, p.create.bind(p)),
        ...(p.targets ? { targets: p.targets.bind(p) } : {}),
      });
    }
    for (const p of landings as LandingPlugin<unknown>[]) {
      claim('landings', p.type);
      out.landings.push(p);
    }
    for (const p of hwmStores as HwmPlugin<unknown>[]) {
      claim('hwmStores', p.type);
      out.hwmStores.push(p);
    }
    out.files.push({ path: file, sha256: actual, pinned: Boolean(spec.sha256), types });
    log.info({ plugin: file, sha256: actual, pinned: Boolean(spec.sha256), types }, 'plugin loaded');
  }
  return out;
}
