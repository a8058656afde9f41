/**
 * What the Temporal Web UI shows of a run besides its id: the static summary and memo given when it is
 * started (by the CLI or a schedule), and the current details the workflow keeps up to date from its
 * progress. Names, flags, counts and times only: never a secret, a recipe's contents or extracted data.
 * Pure: the workflow imports it.
 */
import type { CollectInput, Progress } from './types';

/** The Web UI shows a summary on one line; longer ones are cut. */
const MAX_SUMMARY = 200;

/** Who the run is for: the collector's name, or a recipe's own name (never its contents). */
function subject(input: CollectInput): string {
  if (input.collector !== undefined) return input.collector;
  const name = input.recipe?.name;
  return typeof name === 'string' ? `recipe ${name.slice(0, 63)}` : 'a recipe';
}

/** `collect athena-prod · from its HWM · dry run`: the run's one-line summary. */
export function runSummaryLine(input: CollectInput, origin = 'from its HWM'): string {
  const flags = [input.dryRun ? 'dry run' : undefined, input.requireApproval ? 'approval required' : undefined].filter(Boolean);
  const line = [`collect ${subject(input)}`, origin, ...flags].join(' · ');
  return line.length > MAX_SUMMARY ? `${line.slice(0, MAX_SUMMARY - 1)}…` : line;
}

/** The memo a run or a schedule's runs carry: filterable facts, not the input itself. */
export function runMemo(input: CollectInput): Record<string, string | boolean> {
  return {
    collector: subject(input),
    ...(input.executor !== undefined ? { executor: input.executor } : {}),
    ...(input.dryRun !== undefined ? { dryRun: input.dryRun } : {}),
    ...(input.requireApproval !== undefined ? { requireApproval: input.requireApproval } : {}),
  };
}

const PHASE_TEXT: Record<Progress['phase'], string> = {
  planning: 'planning the window',
  'claiming-host': 'waiting for a worker host',
  extracting: 'extracting',
  validating: 'validating the files',
  'awaiting-approval': 'waiting for approval',
  uploading: 'uploading',
  'committing-hwm': 'committing the HWM',
  'cleaning-up': 'cleaning up staging',
  done: 'done',
  failed: 'failed',
};

/** The run's current details (Markdown, as the Web UI renders them), from the progress query's state. */
export function currentDetails(p: Progress, workflowId: string): string {
  const lines = [`**${PHASE_TEXT[p.phase] ?? p.phase}** (step ${p.step} of ${p.steps})`];
  if (p.collector) lines.push(`collector \`${p.collector}\``);
  if (p.window) lines.push(`window ${p.window.start} → ${p.window.end}`);
  if (p.host) lines.push(`host \`${p.host}\`${p.hostAttempt > 1 ? ` (attempt ${p.hostAttempt})` : ''}`);
  if (p.rows !== undefined) lines.push(`${p.rows} rows in ${p.files ?? 0} files`);
  if (p.phase === 'awaiting-approval') {
    lines.push(`\`collector approve ${workflowId}\` or \`collector reject ${workflowId} --reason "…"\``);
  }
  return lines.join('  \n');
}
