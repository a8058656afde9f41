/** `collector validate-config`: the collectors file checked; every bad field listed by path. */
import { resolve } from 'node:path';
import { builtinRegistry } from '../../builtins';
import { loadCollectorsFile, type CollectorsConfig } from '../../config/load';
import { settings } from '../../settings';
import { say, type Common } from '../common';

export async function validateConfig(o: Common): Promise<void> {
  const config = await checkedConfig(o);
  say(`${config.path}: ${config.collectors.size} collector(s) valid: ${[...config.collectors.keys()].join(', ')}`);
}

/**
 * With no plugin files, the built-in connectors' schemas are all a check needs: no runtime, logger or
 * metrics registry is built, which is most of what this command would otherwise load. Plugin files may
 * add source, landing or HWM types, so then the file is read as the worker reads it.
 */
async function checkedConfig(o: Common): Promise<CollectorsConfig> {
  if (settings().plugins.length === 0) return loadCollectorsFile(resolve(o.config ?? settings().configPath), builtinRegistry());
  const { runtimeFor } = require('../context') as typeof import('../context');
  return (await runtimeFor(o)).config();
}
