/**
 * V8 settings for a collector process, so its memory stays flat however large the catalog.
 *
 * Measured with `npm run bench:athena` (docs/athena.md, "Memory at scale"): the live heap of an
 * extraction is ~20-30 MB at any catalog size, yet with Node's defaults peak RSS grew from ~127 MB on a
 * 10,000-column catalog to ~181 MB on a 1,000,000-column one. V8 lets the old generation fill with
 * garbage up to a generous limit before collecting, and grows the young generation to 16 MB semi-spaces
 * under the steady allocation of streaming rows. A smaller heap growing factor and 4 MB semi-spaces keep
 * both close to the live size (117 MB at 1M columns, 1.15x the 10k run).
 *
 * The growing factor can be set while running (V8 reads it when it decides), so the `collector`
 * command applies it at start. The semi-space size is fixed when the process starts: it comes from
 * NODE_OPTIONS, which the container image sets. Host processes that embed the plugin decide for
 * themselves: they may call `applyCollectorV8Profile()` and set NODE_OPTIONS the same way.
 */
import { setFlagsFromString } from 'node:v8';
import { settingsFor, type Env } from './settings';

/** Flags V8 honours when set at runtime, in the order they are applied. */
export const RUNTIME_V8_FLAGS = ['--heap-growing-percent=20'] as const;

/** Must be given at process start (NODE_OPTIONS or the node command line). */
export const STARTUP_NODE_OPTIONS = '--max-semi-space-size=4';

/** Turns the profile off for a process: COLLECTOR_V8_PROFILE=default. */
export const V8_PROFILE_ENV = 'COLLECTOR_V8_PROFILE';

/**
 * Applies the runtime flags unless `COLLECTOR_V8_PROFILE=default`. Returns the flags applied. Call it
 * once, early: code already optimized stays optimized.
 */
export function applyCollectorV8Profile(env?: Env): readonly string[] {
  const profile = settingsFor(env).v8Profile;
  if (profile.name === 'default') return [];
  // There is no logger yet, so stderr it is.
  if (profile.unknown !== undefined)
    process.stderr.write(`warning: ${V8_PROFILE_ENV}=${profile.unknown} is not "lean" or "default"; using "lean"\n`);
  for (const flag of RUNTIME_V8_FLAGS) setFlagsFromString(flag);
  return RUNTIME_V8_FLAGS;
}
