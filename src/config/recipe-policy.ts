/**
 * The worker-side policy for inline recipes: the `recipes:` block of collectors.yaml.
 *
 * A recipe arrives in a workflow input, so it is written by whoever can start a workflow in the
 * namespace, not by the worker's operator. It gets nothing by default: recipes are off, and when the
 * operator turns them on, a recipe may resolve only the secret references, reach only the endpoints,
 * assume only the roles and write only under the directories this block grants. Every refusal names the
 * recipe field and the rule, so the operator knows which line to add (or not).
 */
import { realpathSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { z } from 'zod';
import type { Target } from '../contracts/plugin';
import { preview } from '../run/collect-input';

/** Collector names of recipes live under this prefix: no recipe can use a configured collector's state. */
export const RECIPE_PREFIX = 'recipe.';

const pattern = () => z.string().min(1).max(512);

export const recipePolicySchema = z
  .object({
    /** Off by default: `{"recipe": ...}` inputs are refused. */
    enabled: z.boolean().default(false),
    /** Secret references a recipe may resolve, as written inside `${...}`: `RECIPE_*`, `aws-sm:recipes/*`. */
    secrets: z.array(pattern()).default([]),
    /** Hosts (`host`, `host:port`, `*.example.com`) and S3 buckets (`s3://bucket`) a recipe may reach. */
    endpoints: z.array(pattern()).default([]),
    /** IAM role ARNs a recipe may assume. */
    roles: z.array(pattern()).default([]),
    /** Directories a recipe may write under (filesystem landing, file HWM). */
    paths: z.array(z.string().refine((p) => isAbsolute(p), { message: 'must be an absolute path' })).default([]),
    /** May a recipe act as the worker itself (AWS default credential chain, Azure managed identity)? */
    ambientCredentials: z.boolean().default(false),
  })
  .strict();

export type RecipePolicy = z.output<typeof recipePolicySchema>;

export const RECIPES_OFF: RecipePolicy = recipePolicySchema.parse({});

/**
 * For a client checking a recipe's shape before sending it to a worker whose policy it cannot see (the
 * worker applies its own). Grants everything: never give it to a runtime.
 */
export const RECIPE_SHAPE_ONLY: RecipePolicy = {
  enabled: true,
  secrets: ['*'],
  endpoints: ['*'],
  roles: ['*'],
  paths: ['/'],
  ambientCredentials: true,
};

/** `*` matches any run of characters; everything else is literal. */
export function globMatcher(patterns: readonly string[], options: { ignoreCase?: boolean } = {}): (value: string) => boolean {
  const res = patterns.map(
    (p) =>
      new RegExp(
        `^${p
          .split('*')
          .map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, '\\$&'))
          .join('.*')}$`,
        options.ignoreCase ? 'i' : '',
      ),
  );
  return (value) => res.some((re) => re.test(value));
}

const shown = (v: string) => preview(v, 120);
const listed = (items: readonly string[]) => (items.length ? `[${items.map((i) => shown(i)).join(', ')}]` : 'none');

/** The refusal when recipes are off; listed with the recipe's other problems, so one try shows them all. */
export function recipesOffIssue(policy: RecipePolicy): string[] {
  return policy.enabled
    ? []
    : [
        "input.recipe: inline recipes are off on this worker (rule recipes.enabled in its collectors.yaml); start a collector by name, or ask the worker's operator to enable and scope recipes",
      ];
}

/** Every `${REF}` of a recipe with the field it sits in, refused unless `recipes.secrets` grants it. */
export function recipeSecretIssues(policy: RecipePolicy, refs: Iterable<{ field: string; ref: string }>): string[] {
  const granted = globMatcher(policy.secrets);
  const issues: string[] = [];
  for (const { field, ref } of refs) {
    if (!granted(ref)) {
      issues.push(
        `${field}: \${${ref.slice(0, 120)}} is not granted to recipes (rule recipes.secrets: ${listed(policy.secrets)}); a recipe resolves only the references the worker's operator lists there`,
      );
    }
  }
  return issues;
}

/** The refusals for what a recipe's resolved plugin config would reach; empty when all is granted. */
export function recipeTargetIssues(policy: RecipePolicy, targets: readonly Target[], base: string): string[] {
  const endpoints = globMatcher(policy.endpoints, { ignoreCase: true });
  const roles = globMatcher(policy.roles);
  const issues: string[] = [];
  for (const t of targets) {
    const at = `${base}.${t.field}`;
    switch (t.kind) {
      case 'endpoint':
        if (!endpoints(t.value))
          issues.push(
            `${at}: ${shown(t.value)} is not an endpoint granted to recipes (rule recipes.endpoints: ${listed(policy.endpoints)})`,
          );
        break;
      case 'role':
        if (!roles(t.value))
          issues.push(`${at}: role ${shown(t.value)} is not granted to recipes (rule recipes.roles: ${listed(policy.roles)})`);
        break;
      case 'path':
        if (!policy.paths.some((root) => isInside(root, t.value))) {
          issues.push(`${at}: ${shown(t.value)} is not under a directory granted to recipes (rule recipes.paths: ${listed(policy.paths)})`);
        }
        break;
      case 'ambient-credentials':
        if (!policy.ambientCredentials) {
          issues.push(
            `${at}: without credentials of its own the recipe would act as the worker (${t.value}); give it granted secret references, or set recipes.ambientCredentials: true`,
          );
        }
        break;
    }
  }
  return issues;
}

/**
 * True when `path` is `root` or below it, also after symlinks: both sides are compared by the real path
 * of their deepest existing ancestor, so `root/link-to-etc/x` and `root/../etc` are outside.
 */
export function isInside(root: string, path: string): boolean {
  if (!isAbsolute(path)) return false;
  const r = realOf(resolve(root));
  const p = realOf(resolve(path));
  const rel = relative(r, p);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

function realOf(path: string): string {
  const rest: string[] = [];
  let at = path;
  for (;;) {
    try {
      return resolve(realpathSync(at), ...rest.reverse());
    } catch {
      const parent = dirname(at);
      if (parent === at) return path;
      rest.push(at.slice(parent.length).replace(/^[/\\]/, ''));
      at = parent;
    }
  }
}
