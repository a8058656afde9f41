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
  // tsx keeps each compiled file in its disk cache (os.tmpdir()/tsx-<uid>), so a command compiles only
  // what changed since the last one; see finish() for why the process must not end abruptly here.
  require('tsx/cjs');
  entry = require(join(root, 'src', 'cli', 'main.ts'));
} else {
  entry = require(join(root, 'dist', 'src', 'cli', 'main.js'));
}

/**
 * Ends with `code` once the event loop is empty rather than at once: tsx writes its cache files
 * asynchronously, and an immediate process.exit() cut those writes short (empty files), so the modules
 * compiled last (main.ts, the command's own) were compiled again by every command. Whatever a command
 * leaves open (a socket, a timer) gets a short grace, then the exit is forced as before.
 */
function finish(code) {
  process.exitCode = code;
  setTimeout(() => process.exit(code), 300).unref();
}

entry.main(process.argv.slice(2)).then(finish, (e) => {
  process.stderr.write(`error: ${e && e.message ? e.message : String(e)}\n`);
  finish(1);
});
