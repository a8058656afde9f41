/**
 * Recorded workflow histories for the replay (determinism) test. Set RECORD_HISTORIES=1 to refresh
 * test/fixtures/histories from the end-to-end runs; otherwise nothing is written.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { ROOT } from './processes';

export const HISTORY_DIR = join(ROOT, 'test', 'fixtures', 'histories');

export async function saveHistory(client: Client, workflowId: string, name: string): Promise<void> {
  if (!process.env.RECORD_HISTORIES) return;
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  mkdirSync(HISTORY_DIR, { recursive: true });
  writeFileSync(join(HISTORY_DIR, `${name}.json`), JSON.stringify(history, null, 1));
}
