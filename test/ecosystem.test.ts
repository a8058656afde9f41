/**
 * Fitting the Temporal ecosystem: the `temporal config` profile file is honoured by the CLI (a real dev
 * server, reached only through the file), and the Temporal Worker Controller's injected variables turn on
 * Worker Deployment versioning.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ROOT } from './support/processes';
import { startTemporal, type TestTemporal } from './support/temporal';
import { temporalConfigured } from '../src/temporal/connection';
import { deploymentSettingsFromEnv, workerDeploymentOptions } from '../src/observability/versioning';
import { ConfigError } from '../src/contracts/errors';

/** The environment without anything that names a Temporal cluster or moves the config directory. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TEMPORAL_') && k !== 'XDG_CONFIG_HOME') env[k] = v;
  // The pinned CLI for an embedded server, should the fix regress: the test must fail, not error.
  if (process.env.TEMPORAL_CLI_PATH) env.TEMPORAL_CLI_PATH = process.env.TEMPORAL_CLI_PATH;
  return { ...env, ...extra };
}

function collector(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [join(ROOT, 'bin', 'collector.js'), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the Temporal config file (what `temporal config set` writes)', { timeout: 300_000 }, () => {
  let temporal: TestTemporal;
  const dir = mkdtempSync(join(tmpdir(), 'envconfig-'));
  const home = join(dir, 'home');
  const profileFile = join(home, '.config', 'temporalio', 'temporal.toml');

  before(async () => {
    temporal = await startTemporal();
    mkdirSync(join(home, '.config', 'temporalio'), { recursive: true });
    writeFileSync(profileFile, `[profile.default]\naddress = "${temporal.server.address}"\nnamespace = "default"\n`);
  });
  after(() => temporal.stop());

  it('a default profile with an address counts as configured; an empty TEMPORAL_ADDRESS or no file does not', () => {
    assert.equal(temporalConfigured({ HOME: home }), true);
    assert.equal(temporalConfigured({ HOME: home, TEMPORAL_ADDRESS: '' }), false, 'an empty variable overrides the file, as in the SDK');
    assert.equal(temporalConfigured({ HOME: join(dir, 'nobody') }), false);
    const noAddress = join(dir, 'no-address.toml');
    writeFileSync(noAddress, '[profile.default]\nnamespace = "default"\n');
    assert.equal(temporalConfigured({ HOME: join(dir, 'nobody'), TEMPORAL_CONFIG_FILE: noAddress }), true, 'an explicit file still counts');
    assert.equal(temporalConfigured({ TEMPORAL_ADDRESS: 'temporal:7233' }), true);
  });

  it('the CLI uses the default profile of ~/.config/temporalio/temporal.toml instead of an embedded server', async () => {
    const r = await collector(
      ['schedule', 'create', 'from-home-profile', '--every', '1h', '--config', join(dir, 'none.yaml'), '--state-dir', join(dir, 'state1')],
      cleanEnv({ HOME: home }),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /embedded dev server/);
    const d = await temporal.client.schedule.getHandle('from-home-profile').describe();
    assert.equal(d.spec.intervals?.[0]?.every, 3_600_000);
  });

  it('TEMPORAL_CONFIG_FILE points at another file', async () => {
    const file = join(dir, 'elsewhere.toml');
    writeFileSync(file, `[profile.default]\naddress = "${temporal.server.address}"\n`);
    const r = await collector(
      ['schedule', 'list', '--state-dir', join(dir, 'state2')],
      cleanEnv({ HOME: join(dir, 'nobody'), TEMPORAL_CONFIG_FILE: file }),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /embedded dev server/);
    assert.match(r.stdout, /^from-home-profile\tactive/m);
  });
});

describe('Worker Deployment versioning from the Temporal Worker Controller', () => {
  const options = (env: NodeJS.ProcessEnv) => workerDeploymentOptions(deploymentSettingsFromEnv(env));

  it('reads TEMPORAL_DEPLOYMENT_NAME and TEMPORAL_WORKER_BUILD_ID', () => {
    assert.deepEqual(options({ TEMPORAL_DEPLOYMENT_NAME: 'collectors/prod', TEMPORAL_WORKER_BUILD_ID: 'v1-5b7f' }), {
      useWorkerVersioning: true,
      version: { deploymentName: 'collectors/prod', buildId: 'v1-5b7f' },
      defaultVersioningBehavior: 'PINNED',
    });
  });

  it("the controller's build id beats the one baked into the image, which only names the build", () => {
    const v = options({ TEMPORAL_DEPLOYMENT_NAME: 'ctl', TEMPORAL_WORKER_BUILD_ID: 'ctl-build', COLLECTOR_BUILD_ID: 'abc123' });
    assert.deepEqual(v?.version, { deploymentName: 'ctl', buildId: 'ctl-build' });
    // Without an injected build id the image's is used.
    assert.deepEqual(options({ TEMPORAL_DEPLOYMENT_NAME: 'ctl', COLLECTOR_BUILD_ID: 'abc123' })?.version, {
      deploymentName: 'ctl',
      buildId: 'abc123',
    });
  });

  it('ours win when both are set', () => {
    const both = {
      COLLECTOR_DEPLOYMENT_NAME: 'ours',
      COLLECTOR_BUILD_ID: 'b-ours',
      TEMPORAL_DEPLOYMENT_NAME: 'theirs',
      TEMPORAL_WORKER_BUILD_ID: 'b-theirs',
    };
    assert.deepEqual(options(both)?.version, { deploymentName: 'ours', buildId: 'b-ours' });
    // Our name with the image's placeholder build id: the injected build id fills in.
    assert.deepEqual(options({ ...both, COLLECTOR_BUILD_ID: 'unknown' })?.version, { deploymentName: 'ours', buildId: 'b-theirs' });
    assert.equal(
      options({ COLLECTOR_VERSIONING_BEHAVIOR: 'auto-upgrade', TEMPORAL_DEPLOYMENT_NAME: 't', TEMPORAL_WORKER_BUILD_ID: 'b' })
        ?.defaultVersioningBehavior,
      'AUTO_UPGRADE',
    );
  });

  it('off without a deployment name; a controller name without any build id is refused', () => {
    assert.equal(options({ TEMPORAL_WORKER_BUILD_ID: 'b', COLLECTOR_BUILD_ID: 'abc' }), undefined);
    assert.throws(
      () => options({ TEMPORAL_DEPLOYMENT_NAME: 't', COLLECTOR_BUILD_ID: 'unknown' }),
      (e: unknown) => e instanceof ConfigError && /TEMPORAL_WORKER_BUILD_ID/.test(e.message),
    );
  });
});
