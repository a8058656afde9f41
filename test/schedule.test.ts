/**
 * `collector schedule ...` against a real Temporal dev server, through the CLI as a user runs it: the
 * collector's `schedule:` block as defaults, `schedule apply` reconciling collectors.yaml, server refusals
 * as exit 2 naming the field, and a help text on every subcommand.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ScheduleNotFoundError, type ScheduleDescription } from '@temporalio/client';
import { stringify } from 'yaml';
import { ROOT, waitFor } from './support/processes';
import { startTemporal, type TestTemporal } from './support/temporal';
import { buildProgram } from '../src/cli/main';

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('collector schedule (real Temporal dev server)', { timeout: 300_000 }, () => {
  let temporal: TestTemporal;
  const dir = mkdtempSync(join(tmpdir(), 'schedule-'));
  const config = join(dir, 'collectors.yaml');

  const collector = (args: string[]): Promise<Result> =>
    new Promise((resolve) => {
      const p = spawn(
        process.execPath,
        [join(ROOT, 'bin', 'collector.js'), ...args, '--config', config, '--state-dir', join(dir, 'state')],
        {
          env: { ...process.env, TEMPORAL_ADDRESS: temporal.server.address, TEMPORAL_NAMESPACE: 'default' },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      p.on('exit', (code) => resolve({ code, stdout, stderr }));
    });

  /** collectors.yaml with one filesystem collector per entry, each with the given schedule block (or none). */
  const writeConfig = (collectors: Record<string, Record<string, string> | null>) => {
    const out: Record<string, unknown> = {};
    for (const [name, schedule] of Object.entries(collectors)) {
      out[name] = {
        source: { type: 'athena', region: 'eu-west-1' },
        landing: { type: 'filesystem', path: dir },
        ...(schedule ? { schedule } : {}),
      };
    }
    writeFileSync(config, stringify({ collectors: out }));
  };

  const describeSchedule = (id: string): Promise<ScheduleDescription | undefined> =>
    temporal.client.schedule
      .getHandle(id)
      .describe()
      .catch((e: unknown) => {
        if (e instanceof ScheduleNotFoundError) return undefined;
        throw e;
      });
  const listed = async (): Promise<Set<string>> => {
    const ids = new Set<string>();
    for await (const s of temporal.client.schedule.list()) ids.add(s.scheduleId);
    return ids;
  };
  // The schedule list is eventually consistent; apply finds what to delete through it.
  const untilListed = (ids: string[]) =>
    waitFor(`${ids.join(', ')} in the schedule list`, async () => {
      const all = await listed();
      return ids.every((id) => all.has(id));
    });

  before(async () => {
    temporal = await startTemporal();
  });
  after(() => temporal.stop());

  it("create takes cron, timezone and jitter from the collector's schedule: block", async () => {
    writeConfig({ 'athena-prod': { cron: '0 */6 * * *', timezone: 'Europe/Prague', jitter: '5m' } });
    const r = await collector(['schedule', 'create', 'athena-prod']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /schedule athena-prod created: cron "0 \*\/6 \* \* \*", timezone Europe\/Prague, jitter 5m; task queue collectors/,
    );
    const d = (await describeSchedule('athena-prod'))!;
    assert.equal(d.spec.timezone, 'Europe/Prague');
    assert.equal(d.spec.jitter, 5 * 60_000);
    assert.equal(d.spec.calendars?.length, 1);
    assert.deepEqual(d.spec.calendars![0]!.hour, [{ start: 0, end: 23, step: 6 }]);
    assert.equal(d.action.type === 'startWorkflow' && d.action.taskQueue, 'collectors');
    assert.deepEqual(d.memo?.['temporal-collectors'], { collector: 'athena-prod', managedBy: 'cli' });
    // Each run the schedule starts carries the summary and memo a run started by hand does.
    assert.ok(d.action.type === 'startWorkflow');
    assert.equal(d.action.staticSummary, 'collect athena-prod · scheduled by athena-prod');
    assert.equal(d.action.memo?.collector, 'athena-prod');
  });

  it('update: flags override the block, the rest still comes from it', async () => {
    const r = await collector(['schedule', 'update', 'athena-prod', '--every', '2h']);
    assert.equal(r.code, 0, r.stderr);
    let d = (await describeSchedule('athena-prod'))!;
    assert.deepEqual(d.spec.calendars ?? [], []);
    assert.equal(d.spec.intervals?.[0]?.every, 2 * 3_600_000);
    assert.equal(d.spec.timezone, 'Europe/Prague', 'timezone from the block');
    assert.equal(d.spec.jitter, 5 * 60_000, 'jitter from the block');
    assert.equal((await collector(['schedule', 'update', 'athena-prod', '--timezone', 'UTC', '--jitter', '1m'])).code, 0);
    d = (await describeSchedule('athena-prod'))!;
    assert.equal(d.spec.timezone, 'UTC');
    assert.equal(d.spec.jitter, 60_000);
    assert.equal(d.spec.calendars?.length, 1, 'cron from the block again: no --cron/--every given');
  });

  it('without a block and without --cron/--every: exit 2 saying what to give', async () => {
    writeConfig({ 'athena-prod': { cron: '0 */6 * * *' }, plain: null });
    const r = await collector(['schedule', 'create', 'plain']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /give --cron "<expression>" or --every <duration>, or a schedule: block/);
    assert.equal(await describeSchedule('plain'), undefined);
  });

  it('a value only the server refuses exits 2 naming the flag or the collectors.yaml field', async () => {
    const flag = await collector(['schedule', 'create', 'plain', '--cron', '99 * * * *']);
    assert.equal(flag.code, 2, flag.stderr);
    assert.match(flag.stderr, /--cron: the Temporal server refused schedule "plain": .*Minute/);
    const every = await collector(['schedule', 'create', 'plain', '--every', '0s']);
    assert.equal(every.code, 2, every.stderr);
    assert.match(every.stderr, /--every: the Temporal server refused schedule "plain"/);
    assert.equal(await describeSchedule('plain'), undefined);

    writeConfig({ 'athena-prod': { cron: '0 */6 * * *' }, 'bad-cron': { cron: '0 25 * * *' } });
    const fromBlock = await collector(['schedule', 'create', 'bad-cron']);
    assert.equal(fromBlock.code, 2, fromBlock.stderr);
    assert.match(fromBlock.stderr, /collectors\.bad-cron\.schedule\.cron: the Temporal server refused schedule "bad-cron": .*Hour/);
    const applied = await collector(['schedule', 'apply']);
    assert.equal(applied.code, 2, applied.stderr);
    assert.match(applied.stderr, /collectors\.bad-cron\.schedule\.cron: the Temporal server refused/);

    const exists = await collector(['schedule', 'create', 'athena-prod', '--every', '1h']);
    assert.equal(exists.code, 2, exists.stderr);
    assert.match(exists.stderr, /schedule "athena-prod" already exists: change it with "collector schedule update"/);
    const missing = await collector(['schedule', 'pause', 'no-such-schedule']);
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /no schedule "no-such-schedule"/);
  });

  it('apply creates, updates and deletes its own schedules to match collectors.yaml; --dry-run changes nothing', async () => {
    // Not the tool's: a schedule made by someone else, and one made by `schedule create` for a collector without a block.
    await temporal.client.schedule.create({
      scheduleId: 'foreign',
      spec: { intervals: [{ every: 86_400_000 }] },
      action: { type: 'startWorkflow', workflowType: 'other', taskQueue: 'elsewhere', args: [] },
      state: { paused: true },
    });
    writeConfig({
      'athena-prod': { cron: '0 */6 * * *', jitter: '2m' },
      a: { cron: '15 3 * * *', timezone: 'Europe/Prague' },
      b: { every: '1h' },
      c: null,
    });
    assert.equal((await collector(['schedule', 'create', 'c', '--every', '1d', '--paused'])).code, 0);

    const plan = await collector(['schedule', 'apply', '--dry-run']);
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, /would create a: cron "15 3 \* \* \*", timezone Europe\/Prague; task queue collectors/);
    assert.match(plan.stdout, /would create b: every 1h/);
    assert.match(plan.stdout, /would update athena-prod/, 'made by schedule create with other settings: brought in line');
    assert.match(plan.stdout, /dry run, nothing changed/);
    assert.equal(await describeSchedule('a'), undefined);
    assert.equal(await describeSchedule('b'), undefined);

    const first = await collector(['schedule', 'apply']);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /created a: /);
    assert.match(first.stdout, /created b: /);
    assert.match(first.stdout, /updated athena-prod: /);
    assert.match(first.stdout, /schedule apply: 2 created, 1 updated, 0 unchanged, 0 deleted/);
    assert.equal((await describeSchedule('a'))!.spec.timezone, 'Europe/Prague');
    assert.deepEqual((await describeSchedule('a'))!.memo?.['temporal-collectors'], { collector: 'a', managedBy: 'apply' });
    assert.equal((await describeSchedule('b'))!.spec.intervals?.[0]?.every, 3_600_000);
    assert.equal((await describeSchedule('athena-prod'))!.spec.jitter, 2 * 60_000, 'brought in line with its block');

    const again = await collector(['schedule', 'apply']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /schedule apply: 0 created, 0 updated, 3 unchanged, 0 deleted/);

    // a changes, b loses its block, athena-prod leaves the file.
    await untilListed(['a', 'b', 'athena-prod', 'c', 'foreign']);
    writeConfig({ a: { every: '30m' }, b: null, c: null });
    const second = await collector(['schedule', 'apply']);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /updated a: every 30m/);
    assert.match(second.stdout, /deleted b: collector "b" has no schedule: block/);
    assert.match(
      second.stdout,
      /kept athena-prod: collector "athena-prod" is no longer in the collectors file, but "collector schedule create" made it/,
    );
    assert.match(second.stdout, /kept c: collector "c" has no schedule: block/);
    assert.doesNotMatch(second.stdout, /foreign/);
    assert.equal((await describeSchedule('a'))!.spec.intervals?.[0]?.every, 30 * 60_000);
    assert.equal(await describeSchedule('b'), undefined);
    assert.ok(await describeSchedule('athena-prod'), 'made by schedule create: never deleted by apply');
    assert.ok(await describeSchedule('c'));
    assert.ok(await describeSchedule('foreign'), 'a foreign schedule is never touched');

    writeConfig({ c: null });
    const gone = await collector(['schedule', 'apply']);
    assert.equal(gone.code, 0, gone.stderr);
    assert.match(gone.stdout, /deleted a: collector "a" is no longer in the collectors file/);
    assert.equal(await describeSchedule('a'), undefined);
    assert.ok(await describeSchedule('foreign'));
  });

  it("apply leaves a foreign schedule with a collector's id alone and exits 1 naming the conflict", async () => {
    writeConfig({ foreign: { every: '1h' } });
    const r = await collector(['schedule', 'apply']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /conflict foreign: a schedule with this id exists that this tool did not create/);
    assert.match(r.stderr, /1 schedule\(s\) in conflict/);
    const d = (await describeSchedule('foreign'))!;
    assert.equal(d.action.type === 'startWorkflow' && d.action.workflowType, 'other', 'unchanged');
  });

  it('every schedule subcommand has a help text', () => {
    const schedule = buildProgram().commands.find((c) => c.name() === 'schedule')!;
    assert.ok(schedule.description());
    const names = schedule.commands.map((c) => c.name()).sort();
    assert.deepEqual(names, ['apply', 'backfill', 'create', 'delete', 'describe', 'list', 'pause', 'trigger', 'unpause', 'update']);
    for (const c of schedule.commands) assert.ok(c.description().length > 10, `schedule ${c.name()} has no description`);
  });
});
