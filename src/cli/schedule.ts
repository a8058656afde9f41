/** `collector schedule ...`: Temporal Schedules replace cron and Airflow for collectors. */
import { ScheduleOverlapPolicy, type Client, type ScheduleOptions, type ScheduleSpec } from '@temporalio/client';
import { ConfigError } from '../errors';
import { parseDuration } from '../time/duration';
import type { CollectInput } from '../run-types';
import { WORKFLOW_TYPE } from './run';

export interface ScheduleFlags {
  cron?: string[];
  every?: string;
  timezone?: string;
  jitter?: string;
  overlap?: string;
  catchupWindow?: string;
  pauseOnFailure?: boolean;
  paused?: boolean;
  note?: string;
}

const OVERLAP: Record<string, ScheduleOverlapPolicy> = {
  skip: ScheduleOverlapPolicy.SKIP,
  'buffer-one': ScheduleOverlapPolicy.BUFFER_ONE,
  'buffer-all': ScheduleOverlapPolicy.BUFFER_ALL,
  'cancel-other': ScheduleOverlapPolicy.CANCEL_OTHER,
  'terminate-other': ScheduleOverlapPolicy.TERMINATE_OTHER,
  'allow-all': ScheduleOverlapPolicy.ALLOW_ALL,
};

function durationFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDuration(value);
  if (ms === undefined) throw new ConfigError(`--${name}: "${value}" is not a duration such as 90s, 5m, 6h or 1d`);
  return ms;
}

export function buildSpec(flags: ScheduleFlags): ScheduleSpec {
  const every = durationFlag('every', flags.every);
  if (!flags.cron?.length && every === undefined) throw new ConfigError('give --cron "<expression>" or --every <duration>');
  if (flags.timezone) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: flags.timezone });
    } catch {
      throw new ConfigError(`--timezone: "${flags.timezone}" is not an IANA time zone such as UTC or Europe/Prague`);
    }
  }
  for (const c of flags.cron ?? []) {
    const fields = c.trim().split(/\s+/);
    if (!c.trim().startsWith('@') && (fields.length < 5 || fields.length > 7)) {
      throw new ConfigError(`--cron: "${c}" is not a cron expression (5 fields: minute hour day-of-month month day-of-week)`);
    }
  }
  const jitter = durationFlag('jitter', flags.jitter);
  return {
    ...(flags.cron?.length ? { cronExpressions: flags.cron } : {}),
    ...(every !== undefined ? { intervals: [{ every }] } : {}),
    ...(flags.timezone ? { timezone: flags.timezone } : {}),
    ...(jitter !== undefined ? { jitter } : {}),
  };
}

export function buildSchedule(scheduleId: string, input: CollectInput, taskQueue: string, flags: ScheduleFlags): ScheduleOptions {
  const overlap = OVERLAP[(flags.overlap ?? 'skip').toLowerCase()];
  if (!overlap) throw new ConfigError(`--overlap: "${flags.overlap}" is not one of ${Object.keys(OVERLAP).join(', ')}`);
  const catchupWindow = durationFlag('catchup-window', flags.catchupWindow);
  return {
    scheduleId,
    spec: buildSpec(flags),
    action: { type: 'startWorkflow', workflowType: WORKFLOW_TYPE, args: [input], taskQueue, workflowId: `collect-${scheduleId}` },
    policies: {
      overlap,
      ...(catchupWindow !== undefined ? { catchupWindow } : {}),
      pauseOnFailure: flags.pauseOnFailure ?? false,
    },
    state: { paused: flags.paused ?? false, ...(flags.note ? { note: flags.note } : {}) },
  };
}

export async function createSchedule(client: Client, options: ScheduleOptions): Promise<void> {
  await client.schedule.create(options);
}

export async function updateSchedule(client: Client, scheduleId: string, options: ScheduleOptions): Promise<void> {
  await client.schedule.getHandle(scheduleId).update((prev) => ({
    ...prev,
    spec: options.spec,
    action: options.action as typeof prev.action,
    policies: { ...prev.policies, ...options.policies },
  }));
}

export async function describeSchedule(client: Client, scheduleId: string) {
  const d = await client.schedule.getHandle(scheduleId).describe();
  return {
    scheduleId: d.scheduleId,
    paused: d.state.paused,
    note: d.state.note,
    spec: d.spec,
    overlap: d.policies.overlap,
    catchupWindowMs: d.policies.catchupWindow,
    pauseOnFailure: d.policies.pauseOnFailure,
    nextActionTimes: d.info.nextActionTimes.slice(0, 5).map((t) => t.toISOString()),
    recentActions: d.info.recentActions.slice(-5).map((a) => ({ scheduledAt: a.scheduledAt.toISOString(), workflowId: a.action.workflow.workflowId })),
    runningActions: d.info.runningActions.map((a) => a.workflow.workflowId),
  };
}

export async function listSchedules(client: Client): Promise<{ scheduleId: string; paused: boolean; next?: string }[]> {
  const out = [];
  for await (const s of client.schedule.list()) {
    out.push({ scheduleId: s.scheduleId, paused: s.state.paused, ...(s.info.nextActionTimes[0] ? { next: s.info.nextActionTimes[0].toISOString() } : {}) });
  }
  return out;
}
