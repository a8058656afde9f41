/**
 * What travels through workflow history: inputs, plans, results. Small, and never a secret or a row of
 * extracted data. Pure types: imported by workflow code.
 */
import type { Window, WindowOrigin } from '../contracts/window';
import type { IncompleteUnit } from '../contracts/extract-format';
import type { FileIdentity } from '../contracts/plugin';

/**
 * The workflow input, e.g. `{"collector": "athena-prod"}` from the temporal CLI or Web UI. Read strictly
 * by parseCollectInput (src/run/collect-input.ts): unknown keys and wrong types are refused.
 */
export interface CollectInput {
  /** A collector defined in the worker-side collectors.yaml. */
  collector?: string;
  /** Or a whole collector definition carried by the run (secrets as `${REF}` only). */
  recipe?: Record<string, unknown>;
  /** Task queue of the executor when the workflow runs on another queue; default: the collector's. */
  executor?: string;
  /** Run-level overrides of the collector's options. */
  dryRun?: boolean;
  requireApproval?: boolean;
}

/** How activities find the collector again: by name, or the recipe itself. */
export type CollectorRef = { collector: string } | { recipe: Record<string, unknown> };

export interface PlanRequest {
  ref: CollectorRef;
  workflowId: string;
  runId: string;
  /** Window end before the safety lag: the schedule's nominal time or the run's start. */
  nominalEnd: string;
  /** End of the previous scheduled run's window, from its result. */
  lastResultEnd?: string;
}

export interface RunPlan {
  ref: CollectorRef;
  collector: string;
  sourceType: string;
  executor: string;
  workflowId: string;
  runId: string;
  window: Window;
  windowOrigin: WindowOrigin;
  /** start >= end: nothing new to collect; the run ends without touching the landing zone or the HWM. */
  empty: boolean;
  /** The HWM version this run read; commit is a compare-and-set against it. */
  hwmVersion: string | null;
  hwmBefore: string | null;
  /** `20261121T053700Z`: the window end as it appears in file names. */
  stamp: string;
  landing: string;
  hwmStore: string;
  options: {
    compress: boolean;
    dryRun: boolean;
    requireApproval: boolean;
    approvalTimeoutMs: number;
    extractTimeoutMs: number;
    uploadTimeoutMs: number;
    heartbeatTimeoutMs: number;
    hostPickupTimeoutMs: number;
    maxHostAttempts: number;
    uploadConcurrency: number;
  };
  warnings: string[];
  /** Who started the run, as Temporal recorded it; absent in runs planned before it was recorded. */
  startedBy?: StartedBy;
}

/** The audit line of a run: where it came from and the identity its starter declared to Temporal. */
export interface StartedBy {
  origin: 'schedule' | 'collector-cli' | 'temporal-cli' | 'child-workflow' | 'other' | 'unknown';
  /** The client identity on the start event (self-declared by the starting client). */
  identity?: string;
  scheduleId?: string;
  parentWorkflowId?: string;
}

export interface HostClaim {
  /** The worker-specific task queue of the host holding this attempt's staging directory. */
  hostQueue: string;
  host: string;
}

export interface ExtractedFileRef {
  kind: string;
  name: string;
  rows: number;
}

/** Units the source gave up on: how many, and the first few (the manifest lists them all). */
export interface IncompleteUnits {
  total: number;
  units: IncompleteUnit[];
}

export interface ExtractResult {
  files: ExtractedFileRef[];
  warnings: string[];
  counters: Record<string, number>;
  unitsDone: number;
  unitsResumed: number;
  /** Absent when every unit completed (and from workers before incomplete units existed). */
  incomplete?: IncompleteUnits;
}

export interface ValidatedFileRef extends ExtractedFileRef {
  bytes: number;
  sha256: string;
}

export interface ValidateResult {
  files: ValidatedFileRef[];
  manifest: { name: string; bytes: number; sha256: string };
  /**
   * Per staged file, its MD5 and its identity when validation hashed it: the upload re-hashes only a
   * file whose identity moved since. Absent from results recorded by older versions (then it hashes).
   */
  staged?: Record<string, { md5: string; identity: FileIdentity }>;
}

export interface UploadResult {
  objects: { name: string; outcome: 'created' | 'already-present'; bytes: number }[];
  bytes: number;
}

export type RunStatus = 'completed' | 'dry-run' | 'empty-window' | 'rejected';

/** How a run ended, as the workflow reports it to its worker's metrics (workflows/sinks.ts). */
export type RunOutcome = 'completed' | 'dry_run' | 'empty' | 'rejected' | 'failed' | 'cancelled';

export interface RunSummary {
  collector: string;
  status: RunStatus;
  workflowId: string;
  runId: string;
  window: Window;
  windowOrigin: WindowOrigin;
  files: ValidatedFileRef[];
  manifest?: string;
  landing: string;
  hwm: { before: string | null; after: string | null; store: string };
  warnings: string[];
  counters: Record<string, number>;
  /** Units whose rows are missing from this window's files (the manifest's `incompleteUnits` has them all). */
  incomplete?: IncompleteUnits;
  durationsMs: { extract: number; validate: number; upload: number; total: number };
  hostAttempts: number;
  approval?: { decision: 'approved' | 'rejected'; by?: string; reason?: string };
  startedBy?: StartedBy;
}

export type Phase =
  | 'planning'
  | 'claiming-host'
  | 'extracting'
  | 'validating'
  | 'awaiting-approval'
  | 'uploading'
  | 'committing-hwm'
  | 'cleaning-up'
  | 'done'
  | 'failed';

export interface Progress {
  phase: Phase;
  /** Steps finished of the run's steps, for a progress bar. */
  step: number;
  steps: number;
  collector?: string;
  window?: Window;
  host?: string;
  hostAttempt: number;
  rows?: number;
  files?: number;
}

export interface ApprovalDecision {
  by?: string;
  reason?: string;
}

/** A decision as the run recorded it (the summary's `approval`). */
export interface ApprovalRecord extends ApprovalDecision {
  decision: 'approved' | 'rejected';
}
