/**
 * The one way a CollectorRuntime is put together: the built-in connectors, a host's own connectors and
 * plugins, and (for the worker and the CLI) the plugin files of COLLECTOR_PLUGINS and --plugin. The
 * worker, CollectorPlugin and every CLI command build their runtime here. It sits above runtime/
 * because it names the built-in connectors.
 */
import { builtinRegistry } from './builtins';
import type { Connector, HwmPlugin, LandingPlugin, SourcePlugin } from './contracts/plugin';
import type { PluginRegistry } from './contracts/registry';
import { createLogger, type Logger } from './log';
import { loadPlugins, pluginSpecs, type LoadedPlugins } from './runtime/plugin-loader';
import { CollectorRuntime, type RuntimeOptions } from './runtime/runtime';

export interface RuntimeFactoryOptions extends Partial<Omit<RuntimeOptions, 'registry' | 'log'>> {
  log?: Logger;
  /** A customer's own connectors (folders like src/connectors/*), registered after the built-ins. */
  connectors?: Connector[];
  /** Extra plugins: a customer's own source, landing zone or HWM store (typed, or as loaded from a file). */
  sources?: (SourcePlugin<never> | SourcePlugin<unknown>)[];
  landings?: (LandingPlugin<never> | LandingPlugin<unknown>)[];
  hwmStores?: (HwmPlugin<never> | HwmPlugin<unknown>)[];
}

function registryOf(options: RuntimeFactoryOptions): PluginRegistry {
  const registry = builtinRegistry();
  for (const c of options.connectors ?? []) registry.addConnector(c);
  return registry.addConnector({
    system: 'options',
    sources: options.sources ?? [],
    landings: options.landings ?? [],
    hwmStores: options.hwmStores ?? [],
  });
}

function runtimeOver(registry: PluginRegistry, options: RuntimeFactoryOptions): CollectorRuntime {
  return new CollectorRuntime({ ...options, registry, log: options.log ?? createLogger() });
}

/** Built-ins, then `connectors`, then the given plugins; no plugin files (a host process passes its own). */
export function createRuntime(options: RuntimeFactoryOptions = {}): CollectorRuntime {
  return runtimeOver(registryOf(options), options);
}

export interface LoadedRuntime {
  runtime: CollectorRuntime;
  /** The plugins loaded from files, to hand on to workers built over the same runtime. */
  plugins: LoadedPlugins;
}

/**
 * As createRuntime, plus the plugin files named in COLLECTOR_PLUGINS, then `pluginFiles` (--plugin):
 * the collectors file as the `collector` worker sees it. A file may not replace a type already known.
 */
export async function loadRuntime(options: RuntimeFactoryOptions & { pluginFiles?: string[] } = {}): Promise<LoadedRuntime> {
  const log = options.log ?? createLogger();
  const registry = registryOf(options);
  const plugins = await loadPlugins(pluginSpecs(undefined, options.pluginFiles ?? []), log, {
    sources: registry.sources.keys(),
    landings: registry.landings.keys(),
    hwmStores: registry.hwmStores.keys(),
  });
  registry.addConnector({ system: 'plugin files', sources: plugins.sources, landings: plugins.landings, hwmStores: plugins.hwmStores });
  return { runtime: runtimeOver(registry, { ...options, log }), plugins };
}
