/**
 * The plugins one worker knows: the built-in connectors plus whatever a customer registers through
 * CollectorPlugin. A type registered twice is refused: a second `s3` would silently replace the first.
 */
import type { Connector, HwmPlugin, LandingPlugin, SecretPattern, SourcePlugin } from './plugin';

export class PluginRegistry {
  readonly sources = new Map<string, SourcePlugin<unknown>>();
  readonly landings = new Map<string, LandingPlugin<unknown>>();
  readonly hwmStores = new Map<string, HwmPlugin<unknown>>();
  /** The registered connectors' credential shapes, each once (connectors of one vendor share them). */
  readonly secretPatterns: SecretPattern[] = [];

  addConnector(connector: Connector): this {
    for (const p of connector.secretPatterns ?? []) if (!this.secretPatterns.includes(p)) this.secretPatterns.push(p);
    for (const s of connector.sources ?? []) this.addSource(s as SourcePlugin<unknown>);
    for (const l of connector.landings ?? []) this.addLanding(l as LandingPlugin<unknown>);
    for (const h of connector.hwmStores ?? []) this.addHwmStore(h as HwmPlugin<unknown>);
    return this;
  }
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
