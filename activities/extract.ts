/** Step 3: run the source into staging, heartbeating a checkpoint a retry on this host resumes from. */
import { Context } from '@temporalio/activity';
import { runUnits, unitsDone, type ExtractCheckpoint } from '../src/extracts/run-units';
import type { CollectorRuntime } from '../src/runtime/runtime';
import type { ExtractResult, RunPlan } from '../src/run/types';
import { attemptScope } from './scope';
import { assertHwmUnchanged } from '../src/hwm/commit';
import { applyCursorChanges, cursorView, parseCursor, writePendingCursor } from '../src/hwm/cursor';
import { annotateSpan } from '../src/observability/activity';
import { rowsExtracted, unitsIncomplete } from '../src/observability/metrics';

/** Incomplete units named in the result (workflow history); the manifest lists every one. */
const NAMED_INCOMPLETE = 20;

export interface ExtractHeartbeat {
  checkpoint: ExtractCheckpoint;
  rows: number;
}

export function extractActivities(runtime: CollectorRuntime) {
  return {
    async extract(plan: RunPlan): Promise<ExtractResult> {
      const ctx = Context.current();
      const previous = ctx.info.heartbeatDetails as ExtractHeartbeat | undefined;
      const scope = attemptScope(runtime, plan.ref, { runId: plan.runId });
      const { log, secrets } = scope;
      const source = await scope.source();
      // The cursor is read at the version the plan read: a run that another one overtook stops here, and
      // the source continues from the state the last committed run left.
      const store = await scope.hwmStore();
      await assertHwmUnchanged(store, plan);
      const previousCursor = parseCursor((await store.get(plan.collector)).cursor);
      const dir = runtime.stagingDir(plan.collector, plan.runId);
      const checkpointed = unitsDone(previous?.checkpoint);
      if (checkpointed) log.info({ unitsDone: checkpointed }, 'resuming extract from checkpoint');
      // Heartbeat on a timer too: a single long unit must not look like a dead worker.
      let last: ExtractHeartbeat = previous ?? { checkpoint: { units: [], warnings: [], counters: {} }, rows: 0 };
      const timer = setInterval(() => ctx.heartbeat(last), Math.max(1000, Math.min(10_000, plan.options.heartbeatTimeoutMs / 3)));
      try {
        ctx.heartbeat(last);
        const {
          files,
          checkpoint,
          reused: resumed,
          cursor,
          incomplete,
        } = await runtime.staging.run(dir, ctx.cancellationSignal, (signal) =>
          runUnits({
            source,
            sourceType: scope.collector.source.type,
            collector: plan.collector,
            stamp: plan.stamp,
            compress: plan.options.compress,
            dir,
            ctx: { log, signal, window: plan.window, cursor: cursorView(previousCursor) },
            checkpoint: previous?.checkpoint,
            knownSecrets: secrets.resolvedValues(),
            onUnitDone(cp, rows) {
              last = { checkpoint: cp, rows };
              ctx.heartbeat(last);
            },
          }),
        );
        // Parked for the commit, which stores it with the HWM; only if it changed (else the commit keeps it).
        // A dry run never commits, and keeps its staging for inspection: it parks nothing to clean up.
        const nextCursor = applyCursorChanges(previousCursor, cursor);
        if (nextCursor !== applyCursorChanges(previousCursor, {}) && !plan.options.dryRun) {
          await writePendingCursor(store, plan.collector, plan.runId, plan.window.end, nextCursor);
        }
        log.info({ files: files.map((f) => ({ name: f.name, rows: f.rows })) }, 'extract finished');
        for (const f of files) rowsExtracted.inc({ collector: plan.collector, kind: f.kind }, f.rows);
        unitsIncomplete.inc({ collector: plan.collector }, incomplete.length);
        annotateSpan({
          collector: plan.collector,
          runId: plan.runId,
          window: plan.window,
          rows: files.reduce((n, f) => n + f.rows, 0),
          files: files.length,
        });
        return {
          files: files.map((f) => ({ kind: f.kind, name: f.name, rows: f.rows })),
          warnings: checkpoint.warnings,
          counters: resumed ? { ...checkpoint.counters, units_resumed: resumed } : checkpoint.counters,
          unitsDone: unitsDone(checkpoint),
          unitsResumed: resumed,
          ...(incomplete.length ? { incomplete: { total: incomplete.length, units: incomplete.slice(0, NAMED_INCOMPLETE) } } : {}),
        };
      } finally {
        // The source itself is closed with the attempt's scope (activities/interceptor.ts).
        clearInterval(timer);
      }
    },
  };
}
