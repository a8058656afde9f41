/** Step 4: check every staged file against the format and write the manifest. Nothing leaves yet. */
import { Context } from '@temporalio/activity';
import { join } from 'node:path';
import { readIncompleteUnits, writeManifest } from '../src/extracts/manifest';
import { validateFiles } from '../src/extracts/validate';
import type { ExtractKind } from '../src/contracts/extract-format';
import type { CollectorRuntime } from '../src/runtime/runtime';
import type { ExtractResult, RunPlan, ValidateResult } from '../src/run/types';
import { annotateSpan } from '../src/observability/activity';

export function validateActivities(runtime: CollectorRuntime) {
  return {
    async validate(plan: RunPlan, extracted: ExtractResult): Promise<ValidateResult> {
      const ctx = Context.current();
      const dir = runtime.stagingDir(plan.collector, plan.runId);
      ctx.heartbeat();
      const { files, manifest } = await runtime.staging.run(
        dir,
        ctx.cancellationSignal,
        async (signal) => {
          const files = await validateFiles(
            extracted.files.map((f) => ({ kind: f.kind as ExtractKind, name: f.name, rows: f.rows, path: join(dir, f.name) })),
            (name) => ctx.heartbeat(name),
            signal,
          );
          const manifest = await writeManifest(
            dir,
            plan.stamp,
            {
              collector: plan.collector,
              sourceType: plan.sourceType,
              workflowId: plan.workflowId,
              runId: plan.runId,
              window: plan.window,
              warnings: extracted.warnings,
              counters: extracted.counters,
              incompleteUnits: await readIncompleteUnits(dir, extracted.incomplete?.total ?? 0),
            },
            files,
            plan.window.end,
          );
          return { files, manifest };
        },
        () => ctx.heartbeat(),
      );
      annotateSpan({
        collector: plan.collector,
        runId: plan.runId,
        window: plan.window,
        rows: files.reduce((n, f) => n + f.rows, 0),
        bytes: files.reduce((n, f) => n + f.bytes, manifest.bytes),
        files: files.length + 1,
      });
      return {
        files: files.map((f) => ({ kind: f.kind, name: f.name, rows: f.rows, bytes: f.bytes, sha256: f.sha256 })),
        manifest: { name: manifest.name, bytes: manifest.bytes, sha256: manifest.sha256 },
        staged: Object.fromEntries(files.map((f) => [f.name, { md5: f.md5, identity: f.identity }])),
      };
    },
  };
}
