/**
 * Ctrl-C (SIGINT) as a command that follows a run sees it: the first one asks the command to wind down
 * (stop following, perhaps cancel the run, stop what it started), a second one to stop waiting for that,
 * a third quits at once. While watching, SIGINT no longer ends the process by itself: the command ends,
 * exit 130.
 */

/** The command was interrupted by Ctrl-C: exit 130 (128 + SIGINT), what it did already said. */
export class Interrupted extends Error {}

export const INTERRUPTED_EXIT_CODE = 130;

export interface InterruptWatch {
  /** Aborted by the first SIGINT. */
  readonly first: AbortSignal;
  /** Aborted by the second. */
  readonly second: AbortSignal;
  /** Gives SIGINT back to its default. */
  dispose(): void;
}

export function watchInterrupts(): InterruptWatch {
  const first = new AbortController();
  const second = new AbortController();
  const onSignal = () => {
    // A third: whatever is still winding down, quit now ('exit' handlers still stop the embedded server).
    if (second.signal.aborted) process.exit(INTERRUPTED_EXIT_CODE);
    (first.signal.aborted ? second : first).abort();
  };
  process.on('SIGINT', onSignal);
  return {
    first: first.signal,
    second: second.signal,
    dispose: () => process.off('SIGINT', onSignal),
  };
}

/** Resolves when `signal` aborts (at once if it has). */
export function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
