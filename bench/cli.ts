/**
 * How long the `collector` command takes before it does anything: `--version`, `--help` and
 * `validate-config` (a small collectors file), each as a user runs it (bin/collector.js, a new process),
 * median of a few runs, next to its target (issue 16). Figures only: tests never assert durations.
 *
 *   node --import tsx bench/cli.ts [--repeat 5]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const at = process.argv.indexOf('--repeat');
const repeat = at > 0 ? Number(process.argv[at + 1]) : 5;
if (!Number.isInteger(repeat) || repeat < 1) throw new Error('--repeat must be a positive integer');

const bin = join(__dirname, '..', 'bin', 'collector.js');
const dir = mkdtempSync(join(tmpdir(), 'bench-cli-'));
const config = join(dir, 'collectors.yaml');
writeFileSync(
  config,
  [
    'collectors:',
    '  example:',
    '    source: { type: athena, region: us-east-1 }',
    `    landing: { type: filesystem, path: ${JSON.stringify(join(dir, 'landing'))} }`,
    '',
  ].join('\n'),
);

const cases: [string, string[], number][] = [
  ['--version', ['--version'], 300],
  ['--help', ['--help'], 600],
  ['validate-config', ['validate-config', '--config', config], 600],
];

function once(args: string[]): number {
  const t0 = process.hrtime.bigint();
  // TMPDIR: a tsx cache of the bench's own, so the figures are those of a fresh checkout after one command.
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, TEMPORAL_ADDRESS: '', TMPDIR: dir } });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`collector ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

try {
  // One warm-up run each: tsx's compile cache in a checkout, the file system cache everywhere.
  for (const [, args] of cases) once(args);
  // bin/collector.js re-runs itself on the pinned Node 22 where this node is older: that hop is counted.
  process.stdout.write(`collector CLI start-up, wall time, median of ${repeat} (launched with node ${process.version})\n`);
  for (const [name, args, target] of cases) {
    const ms = median(Array.from({ length: repeat }, () => once(args)));
    process.stdout.write(`${name.padEnd(18)} ${ms.toFixed(0).padStart(6)} ms   target < ${target} ms   ${ms < target ? 'ok' : 'over'}\n`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
