/** What the freshness gauge (observability/freshness.ts) reads in a worker: the runtime's own HWM stores. */
import type { FreshnessSource } from '../observability/freshness';
import type { CollectorRuntime } from './runtime';

/** The collectors a runtime serves: those of the collectors file whose executor is one of `executors`. */
export function runtimeFreshnessSource(runtime: CollectorRuntime, executors: string[]): FreshnessSource {
  return {
    collectors() {
      try {
        return [...runtime.config().collectors.values()].filter((c) => executors.includes(c.executor)).map((c) => c.name);
      } catch {
        return [];
      }
    },
    async read(name, signal) {
      const collector = runtime.collector({ collector: name });
      const store = await runtime.hwmStore(collector, runtime.secrets(collector), { log: runtime.log, signal });
      try {
        return (await store.get(name)).value;
      } finally {
        await store.close().catch(() => undefined);
      }
    },
  };
}
