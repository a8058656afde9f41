/**
 * Everything the activities of one worker process share: the collectors file, the plugins, the secret
 * resolver, the state directory and this host's identity. Created once by the worker or the plugin.
 */
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { statSync } from 'node:fs';
import { findCollector, loadCollectorsFile, parseRecipe, type Collector, type CollectorsConfig } from './config/load';
import { ConfigError } from './errors';
import type { Logger } from './log';
import type { PluginRegistry } from './plugins/registry';
import type { HwmStore, LandingZone, PluginContext, SourcePlugin } from './plugins/types';
import type { CollectorRef } from './run-types';
import { SecretResolver } from './secrets/resolve';
import type { DataConverter } from '@temporalio/common';
import { dataConverterFromConfig } from './codec/data-converter';
import { StagingLock } from './extracts/staging-lock';

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
    this.log = options.log;
    this.configPath = resolve(options.configPath ?? process.env.COLLECTOR_CONFIG ?? 'collectors.yaml');
    this.stateDir = resolve(options.stateDir ?? process.env.COLLECTOR_STATE_DIR ?? '.collector');
    this.hostId = (options.hostId ?? process.env.COLLECTOR_HOST_ID ?? hostname()).replace(/[^A-Za-z0-9._-]/g, '-');
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
    if ('recipe' in ref) return parseRecipe(ref.recipe, this.registry);
    return findCollector(this.config(), ref.collector);
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
    return dataConverterFromConfig(encryption, this.secrets());
  }

  /** A fresh resolver per activity attempt: rotated secrets apply on the next attempt. */
  secrets(): SecretResolver {
    return new SecretResolver(this.options.secretOptions);
  }

  source(collector: Collector): SourcePlugin<unknown> {
    const plugin = this.registry.sources.get(collector.source.type);
    if (!plugin) throw new ConfigError(`source.type: unknown source "${collector.source.type}"`);
    return plugin;
  }

  /** The source block as its schema parsed it at load time, with `${REF}`s replaced by their values. */
  async resolvedSourceConfig(collector: Collector, secrets: SecretResolver): Promise<unknown> {
    return secrets.resolveDeep(collector.source, `collectors.${collector.name}.source`);
  }

  async landing(collector: Collector, secrets: SecretResolver, ctx: PluginContext): Promise<LandingZone> {
    const plugin = this.registry.landings.get(collector.landing.type);
    if (!plugin) throw new ConfigError(`landing.type: unknown landing "${collector.landing.type}"`);
    const config = await secrets.resolveDeep(collector.landing, `collectors.${collector.name}.landing`);
    return plugin.create(config, ctx);
  }

  async hwmStore(collector: Collector, secrets: SecretResolver, ctx: PluginContext): Promise<HwmStore> {
    const plugin = this.registry.hwmStores.get(collector.hwm?.type ?? 'file');
    if (!plugin) throw new ConfigError(`hwm.type: unknown HWM store "${collector.hwm?.type}"`);
    // Blocks were checked (and defaulted) by the plugin's schema at load time, before secrets were resolved.
    const block = collector.hwm ?? plugin.configSchema.parse({ type: 'file' });
    const config = await secrets.resolveDeep(block, `collectors.${collector.name}.hwm`);
    return plugin.create(config, ctx);
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
