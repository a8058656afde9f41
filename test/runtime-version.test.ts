// The suite runs on the Node the project supports (package.json `engines`): on an older machine node,
// scripts/test.js re-runs itself on the pinned Node 22 of scripts/setup.js. A regression there shows here.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const ROOT = join(__dirname, '..');
const major = (version: string) => Number(version.replace(/^v/, '').split('.')[0]);
const engines = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).engines.node as string;
const required = Number(/^>=\s*(\d+)/.exec(engines)?.[1]);

describe('runtime', () => {
  it('package.json requires Node 22 or newer', () => {
    assert.ok(required >= 22, `engines.node is ${engines}`);
  });

  it(`the tests run on a Node that engines allows`, () => {
    assert.ok(major(process.versions.node) >= required, `running on ${process.version}, engines.node is ${engines}`);
  });

  it('child processes started with process.execPath, and `node` on the PATH, run on it too', () => {
    for (const cmd of [process.execPath, 'node']) {
      const r = spawnSync(cmd, ['-p', 'process.versions.node'], { encoding: 'utf8', shell: process.platform === 'win32' });
      assert.equal(r.status, 0, `${cmd}: ${r.stderr}`);
      assert.ok(major(r.stdout.trim()) >= required, `${cmd} is Node ${r.stdout.trim()}, engines.node is ${engines}`);
    }
  });
});
