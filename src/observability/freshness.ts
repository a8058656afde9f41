/**
 * Freshness: how old each collector's high-water mark is. The HWM only moves when a run has landed every
 * file, so `collector_hwm_age_seconds` is the one figure an alert needs. Values are read from the HWM
 * stores on scrape, at most once per refresh interval, a few at a time, each read bounded by a timeout.
 */
import { Gauge } from 'prom-client';
import { settings } from '../settings';
import { collectorRegistry } from './metrics';

export interface FreshnessOptions {
  /** Re-read the stores when the last read is older than this; default 30 s (COLLECTOR_HWM_REFRESH_SECONDS). */
  refreshMs?: number;
  /** Per-read limit; a store slower than this counts as unreadable this time. Default 5 s. */
  timeoutMs?: number;
  /** Reads in parallel; default 4. */
  concurrency?: number;
}

interface Entry {
  /** HWM as epoch ms; null: no HWM yet; undefined: never read. */
  hwmMs?: number | null;
  ok: boolean;
  lastAdvancedMs?: number;
}

/** Something that knows a set of collectors and how to read their HWMs: one per worker process. */
export interface FreshnessSource {
  collectors(): string[];
  read(collector: string, signal: AbortSignal): Promise<string | null>;
}

const entries = new Map<string, Entry>();
const sources = new Set<FreshnessSource>();
let options: Required<FreshnessOptions> = { refreshMs: 30_000, timeoutMs: 5_000, concurrency: 4 };
let lastRefresh = 0;
let inFlight: Promise<void> | undefined;

/** Starts reporting freshness for `source`; the returned function stops it (a stopped worker's collectors vanish). */
export function trackFreshness(source: FreshnessSource, opts: FreshnessOptions = {}): () => void {
  options = {
    refreshMs: opts.refreshMs ?? settings().hwmRefreshSeconds * 1000,
    timeoutMs: opts.timeoutMs ?? 5_000,
    concurrency: opts.concurrency ?? 4,
  };
  sources.add(source);
  lastRefresh = 0;
  return () => {
    sources.delete(source);
    lastRefresh = 0;
  };
}

/** Called by the commit step: this worker has just moved the HWM. */
export function recordHwmAdvanced(collector: string, value: string, at = Date.now()): void {
  const e = entries.get(collector) ?? { ok: true };
  e.hwmMs = Date.parse(value);
  e.lastAdvancedMs = at;
  e.ok = true;
  entries.set(collector, e);
}

function withTimeout<T>(work: (signal: AbortSignal) => Promise<T>, ms: number): Promise<T> {
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      ac.abort();
      reject(new Error(`no answer within ${ms} ms`));
    }, ms);
  });
  return Promise.race([work(ac.signal), timeout]).finally(() => clearTimeout(timer));
}

async function refresh(): Promise<void> {
  const wanted = new Map<string, FreshnessSource>();
  for (const s of sources) for (const c of s.collectors()) if (!wanted.has(c)) wanted.set(c, s);
  // Collectors removed from the file disappear; with nothing tracked, keep what commits recorded.
  if (sources.size) for (const name of [...entries.keys()]) if (!wanted.has(name)) entries.delete(name);
  const queue = [...wanted];
  const one = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const [name, source] = next;
      const e = entries.get(name) ?? { ok: false };
      entries.set(name, e);
      try {
        const value = await withTimeout((signal) => source.read(name, signal), options.timeoutMs);
        const ms = value === null ? null : Date.parse(value);
        // A change seen since the previous read is an advance (by this worker or another replica).
        if (e.hwmMs !== undefined && ms !== null && ms !== e.hwmMs) e.lastAdvancedMs = Math.max(e.lastAdvancedMs ?? 0, Date.now());
        e.hwmMs = ms;
        e.ok = true;
      } catch {
        e.ok = false;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, queue.length) }, one));
}

/** Single-flight: every gauge of one scrape waits on the same refresh. */
function ensureFresh(): Promise<void> {
  if (inFlight) return inFlight;
  if (Date.now() - lastRefresh < options.refreshMs) return Promise.resolve();
  inFlight = refresh().finally(() => {
    lastRefresh = Date.now();
    inFlight = undefined;
  });
  return inFlight;
}

const labelNames = ['collector'] as const;

const age: Gauge<'collector'> = new Gauge({
  name: 'collector_hwm_age_seconds',
  help: 'Seconds since the high-water mark: how far behind the landing zone is. Absent before the first successful run',
  labelNames,
  registers: [collectorRegistry],
  async collect() {
    await ensureFresh();
    age.reset();
    const now = Date.now();
    for (const [collector, e] of entries) if (typeof e.hwmMs === 'number') age.set({ collector }, Math.max(0, (now - e.hwmMs) / 1000));
  },
});

const stamp: Gauge<'collector'> = new Gauge({
  name: 'collector_hwm_timestamp_seconds',
  help: 'The high-water mark itself, as Unix time',
  labelNames,
  registers: [collectorRegistry],
  async collect() {
    await ensureFresh();
    stamp.reset();
    for (const [collector, e] of entries) if (typeof e.hwmMs === 'number') stamp.set({ collector }, e.hwmMs / 1000);
  },
});

const advanced: Gauge<'collector'> = new Gauge({
  name: 'collector_hwm_last_advanced_timestamp_seconds',
  help: 'When this worker last saw the high-water mark move (its own commit, or a change between two reads), as Unix time',
  labelNames,
  registers: [collectorRegistry],
  async collect() {
    await ensureFresh();
    advanced.reset();
    for (const [collector, e] of entries) if (e.lastAdvancedMs !== undefined) advanced.set({ collector }, e.lastAdvancedMs / 1000);
  },
});

const readOk: Gauge<'collector'> = new Gauge({
  name: 'collector_hwm_read_ok',
  help: '1 when the last read of the HWM store succeeded, 0 when it failed or timed out (the age is then from the last good read)',
  labelNames,
  registers: [collectorRegistry],
  async collect() {
    await ensureFresh();
    readOk.reset();
    for (const [collector, e] of entries) readOk.set({ collector }, e.ok ? 1 : 0);
  },
});
