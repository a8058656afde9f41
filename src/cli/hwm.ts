/** `collector hwm get|set|reset <collector>`: the HWM for people, through the same compare-and-set. */
import type { Command } from 'commander';
import { ConfigError } from '../contracts/errors';
import type { CollectorPlugin } from '../plugin';
import type { HwmStore } from '../contracts/plugin';
import { withClosing } from '../runtime/runtime';

interface Common {
  config?: string;
  stateDir?: string;
}

export function hwmCommand(hwm: Command, pluginFor: (o: Common) => Promise<CollectorPlugin>, _stateDir: (o: Common) => string, say: (m: string) => void): void {
  /** Runs `fn` with the collector's store, closed afterwards. */
  const withStore = async <T>(o: Common, name: string, fn: (store: HwmStore) => Promise<T>): Promise<T> => {
    const runtime = (await pluginFor(o)).runtime;
    const collector = runtime.collector({ collector: name });
    const ctrl = new AbortController();
    return withClosing(runtime.log, async (keep) => fn(keep(await runtime.hwmStore(collector, runtime.secrets(collector), { log: runtime.log, signal: ctrl.signal }))));
  };
  const opts = (c: Command) => c.option('-c, --config <file>', 'collectors file').option('--state-dir <dir>', 'state directory');

  opts(hwm.command('get <collector>')).action(async (name: string, o: Common) => {
    const state = await withStore(o, name, (store) => store.get(name));
    say(state.value ?? 'none');
  });
  opts(hwm.command('set <collector> <timestamp>'))
    .description('set the HWM; moving it backwards re-collects that period and needs --force')
    .option('--force', 'allow moving the HWM backwards')
    .action(async (name: string, ts: string, o: Common & { force?: boolean }) => {
      const ms = Date.parse(ts);
      if (Number.isNaN(ms) || !/^\d{4}-\d{2}-\d{2}/.test(ts)) throw new ConfigError(`"${ts}" is not an ISO-8601 timestamp such as 2026-11-01T00:00:00Z`);
      await withStore(o, name, async (store) => {
        const state = await store.get(name);
        if (state.value && Date.parse(state.value) > ms && !o.force) {
          throw new ConfigError(`the HWM of ${name} is ${state.value}; moving it back to ${new Date(ms).toISOString()} re-collects that period: add --force if that is what you want`);
        }
        const next = await store.compareAndSet(name, state.version, new Date(ms).toISOString());
        say(`${name}: ${state.value ?? 'none'} -> ${next.value}`);
      });
    });
  opts(hwm.command('reset <collector>'))
    .description('remove the HWM: the next run starts from the schedule\'s last result or initialLookback')
    .action(async (name: string, o: Common) => {
      await withStore(o, name, async (store) => {
        const state = await store.get(name);
        await store.remove(name, state.version);
        say(`${name}: HWM ${state.value ?? 'none'} removed`);
      });
    });
}
