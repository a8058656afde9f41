/**
 * What a client may send to or ask of a running collect workflow. The CLI and tests import these
 * definitions instead of repeating the names; the names themselves are part of recorded histories.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { ApprovalDecision, Progress } from '../src/run/types';

/** The workflow type name, for clients that start runs by name (the CLI, schedules, the Web UI). */
export const COLLECT_WORKFLOW = 'collect';

export const progressQuery = defineQuery<Progress>('progress');
export const approveSignal = defineSignal<[ApprovalDecision?]>('approve');
export const rejectSignal = defineSignal<[ApprovalDecision?]>('reject');
