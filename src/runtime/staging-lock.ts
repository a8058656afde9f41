/**
 * One step at a time in a run's staging directory, within this worker process.
 *
 * Temporal hands out the next attempt of an activity once the previous one missed its heartbeat
 * timeout, and that previous attempt may still be running here: a blocked event loop or a network
 * partition hides heartbeats, not work. Staging is pinned to this host, so both attempts are in this
 * process. The newer one stops the older one and waits until it has let go before it touches the
 * directory; files are never written by two attempts at once, and cleanup never races a writer.
 */
import { TransientError } from '../contracts/errors';

interface Holder {
  stop: AbortController;
  /** Settles when this holder and every holder it waited for have finished. */
  done: Promise<void>;
}

export class StagingLock {
  private readonly holders = new Map<string, Holder>();

  /** @param waitMs how long a newer attempt waits for an older one to stop before failing (retryably). */
  constructor(private readonly waitMs = 60_000) {}

  /**
   * Runs `work` as the only holder of `dir`. The signal given to `work` aborts when `signal` does or when
   * a newer attempt takes the directory over. `onWait` is called every second while an older attempt
   * is being waited for (to heartbeat).
   */
  async run<T>(dir: string, signal: AbortSignal, work: (signal: AbortSignal) => Promise<T>, onWait?: () => void): Promise<T> {
    const previous = this.holders.get(dir);
    let finished!: () => void;
    const own = new Promise<void>((resolve) => (finished = resolve));
    const mine: Holder = { stop: new AbortController(), done: previous ? Promise.all([own, previous.done]).then(() => undefined) : own };
    this.holders.set(dir, mine);
    try {
      if (previous) {
        previous.stop.abort(new Error('superseded by a newer attempt of this step'));
        if (!(await settlesWithin(previous.done, this.waitMs, signal, onWait))) {
          signal.throwIfAborted();
          throw new TransientError(
            `an earlier attempt of this run is still working in ${dir} ${Math.round(this.waitMs / 1000)} s after it was told to stop; this attempt is retried`,
          );
        }
      }
      return await work(AbortSignal.any([signal, mine.stop.signal]));
    } finally {
      finished();
      // The next attempt finds `mine`, whose `done` also waits for any holder still running before it.
      void mine.done.then(() => {
        if (this.holders.get(dir) === mine) this.holders.delete(dir);
      });
    }
  }

  /** Directories held right now (for tests and diagnostics). */
  held(): string[] {
    return [...this.holders.keys()];
  }
}

/** True when `p` settled within `ms`; false on timeout or when `signal` aborts first. */
async function settlesWithin(p: Promise<void>, ms: number, signal: AbortSignal, tick?: () => void): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  let ticker: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    return await Promise.race([
      p.then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), ms);
        if (tick) ticker = setInterval(tick, 1000);
        onAbort = () => resolve(false);
        signal.addEventListener('abort', onAbort, { once: true });
        if (signal.aborted) resolve(false);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    clearInterval(ticker);
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}
