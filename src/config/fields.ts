/**
 * Zod building blocks shared by the collector schema and every plugin's config schema.
 */
import { z } from 'zod';
import { parseDuration } from '../run/duration';
// One definition shared with the workflow's input schema (which must stay free of zod).
import { COLLECTOR_NAME, TASK_QUEUE } from '../run/collect-input';

export { COLLECTOR_NAME };

/** A whole-value secret reference: `${NAME}`, `${file:name}`, `${aws-sm:prod/athena#password}`. */
export const SECRET_REF = /^\$\{[^${}\s]+\}$/;

/** `${REF}` anywhere in a string; the body has no `$`, braces or whitespace. */
export const REF_IN_TEXT = /\$\{([^${}\s]+)\}/g;

/** Every `${REF}` body in the strings of `value`, with the dotted path of the field it sits in. */
export function secretRefFields(value: unknown, base: string): { field: string; ref: string }[] {
  const found: { field: string; ref: string }[] = [];
  const walk = (v: unknown, at: string): void => {
    if (typeof v === 'string') for (const m of v.matchAll(REF_IN_TEXT)) found.push({ field: at, ref: m[1]! });
    else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${at}.${i}`));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, `${at}.${k.slice(0, 64)}`);
  };
  walk(value, base);
  return found;
}

/** Field names whose values are secrets: plain values there are refused (they would reach history). */
export const SECRET_FIELD = /(password|secret|token|accountkey|connectionstring|apikey|privatekey|credential)/i;

export const secretRef = () =>
  z.string().regex(SECRET_REF, { message: 'must be a secret reference such as ${MY_SECRET}, not a plain value' });

export const duration = () =>
  z.string().refine((s) => parseDuration(s) !== undefined, {
    message: 'must be a duration such as 90s, 5m, 6h, 7d or 1h30m',
  });

/** A regular expression given as text, checked to compile. */
export const regexText = () =>
  z.string().superRefine((s, ctx) => {
    try {
      new RegExp(s);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: `invalid regular expression: ${(e as Error).message}` });
    }
  });

/** Temporal task-queue names: printable, no spaces, bounded. */
export const taskQueueName = () =>
  z.string().regex(TASK_QUEUE, {
    message: 'must be a task queue name: letters, digits and . _ : @ / -, at most 200 characters',
  });

export const collectorName = () =>
  z.string().regex(COLLECTOR_NAME, {
    message:
      'must be 1-64 letters, digits, dots or dashes, starting with a letter or digit (no underscores: they separate file-name parts)',
  });
