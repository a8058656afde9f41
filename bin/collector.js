#!/usr/bin/env node
'use strict';
// Runs the TypeScript sources through tsx in a checkout, the compiled dist/ in a built image.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const checkout = existsSync(join(root, 'src', 'cli', 'main.ts')) && !process.env.COLLECTOR_USE_DIST;
// In a checkout on a node older than 22, the pinned Node 22 that setup installed runs the command instead.
const runtime = join(root, 'scripts', 'node-runtime.js');
if (checkout && existsSync(runtime)) {
  const node22 = require(runtime);
  if (node22.rerunOnNode22({ install: false, tieToLauncher: true })) return;
  node22.exitWithLauncher();
}
let entry;
if (checkout) {
  require('tsx/cjs');
  entry = require(join(root, 'src', 'cli', 'main.ts'));
} else {
  entry = require(join(root, 'dist', 'src', 'cli', 'main.js'));
}
entry.main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`error: ${e && e.message ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
