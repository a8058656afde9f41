/**
 * What a client may send to or ask of a running collect workflow. The CLI and tests import these
 * definitions instead of repeating the names; the names themselves are part of recorded histories.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ApprovalDecision, ApprovalRecord, Progress } from '../src/run/types';

/** The workflow type name, for clients that start runs by name (the CLI, schedules, the Web UI). */
export const COLLECT_WORKFLOW = 'collect';

export const progressQuery = defineQuery<Progress>('progress');
export const approveSignal = defineSignal<[ApprovalDecision?]>('approve');
export const rejectSignal = defineSignal<[ApprovalDecision?]>('reject');
/**
 * The approval gate's decision as Workflow Updates: refused by a validator, with the reason, when no run
 * is waiting (too early, already decided, not gated), so a client is told instead of a signal being
 * silently kept for later. The signals above stay for older clients and for replaying their histories.
 */
export const approveUpdate = defineUpdate<ApprovalRecord, [ApprovalDecision]>('approveRun');
export const rejectUpdate = defineUpdate<ApprovalRecord, [ApprovalDecision]>('rejectRun');
