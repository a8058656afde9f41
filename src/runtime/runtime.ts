/**
 * Everything the activities of one worker process share: the collectors file, the plugins, the secret
 * resolver, the state directory and this host's identity. Created once by the worker or the plugin.
 */
import { join, resolve } from 'node:path';
import { statSync } from 'node:fs';
import { findCollector, loadCollectorsFile, parseRecipe, type Collector, type CollectorsConfig } from '../config/load';
import { globMatcher, RECIPES_OFF, recipeTargetIssues, type RecipePolicy } from '../config/recipe-policy';
import { secretRefFields } from '../config/fields';
import { ConfigError, errorMessage } from '../contracts/errors';
import type { Logger } from '../log';
import type { PluginRegistry } from '../contracts/registry';
import type { HwmStore, LandingZone, PluginContext, Source, SourcePlugin, Target } from '../contracts/plugin';
import { sourceApiCalls } from '../observability/metrics';
import type { CollectorRef } from '../run/types';
import { SecretResolver } from '../secrets/resolve';
import { addSecretPatterns, scrubSecrets } from '../secrets/scrub';
import type { DataConverter } from '@temporalio/common';
import { StagingLock } from './staging-lock';
import { settings } from '../settings';

/**
 * Runs `fn`; every landing zone or HWM store it passes to `keep` is closed afterwards, whatever happened.
 * A failing close is logged: it must not replace the outcome of the work itself.
 */
export async function withClosing<T>(log: Logger, fn: (keep: <R extends { close(): Promise<void> }>(r: R) => R) => Promise<T>): Promise<T> {
  const opened: { close(): Promise<void> }[] = [];
  try {
    return await fn((r) => (opened.push(r), r));
  } finally {
    for (const r of opened.reverse())
      await r.close().catch((e: unknown) => log.warn({ err: scrubSecrets(errorMessage(e)) }, 'closing a client failed'));
  }
}

export interface RuntimeOptions {
  registry: PluginRegistry;
  log: Logger;
  /** collectors.yaml; default COLLECTOR_CONFIG, else ./collectors.yaml. */
  configPath?: string;
  /** Staging and default HWM files live here; default COLLECTOR_STATE_DIR, else ./.collector. */
  stateDir?: string;
  /** Stable identity of this host for its worker-specific task queue; default COLLECTOR_HOST_ID or the hostname. */
  hostId?: string;
  secretOptions?: ConstructorParameters<typeof SecretResolver>[0];
}

export class CollectorRuntime {
  readonly registry: PluginRegistry;
  readonly log: Logger;
  readonly configPath: string;
  readonly stateDir: string;
  readonly hostId: string;
  /** Extract, validate and cleanup of one run hold its staging directory one at a time. */
  readonly staging = new StagingLock();
  private cached?: { mtimeMs: number; size: number; config: CollectorsConfig };

  constructor(private readonly options: RuntimeOptions) {
    this.registry = options.registry;
    // From here on every scrub in this process knows the connectors' credential shapes.
    addSecretPatterns(this.registry.secretPatterns);
    this.log = options.log;
    this.configPath = resolve(options.configPath ?? settings().configPath);
    this.stateDir = resolve(options.stateDir ?? settings().stateDir);
    this.hostId = hostQueueSafe(options.hostId ?? settings().hostId);
  }

  /** Re-read when the file changes, so a ConfigMap update applies to the next step without a restart. */
  config(): CollectorsConfig {
    let st;
    try {
      st = statSync(this.configPath);
    } catch {
      throw new ConfigError(`collectors file not found: ${this.configPath} (set COLLECTOR_CONFIG or --config)`);
    }
    if (!this.cached || this.cached.mtimeMs !== st.mtimeMs || this.cached.size !== st.size) {
      this.cached = { mtimeMs: st.mtimeMs, size: st.size, config: loadCollectorsFile(this.configPath, this.registry) };
    }
    return this.cached.config;
  }

  collector(ref: CollectorRef): Collector {
    if ('recipe' in ref) return parseRecipe(ref.recipe, this.registry, this.recipePolicy());
    return findCollector(this.config(), ref.collector);
  }

  /** The `recipes:` block of collectors.yaml; without a collectors file, recipes are off. */
  recipePolicy(): RecipePolicy {
    try {
      return this.config().recipes;
    } catch (e) {
      if (e instanceof ConfigError && /not found/.test(e.message)) return RECIPES_OFF;
      throw e;
    }
  }

  /** The encrypting data converter when the collectors file asks for one; none when there is no file. */
  async dataConverter(): Promise<DataConverter | undefined> {
    let encryption;
    try {
      encryption = this.config().encryption;
    } catch (e) {
      if (e instanceof ConfigError && /not found/.test(e.message)) return undefined;
      throw e;
    }
    // Loaded here, not with the runtime: the codec brings Temporal's protobuf definitions, which commands
    // that only read collectors.yaml (validate-config) do not need.
    const { dataConverterFromConfig } = require('../codec/data-converter') as typeof import('../codec/data-converter');
    return dataConverterFromConfig(encryption, this.secrets());
  }

  /**
   * A fresh resolver per activity attempt (rotated secrets apply on the next attempt), scoped to what
   * `collector` may resolve: a configured collector the references its own blocks name, a recipe those
   * the `recipes.secrets` rule grants. Without a collector (process-level encryption keys): unscoped.
   */
  secrets(collector?: Collector): SecretResolver {
    if (!collector) return new SecretResolver(this.options.secretOptions);
    let scope;
    if (collector.origin === 'recipe') {
      const policy = this.recipePolicy();
      scope = { allows: globMatcher(policy.secrets), rule: `not granted by the rule recipes.secrets of ${this.configPath}` };
    } else {
      const own = new Set(secretRefFields([collector.source, collector.landing, collector.hwm], '').map((r) => r.ref));
      scope = {
        allows: (ref: string) => own.has(ref),
        rule: `collector "${collector.name}" does not name it in its own source, landing or hwm block`,
      };
    }
    return new SecretResolver({ ...this.options.secretOptions, scope });
  }

  sourcePlugin(collector: Collector): SourcePlugin<unknown> {
    const plugin = this.registry.sources.get(collector.source.type);
    if (!plugin) throw new ConfigError(`source.type: unknown source "${collector.source.type}"`);
    return plugin;
  }

  /** The source block as its schema parsed it at load time, with `${REF}`s replaced by their values. */
  async resolvedSourceConfig(collector: Collector, secrets: SecretResolver): Promise<unknown> {
    const config = await secrets.resolveDeep(collector.source, fieldBase(collector, 'source'));
    this.assertGranted(collector, 'source', this.sourcePlugin(collector), config);
    return config;
  }

  /** The collector's source, created from its resolved block; the caller closes it. */
  async source(collector: Collector, secrets: SecretResolver, ctx: PluginContext): Promise<Source> {
    const config = await this.resolvedSourceConfig(collector, secrets);
    return this.sourcePlugin(collector).create(config, { ...ctx, stateDir: this.stateDir, apiCall: sourceApiCalls(collector.source.type) });
  }

  async landing(collector: Collector, secrets: SecretResolver, ctx: PluginContext): Promise<LandingZone> {
    const plugin = this.registry.landings.get(collector.landing.type);
    if (!plugin) throw new ConfigError(`landing.type: unknown landing "${collector.landing.type}"`);
    const config = await secrets.resolveDeep(collector.landing, fieldBase(collector, 'landing'));
    this.assertGranted(collector, 'landing', plugin, config);
    return plugin.create(config, { ...ctx, stateDir: this.stateDir });
  }

  /**
   * A recipe's resolved block may reach only what the worker's `recipes:` policy grants: checked after
   * resolution (a reference may hold a URL) and before the plugin is created, so nothing is dialled first.
   */
  private assertGranted(
    collector: Collector,
    block: 'source' | 'landing' | 'hwm',
    plugin: { type: string; targets?(config: never): Target[] },
    config: unknown,
  ): void {
    if (collector.origin !== 'recipe') return;
    if (!plugin.targets) {
      throw new ConfigError(
        `recipe.${block}.type: the "${plugin.type}" plugin does not declare what it reaches, so recipes may not use it`,
      );
    }
    const issues = recipeTargetIssues(this.recipePolicy(), (plugin.targets as (c: unknown) => Target[])(config), `recipe.${block}`);
    if (issues.length)
      throw new ConfigError(`the inline recipe reaches beyond what this worker grants recipes (${this.configPath})`, issues);
  }

  async hwmStore(collector: Collector, secrets: SecretResolver, ctx: PluginContext): Promise<HwmStore> {
    const plugin = this.registry.hwmStores.get(collector.hwm?.type ?? 'file');
    if (!plugin) throw new ConfigError(`hwm.type: unknown HWM store "${collector.hwm?.type}"`);
    // Blocks were checked (and defaulted) by the plugin's schema at load time, before secrets were resolved.
    const block = collector.hwm ?? plugin.configSchema.parse({ type: 'file' });
    const config = await secrets.resolveDeep(block, fieldBase(collector, 'hwm'));
    this.assertGranted(collector, 'hwm', plugin, config);
    return plugin.create(config, { ...ctx, stateDir: this.stateDir });
  }

  hwmDir(): string {
    return join(this.stateDir, 'hwm');
  }

  stagingRoot(): string {
    return join(this.stateDir, 'staging');
  }

  /** One directory per run; the run id is unique, the collector name keeps it readable. */
  stagingDir(collector: string, runId: string): string {
    return join(this.stagingRoot(), `${collector}__${runId}`);
  }

  /** The worker-specific task queue of this host for `executor`. */
  hostQueue(executor: string): string {
    return `${executor}@${this.hostId}`;
  }
}

/** A host id as a task-queue name part. */
function hostQueueSafe(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]/g, '-');
}

/** Where a block's fields are named in errors: `collectors.<name>.landing` or, for a recipe, `recipe.landing`. */
function fieldBase(collector: Collector, block: string): string {
  return collector.origin === 'recipe' ? `recipe.${block}` : `collectors.${collector.name}.${block}`;
}
