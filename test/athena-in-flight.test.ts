/**
 * Athena executions still QUEUED or RUNNING when their window is read: carried in the source's cursor and
 * re-read on later runs until they finish; their databaselog row, lineage and DDL event are written once,
 * by the run that sees them finish. Through the real extract pipeline (runUnits) and the real AWS SDK
 * against the local endpoint, whose seeded executions finish when the test says so.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startAthenaLocal, type AthenaLocal } from '../tools/athena-local/index';
import { seedFromData, type SeedData, type SeedExecution } from '../tools/athena-local/seed';
import { classifyStatement } from '../tools/athena-local/statements';
import { inFlightCursorKey } from '../src/connectors/athena/history';
import { applyCursorChanges, parseCursor, type CursorEntries } from '../src/hwm/cursor';
import { extractToCsv, localAthenaSource } from './support/athena-extract';

const NOW = Date.now();
const HOUR = 3_600_000;
const uuid = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

function execution(id: string, query: string, state: SeedExecution['state'], submittedAgo: number): SeedExecution {
  const submittedAt = new Date(NOW - submittedAgo);
  const finished = state === 'SUCCEEDED' || state === 'FAILED' || state === 'CANCELLED';
  return {
    id,
    query,
    statementType: classifyStatement(query).statementType,
    state,
    submittedAt,
    ...(finished ? { completedAt: new Date(submittedAt.getTime() + 20_000) } : {}),
    workgroup: 'primary',
    catalog: 'AwsDataCatalog',
    database: 'sales',
    stats: finished ? { dataScannedBytes: 10, engineMs: 900, queueMs: 20, planningMs: 30, totalMs: 950 } : {},
  };
}

/** The seed's execution objects are the endpoint's state: finishing one here is the query finishing in Athena. */
function finish(e: SeedExecution, state: 'SUCCEEDED' | 'FAILED', afterMs: number): void {
  e.state = state;
  e.completedAt = new Date(e.submittedAt.getTime() + afterMs);
  e.stats = { dataScannedBytes: 4096, engineMs: afterMs - 50, queueMs: 20, planningMs: 30, totalMs: afterMs };
  if (state === 'FAILED') e.error = { message: 'HIVE_BAD_DATA: bad row', category: 2 };
}

const DONE = execution(uuid(1), 'CREATE TABLE sales.done AS SELECT * FROM sales.orders', 'SUCCEEDED', 3 * HOUR);
const LATE = execution(uuid(2), 'CREATE TABLE sales.late AS SELECT * FROM sales.orders', 'RUNNING', 3 * HOUR);
const QUEUED = execution(uuid(3), 'INSERT INTO sales.daily SELECT * FROM sales.orders', 'QUEUED', 2 * HOUR);
const W1 = { start: new Date(NOW - 4 * HOUR).toISOString(), end: new Date(NOW - HOUR).toISOString() };
const W2 = { start: W1.end, end: new Date(NOW - HOUR / 2).toISOString() };
const W3 = { start: W2.end, end: new Date(NOW - HOUR / 4).toISOString() };

let local: AthenaLocal;

before(async () => {
  const data: SeedData = {
    historyRetentionDays: 45,
    catalogs: [{ name: 'AwsDataCatalog', type: 'GLUE', databases: [] }],
    workgroups: [
      { name: 'primary', state: 'ENABLED', outputLocation: 's3://results/primary/', creationTime: new Date(NOW - 400 * 24 * HOUR) },
    ],
    executions: [DONE, LATE, QUEUED],
  };
  local = await startAthenaLocal({ seed: seedFromData(data, 'in-flight'), randomSeed: 11 });
});
after(async () => local?.close());

/** One run's extract of history: the files' rows, the counters, and the cursor a commit would store. */
async function run(window: { start: string; end: string }, cursor: CursorEntries) {
  const source = localAthenaSource(local.endpoint, { workgroups: ['primary'], catalogs: ['AwsDataCatalog'] });
  const { rows, counters, cursorChanges } = await extractToCsv(source, window, cursor);
  return { rows, counters, next: parseCursor(applyCursorChanges(cursor, cursorChanges)) };
}

const idsOf = (rows: Record<string, string>[] | undefined) => (rows ?? []).map((r) => r.query_id).sort();

describe('athena executions unfinished when their window is read', { timeout: 120_000 }, () => {
  it('are carried until they finish, then written once, with their lineage and DDL event, by the run that sees it', async () => {
    const first = await run(W1, {});
    assert.deepEqual(idsOf(first.rows.databaselog), [DONE.id], 'only the finished execution is written');
    assert.deepEqual(idsOf(first.rows.linkages), [DONE.id]);
    assert.deepEqual((first.next[inFlightCursorKey('primary')] as string[]).sort(), [LATE.id, QUEUED.id]);
    assert.equal(first.counters.athena_executions_in_flight, 2);

    // LATE finishes after 40 minutes; QUEUED starts running.
    finish(LATE, 'SUCCEEDED', 40 * 60_000);
    QUEUED.state = 'RUNNING';
    const second = await run(W2, first.next);
    assert.deepEqual(idsOf(second.rows.databaselog), [LATE.id], 'written in the run that sees it finish');
    const row = second.rows.databaselog![0]!;
    assert.equal(row.state, 'SUCCEEDED');
    assert.equal(row.submission_time, LATE.submittedAt.toISOString(), 'with its own submission time, from the earlier window');
    assert.equal(row.completion_time, LATE.completedAt!.toISOString());
    assert.equal(row.total_execution_ms, String(40 * 60_000));
    assert.deepEqual(
      second.rows.linkages!.map((l) => [l.source_table, l.target_table, l.query_id]),
      [['orders', 'late', LATE.id]],
    );
    assert.deepEqual(
      second.rows.events!.map((e) => [e.event_type, e.object_name, e.query_id]),
      [['CREATE_TABLE_AS_SELECT', 'late', LATE.id]],
    );
    assert.deepEqual(second.next[inFlightCursorKey('primary')], [QUEUED.id], 'the still-running one stays carried');
    assert.equal(second.counters.athena_executions_finished_late, 1);

    // If the second run never committed, the next starts from the first run's cursor: LATE is written
    // there instead, still once among the committed runs.
    const retried = await run(W2, first.next);
    assert.deepEqual(idsOf(retried.rows.databaselog), [LATE.id]);

    finish(QUEUED, 'FAILED', 90 * 60_000);
    const third = await run(W3, second.next);
    assert.deepEqual(idsOf(third.rows.databaselog), [QUEUED.id]);
    assert.equal(third.rows.databaselog![0]!.state, 'FAILED');
    assert.deepEqual(third.rows.linkages, [], 'a failed write has no lineage');
    assert.equal(third.next[inFlightCursorKey('primary')], undefined, 'nothing left to carry: the entry is removed');

    const fourth = await run({ start: W3.end, end: new Date(NOW).toISOString() }, third.next);
    assert.deepEqual(idsOf(fourth.rows.databaselog), [], 'each execution is written exactly once across the committed runs');
  });

  it('an id Athena no longer has (aged out of its 45 days) is dropped from the cursor and counted, not retried forever', async () => {
    const gone = uuid(0xdead);
    const r = await run(
      { start: new Date(NOW - HOUR / 8).toISOString(), end: new Date(NOW).toISOString() },
      { [inFlightCursorKey('primary')]: [gone] },
    );
    assert.equal(r.counters.athena_executions_unavailable, 1);
    assert.equal(r.next[inFlightCursorKey('primary')], undefined);
  });
});
