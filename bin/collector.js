#!/usr/bin/env node
'use strict';
// Runs the TypeScript sources through tsx in a checkout, the compiled dist/ in a built image.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
// The AWS SDK warns on every start that releases after January 2027 need Node 22; the README says so once.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
let entry;
if (existsSync(join(root, 'src', 'cli', 'main.ts')) && !process.env.COLLECTOR_USE_DIST) {
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
