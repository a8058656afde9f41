/** `collector validate-config`: the collectors file checked; every bad field listed by path. */
import { say, type Common } from '../common';
import { runtimeFor } from '../context';

export async function validateConfig(o: Common): Promise<void> {
  const config = (await runtimeFor(o)).config();
  say(`${config.path}: ${config.collectors.size} collector(s) valid: ${[...config.collectors.keys()].join(', ')}`);
}
