/**
 * Step 5: send the validated files to the landing zone, manifest last (its presence marks the window
 * complete). Every put is a conditional create, so a retry never duplicates an object.
 */
import { Context } from '@temporalio/activity';
import { join } from 'node:path';
import { fileIdentity, hashFile, sameIdentity } from '../src/extracts/hash';
import { ValidationError } from '../src/contracts/errors';
import type { CollectorRuntime } from '../src/runtime/runtime';
import type { RunPlan, UploadResult, ValidateResult } from '../src/run/types';
import { assertHwmUnchanged } from '../src/hwm/commit';
import { attemptScope } from './scope';
import { annotateSpan } from '../src/observability/activity';
import { bytesUploaded, objectsUploaded } from '../src/observability/metrics';

export interface UploadHeartbeat {
  done: UploadResult['objects'];
  bytesSent: number;
}

export function uploadActivities(runtime: CollectorRuntime) {
  return {
    async upload(plan: RunPlan, validated: ValidateResult): Promise<UploadResult> {
      const ctx = Context.current();
      const previous = ctx.info.heartbeatDetails as UploadHeartbeat | undefined;
      const scope = attemptScope(runtime, plan.ref, { runId: plan.runId });
      const { log } = scope;
      const store = await scope.hwmStore();
      const landing = await scope.landing();
      // Another run moved the HWM since this one planned: stop before anything is sent.
      await assertHwmUnchanged(store, plan);
      const dir = runtime.stagingDir(plan.collector, plan.runId);
      const done = new Map((previous?.done ?? []).map((o) => [o.name, o]));
      const inFlight = new Map<string, number>();
      const state: UploadHeartbeat = { done: [...done.values()], bytesSent: 0 };
      const beat = () => {
        state.bytesSent = state.done.reduce((n, o) => n + o.bytes, 0) + [...inFlight.values()].reduce((a, b) => a + b, 0);
        ctx.heartbeat(state);
      };
      const timer = setInterval(beat, Math.max(1000, Math.min(10_000, plan.options.heartbeatTimeoutMs / 3)));
      try {
        const putOne = async (name: string, sha256: string) => {
          if (done.has(name)) return;
          const path = join(dir, name);
          // Unchanged since validation hashed it (same inode, size, mtime, ctime): its hashes stand.
          // Otherwise read it again, and refuse it if its bytes are not the validated ones.
          const known = validated.staged?.[name];
          const identity = known ? await fileIdentity(path) : undefined;
          const hashed =
            known && identity && sameIdentity(identity, known.identity)
              ? { sha256, md5: known.md5, bytes: identity.size }
              : await hashFile(path);
          if (hashed.sha256 !== sha256) {
            throw new ValidationError(`${name} changed in staging after validation (sha256 ${hashed.sha256} != ${sha256}); not uploaded`);
          }
          const gz = name.endsWith('.gz');
          const outcome = await landing.put(
            {
              path,
              bytes: hashed.bytes,
              sha256,
              md5: hashed.md5,
              contentType: name.endsWith('.json') ? 'application/json' : gz ? 'application/gzip' : 'text/csv; charset=utf-8',
              metadata: {
                collector: plan.collector,
                runid: plan.runId,
                windowstart: plan.window.start,
                windowend: plan.window.end,
                sha256,
              },
              ...(known && identity && sameIdentity(identity, known.identity) ? { identity } : {}),
            },
            name,
            { signal: ctx.cancellationSignal, onProgress: (n) => inFlight.set(name, n) },
          );
          inFlight.delete(name);
          const entry = { name, outcome, bytes: hashed.bytes };
          done.set(name, entry);
          state.done.push(entry);
          log.info({ object: name, outcome, bytes: hashed.bytes }, 'uploaded');
          objectsUploaded.inc({ collector: plan.collector, outcome });
          if (outcome === 'created') bytesUploaded.inc({ collector: plan.collector }, hashed.bytes);
          beat();
        };
        await runBounded(
          validated.files.map((f) => () => putOne(f.name, f.sha256)),
          plan.options.uploadConcurrency,
        );
        await putOne(validated.manifest.name, validated.manifest.sha256);
      } finally {
        clearInterval(timer);
      }
      const objects = [...validated.files.map((f) => f.name), validated.manifest.name].map((n) => done.get(n)!);
      const bytes = objects.reduce((n, o) => n + o.bytes, 0);
      annotateSpan({ collector: plan.collector, runId: plan.runId, window: plan.window, bytes, objects: objects.length });
      return { objects, bytes };
    },
  };
}

/** Runs tasks `limit` at a time; after a failure no new task starts, and all running ones settle first. */
async function runBounded(tasks: (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  let failed: { error: unknown } | undefined;
  const workers = Array.from({ length: Math.min(limit, tasks.length) }, async () => {
    while (!failed && next < tasks.length) {
      try {
        await tasks[next++]!();
      } catch (error) {
        failed ??= { error };
      }
    }
  });
  await Promise.all(workers);
  if (failed) throw failed.error;
}
