/**
 * The one schema of the collect workflow's input, shared by the workflow, the CLI and the docs.
 *
 * Whoever can start a workflow in the namespace writes this input, so it is read strictly: an unknown key
 * (`dry_run`), a wrong type (`"dryRun": "true"`) or a missing input is refused with the key named, never
 * ignored, and every value echoed back is cut short. Pure code without Node imports: the workflow
 * bundle imports it.
 */
import type { CollectInput } from './types';

/** Every key the input may have, with what it means (printed in refusals and by `collector run --help`). */
export const COLLECT_INPUT_KEYS = {
  collector: 'a collector name from the worker\'s collectors.yaml, e.g. "athena-prod"',
  recipe: "a whole collector definition (only where the worker's collectors.yaml enables recipes)",
  executor: "the task queue of the collector's executor, when the run starts on another queue",
  dryRun: 'true or false: stop after validation, upload nothing',
  requireApproval: 'true or false: wait for `collector approve` before uploading',
} as const;

/** Collector names (no underscores: they separate file-name parts); collectors.yaml uses the same rule. */
export const COLLECTOR_NAME = /^[A-Za-z0-9][A-Za-z0-9.-]{0,63}$/;
/** Temporal task-queue names as this tool accepts them: printable, no spaces, bounded. */
export const TASK_QUEUE = /^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,199}$/;
/** A recipe is a collector definition: kilobytes. Larger inputs only bloat history. */
export const MAX_RECIPE_JSON = 64 * 1024;
const EXAMPLE = 'e.g. {"collector": "athena-prod"}';

export type ParsedInput = { ok: true; input: CollectInput } | { ok: false; message: string };

/** `"abc…" (1048576 characters)`: enough to recognise a value, never the whole of a huge one. */
export function preview(value: unknown, max = 60): string {
  let text: string;
  try {
    text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  if (text.length <= max) return text;
  const length = typeof value === 'string' ? value.length : text.length;
  return `${text.slice(0, max)}… (${length} characters)`;
}

const typeOf = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'string' ? 'the string' : typeof v;

export function parseCollectInput(raw: unknown): ParsedInput {
  const fail = (message: string): ParsedInput => ({ ok: false, message });
  if (raw === undefined || raw === null) return fail(`input: missing; start the run with an input object, ${EXAMPLE}`);
  if (typeof raw !== 'object' || Array.isArray(raw))
    return fail(`input: must be an object, ${EXAMPLE}; got ${typeOf(raw)} ${preview(raw)}`);
  const obj = raw as Record<string, unknown>;
  const known = Object.keys(COLLECT_INPUT_KEYS);
  const unknown = Object.keys(obj).filter((k) => !known.includes(k));
  if (unknown.length) {
    const first = unknown[0]!;
    const hint = known.find((k) => k.toLowerCase() === first.replace(/[_-]/g, '').toLowerCase());
    return fail(
      `input.${preview(first, 40).slice(1, -1)}: unknown key${hint ? ` (did you mean "${hint}"?)` : ''}; the input may have only ${known.join(', ')}`,
    );
  }
  const input: CollectInput = {};
  for (const key of ['dryRun', 'requireApproval'] as const) {
    if (obj[key] === undefined) continue;
    if (typeof obj[key] !== 'boolean')
      return fail(`input.${key}: must be true or false (a JSON boolean), got ${typeOf(obj[key])} ${preview(obj[key])}`);
    input[key] = obj[key];
  }
  if (obj.executor !== undefined) {
    if (typeof obj.executor !== 'string' || !TASK_QUEUE.test(obj.executor)) {
      return fail(
        `input.executor: must be a task queue name (letters, digits and . _ : @ / -, at most 200), got ${typeOf(obj.executor)} ${preview(obj.executor)}`,
      );
    }
    input.executor = obj.executor;
  }
  if (obj.collector !== undefined && obj.recipe !== undefined) return fail('input: give "collector" or "recipe", not both');
  if (obj.collector !== undefined) {
    if (typeof obj.collector !== 'string' || !COLLECTOR_NAME.test(obj.collector)) {
      return fail(
        `input.collector: must be a collector name (1-64 letters, digits, dots or dashes), got ${typeOf(obj.collector)} ${preview(obj.collector)}`,
      );
    }
    input.collector = obj.collector;
  } else if (obj.recipe !== undefined) {
    if (!obj.recipe || typeof obj.recipe !== 'object' || Array.isArray(obj.recipe)) {
      return fail(`input.recipe: must be an object (a collector definition), got ${typeOf(obj.recipe)} ${preview(obj.recipe)}`);
    }
    const size = JSON.stringify(obj.recipe).length;
    if (size > MAX_RECIPE_JSON) return fail(`input.recipe: ${size} characters of JSON; a recipe may have at most ${MAX_RECIPE_JSON}`);
    input.recipe = obj.recipe as Record<string, unknown>;
  } else {
    return fail(`input: "collector" (a name from collectors.yaml) or "recipe" is required, ${EXAMPLE}`);
  }
  return { ok: true, input };
}
