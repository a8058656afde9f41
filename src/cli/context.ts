/**
 * The collectors file and Temporal as a command sees them. Loaded only by the commands that need them:
 * building a runtime loads every connector.
 */
import { loadRuntime } from '../compose';
import { DEFAULT_EXECUTOR } from '../config/schema';
import type { Collector } from '../config/load';
import { ConfigError } from '../contracts/errors';
import { createLogger } from '../log';
import type { CollectorRuntime } from '../runtime/runtime';
import { stateDirOf, type Common } from './common';

/** The collectors file as the worker sees it: built-ins plus the plugins named in COLLECTOR_PLUGINS. */
export async function runtimeFor(o: Common): Promise<CollectorRuntime> {
  const log = createLogger({ level: 'warn', destination: undefined });
  return (await loadRuntime({ log, stateDir: stateDirOf(o), ...(o.config ? { configPath: o.config } : {}) })).runtime;
}

/** True for the error of a missing collectors file (as opposed to a bad one). */
export function isMissingFile(e: unknown): boolean {
  return e instanceof ConfigError && /not found/.test(e.message);
}

/** The collector `name` of the local collectors file; undefined when there is no such file. */
export async function configuredCollector(o: Common, name: string): Promise<Collector | undefined> {
  try {
    return (await runtimeFor(o)).collector({ collector: name });
  } catch (e) {
    if (isMissingFile(e)) return undefined;
    throw e;
  }
}

/** The executor task queue of `name` from the local collectors file, when there is one. */
export async function executorOf(o: Common, name: string, explicit?: string): Promise<string> {
  if (explicit) return explicit;
  return (await configuredCollector(o, name))?.executor ?? DEFAULT_EXECUTOR;
}
