/**
 * The bad-input corpus: every case gets a clear error naming the field or reference (CLI exit 2, or a
 * non-retryable workflow failure), nothing is uploaded and the HWM does not move.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ActivityFailure, WorkflowFailedError } from '@temporalio/client';
import { failureMessage } from '../src/cli/run';
import { startCollectorEnv, type CollectorEnv } from './support/collector-env';
import { startAzurite, type Azurite } from './support/azurite';
import { ROOT } from './support/processes';

function collector(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [join(ROOT, 'bin', 'collector.js'), ...args], {
      env: { ...process.env, TEMPORAL_ADDRESS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('exit', (code) => resolve({ code, out }));
  });
}

const ok = (extra = '', source = '') =>
  `collectors:\n  c1:\n    source: {type: athena, region: eu-west-1${source}}\n    landing: {type: filesystem, path: /tmp}\n${extra}`;

// [case, collectors.yaml text, what the error must say]
const CONFIG_CASES: [string, string, RegExp][] = [
  ['malformed YAML', 'collectors:\n  c1: [unclosed\n', /line \d+: /],
  ['a tab-indented block', 'collectors:\n\tc1: {}\n', /line \d+: /],
  ['duplicate keys', `${ok()}  c1:\n    source: {type: athena}\n`, /line \d+: .*[Mm]ap keys must be unique/],
  ['a list at the top', '- collectors\n', /\(root\): Invalid input: expected object/],
  ['no collectors map', 'version: 1\n', /collectors: required/],
  [
    'wrong type: boolean as text',
    ok('    options: {compress: "yes"}\n'),
    /collectors\.c1\.options\.compress: Invalid input: expected boolean/,
  ],
  [
    'wrong type: number as text',
    ok('', ', maxConcurrency: four'),
    /collectors\.c1\.source\.maxConcurrency: Invalid input: expected number/,
  ],
  [
    'unknown source type',
    'collectors:\n  c1:\n    source: {type: oracle}\n    landing: {type: filesystem, path: /tmp}\n',
    /collectors\.c1\.source\.type: unknown source type "oracle" \(known: athena, postgres\)/,
  ],
  [
    'unknown landing type',
    'collectors:\n  c1:\n    source: {type: athena, region: eu-west-1}\n    landing: {type: ftp}\n',
    /collectors\.c1\.landing\.type: unknown landing type "ftp" \(known: filesystem, azure-blob, s3\)/,
  ],
  ['unknown HWM store type', ok('    hwm: {type: redis}\n'), /collectors\.c1\.hwm\.type: unknown hwm type "redis"/],
  [
    'plaintext AWS secret inline',
    ok('', ', accessKeyId: AKIAEXAMPLE, secretAccessKey: wJalrXUtnFEMI'),
    /collectors\.c1\.source\.secretAccessKey: holds a plain value/,
  ],
  [
    'plaintext SAS token inline',
    'collectors:\n  c1:\n    source: {type: athena, region: eu-west-1}\n    landing: {type: azure-blob, account: acct, container: c, path: p, sasToken: "sv=2024&sig=abc"}\n',
    /collectors\.c1\.landing\.sasToken: holds a plain value/,
  ],
  [
    'a SAS token pasted into serviceUrl',
    'collectors:\n  c1:\n    source: {type: athena, region: eu-west-1}\n    landing: {type: azure-blob, serviceUrl: "https://acct.blob.core.windows.net/?sv=2024&sig=abc", container: c, path: p, sasToken: "${SAS}"}\n',
    /collectors\.c1\.landing\.serviceUrl: must not carry credentials or a query string/,
  ],
  [
    'plaintext connection string inline',
    'collectors:\n  c1:\n    source: {type: athena, region: eu-west-1}\n    landing: {type: azure-blob, container: c, path: p, connectionString: "AccountName=a;AccountKey=k"}\n',
    /collectors\.c1\.landing\.connectionString: holds a plain value/,
  ],
  [
    'invalid include regex',
    ok('', ', databases: {include: ["sales_(["]}'),
    /collectors\.c1\.source\.databases\.include\.0: invalid regular expression/,
  ],
  ['malformed role ARN', ok('', ', roleArn: "arn:aws:iam::12:user/x"'), /collectors\.c1\.source\.roleArn: must be an IAM role ARN/],
  ['a NUL byte', `${ok()}\u0000`, /NUL byte/],
  ['a huge string', ok('', `, catalogs: ["${'x'.repeat(70_000)}"]`), /collectors\.c1\.source\.catalogs\.0: is 70000 characters long/],
  ['invalid duration', ok('    options: {safetyLag: soon}\n'), /collectors\.c1\.options\.safetyLag: must be a duration/],
  ['unknown option', ok('    options: {retries: 3}\n'), /collectors\.c1\.options: unknown field\(s\) "retries"/],
  [
    'underscore in a collector name',
    'collectors:\n  my_collector:\n    source: {type: athena, region: eu-west-1}\n    landing: {type: filesystem, path: /tmp}\n',
    /collectors\.my_collector: invalid name: .*no underscores/,
  ],
  [
    'cron and every together',
    ok('    schedule: {cron: "0 * * * *", every: 1h}\n'),
    /collectors\.c1\.schedule: give cron or every, not both/,
  ],
  ['a task queue name with spaces', ok('    executor: "my queue"\n'), /collectors\.c1\.executor: must be a task queue name/],
  ['no landing block', 'collectors:\n  c1:\n    source: {type: athena, region: eu-west-1}\n', /collectors\.c1\.landing: required/],
  [
    'no region',
    'collectors:\n  c1:\n    source: {type: athena}\n    landing: {type: filesystem, path: /tmp}\n',
    /collectors\.c1\.source\.region: required/,
  ],
  [
    'a malformed region',
    'collectors:\n  c1:\n    source: {type: athena, region: Frankfurt}\n    landing: {type: filesystem, path: /tmp}\n',
    /collectors\.c1\.source\.region: must be an AWS region/,
  ],
  [
    'Azure landing without container',
    'collectors:\n  c1:\n    source: {type: athena, region: eu-west-1}\n    landing: {type: azure-blob, account: acct, path: p, sasToken: "${SAS}"}\n',
    /collectors\.c1\.landing\.container: required/,
  ],
  [
    'an invalid S3 bucket name',
    'collectors:\n  c1:\n    source: {type: athena, region: eu-west-1}\n    landing: {type: s3, bucket: "My_Bucket", prefix: lz, region: eu-west-1}\n',
    /collectors\.c1\.landing\.bucket: must be an S3 bucket name/,
  ],
  ['an endpoint that is not a URL', ok('', ', endpoint: "localhost 4566"'), /collectors\.c1\.source\.endpoint: Invalid URL/],
  [
    'a plaintext encryption key',
    `encryption:\n  keys:\n    - {id: k1, key: "c2VjcmV0"}\n${ok()}`,
    /encryption\.keys\.0\.key: (must be a secret reference|holds a plain value)/,
  ],
  [
    'a YAML alias bomb',
    `a: &a ["x","x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n${ok()}`,
    /[Ee]xcessive alias count|alias/,
  ],
];

describe('bad input: collectors.yaml (CLI exit 2, every problem named by path)', { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'bad-'));
  for (const [name, text, expected] of CONFIG_CASES) {
    it(name, async () => {
      const file = join(dir, `${name.replace(/\W+/g, '-')}.yaml`);
      writeFileSync(file, text);
      const r = await collector(['validate-config', '--config', file]);
      assert.equal(r.code, 2, r.out);
      assert.match(r.out, expected);
      assert.ok(
        !r.out.includes('wJalrXUtnFEMI') && !r.out.includes('sig=abc') && !r.out.includes('AccountKey=k'),
        'secret values are never echoed',
      );
    });
  }

  it('run --recipe with a plaintext secret is refused before anything is sent to Temporal', async () => {
    const file = join(dir, 'recipe.yaml');
    writeFileSync(
      file,
      'source: {type: athena, region: eu-west-1, accessKeyId: "${K}", secretAccessKey: plain-recipe-secret}\nlanding: {type: filesystem, path: /tmp}\n',
    );
    // The refusal comes before any session: no embedded Temporal is even started.
    const r = await collector(['run', 'r1', '--recipe', file, '--config', join(dir, 'none.yaml')]);
    assert.equal(r.code, 2, r.out);
    assert.match(r.out, /recipe\.source\.secretAccessKey: holds a plain value/);
    assert.doesNotMatch(r.out, /plain-recipe-secret|Temporal: embedded/);
  });

  it('schedule create with an invalid time zone', async () => {
    const r = await collector([
      'schedule',
      'create',
      'c1',
      '--cron',
      '0 * * * *',
      '--timezone',
      'Mars/Olympus',
      '--config',
      join(dir, 'none.yaml'),
    ]);
    assert.equal(r.code, 2, r.out);
    assert.match(r.out, /--timezone: "Mars\/Olympus" is not an IANA time zone/);
  });

  it('schedule create with an invalid cron expression', async () => {
    const r = await collector(['schedule', 'create', 'c1', '--cron', 'every day', '--config', join(dir, 'none.yaml')]);
    assert.equal(r.code, 2, r.out);
    assert.match(r.out, /--cron: "every day" is not a cron expression/);
  });
});

describe('bad input at run time: non-retryable, nothing uploaded, HWM unchanged', { timeout: 300_000 }, () => {
  let env: CollectorEnv;
  let azurite: Azurite;
  let stopWorker: () => Promise<void>;
  before(async () => {
    env = await startCollectorEnv();
    azurite = await startAzurite({ inMemory: true });
    await azurite.createContainer('landing');
    const secrets = join(env.root, 'secrets');
    mkdirSync(secrets);
    writeFileSync(join(secrets, 'huge'), 'x'.repeat(2048));
    writeFileSync(join(env.root, 'outside'), 'not a secret of ours');
    symlinkSync(join(env.root, 'outside'), join(secrets, 'escape'));
    process.env.COLLECTOR_SECRET_DIR = secrets;
    process.env.COLLECTOR_SECRET_MAXLEN = '1024';
    process.env.EXPIRED_SAS = azurite.containerSas('landing', 'cw', new Date(Date.now() - 60_000));
    const azure = (sas: string) => ({
      type: 'azure-blob',
      serviceUrl: azurite.serviceUrl,
      container: 'landing',
      path: 'lz',
      sasToken: sas,
    });
    env.writeConfig({
      'missing-env': { source: { secretAccessKey: '${NOT_SET_ANYWHERE}' } },
      'missing-file': { source: { secretAccessKey: '${file:no-such-secret}' } },
      'too-long': { source: { secretAccessKey: '${file:huge}' } },
      'escaping-link': { source: { secretAccessKey: '${file:escape}' } },
      'unknown-provider': { source: { secretAccessKey: '${vault:prod/athena}' } },
      'expired-sas': { landing: azure('${EXPIRED_SAS}') },
    });
    stopWorker = (await env.inProcessWorker(['collectors'])).stop;
  });
  after(async () => {
    await stopWorker?.();
    await env?.stop();
    await azurite?.stop();
    delete process.env.COLLECTOR_SECRET_MAXLEN;
  });

  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['a reference to a missing env var', { collector: 'missing-env' }, /SecretError: .*\$\{NOT_SET_ANYWHERE\}/],
    ['a reference to a missing secret file', { collector: 'missing-file' }, /SecretError: .*\$\{file:no-such-secret\}/],
    ['an over-long secret file', { collector: 'too-long' }, /SecretError: .*\$\{file:huge\}.*(COLLECTOR_SECRET_MAXLEN|1024)/],
    ['a link escaping the secret directory', { collector: 'escaping-link' }, /SecretError: .*\$\{file:escape\}/],
    ['an unknown secret provider', { collector: 'unknown-provider' }, /SecretError: .*vault/],
    ['an expired SAS token', { collector: 'expired-sas' }, /AuthError: .*expired/i],
    ['an unknown collector', { collector: 'nope' }, /ConfigError: unknown collector "nope"/],
    [
      'a recipe with a plaintext secret',
      {
        recipe: {
          name: 'r1',
          source: { type: 'athena', region: 'us-east-1', accessKeyId: '${K}', secretAccessKey: 'plain-secret-value' },
          landing: { type: 'filesystem', path: '/tmp' },
        },
      },
      /ConfigError: [\s\S]*recipe\.source\.secretAccessKey: holds a plain value/,
    ],
    ['an input naming no collector', {}, /ConfigError: input: "collector" .* or "recipe" is required/],
  ];
  for (const [name, input, expected] of cases) {
    it(name, async () => {
      const before = env.landed();
      const id = `bad-${name.replace(/\W+/g, '-')}`;
      const h = await env.temporal.client.workflow.start('collect', { taskQueue: 'collectors', workflowId: id, args: [input] });
      await assert.rejects(h.result(), (e: unknown) => {
        assert.ok(e instanceof WorkflowFailedError);
        const msg = failureMessage(e);
        assert.match(msg, expected);
        assert.ok(!msg.includes('plain-secret-value') && !msg.includes('not a secret of ours'));
        if (e.cause instanceof ActivityFailure) assert.equal(e.cause.retryState, 'NON_RETRYABLE_FAILURE', 'not retried');
        return true;
      });
      assert.deepEqual(env.landed(), before, 'nothing uploaded');
      const collectorName = (input as { collector?: string }).collector;
      if (collectorName) assert.equal(env.hwm(collectorName), null, 'HWM unchanged');
    });
  }

  it('left nothing in the Azure landing zone', async () => {
    const names: string[] = [];
    for await (const b of azurite.service.getContainerClient('landing').listBlobsFlat()) names.push(b.name);
    assert.deepEqual(names, []);
    assert.deepEqual(readdirSync(env.landingDir), []);
  });
});
