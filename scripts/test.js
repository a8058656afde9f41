#!/usr/bin/env node
// The whole test suite: strict typecheck, then every test file on node's test runner (through tsx).
// Test files that need servers (Temporal, Azurite, moto, the local Athena) start and stop them themselves.
// On a node older than 22 it re-runs itself on the pinned Node 22 (scripts/node-runtime.js), so the typecheck,
// every test and every process a test starts (process.execPath, `node` on the PATH) run on Node 22.
'use strict';
const { spawnSync } = require('node:child_process');
const { readdirSync } = require('node:fs');
const { join } = require('node:path');

if (require('./node-runtime').rerunOnNode22({ install: true })) return;

const root = join(__dirname, '..');
process.stderr.write(`[test] node ${process.version} (${process.execPath})\n`);
const only = process.argv.slice(2);
const step = (what, cmd, args) => {
  process.stderr.write(`\n[test] ${what}\n`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

step('typecheck (tsc --noEmit, strict)', process.execPath, [
  join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
  '-p',
  'tsconfig.json',
  '--noEmit',
]);
// Lint (typed rules: no floating promises, no Node built-ins in workflow code) on whole-suite runs only.
if (!only.length) step('lint (eslint)', process.execPath, [join(root, 'node_modules', 'eslint', 'bin', 'eslint.js'), '.']);
if (!only.length)
  step('format (prettier --check; `npm run format` fixes it)', process.execPath, [
    join(root, 'node_modules', 'prettier', 'bin', 'prettier.cjs'),
    '--check',
    '--log-level',
    'warn',
    '.',
  ]);
const files = only.length
  ? only
  : readdirSync(join(root, 'test'))
      .filter((f) => f.endsWith('.test.ts'))
      .sort()
      .map((f) => join('test', f));
step(`${files.length} test files`, process.execPath, [
  '--import',
  'tsx',
  '--test',
  '--test-reporter=spec',
  '--test-concurrency=2',
  ...files,
]);
// Deployment artefacts (Dockerfile, compose, Helm chart): static checks with pinned tools it installs.
if (!only.length)
  step('deployment checks (hadolint, compose schema, helm lint/template, kubeconform)', 'bash', [join(root, 'scripts', 'check-deploy.sh')]);
