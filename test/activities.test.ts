/**
 * The host-queue activities on MockActivityEnvironment (@temporalio/testing), with the plugin's activity
 * interceptor: a real CollectorRuntime, a real filesystem landing zone and file HWM store, and a small
 * source defined here whose units record that they ran (and can wait for cancellation).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { stringify } from 'yaml';
import { z } from 'zod';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { Info } from '@temporalio/activity';
import { hostActivities, type HostActivities } from '../activities';
import type { ExtractHeartbeat } from '../activities/extract';
import type { UploadHeartbeat } from '../activities/upload';
import { collectorActivityInterceptors } from '../activities/interceptor';
import { builtinRegistry } from '../src/builtins';
import { AuthError } from '../src/contracts/errors';
import type { SourcePlugin } from '../src/contracts/plugin';
import { CollectorRuntime } from '../src/runtime/runtime';
import type { ExtractResult, RunPlan, ValidateResult } from '../src/run/types';
import { planFor } from './support/collect-harness';

const TOKEN = 'act-token-5ecret-value';
/** Unit keys in the order they ran, across attempts. */
const ran: string[] = [];
/** Units that fail on their first run only. */
const failOnce = new Set<string>();
let blocked: (() => void) | undefined;

const unitsSource: SourcePlugin<{ type: 'units'; units: string[]; token: string }> = {
  type: 'units',
  configSchema: z.object({ type: z.literal('units'), units: z.array(z.string()), token: z.string() }).strict(),
  create: (config) => ({
    concurrency: 1,
    async *units(ctx) {
      for (const name of config.units) {
        yield {
          key: `unit:${name}`,
          async run(out) {
            ran.push(name);
            if (failOnce.delete(name)) throw new Error(`unit ${name} failed once`);
            if (name === 'deny')
              throw new AuthError(`reading ${name} with token ${config.token} was refused; grant SELECT`, {
                grant: 'SELECT on db.deny',
                object: 'db.deny',
                seen: `token ${config.token}`,
              });
            if (name === 'block') {
              // Waits for the attempt's cancellation, as a long query would.
              blocked?.();
              await new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true }));
            }
            await out.write('tables', {
              catalog: 'c',
              database: 'db',
              table_name: name,
              table_type: 'BASE TABLE',
              column_count: 3,
              table_create_time: new Date(ctx.window.start),
            });
            for (let i = 0; i < 3; i++) {
              await out.write('metadata', {
                catalog: 'c',
                database: 'db',
                table_name: name,
                column_name: `col${i}`,
                ordinal_position: i + 1,
                data_type: 'string',
              });
            }
          },
        };
      }
    },
    async testConnection() {
      return [];
    },
    async close() {},
  }),
};

let root: string;
let landingDir: string;
let runtime: CollectorRuntime;
let acts: HostActivities;
let seq = 0;
const quiet = new DefaultLogger('ERROR');

function configure(units: string[]): void {
  writeFileSync(
    join(root, 'collectors.yaml'),
    stringify({
      collectors: {
        act: {
          executor: 'q',
          source: { type: 'units', units, token: '${ACT_TOKEN}' },
          landing: { type: 'filesystem', path: landingDir },
          options: { initialLookback: '1d', safetyLag: '0s' },
        },
      },
    }),
  );
}

function plan(): RunPlan {
  const p = planFor({ ref: { collector: 'act' }, workflowId: 'wf', runId: `run-${++seq}`, nominalEnd: '2026-01-02T00:00:00.000Z' });
  return { ...p, options: { ...p.options, heartbeatTimeoutMs: 3_000 } };
}

function env(activityType: keyof HostActivities, info: Partial<Info> = {}): MockActivityEnvironment {
  return new MockActivityEnvironment(
    { activityType, taskQueue: 'q@act-host', ...info },
    { interceptors: [collectorActivityInterceptors], logger: quiet },
  );
}

const staging = (p: RunPlan) => runtime.stagingDir(p.collector, p.runId);
const tree = (dir: string): string[] =>
  existsSync(dir)
    ? readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter((d) => d.isFile())
        .map((d) => join(d.parentPath, d.name).slice(dir.length + 1))
        .sort()
    : [];

describe('host activities on MockActivityEnvironment', () => {
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'collector-activities-'));
    landingDir = join(root, 'landing');
    mkdirSync(landingDir);
    process.env.ACT_TOKEN = TOKEN;
    const registry = builtinRegistry().addConnector({ system: 'test', sources: [unitsSource] });
    runtime = new CollectorRuntime({
      registry,
      log: pino({ level: 'silent' }),
      configPath: join(root, 'collectors.yaml'),
      stateDir: join(root, 'state'),
      hostId: 'act-host',
    });
    acts = hostActivities(runtime);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('extract resumes from its heartbeat details: units a retry finds done are not run again', async () => {
    configure(['a', 'b', 'c']);
    ran.length = 0;
    failOnce.add('c');
    const p = plan();
    const first = env('extract');
    let last: ExtractHeartbeat | undefined;
    first.on('heartbeat', (d: ExtractHeartbeat) => (last = d));
    await assert.rejects(
      first.run(acts.extract, p),
      (e: unknown) => e instanceof ApplicationFailure && !e.nonRetryable && /unit c failed once/.test(e.message),
    );
    assert.deepEqual(ran, ['a', 'b', 'c']);
    assert.deepEqual(
      last?.checkpoint.units.map((u) => u.key),
      ['unit:a', 'unit:b'],
    );

    ran.length = 0;
    const result: ExtractResult = await env('extract', { attempt: 2, heartbeatDetails: last }).run(acts.extract, p);
    assert.deepEqual(ran, ['c'], 'only the unit not in the checkpoint runs again');
    assert.equal(result.unitsResumed, 2);
    assert.equal(result.unitsDone, 3);
    assert.equal(result.files.find((f) => f.kind === 'metadata')?.rows, 9, "the resumed units' rows are in the files");
  });

  it('extract stops on cancellation: no extract file is assembled, the attempt ends cancelled', async () => {
    configure(['a', 'block', 'never']);
    ran.length = 0;
    const p = plan();
    const e = env('extract');
    const started = new Promise<void>((r) => (blocked = r));
    const running = e.run(acts.extract, p);
    await started;
    e.cancel();
    await assert.rejects(running, (err: unknown) => err instanceof CancelledFailure);
    assert.deepEqual(ran, ['a', 'block'], 'no unit starts after the cancellation');
    // Only the finished unit's journaled part remains (for a resume); no final file, no half-written part.
    const left = tree(staging(p));
    assert.ok(!left.some((f) => /^[^/]+\.csv(\.gz)?$/.test(f)), `no assembled extract file: ${left.join(', ')}`);
    assert.ok(!left.some((f) => f.endsWith('.tmp') || f.endsWith('.partial')), `no partial file: ${left.join(', ')}`);
  });

  it('upload stops on cancellation between objects: no manifest, no partial object in the landing zone', async () => {
    configure(['a', 'b']);
    const p = plan();
    const extracted: ExtractResult = await env('extract').run(acts.extract, p);
    const validated: ValidateResult = await env('validate').run(acts.validate, p, extracted);
    const before = tree(landingDir);
    const e = env('upload');
    // Cancelled as soon as the first object is reported done.
    e.on('heartbeat', (d: UploadHeartbeat | undefined) => {
      if (d && d.done.length === 1) e.cancel();
    });
    await assert.rejects(e.run(acts.upload, p, validated), (err: unknown) => err instanceof CancelledFailure);
    const added = tree(landingDir).filter((f) => !before.includes(f));
    assert.equal(added.filter((f) => !f.startsWith('.')).length, 1, `one object, no more: ${added.join(', ')}`);
    assert.ok(!added.some((f) => f.endsWith(validated.manifest.name)), 'the manifest is never published');
    assert.ok(!added.some((f) => f.endsWith('.partial')), `no partial object: ${added.join(', ')}`);
  });

  it("upload trusts validation's hashes only while a staged file keeps its identity; a file rewritten since is refused", async () => {
    configure(['a', 'b']);
    const p = plan();
    const extracted: ExtractResult = await env('extract').run(acts.extract, p);
    const validated: ValidateResult = await env('validate').run(acts.validate, p, extracted);
    const name = validated.files.find((f) => f.kind === 'metadata')!.name;
    assert.equal(validated.staged?.[name]?.identity.size, validated.files.find((f) => f.name === name)!.bytes);
    // Same size, same mtime as far as a coarse clock can tell: only ctime and the bytes say it changed.
    const path = join(staging(p), name);
    const text = readFileSync(path, 'utf8');
    writeFileSync(path, text.replace('col0', 'colX'));
    await assert.rejects(
      env('upload').run(acts.upload, p, validated),
      (err: unknown) => err instanceof ApplicationFailure && /changed in staging after validation/.test(err.message),
    );
    assert.ok(!tree(landingDir).some((f) => f.endsWith(name)), 'the changed file never lands');
  });

  it('a domain error reaches the caller as an ApplicationFailure with its details, scrubbed of secret values', async () => {
    configure(['deny']);
    const p = plan();
    await assert.rejects(env('extract').run(acts.extract, p), (e: unknown) => {
      assert.ok(e instanceof ApplicationFailure, String(e));
      assert.equal(e.type, 'AuthError');
      assert.equal(e.nonRetryable, true);
      assert.ok(!e.message.includes(TOKEN), e.message);
      assert.match(e.message, /grant SELECT/);
      const [details] = e.details as [Record<string, unknown>];
      assert.equal(details.grant, 'SELECT on db.deny');
      assert.equal(details.object, 'db.deny');
      assert.ok(!String(details.seen).includes(TOKEN), String(details.seen));
      return true;
    });
  });
});
