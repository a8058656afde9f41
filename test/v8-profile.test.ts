import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { RUNTIME_V8_FLAGS, STARTUP_NODE_OPTIONS, V8_PROFILE_ENV, applyCollectorV8Profile } from '../src/v8-profile';

const root = join(__dirname, '..');

test('the lean profile applies its runtime flags unless turned off', () => {
  assert.deepEqual(applyCollectorV8Profile({}), RUNTIME_V8_FLAGS);
  assert.deepEqual(applyCollectorV8Profile({ [V8_PROFILE_ENV]: ' Lean ' }), RUNTIME_V8_FLAGS);
  assert.deepEqual(applyCollectorV8Profile({ [V8_PROFILE_ENV]: 'default' }), []);
});

test('an unknown profile name warns and keeps the lean profile', () => {
  const code = `require(${JSON.stringify(join(root, 'src', 'v8-profile.ts'))}).applyCollectorV8Profile({ ${V8_PROFILE_ENV}: 'fast' })`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', code], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /COLLECTOR_V8_PROFILE=fast is not "lean" or "default"; using "lean"/);
});

test('V8 accepts every flag of the profile (a misspelt flag is an error on the node command line)', () => {
  const r = spawnSync(process.execPath, [...RUNTIME_V8_FLAGS, STARTUP_NODE_OPTIONS, '-e', '0'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
});

test('the container image starts node with the startup part of the profile', () => {
  const dockerfile = readFileSync(join(root, 'docker', 'Dockerfile'), 'utf8');
  assert.match(dockerfile, new RegExp(`NODE_OPTIONS=${STARTUP_NODE_OPTIONS.replace(/[-=]/g, '\\$&')}\\b`));
});
