/**
 * The plugins one worker knows: built-ins plus whatever a customer registers through CollectorPlugin.
 */
import type { HwmPlugin, LandingPlugin, SourcePlugin } from './types';

export class PluginRegistry {
  readonly sources = new Map<string, SourcePlugin<unknown>>();
  readonly landings = new Map<string, LandingPlugin<unknown>>();
  readonly hwmStores = new Map<string, HwmPlugin<unknown>>();

  addSource<C>(plugin: SourcePlugin<C>): this {
    this.sources.set(plugin.type, plugin as SourcePlugin<unknown>);
    return this;
  }
  addLanding<C>(plugin: LandingPlugin<C>): this {
    this.landings.set(plugin.type, plugin as LandingPlugin<unknown>);
    return this;
  }
  addHwmStore<C>(plugin: HwmPlugin<C>): this {
    this.hwmStores.set(plugin.type, plugin as HwmPlugin<unknown>);
    return this;
  }
}
