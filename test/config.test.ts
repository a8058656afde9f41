import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { parseCollectorsText, parseRecipe } from '../src/config/load';
import { ConfigError } from '../src/contracts/errors';
import { PluginRegistry } from '../src/contracts/registry';
import type { SourcePlugin, LandingPlugin } from '../src/contracts/plugin';
import { secretRef } from '../src/config/fields';
import { recipePolicySchema } from '../src/config/recipe-policy';

// Narrow unit tests of the loader: tiny plugins whose schemas stand in for the real ones.
const source: SourcePlugin<{ type: 'fake'; region: string; secretAccessKey?: string }> = {
  type: 'fake',
  configSchema: z.object({ type: z.literal('fake'), region: z.string(), secretAccessKey: secretRef().optional() }).strict(),
  create() {
    throw new Error('not used');
  },
};
const landing: LandingPlugin<{ type: 'dir'; path: string }> = {
  type: 'dir',
  configSchema: z.object({ type: z.literal('dir'), path: z.string() }).strict(),
  create() {
    throw new Error('not used');
  },
};
const registry = new PluginRegistry().addSource(source).addLanding(landing);

function problems(text: string): string[] {
  try {
    parseCollectorsText(text, 'collectors.yaml', registry);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    return e.issues;
  }
  assert.fail('expected the config to be refused');
}

describe('collectors.yaml loading', () => {
  it('accepts a valid file and fills defaults', () => {
    const cfg = parseCollectorsText(
      'collectors:\n  athena-prod:\n    source: {type: fake, region: eu-west-1, secretAccessKey: "${AWS_SECRET}"}\n    landing: {type: dir, path: /tmp/x}\n',
      'collectors.yaml',
      registry,
    );
    const c = cfg.collectors.get('athena-prod')!;
    assert.equal(c.executor, 'collectors');
    assert.equal(c.options.safetyLag, '5m');
    assert.equal(c.options.compress, false);
    assert.equal(c.source.secretAccessKey, '${AWS_SECRET}');
  });

  it('lists every bad field by path, with "required" for missing ones', () => {
    const issues = problems(
      [
        'collectors:',
        '  athena-prod:',
        '    source: {type: fake}',
        '    landing: {type: dir, path: 3}',
        '    options: {safetyLag: soon, maxHostAttempts: 0, bogus: 1}',
        '  bad_name:',
        '    source: {type: nope}',
        '    landing: {type: dir, path: /x}',
      ].join('\n'),
    );
    const text = issues.join('\n');
    assert.match(text, /collectors\.athena-prod\.source\.region: required/);
    assert.match(text, /collectors\.athena-prod\.landing\.path: Invalid input: expected string/);
    assert.match(text, /collectors\.athena-prod\.options\.safetyLag: must be a duration/);
    assert.match(text, /collectors\.athena-prod\.options\.maxHostAttempts: Too small/);
    assert.match(text, /collectors\.athena-prod\.options: unknown field\(s\) "bogus"/);
    assert.match(text, /collectors\.bad_name: .*no underscores|collectors\.bad_name/);
  });

  it('names unknown plugin types and the known ones', () => {
    const issues = problems('collectors:\n  a:\n    source: {type: oracle}\n    landing: {type: ftp}\n');
    assert.ok(issues.includes('collectors.a.source.type: unknown source type "oracle" (known: fake)'), issues.join('\n'));
    assert.ok(issues.includes('collectors.a.landing.type: unknown landing type "ftp" (known: dir)'), issues.join('\n'));
  });

  it('refuses plain values in secret-bearing fields', () => {
    const issues = problems(
      'collectors:\n  a:\n    source: {type: fake, region: r, secretAccessKey: AKIAREALSECRET}\n    landing: {type: dir, path: /x}\n',
    );
    assert.ok(
      issues.some((i) => i.startsWith('collectors.a.source.secretAccessKey: holds a plain value')),
      issues.join('\n'),
    );
    assert.ok(!issues.join('\n').includes('AKIAREALSECRET'), 'the secret itself must not be echoed');
  });

  it('reports malformed YAML with a line number', () => {
    const issues = problems('collectors:\n  a: [unclosed\n');
    assert.match(issues[0]!, /^line \d+: /);
  });

  it('refuses NUL bytes and huge strings', () => {
    assert.throws(() => parseCollectorsText('collectors: {}\u0000', 'c.yaml', registry), /NUL byte/);
    const issues = problems(
      `collectors:\n  a:\n    source: {type: fake, region: "${'x'.repeat(70_000)}"}\n    landing: {type: dir, path: /x}\n`,
    );
    assert.ok(
      issues.some((i) => /collectors\.a\.source\.region: is 70000 characters long/.test(i)),
      issues.join('\n'),
    );
  });

  it('validates inline recipes the same way, under their own recipe. name', () => {
    const on = recipePolicySchema.parse({ enabled: true });
    assert.throws(
      () => parseRecipe({ name: 'r1', source: { type: 'fake' }, landing: { type: 'dir', path: '/x' } }, registry, on),
      (e: unknown) => e instanceof ConfigError && e.issues.includes('recipe.source.region: required'),
    );
    const ok = parseRecipe({ name: 'r1', source: { type: 'fake', region: 'x' }, landing: { type: 'dir', path: '/x' } }, registry, on);
    assert.equal(ok.name, 'recipe.r1');
    assert.equal(ok.origin, 'recipe');
  });

  it('refuses every recipe where the file does not enable them, and reserves the recipe. prefix', () => {
    const recipe = { name: 'r1', source: { type: 'fake', region: 'x' }, landing: { type: 'dir', path: '/x' } };
    assert.throws(() => parseRecipe(recipe, registry), /inline recipes are off on this worker \(rule recipes\.enabled/);
    const off = parseCollectorsText('collectors: {}\n', 'c.yaml', registry);
    assert.throws(() => parseRecipe(recipe, registry, off.recipes), /rule recipes\.enabled/);
    const issues = problems('collectors:\n  recipe.x:\n    source: {type: fake, region: r}\n    landing: {type: dir, path: /x}\n');
    assert.ok(
      issues.some((i) => /collectors\.recipe\.x: invalid name: names starting with "recipe\." are reserved/.test(i)),
      issues.join('\n'),
    );
  });

  it('a recipe may name only the secret references recipes.secrets grants, each refusal naming field and rule', () => {
    const policy = parseCollectorsText('recipes: {enabled: true, secrets: ["RECIPE_*"]}\ncollectors: {}\n', 'c.yaml', registry).recipes;
    const recipe = (ref: string) => ({
      name: 'r1',
      source: { type: 'fake', region: 'x', secretAccessKey: ref },
      landing: { type: 'dir', path: '/data/${HOME_DIR}' },
    });
    assert.equal(parseRecipe(recipe('${RECIPE_KEY}'), registry, { ...policy, secrets: ['RECIPE_*', 'HOME_DIR'] }).name, 'recipe.r1');
    assert.throws(
      () => parseRecipe(recipe('${WORKER_ONLY_SAS}'), registry, policy),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.issues.some((i) =>
          /^recipe\.source\.secretAccessKey: \$\{WORKER_ONLY_SAS\} is not granted to recipes \(rule recipes\.secrets: \["RECIPE_\*"\]\)/.test(
            i,
          ),
        ) &&
        e.issues.some((i) => /^recipe\.landing\.path: \$\{HOME_DIR\} is not granted/.test(i)),
    );
    for (const ref of ['${env:RECIPE_KEY}', '${file:RECIPE_KEY}', '${aws-sm:RECIPE_KEY}']) {
      assert.throws(
        () => parseRecipe(recipe(ref), registry, policy),
        /is not granted to recipes/,
        `${ref}: a provider prefix is part of what is granted`,
      );
    }
  });
});
