/**
 * Determinism guard for upgrades: recorded histories of real runs (success, approval, cancel, a killed
 * worker, a lost host) must replay against the current workflow code. A non-deterministic change fails here.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { HISTORY_DIR } from './support/histories';
import { ROOT } from './support/processes';
import { collectorSinks } from '../src/plugin';

const files = readdirSync(HISTORY_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();

describe('replay of recorded histories', { timeout: 300_000 }, () => {
  it('has recorded histories of every kind of run', () => {
    for (const kind of ['success', 'approval-approved', 'approval-rejected', 'cancelled', 'worker-killed-resumed', 'host-lost-rerouted']) {
      assert.ok(files.includes(`${kind}.json`), `missing ${kind}.json in ${HISTORY_DIR} (RECORD_HISTORIES=1 npm test refreshes them)`);
    }
  });

  it('replays every recorded history against the current workflow code', async () => {
    assert.ok(files.length > 0);
    const histories = files.map((file) => ({
      workflowId: file,
      history: historyFromJSON(JSON.parse(readFileSync(join(HISTORY_DIR, file), 'utf8'))),
    }));
    // One bundle for all histories: bundling is the slow part.
    // The plugin's sinks registered as on a real worker (a replay never calls them).
    const results = Worker.runReplayHistories({ workflowsPath: join(ROOT, 'workflows', 'index.ts'), sinks: collectorSinks() }, histories);
    let replayed = 0;
    for await (const r of results) {
      assert.equal(r.error, undefined, `${r.workflowId}: ${String(r.error)}`);
      replayed++;
    }
    assert.equal(replayed, files.length);
  });
});
