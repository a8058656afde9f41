/** `collector hwm get|set|reset <collector>`: the HWM for people, through the same compare-and-set. */
import { ConfigError } from '../../contracts/errors';
import type { HwmStore } from '../../contracts/plugin';
import { withClosing, type CollectorRuntime } from '../../runtime/runtime';
import { say, type Common } from '../common';
import { runtimeFor } from '../context';

/** Runs `fn` with the collector's HWM store, closed afterwards. */
async function withStore<T>(runtime: CollectorRuntime, name: string, fn: (store: HwmStore) => Promise<T>): Promise<T> {
  const collector = runtime.collector({ collector: name });
  const ctx = { log: runtime.log, signal: new AbortController().signal };
  return withClosing(runtime.log, async (keep) => fn(keep(await runtime.hwmStore(collector, runtime.secrets(collector), ctx))));
}

export async function get(name: string, o: Common & { json?: boolean }): Promise<void> {
  const runtime = await runtimeFor(o);
  const state = await withStore(runtime, name, (store) => store.get(name));
  if (!o.json) return say(state.value ?? 'none');
  const store = runtime.collector({ collector: name }).hwm?.type ?? 'file';
  // The cursor is the source's own state: its presence is shown, not its contents.
  say(JSON.stringify({ collector: name, hwm: state.value, store, cursor: typeof state.cursor === 'string' }));
}

/** Moving the HWM backwards re-collects that period, so it needs `force`. */
export async function set(name: string, ts: string, o: Common & { force?: boolean }): Promise<void> {
  const ms = Date.parse(ts);
  if (Number.isNaN(ms) || !/^\d{4}-\d{2}-\d{2}/.test(ts))
    throw new ConfigError(`"${ts}" is not an ISO-8601 timestamp such as 2026-11-01T00:00:00Z`);
  await withStore(await runtimeFor(o), name, async (store) => {
    const state = await store.get(name);
    if (state.value && Date.parse(state.value) > ms && !o.force) {
      throw new ConfigError(
        `the HWM of ${name} is ${state.value}; moving it back to ${new Date(ms).toISOString()} re-collects that period: add --force if that is what you want`,
      );
    }
    // The source's cursor is state of the source, not of time: it stays (`hwm reset` drops both).
    const next = await store.compareAndSet(name, state.version, new Date(ms).toISOString(), state.cursor);
    say(`${name}: ${state.value ?? 'none'} -> ${next.value}`);
  });
}

export async function reset(name: string, o: Common): Promise<void> {
  await withStore(await runtimeFor(o), name, async (store) => {
    const state = await store.get(name);
    await store.remove(name, state.version);
    say(`${name}: HWM ${state.value ?? 'none'} removed`);
  });
}
