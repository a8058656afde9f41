import type { z } from 'zod';

/** Formats zod issues as `path: message`, with `required` for missing fields, prefixed by `base`. */
export function formatIssues(error: z.ZodError, base: (string | number)[] = []): string[] {
  return error.issues.map((issue) => {
    const path = [...base, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))].join('.');
    let message = issue.message;
    if (issue.code === 'invalid_type' && /received undefined$/.test(message)) message = 'required';
    else if (issue.code === 'invalid_key' && issue.issues[0]) message = `invalid name: ${issue.issues[0].message}`;
    else if (issue.code === 'unrecognized_keys') message = `unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    return `${path || '(root)'}: ${message}`;
  });
}
