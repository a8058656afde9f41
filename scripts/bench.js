#!/usr/bin/env node
// Runs bench/<name>.ts on the Node the worker ships with (the pinned Node 22 where the machine's node is
// older, as scripts/test.js does), so figures are measured on the runtime that will run the collector.
// Usage: node scripts/bench.js <name> [bench arguments]
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const { join } = require('node:path');

if (require('./node-runtime').rerunOnNode22({ install: true })) return;

const [name, ...args] = process.argv.slice(2);
const file = join(__dirname, '..', 'bench', `${name ?? ''}.ts`);
if (!name || !existsSync(file)) {
  process.stderr.write(`usage: node scripts/bench.js <name> [args]; no bench/${name ?? '<name>'}.ts\n`);
  process.exit(2);
}
process.stderr.write(`[bench] node ${process.version}\n`);
const r = spawnSync(process.execPath, ['--import', 'tsx', file, ...args], { stdio: 'inherit', cwd: join(__dirname, '..') });
process.exit(r.status ?? 1);
