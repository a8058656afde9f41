/**
 * `collector schedule ...`: Temporal Schedules replace cron and Airflow for collectors. A collector's
 * `schedule:` block in collectors.yaml gives the defaults (flags override), and `schedule apply` makes the
 * Schedules match the file.
 */
import { runMemo, runSummaryLine } from '../run/describe';
import { createHash } from 'node:crypto';
import {
  isGrpcServiceError,
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  ServiceError,
  type Client,
  type ScheduleOptions,
  type ScheduleSpec,
} from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { ConfigError } from '../contracts/errors';
import { parseDuration } from '../run/duration';
import type { CollectInput } from '../run/types';
import type { scheduleSchema } from '../config/schema';
import type { z } from 'zod';
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

/** A collector's `schedule:` block in collectors.yaml. */
export type ScheduleBlock = z.infer<typeof scheduleSchema>;

type WhenField = 'cron' | 'every' | 'timezone' | 'jitter';
/** What an error calls each field: the flag, or the collectors.yaml path the value came from. */
export type FieldNames = Record<WhenField, string>;
const FLAG_NAMES: FieldNames = { cron: '--cron', every: '--every', timezone: '--timezone', jitter: '--jitter' };

function blockFieldNames(collector: string): FieldNames {
  const at = `collectors.${collector}.schedule`;
  return { cron: `${at}.cron`, every: `${at}.every`, timezone: `${at}.timezone`, jitter: `${at}.jitter` };
}

/**
 * The collector's `schedule:` block as defaults under the flags. `--cron`/`--every` replace the block's
 * cron/every together (they are one choice: when); timezone and jitter are each taken from a flag if given.
 */
export function withScheduleBlock(
  flags: ScheduleFlags,
  block: ScheduleBlock | undefined,
  collector: string,
): { flags: ScheduleFlags; names: FieldNames } {
  if (!block) return { flags, names: FLAG_NAMES };
  const fromBlock = blockFieldNames(collector);
  const whenFromFlags = Boolean(flags.cron?.length) || flags.every !== undefined;
  const merged: ScheduleFlags = { ...flags };
  const names: FieldNames = { ...FLAG_NAMES };
  if (!whenFromFlags) {
    delete merged.cron;
    delete merged.every;
    if (block.cron !== undefined) merged.cron = [block.cron];
    if (block.every !== undefined) merged.every = block.every;
    names.cron = fromBlock.cron;
    names.every = fromBlock.every;
  }
  if (flags.timezone === undefined && block.timezone !== undefined) {
    merged.timezone = block.timezone;
    names.timezone = fromBlock.timezone;
  }
  if (flags.jitter === undefined && block.jitter !== undefined) {
    merged.jitter = block.jitter;
    names.jitter = fromBlock.jitter;
  }
  return { flags: merged, names };
}

const OVERLAP: Record<string, ScheduleOverlapPolicy> = {
  skip: ScheduleOverlapPolicy.SKIP,
  'buffer-one': ScheduleOverlapPolicy.BUFFER_ONE,
  'buffer-all': ScheduleOverlapPolicy.BUFFER_ALL,
  'cancel-other': ScheduleOverlapPolicy.CANCEL_OTHER,
  'terminate-other': ScheduleOverlapPolicy.TERMINATE_OTHER,
  'allow-all': ScheduleOverlapPolicy.ALLOW_ALL,
};

function durationField(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDuration(value);
  if (ms === undefined) throw new ConfigError(`${name}: "${value}" is not a duration such as 90s, 5m, 6h or 1d`);
  return ms;
}

function buildSpec(flags: ScheduleFlags, names: FieldNames = FLAG_NAMES): ScheduleSpec {
  const every = durationField(names.every, flags.every);
  if (!flags.cron?.length && every === undefined) {
    throw new ConfigError(
      'give --cron "<expression>" or --every <duration>, or a schedule: block (cron or every) for the collector in collectors.yaml',
    );
  }
  if (flags.timezone) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: flags.timezone });
    } catch {
      throw new ConfigError(`${names.timezone}: "${flags.timezone}" is not an IANA time zone such as UTC or Europe/Prague`);
    }
  }
  for (const c of flags.cron ?? []) {
    const fields = c.trim().split(/\s+/);
    if (!c.trim().startsWith('@') && (fields.length < 5 || fields.length > 7)) {
      throw new ConfigError(`${names.cron}: "${c}" is not a cron expression (5 fields: minute hour day-of-month month day-of-week)`);
    }
  }
  const jitter = durationField(names.jitter, flags.jitter);
  return {
    ...(flags.cron?.length ? { cronExpressions: flags.cron } : {}),
    ...(every !== undefined ? { intervals: [{ every }] } : {}),
    ...(flags.timezone ? { timezone: flags.timezone } : {}),
    ...(jitter !== undefined ? { jitter } : {}),
  };
}

/** Memo key marking the schedules this tool created (and the runs they start). */
const MEMO_KEY = 'temporal-collectors';
/**
 * `apply`: created by `collector schedule apply`, which may delete it; `cli`: by `schedule create`, which
 * apply updates when the collector has a block but never deletes. The schedule memo cannot change later.
 */
export type ManagedBy = 'apply' | 'cli';
export interface ScheduleOwner {
  collector: string;
  managedBy: ManagedBy;
}

export function buildSchedule(
  scheduleId: string,
  input: CollectInput,
  taskQueue: string,
  flags: ScheduleFlags,
  names: FieldNames = FLAG_NAMES,
  owner?: ScheduleOwner,
): ScheduleOptions {
  const overlap = OVERLAP[(flags.overlap ?? 'skip').toLowerCase()];
  if (!overlap) throw new ConfigError(`--overlap: "${flags.overlap}" is not one of ${Object.keys(OVERLAP).join(', ')}`);
  const catchupWindow = durationField('--catchup-window', flags.catchupWindow);
  const spec = buildSpec(flags, names);
  const workflowId = `collect-${scheduleId}`;
  const policies = { overlap, ...(catchupWindow !== undefined ? { catchupWindow } : {}), pauseOnFailure: flags.pauseOnFailure ?? false };
  // What `apply` compares with: the action memo is the only memo an update can rewrite.
  const fingerprint = createHash('sha256')
    .update(JSON.stringify({ spec, taskQueue, input, workflowId, workflowType: WORKFLOW_TYPE, policies }))
    .digest('hex')
    .slice(0, 32);
  return {
    scheduleId,
    spec,
    action: {
      type: 'startWorkflow',
      workflowType: WORKFLOW_TYPE,
      args: [input],
      taskQueue,
      workflowId,
      memo: { ...runMemo(input), [MEMO_KEY]: { fingerprint } },
      staticSummary: runSummaryLine(input, `scheduled by ${scheduleId}`),
    },
    policies,
    state: { paused: flags.paused ?? false, ...(flags.note ? { note: flags.note } : {}) },
    ...(owner ? { memo: { [MEMO_KEY]: owner } } : {}),
  };
}

const GRPC_INVALID_ARGUMENT = 3;

/** The server's refusal of a value the local checks let through (a cron field out of range...), as exit 2. */
function refusedInput(e: unknown, scheduleId: string, names: FieldNames): unknown {
  let detail: string | undefined;
  // The SDK turns the server's "Invalid schedule spec" into a TypeError; other INVALID_ARGUMENTs stay gRPC errors.
  if (e instanceof TypeError) detail = e.message;
  else if (e instanceof ServiceError && isGrpcServiceError(e.cause) && e.cause.code === GRPC_INVALID_ARGUMENT) detail = e.cause.details;
  if (detail === undefined) return e;
  const field = /time ?zone/i.test(detail)
    ? names.timezone
    : /jitter/i.test(detail)
      ? names.jitter
      : /interval|phase/i.test(detail)
        ? names.every
        : /cron|range|calendar/i.test(detail)
          ? names.cron
          : undefined;
  return new ConfigError(`${field ? `${field}: ` : ''}the Temporal server refused schedule "${scheduleId}": ${detail}`);
}

export async function createSchedule(client: Client, options: ScheduleOptions, names: FieldNames = FLAG_NAMES): Promise<void> {
  try {
    await client.schedule.create(options);
  } catch (e) {
    if (e instanceof ScheduleAlreadyRunning) {
      throw new ConfigError(
        `schedule "${options.scheduleId}" already exists: change it with "collector schedule update", or choose another --schedule-id`,
      );
    }
    throw refusedInput(e, options.scheduleId, names);
  }
}

export async function updateSchedule(
  client: Client,
  scheduleId: string,
  options: ScheduleOptions,
  names: FieldNames = FLAG_NAMES,
): Promise<void> {
  try {
    await client.schedule.getHandle(scheduleId).update((prev) => ({
      ...prev,
      spec: options.spec,
      action: options.action as typeof prev.action,
      policies: { ...prev.policies, ...options.policies },
    }));
  } catch (e) {
    throw notFound(refusedInput(e, scheduleId, names), scheduleId);
  }
}

/** A schedule id that names nothing is bad input too (exit 2), with the command that lists the real ones. */
export function notFound(e: unknown, scheduleId: string): unknown {
  if (e instanceof ScheduleNotFoundError)
    return new ConfigError(`no schedule "${scheduleId}" in this namespace ("collector schedule list" shows them)`);
  return e;
}

export async function describeSchedule(client: Client, scheduleId: string) {
  let d;
  try {
    d = await client.schedule.getHandle(scheduleId).describe();
  } catch (e) {
    throw notFound(e, scheduleId);
  }
  const owner = ownerOf(d.memo?.[MEMO_KEY]);
  return {
    scheduleId: d.scheduleId,
    paused: d.state.paused,
    note: d.state.note,
    spec: d.spec,
    overlap: d.policies.overlap,
    catchupWindowMs: d.policies.catchupWindow,
    pauseOnFailure: d.policies.pauseOnFailure,
    ...(owner ? { collector: owner.collector, managedBy: owner.managedBy } : {}),
    nextActionTimes: d.info.nextActionTimes.slice(0, 5).map((t) => t.toISOString()),
    recentActions: d.info.recentActions
      .slice(-5)
      .map((a) => ({ scheduledAt: a.scheduledAt.toISOString(), workflowId: a.action.workflow.workflowId })),
    runningActions: d.info.runningActions.map((a) => a.workflow.workflowId),
  };
}

export async function listSchedules(client: Client): Promise<{ scheduleId: string; paused: boolean; next?: string }[]> {
  const out = [];
  for await (const s of client.schedule.list()) {
    out.push({
      scheduleId: s.scheduleId,
      paused: s.state.paused,
      ...(s.info.nextActionTimes[0] ? { next: s.info.nextActionTimes[0].toISOString() } : {}),
    });
  }
  return out;
}

// ------------------------------------------------------------------------------------------- apply

function ownerOf(memo: unknown): ScheduleOwner | undefined {
  if (!memo || typeof memo !== 'object') return undefined;
  const { collector, managedBy } = memo as Record<string, unknown>;
  if (typeof collector !== 'string' || (managedBy !== 'apply' && managedBy !== 'cli')) return undefined;
  return { collector, managedBy };
}

function fingerprintOf(actionMemo: unknown): string | undefined {
  const mine = (actionMemo as Record<string, unknown> | undefined)?.[MEMO_KEY];
  const fp = mine && typeof mine === 'object' ? (mine as Record<string, unknown>).fingerprint : undefined;
  return typeof fp === 'string' ? fp : undefined;
}

export interface DesiredSchedule {
  collector: string;
  options: ScheduleOptions;
  names: FieldNames;
  /** For people: when it runs and where. */
  summary: string;
}

/** The schedule `apply` wants for a collector with a `schedule:` block (id: the collector name). */
export function desiredSchedule(collector: string, executor: string, block: ScheduleBlock): DesiredSchedule {
  const { flags, names } = withScheduleBlock({}, block, collector);
  const options = buildSchedule(collector, { collector }, executor, flags, names, { collector, managedBy: 'apply' });
  return { collector, options, names, summary: describeWhen(flags, executor) };
}

export function describeWhen(flags: ScheduleFlags, taskQueue: string): string {
  const parts = [
    ...(flags.cron ?? []).map((c) => `cron "${c}"`),
    ...(flags.every !== undefined ? [`every ${flags.every}`] : []),
    ...(flags.timezone ? [`timezone ${flags.timezone}`] : []),
    ...(flags.jitter ? [`jitter ${flags.jitter}`] : []),
  ];
  return `${parts.join(', ')}; task queue ${taskQueue}`;
}

export type ApplyStep =
  | { op: 'create' | 'update' | 'unchanged'; scheduleId: string; desired: DesiredSchedule }
  | { op: 'delete' | 'conflict' | 'keep' | 'unreadable'; scheduleId: string; reason: string };

/** Schedule ids and their memo, read one page at a time; a memo this client cannot decode is reported, not fatal. */
async function* listedSchedules(
  client: Client,
): AsyncGenerator<{ scheduleId: string; owner: ScheduleOwner | undefined; unreadable?: string }> {
  const { payloadCodecs, payloadConverter } = client.options.loadedDataConverter;
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await client.workflowService.listSchedules({
      namespace: client.options.namespace,
      maximumPageSize: 500,
      ...(nextPageToken ? { nextPageToken } : {}),
    });
    for (const entry of page.schedules ?? []) {
      const scheduleId = entry.scheduleId ?? '';
      const raw = entry.memo?.fields?.[MEMO_KEY];
      if (!raw) {
        yield { scheduleId, owner: undefined };
        continue;
      }
      try {
        let payloads: Payload[] = [raw as Payload];
        // Codecs decode in the reverse order they encode.
        for (const codec of [...payloadCodecs].reverse()) payloads = await codec.decode(payloads);
        yield { scheduleId, owner: ownerOf(payloadConverter.fromPayload(payloads[0]!)) };
      } catch (e) {
        yield { scheduleId, owner: undefined, unreadable: (e as Error).message };
      }
    }
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);
}

/**
 * What `apply` does: create or update the schedule of each collector with a block; delete the schedules
 * it created whose collector lost its block or left the file. A schedule without its marker is never
 * touched; one with the collector's id but not made by this tool is a conflict.
 */
export async function planApply(client: Client, desired: DesiredSchedule[], collectorsInFile: ReadonlySet<string>): Promise<ApplyStep[]> {
  const steps: ApplyStep[] = [];
  const wanted = new Map(desired.map((d) => [d.options.scheduleId, d]));
  for (const d of desired) {
    const id = d.options.scheduleId;
    let current;
    try {
      // Describe, not the list: the list is eventually consistent, a describe sees a schedule just made.
      current = await client.schedule.getHandle(id).describe();
    } catch (e) {
      if (e instanceof ScheduleNotFoundError) {
        steps.push({ op: 'create', scheduleId: id, desired: d });
        continue;
      }
      throw e;
    }
    const owner = ownerOf(current.memo?.[MEMO_KEY]);
    if (!owner || owner.collector !== d.collector) {
      steps.push({
        op: 'conflict',
        scheduleId: id,
        reason: owner
          ? `it belongs to collector "${owner.collector}"`
          : "a schedule with this id exists that this tool did not create; delete or rename it, or remove the collector's schedule: block",
      });
      continue;
    }
    const wantedAction = d.options.action;
    const same = current.action.type === 'startWorkflow' && fingerprintOf(current.action.memo) === fingerprintOf(wantedAction.memo);
    steps.push({ op: same ? 'unchanged' : 'update', scheduleId: id, desired: d });
  }
  for await (const s of listedSchedules(client)) {
    if (wanted.has(s.scheduleId)) continue;
    if (s.unreadable !== undefined) {
      steps.push({ op: 'unreadable', scheduleId: s.scheduleId, reason: `its memo cannot be decoded here (${s.unreadable}); left alone` });
      continue;
    }
    const owner = s.owner;
    if (!owner || wanted.has(owner.collector)) continue;
    const why = collectorsInFile.has(owner.collector)
      ? `collector "${owner.collector}" has no schedule: block`
      : `collector "${owner.collector}" is no longer in the collectors file`;
    if (owner.managedBy === 'apply') steps.push({ op: 'delete', scheduleId: s.scheduleId, reason: why });
    else
      steps.push({
        op: 'keep',
        scheduleId: s.scheduleId,
        reason: `${why}, but "collector schedule create" made it and apply deletes only its own (delete it with "collector schedule delete ${s.scheduleId}")`,
      });
  }
  return steps;
}

export interface ApplyCounts {
  created: number;
  updated: number;
  unchanged: number;
  deleted: number;
  conflicts: number;
}

/** Carries out `steps` (unless dryRun), printing one line per schedule. */
export async function runApply(client: Client, steps: ApplyStep[], dryRun: boolean, say: (m: string) => void): Promise<ApplyCounts> {
  const counts: ApplyCounts = { created: 0, updated: 0, unchanged: 0, deleted: 0, conflicts: 0 };
  const verb = (done: string, planned: string) => (dryRun ? `would ${planned}` : done);
  for (const step of steps) {
    switch (step.op) {
      case 'create':
        if (!dryRun) await createSchedule(client, step.desired.options, step.desired.names);
        say(`${verb('created', 'create')} ${step.scheduleId}: ${step.desired.summary}`);
        counts.created += 1;
        break;
      case 'update':
        if (!dryRun) await updateSchedule(client, step.scheduleId, step.desired.options, step.desired.names);
        say(`${verb('updated', 'update')} ${step.scheduleId}: ${step.desired.summary}`);
        counts.updated += 1;
        break;
      case 'unchanged':
        say(`unchanged ${step.scheduleId}: ${step.desired.summary}`);
        counts.unchanged += 1;
        break;
      case 'delete':
        if (!dryRun) {
          try {
            await client.schedule.getHandle(step.scheduleId).delete();
          } catch (e) {
            // Already gone (the list lags behind deletes): the wanted state.
            if (!(e instanceof ScheduleNotFoundError)) throw e;
          }
        }
        say(`${verb('deleted', 'delete')} ${step.scheduleId}: ${step.reason}`);
        counts.deleted += 1;
        break;
      case 'conflict':
        say(`conflict ${step.scheduleId}: ${step.reason}`);
        counts.conflicts += 1;
        break;
      case 'keep':
      case 'unreadable':
        say(`kept ${step.scheduleId}: ${step.reason}`);
        break;
    }
  }
  const total = `${counts.created} created, ${counts.updated} updated, ${counts.unchanged} unchanged, ${counts.deleted} deleted${counts.conflicts ? `, ${counts.conflicts} in conflict` : ''}`;
  say(dryRun ? `dry run, nothing changed: would be ${total}` : `schedule apply: ${total}`);
  return counts;
}
