/** `collector schedule ...`: the Temporal Schedules of collectors. */
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { DEFAULT_EXECUTOR } from '../../config/schema';
import { ConfigError } from '../../contracts/errors';
import { RunFailed, say, type Common } from '../common';
import { configuredCollector, runtimeFor } from '../context';
import { withClient } from '../session';
import {
  buildSchedule,
  createSchedule,
  describeSchedule,
  describeWhen,
  desiredSchedule,
  listSchedules,
  notFound,
  planApply,
  runApply,
  updateSchedule,
  withScheduleBlock,
  type ScheduleFlags,
} from '../schedule';

export type ScheduleVerb = 'pause' | 'unpause' | 'trigger' | 'delete';

/** create | update <collector>: from its schedule: block, flags overriding. */
export async function write(
  verb: 'create' | 'update',
  name: string,
  o: Common & ScheduleFlags & { executor?: string; scheduleId?: string },
): Promise<void> {
  const id = o.scheduleId ?? name;
  const configured = await configuredCollector(o, name);
  const { flags, names } = withScheduleBlock(o, configured?.schedule, name);
  const taskQueue = o.executor ?? configured?.executor ?? DEFAULT_EXECUTOR;
  const options = buildSchedule(id, { collector: name }, taskQueue, flags, names, { collector: name, managedBy: 'cli' });
  await withClient(o, (s) => (verb === 'create' ? createSchedule(s.client, options, names) : updateSchedule(s.client, id, options, names)));
  say(`schedule ${id} ${verb}d: ${describeWhen(flags, taskQueue)}`);
}

export async function apply(o: Common & { dryRun?: boolean }): Promise<void> {
  const config = (await runtimeFor(o)).config();
  // Every block is checked before anything changes: one bad field exits 2 with nothing applied.
  const desired = [...config.collectors.values()].filter((c) => c.schedule).map((c) => desiredSchedule(c.name, c.executor, c.schedule!));
  const counts = await withClient(o, async (s) =>
    runApply(s.client, await planApply(s.client, desired, new Set(config.collectors.keys())), Boolean(o.dryRun), say),
  );
  if (counts.conflicts) throw new RunFailed(`${counts.conflicts} schedule(s) in conflict (see above); nothing was done to them`);
}

export async function describe(id: string, o: Common & { json?: boolean }): Promise<void> {
  const d = await withClient(o, (s) => describeSchedule(s.client, id));
  if (o.json) return say(JSON.stringify(d));
  say(`schedule ${d.scheduleId}: ${d.paused ? 'paused' : 'active'}${d.note ? ` (${d.note})` : ''}`);
  if (d.collector) say(`  collector: ${d.collector} (made by ${d.managedBy === 'apply' ? 'schedule apply' : 'schedule create'})`);
  // The server's form of the spec (a cron comes back as calendars): exact, if not pretty.
  say(`  spec: ${JSON.stringify(d.spec)}`);
  const catchup = d.catchupWindowMs !== undefined ? `, catch-up window ${d.catchupWindowMs / 1000}s` : '';
  say(`  overlap ${d.overlap}${catchup}, pause on failure ${d.pauseOnFailure ? 'yes' : 'no'}`);
  say(`  next: ${d.nextActionTimes.join(', ') || '-'}`);
  for (const a of d.recentActions) say(`  recent: ${a.scheduledAt} ${a.workflowId}`);
  for (const w of d.runningActions) say(`  running: ${w}`);
}

export async function list(o: Common): Promise<void> {
  for (const s of await withClient(o, (x) => listSchedules(x.client)))
    say(`${s.scheduleId}\t${s.paused ? 'paused' : 'active'}\tnext ${s.next ?? '-'}`);
}

export async function act(verb: ScheduleVerb, id: string, o: Common & { note?: string }): Promise<void> {
  await withClient(o, async (s) => {
    const h = s.client.schedule.getHandle(id);
    try {
      if (verb === 'pause') await h.pause(o.note);
      else if (verb === 'unpause') await h.unpause(o.note);
      else if (verb === 'trigger') await h.trigger();
      else await h.delete();
    } catch (e) {
      throw notFound(e, id);
    }
  });
  say(`schedule ${id}: ${verb} done`);
}

export async function backfill(id: string, o: Common & { start: string; end: string; overlap: string }): Promise<void> {
  const start = new Date(o.start);
  const end = new Date(o.end);
  if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime()) || start >= end) {
    throw new ConfigError('--start and --end must be ISO-8601 timestamps with start before end');
  }
  const overlap = o.overlap === 'skip' ? ScheduleOverlapPolicy.SKIP : ScheduleOverlapPolicy.BUFFER_ALL;
  await withClient(o, async (s) => {
    try {
      await s.client.schedule.getHandle(id).backfill({ start, end, overlap });
    } catch (e) {
      throw notFound(e, id);
    }
  });
  say(`schedule ${id}: backfill ${start.toISOString()} .. ${end.toISOString()} requested`);
}
