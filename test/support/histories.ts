/**
 * Recorded workflow histories for the replay (determinism) test. Set RECORD_HISTORIES=1 to refresh
 * test/fixtures/histories from the end-to-end runs; otherwise nothing is written. Histories are exported
 * by the real `temporal` CLI (`workflow show -o json`), the format Temporal tools exchange.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { findTemporalCli } from '../../src/temporal/dev-server';
import { ROOT } from './processes';

export const HISTORY_DIR = join(ROOT, 'test', 'fixtures', 'histories');

export async function saveHistory(client: Client, workflowId: string, name: string): Promise<void> {
  if (!process.env.RECORD_HISTORIES) return;
  const address = (client.connection as unknown as { options: { address: string } }).options.address;
  const json = execFileSync(
    findTemporalCli(),
    ['workflow', 'show', '--address', address, '--namespace', client.options.namespace, '-w', workflowId, '-o', 'json'],
    {
      encoding: 'utf8',
    },
  );
  mkdirSync(HISTORY_DIR, { recursive: true });
  writeFileSync(join(HISTORY_DIR, `${name}.json`), json);
}
