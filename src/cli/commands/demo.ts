/** `collector demo`: the whole pipeline twice on embedded defaults (see ../demo.ts). */
import { interactive, RunFailed, say } from '../common';
import { runDemo } from '../demo';
import { failureMessage, isWorkflowFailure } from '../run';

export async function demo(o: { dir: string; keep?: boolean }): Promise<void> {
  try {
    await runDemo({ dir: o.dir, keep: Boolean(o.keep), interactive, say });
  } catch (e) {
    if (isWorkflowFailure(e)) throw new RunFailed(failureMessage(e));
    throw e;
  }
}
