/**
 * The plugin as a customer installs it: `npm pack` of this repository, installed into a copy of
 * examples/plugin-worker (a separate project with its own node_modules), compiled there against the
 * package's own type declarations, and run as that project's Worker against a real Temporal server,
 * collecting from the local Athena endpoint into a directory.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { demoSeed, startAthenaLocal, type AthenaLocal } from '../tools/athena-local/index';
import { ROOT } from './support/processes';
import { startTemporal, type TestTemporal } from './support/temporal';

const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

describe('the installable plugin package (npm pack -> examples/plugin-worker)', { timeout: 900_000 }, () => {
  let work: string;
  let tarball: string;
  let project: string;
  let temporal: TestTemporal;
  let athena: AthenaLocal;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'collector-package-'));
    // prepack builds dist/ (tsc + the pre-bundled workflows) first, as `npm publish` would.
    const packed = execFileSync(NPM, ['pack', '--json', '--pack-destination', work], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const json = packed.slice(packed.indexOf('['));
    const [info] = JSON.parse(json) as { filename: string; files: { path: string }[] }[];
    tarball = join(work, info!.filename);
    project = join(work, 'plugin-worker');
    cpSync(join(ROOT, 'examples', 'plugin-worker'), project, { recursive: true, filter: (src) => !/node_modules|dist$/.test(src) });
    // Everything comes from the registry (or npm's cache) except this package, which comes from the tarball.
    const install = spawnSync(NPM, ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', tarball], {
      cwd: project,
      encoding: 'utf8',
    });
    assert.equal(install.status, 0, `npm install in the example failed:\n${install.stderr}`);
    temporal = await startTemporal();
    athena = await startAthenaLocal({ seed: demoSeed(new Date()), port: 0 });
  });

  after(async () => {
    await athena?.close();
    await temporal?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('ships compiled code, declarations and the workflow bundle; no sources, tests or dev tools; Temporal as peers', () => {
    const listed = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map((p) => p.replace(/^package\//, ''));
    for (const needed of [
      'package.json',
      'bin/collector.js',
      'dist/src/index.js',
      'dist/src/index.d.ts',
      'dist/workflow-bundle.js',
      'dist/workflows/index.js',
      'dist/package.json',
    ]) {
      assert.ok(listed.includes(needed), `${needed} is missing from the package`);
    }
    const unwanted = listed.filter(
      (p) =>
        /^(src|test|tools|scripts|examples|docker|bench)\//.test(p) ||
        p.startsWith('dist/test/') ||
        p.startsWith('dist/tools/') ||
        (p.endsWith('.ts') && !p.endsWith('.d.ts')),
    );
    assert.deepEqual(unwanted, []);
    const pkg = JSON.parse(readFileSync(join(project, 'node_modules', 'temporal-collectors', 'package.json'), 'utf8')) as {
      peerDependencies: Record<string, string>;
      dependencies: Record<string, string>;
    };
    assert.ok(Object.keys(pkg.peerDependencies).includes('@temporalio/worker'));
    assert.deepEqual(
      Object.keys(pkg.dependencies).filter((d) => d.startsWith('@temporalio/')),
      [],
      "@temporalio/* are peers, so the plugin uses the Worker's own SDK",
    );
    // One copy of the SDK in the example: the plugin and the Worker share it.
    assert.ok(!existsSync(join(project, 'node_modules', 'temporal-collectors', 'node_modules', '@temporalio')));
  });

  it('the example compiles against the package types and its Worker runs a collection with the plugin', async () => {
    const tsc = spawnSync(
      process.execPath,
      [join(project, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(project, 'tsconfig.json')],
      { encoding: 'utf8' },
    );
    assert.equal(tsc.status, 0, `the example does not compile:\n${tsc.stdout}${tsc.stderr}`);

    const landing = join(work, 'landing');
    mkdirSync(landing);
    const config = join(work, 'collectors.yaml');
    writeFileSync(
      config,
      stringify({
        collectors: {
          demo: {
            executor: 'collectors',
            source: {
              type: 'athena',
              region: 'us-east-1',
              endpoint: athena.endpoint,
              accessKeyId: '${EXAMPLE_AWS_KEY}',
              secretAccessKey: '${EXAMPLE_AWS_SECRET}',
            },
            landing: { type: 'filesystem', path: landing },
            options: { initialLookback: '2d', safetyLag: '0s' },
          },
        },
      }),
    );
    // Asynchronously: the local Athena endpoint answers from this process's event loop.
    const run = await promisify(execFile)(process.execPath, [join(project, 'dist', 'worker.js'), 'demo'], {
      cwd: project,
      encoding: 'utf8',
      timeout: 300_000,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        TEMPORAL_ADDRESS: temporal.server.address,
        TEMPORAL_NAMESPACE: temporal.server.namespace,
        COLLECTOR_CONFIG: config,
        COLLECTOR_STATE_DIR: join(work, 'state'),
        COLLECTOR_LOG_LEVEL: 'warn',
        EXAMPLE_AWS_KEY: 'example-key',
        EXAMPLE_AWS_SECRET: 'example-secret',
      },
    }).catch((e: Error & { stderr?: string }) => assert.fail(`the example worker failed: ${e.message}\n${e.stderr ?? ''}`));
    const summary = JSON.parse(run.stdout.trim().split('\n').pop()!) as { status: string; files: { kind: string; rows: number }[] };
    assert.equal(summary.status, 'completed');
    assert.ok(summary.files.find((f) => f.kind === 'metadata')!.rows > 0, 'metadata rows landed');
    const landed = readdirSync(landing).filter((f) => !f.startsWith('.'));
    assert.ok(
      landed.some((f) => /^demo_manifest_\d{8}T\d{6}Z\.json$/.test(f)),
      `a manifest in ${landed.join(', ')}`,
    );
    assert.equal(landed.length, summary.files.length + 1, 'every file of the summary, and the manifest, landed');
  });
});
