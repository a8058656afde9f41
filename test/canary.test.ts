/**
 * Proof by canary: full collections (local Athena -> Azurite and moto S3, HWMs in both) where every
 * secret is a unique canary value, provided through env vars, secret files and AWS Secrets Manager.
 * Afterwards every workflow history, the worker's and the CLI's logs, and every landed object are
 * scanned: no canary may appear. With payload encryption on, history holds no table name either.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GetObjectCommand, ListObjectsV2Command, S3Client, CreateBucketCommand } from '@aws-sdk/client-s3';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { parse as parseCsv } from 'csv-parse/sync';
import { startCollectorEnv, type CollectorEnv } from './support/collector-env';
import { startAzurite, type Azurite } from './support/azurite';
import { startMoto, type Moto } from './support/moto';
import { ROOT, type Started } from './support/processes';

const canary = (label: string) => `CANARY${label}${randomBytes(9).toString('hex')}`;

let env: CollectorEnv;
let azurite: Azurite;
let moto: Moto;
let worker: Started;
const canaries: Record<string, string> = {};
const cliOutput: string[] = [];
const secretDir = () => join(env.root, 'secrets');

function cli(args: string[], extraEnv: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [join(ROOT, 'bin', 'collector.js'), ...args], {
      env: { ...process.env, ...extraEnv, TEMPORAL_ADDRESS: env.temporal.server.address },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('exit', (code) => {
      cliOutput.push(out);
      resolve({ code, out });
    });
  });
}

async function allHistories(): Promise<string> {
  let text = '';
  for await (const wf of env.temporal.client.workflow.list()) {
    const history = await env.temporal.client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
    text += JSON.stringify(history);
    // Payloads are base64 in the JSON: decode every data field too, so an encoded canary is found.
    for (const m of text.matchAll(/"data":"([A-Za-z0-9+/=]+)"/g)) text += Buffer.from(m[1]!, 'base64').toString('latin1');
  }
  return text;
}

async function landedObjects(): Promise<string> {
  let text = '';
  for await (const blob of azurite.service.getContainerClient('landing').listBlobsFlat()) {
    text +=
      blob.name + (await azurite.service.getContainerClient('landing').getBlobClient(blob.name).downloadToBuffer()).toString('latin1');
  }
  const s3 = new S3Client({ endpoint: moto.endpoint, region: moto.region, forcePathStyle: true, credentials: moto.credentials });
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'landing' }));
  for (const o of listed.Contents ?? []) {
    const body = await s3.send(new GetObjectCommand({ Bucket: 'landing', Key: o.Key! }));
    text += o.Key! + Buffer.from(await body.Body!.transformToByteArray()).toString('latin1');
  }
  return text;
}

function assertNoCanary(where: string, text: string): void {
  for (const [name, value] of Object.entries(canaries)) {
    assert.ok(!text.includes(value), `canary ${name} found in ${where}`);
  }
}

describe('no secret leaves the worker (canary)', { timeout: 600_000 }, () => {
  before(async () => {
    env = await startCollectorEnv();
    [azurite, moto] = await Promise.all([startAzurite({ inMemory: true }), startMoto()]);
    await azurite.createContainer('landing');
    await azurite.createContainer('state');
    const s3 = new S3Client({ endpoint: moto.endpoint, region: moto.region, forcePathStyle: true, credentials: moto.credentials });
    for (const b of ['landing', 'state']) await s3.send(new CreateBucketCommand({ Bucket: b }));
    // Every secret is a unique value; moto and the local Athena accept any key, so canaries work as credentials.
    Object.assign(canaries, {
      athenaKey: canary('AK'),
      athenaSecret: canary('SK'),
      s3Key: canary('S3K'),
      s3Secret: canary('S3S'),
      smSecret: canary('SM'),
    });
    canaries.sas = azurite.containerSas('landing', 'cw');
    canaries.sasSig = new URLSearchParams(canaries.sas).get('sig')!;
    canaries.stateSas = azurite.containerSas('state', 'rcwd');
    mkdirSync(secretDir(), { recursive: true });
    writeFileSync(join(secretDir(), 'landing-sas'), `${canaries.sas}\n`);
    writeFileSync(join(secretDir(), 'state-sas'), canaries.stateSas);
    writeFileSync(join(secretDir(), 's3-secret'), canaries.s3Secret);
    const sm = new SecretsManagerClient({ endpoint: moto.endpoint, region: moto.region, credentials: moto.credentials });
    await sm.send(
      new CreateSecretCommand({
        Name: 'prod/athena',
        SecretString: JSON.stringify({ secret: canaries.smSecret, key: canaries.athenaKey }),
      }),
    );
    const athenaSource = { accessKeyId: '${aws-sm:prod/athena#key}', secretAccessKey: '${aws-sm:prod/athena#secret}' };
    env.writeConfig({
      'canary-azure': {
        source: athenaSource,
        landing: {
          type: 'azure-blob',
          serviceUrl: azurite.serviceUrl,
          container: 'landing',
          path: 'lz/athena',
          sasToken: '${file:landing-sas}',
        },
        hwm: { type: 'azure-blob', serviceUrl: azurite.serviceUrl, container: 'state', path: 'hwm', sasToken: '${state-sas}' },
      },
      'canary-s3': {
        source: { accessKeyId: '${CANARY_ATHENA_KEY}', secretAccessKey: '${CANARY_ATHENA_SECRET}' },
        landing: {
          type: 's3',
          bucket: 'landing',
          prefix: 'lz/athena',
          region: moto.region,
          endpoint: moto.endpoint,
          forcePathStyle: true,
          accessKeyId: '${CANARY_S3_KEY}',
          secretAccessKey: '${s3-secret}',
        },
        hwm: {
          type: 's3',
          bucket: 'state',
          prefix: 'hwm',
          region: moto.region,
          endpoint: moto.endpoint,
          forcePathStyle: true,
          accessKeyId: '${CANARY_S3_KEY}',
          secretAccessKey: '${s3-secret}',
        },
      },
      // A tampered SAS: the run must fail without the signature (or the good one) in any failure message.
      'canary-bad-sas': {
        landing: { type: 'azure-blob', serviceUrl: azurite.serviceUrl, container: 'landing', path: 'lz/bad', sasToken: '${BAD_SAS}' },
      },
    });
  });
  after(async () => {
    await worker?.stop();
    await env?.stop();
    await azurite?.stop();
    await moto?.stop();
  });

  const workerEnv = () => ({
    COLLECTOR_SECRET_DIR: secretDir(),
    CANARY_ATHENA_KEY: canaries.athenaKey,
    CANARY_ATHENA_SECRET: canaries.athenaSecret,
    CANARY_S3_KEY: canaries.s3Key,
    BAD_SAS: canaries.sas!.replace(/sig=[^&]+/, `sig=${encodeURIComponent(Buffer.from(canary('TAMPER')).toString('base64'))}`),
    AWS_ENDPOINT_URL_SECRETS_MANAGER: moto.endpoint,
    AWS_REGION: moto.region,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    COLLECTOR_LOG_LEVEL: 'debug',
  });

  it('runs land in Azure Blob and S3 with canary credentials from env, files and Secrets Manager', async () => {
    worker = await env.childWorker(['collectors'], 'canary-host', workerEnv());
    canaries.badSig = new URLSearchParams(workerEnv().BAD_SAS).get('sig')!;
    for (const name of ['canary-azure', 'canary-s3']) {
      const r = await cli(['run', name, '--config', env.configPath, '--state-dir', env.stateDir], {});
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, new RegExp(`${name}: completed`));
    }
    const bad = await cli(['run', 'canary-bad-sas', '--config', env.configPath, '--state-dir', env.stateDir], {});
    assert.equal(bad.code, 1, bad.out);
    assert.match(bad.out, /AuthError/);
    // The worker's audit line names the CLI as the starter.
    assert.match(worker.output(), /"startedBy":\{"origin":"collector-cli","identity":"collector-cli [^"]+@[^"]+ pid \d+"\}/);
    const landed = await landedObjects();
    assert.match(landed, /lz\/athena\/canary-azure_metadata_\d{8}T\d{6}Z\.csv/);
    assert.match(landed, /lz\/athena\/canary-s3_manifest_\d{8}T\d{6}Z\.json/);
  });

  it('finds no canary in any workflow history, log, extract or landed object', async () => {
    assertNoCanary('workflow histories', await allHistories());
    assertNoCanary('the worker log', worker.output());
    assertNoCanary('the CLI output', cliOutput.join('\n'));
    assertNoCanary('the landing zones', await landedObjects());
    // The worker really logged (so the scan above read something), at debug level.
    assert.ok(worker.output().split('\n').length > 20);
  });

  it('with payload encryption on, history holds no extracted table name', async () => {
    await worker.stop();
    const keyFile = join(secretDir(), 'codec-key');
    writeFileSync(keyFile, randomBytes(32).toString('base64'));
    const config = readFileSync(env.configPath, 'utf8');
    writeFileSync(env.configPath, `encryption:\n  keys:\n    - id: k1\n      key: \${file:codec-key}\n${config}`);
    worker = await env.childWorker(['collectors'], 'canary-host', workerEnv());
    const r = await cli(['run', 'canary-s3', '--config', env.configPath, '--state-dir', env.stateDir, '--workflow-id', 'encrypted-run'], {
      COLLECTOR_SECRET_DIR: secretDir(),
    });
    assert.equal(r.code, 0, r.out);
    // Table names as extracted (from the landed metadata file of this run).
    const s3 = new S3Client({ endpoint: moto.endpoint, region: moto.region, forcePathStyle: true, credentials: moto.credentials });
    // The CLI decrypts with the same keys and prints the summary; our plain test client could not.
    const metadataName = /canary-s3_metadata_\d{8}T\d{6}Z\.csv/.exec(r.out)![0];
    const body = await s3.send(new GetObjectCommand({ Bucket: 'landing', Key: `lz/athena/${metadataName}` }));
    const rows = parseCsv(Buffer.from(await body.Body!.transformToByteArray()), { columns: true }) as { table_name: string }[];
    const tables = [...new Set(rows.map((r) => r.table_name))].filter((t) => t.length >= 6);
    assert.ok(tables.length > 10);
    const history = JSON.stringify(await env.temporal.client.workflow.getHandle('encrypted-run').fetchHistory());
    let decoded = history;
    for (const m of history.matchAll(/"data":"([A-Za-z0-9+/=]+)"/g)) decoded += Buffer.from(m[1]!, 'base64').toString('latin1');
    for (const t of tables) assert.ok(!decoded.includes(t), `table name ${t} visible in encrypted history`);
    assert.ok(!decoded.includes(metadataName), 'file names are inside encrypted payloads too');
    assert.match(history, /YmluYXJ5L2VuY3J5cHRlZA==/, 'payloads carry the binary/encrypted encoding');
    assertNoCanary('encrypted history', decoded);
  });
});
