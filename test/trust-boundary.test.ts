/**
 * The trust boundary, attacked end to end: a real Temporal server, a real worker with its own
 * collectors.yaml and secrets, the local Athena endpoint through the real AWS SDK, and a capture server
 * on a loopback port playing the attacker. Whoever can start a workflow tries to reach the worker's
 * secrets, files and HWMs through inline recipes and odd inputs; zero requests may reach the capture
 * server, no worker secret may appear in any history, no file may appear outside the granted roots, and
 * the configured collector's HWM must not move.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ActivityFailure, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { failureMessage } from '../src/cli/run';
import type { RunSummary } from '../src/run/types';
import { startCollectorEnv, type CollectorEnv } from './support/collector-env';

const WORKER_ONLY_SAS = 'sv=2099-01-01&sp=racw&sig=WorkerOnlySignature0123456789abcdef';
const WORKER_FILE_SECRET = 'worker-file-secret-value-7f3a9c';

interface Capture {
  url: string;
  host: string;
  connections: number;
  received: string;
  close(): Promise<void>;
}

/** Counts every TCP connection and keeps every byte: an HTTP, HTTPS or any other client shows up. */
async function startCapture(): Promise<Capture> {
  const sockets = new Set<Socket>();
  const capture = { connections: 0, received: '' } as Capture;
  const server: Server = createServer((s) => {
    capture.connections++;
    sockets.add(s);
    s.on('data', (d: Buffer) => (capture.received += d.toString('latin1')));
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  capture.host = `127.0.0.1:${port}`;
  capture.url = `http://127.0.0.1:${port}`;
  capture.close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return capture;
}

let env: CollectorEnv;
let capture: Capture;
let stopWorker: () => Promise<void>;
let recipeRoot: string;
let outside: string;
let hwmBefore: string | null;
let landedBefore: string[];
const handles: WorkflowHandle[] = [];
let seq = 0;

const start = async (input: unknown, taskQueue = 'collectors') => {
  const h = await env.temporal.client.workflow.start('collect', { taskQueue, workflowId: `tb-${++seq}`, args: [input] });
  handles.push(h);
  return h;
};

/** The run must fail without retries, its message matching `expected`. */
async function refused(h: WorkflowHandle, expected: RegExp): Promise<string> {
  let message = '';
  await assert.rejects(h.result(), (e: unknown) => {
    assert.ok(e instanceof WorkflowFailedError, String(e));
    message = failureMessage(e);
    if (e.cause instanceof ActivityFailure) assert.equal(e.cause.retryState, 'NON_RETRYABLE_FAILURE', `not retried: ${message}`);
    return true;
  });
  assert.match(message, expected);
  return message;
}

const athenaSource = (extra: Record<string, unknown> = {}) => ({
  type: 'athena',
  region: 'us-east-1',
  endpoint: env.athena.endpoint,
  accessKeyId: '${RECIPE_AWS_KEY}',
  secretAccessKey: '${RECIPE_AWS_SECRET}',
  queryHistory: false,
  ...extra,
});
const recipe = (over: {
  source?: Record<string, unknown>;
  landing?: Record<string, unknown>;
  hwm?: Record<string, unknown>;
  name?: string;
}) => ({
  recipe: {
    name: over.name ?? 'attack',
    source: over.source ?? athenaSource(),
    landing: over.landing ?? { type: 'filesystem', path: recipeRoot },
    ...(over.hwm ? { hwm: over.hwm } : {}),
    options: { safetyLag: '0s', initialLookback: '1d' },
  },
});

const POLICY = () => ({
  recipes: {
    enabled: true,
    secrets: ['RECIPE_*'],
    endpoints: [new URL(env.athena.endpoint).host],
    paths: [recipeRoot],
  },
});

describe('the trust boundary: starting a workflow reaches no worker secret, file or HWM', { timeout: 600_000 }, () => {
  let misrouted: WorkflowHandle[] = [];

  before(async () => {
    env = await startCollectorEnv();
    capture = await startCapture();
    recipeRoot = join(env.root, 'recipes');
    outside = join(env.root, 'outside');
    mkdirSync(recipeRoot);
    mkdirSync(outside);
    symlinkSync(outside, join(recipeRoot, 'escape'));
    const secretDir = join(env.root, 'secrets');
    mkdirSync(secretDir);
    writeFileSync(join(secretDir, 'worker-file-secret'), WORKER_FILE_SECRET);
    process.env.COLLECTOR_SECRET_DIR = secretDir;
    process.env.WORKER_ONLY_SAS = WORKER_ONLY_SAS;
    process.env.RECIPE_AWS_KEY = process.env.E2E_AWS_KEY;
    process.env.RECIPE_AWS_SECRET = process.env.E2E_AWS_SECRET;
    process.env.RECIPE_SAS = 'sv=2099-01-01&sp=cw&sig=RecipeGrantedSignature';
    process.env.RECIPE_DIR = outside;
    process.env.RECIPE_CONN = `BlobEndpoint=${capture.url}/acct;SharedAccessSignature=sv=2099-01-01&sig=RecipeGrantedSignature`;
    env.writeConfig({
      guarded: { source: { queryHistory: false } },
      // A collector of the worker's own that uses the worker-only secret.
      'guarded-azure': {
        landing: {
          type: 'azure-blob',
          serviceUrl: 'http://127.0.0.1:9/devstoreaccount1',
          container: 'landing',
          path: 'lz',
          sasToken: '${WORKER_ONLY_SAS}',
        },
      },
      // Its executor has no worker anywhere.
      stranded: { executor: 'net-b' },
    });
    stopWorker = (await env.inProcessWorker(['collectors'])).stop;
    // Misrouted runs wait out the executor pickup timeout (minutes): started first, judged last.
    misrouted = [await start({ collector: 'guarded', executor: 'no-such-executor' }), await start({ collector: 'stranded' })];
    const first = (await (await start({ collector: 'guarded' })).result()) as RunSummary;
    assert.equal(first.status, 'completed');
    hwmBefore = env.hwm('guarded');
    assert.ok(hwmBefore, 'the configured collector has an HWM to protect');
    landedBefore = env.landed();
  });

  after(async () => {
    await stopWorker?.();
    await capture?.close();
    await env?.stop();
    for (const k of [
      'WORKER_ONLY_SAS',
      'RECIPE_AWS_KEY',
      'RECIPE_AWS_SECRET',
      'RECIPE_SAS',
      'RECIPE_DIR',
      'RECIPE_CONN',
      'COLLECTOR_SECRET_DIR',
    ])
      delete process.env[k];
  });

  it('recipes are off unless the worker enables them', async () => {
    await refused(
      await start(recipe({})),
      /ConfigError: the inline recipe is invalid\n\s+input\.recipe: inline recipes are off on this worker \(rule recipes\.enabled/,
    );
  });

  it('bad inputs on a real server: a string dryRun or a typo never becomes a real run', async () => {
    await refused(await start({ collector: 'guarded', dryRun: 'true' }), /ConfigError: input\.dryRun: must be true or false/);
    await refused(
      await start({ collector: 'guarded', dry_run: true }),
      /ConfigError: input\.dry_run: unknown key \(did you mean "dryRun"\?\)/,
    );
    await refused(await start(null), /ConfigError: input: missing/);
    assert.equal(env.hwm('guarded'), hwmBefore);
    assert.deepEqual(env.landed(), landedBefore);
  });

  describe('with recipes enabled and scoped', () => {
    before(() => {
      env.writeConfig(
        {
          guarded: { source: { queryHistory: false } },
          'guarded-azure': {
            landing: {
              type: 'azure-blob',
              serviceUrl: 'http://127.0.0.1:9/devstoreaccount1',
              container: 'landing',
              path: 'lz',
              sasToken: '${WORKER_ONLY_SAS}',
            },
          },
          stranded: { executor: 'net-b' },
        },
        POLICY(),
      );
    });

    const azure = (serviceUrl: () => string, sasToken: string) => () => ({
      landing: { type: 'azure-blob', serviceUrl: serviceUrl(), container: 'landing', path: 'lz', sasToken },
    });
    const cases: [string, () => Parameters<typeof recipe>[0], RegExp][] = [
      [
        'a foreign Azure host with the worker-only SAS',
        azure(() => `${capture.url}/acct`, '${WORKER_ONLY_SAS}'),
        /recipe\.landing\.sasToken: \$\{WORKER_ONLY_SAS\} is not granted to recipes \(rule recipes\.secrets/,
      ],
      [
        'a foreign Azure host with a granted SAS',
        azure(() => `${capture.url}/acct`, '${RECIPE_SAS}'),
        /recipe\.landing\.serviceUrl: "127\.0\.0\.1:\d+" is not an endpoint granted to recipes \(rule recipes\.endpoints/,
      ],
      [
        'a foreign Athena endpoint with the worker-only secret as key',
        () => ({ source: athenaSource({ endpoint: capture.url, accessKeyId: '${WORKER_ONLY_SAS}' }) }),
        /recipe\.source\.accessKeyId: \$\{WORKER_ONLY_SAS\} is not granted/,
      ],
      [
        'a foreign Athena endpoint with granted keys',
        () => ({ source: athenaSource({ endpoint: capture.url }) }),
        /recipe\.source\.endpoint: "127\.0\.0\.1:\d+" is not an endpoint granted/,
      ],
      // Checked after resolution: a granted reference may still hold a place that is not granted.
      [
        'an endpoint hidden in a granted connection string',
        () => ({ landing: { type: 'azure-blob', container: 'landing', path: 'lz', connectionString: '${RECIPE_CONN}' } }),
        /recipe\.landing\.connectionString: "127\.0\.0\.1:\d+" is not an endpoint granted/,
      ],
      [
        'a directory hidden in a granted reference',
        () => ({ landing: { type: 'filesystem', path: '${RECIPE_DIR}' } }),
        /recipe\.landing\.path: ".*outside" is not under a directory granted/,
      ],
      [
        'a worker secret file in a plain field',
        () => ({ landing: { type: 'filesystem', path: `${recipeRoot}/\${file:worker-file-secret}` } }),
        /recipe\.landing\.path: \$\{file:worker-file-secret\} is not granted/,
      ],
      [
        'the worker-only secret by env: in a plain field',
        () => ({
          landing: { type: 'azure-blob', account: 'acct', container: 'c-${env:WORKER_ONLY_SAS}', path: 'lz', sasToken: '${RECIPE_SAS}' },
        }),
        /\$\{env:WORKER_ONLY_SAS\} is not granted/,
      ],
      [
        'a filesystem landing in an arbitrary directory',
        () => ({ landing: { type: 'filesystem', path: outside } }),
        /recipe\.landing\.path: ".*outside" is not under a directory granted to recipes \(rule recipes\.paths/,
      ],
      [
        'a path climbing out of the granted root',
        () => ({ landing: { type: 'filesystem', path: `${recipeRoot}/../outside` } }),
        /recipe\.landing\.path: .* is not under a directory granted/,
      ],
      [
        'a symlink out of the granted root',
        () => ({ landing: { type: 'filesystem', path: join(recipeRoot, 'escape') } }),
        /recipe\.landing\.path: .*escape" is not under a directory granted/,
      ],
      [
        'a file HWM in an arbitrary directory',
        () => ({ hwm: { type: 'file', dir: outside } }),
        /recipe\.hwm\.dir: .* is not under a directory granted/,
      ],
      [
        'an S3 landing to a foreign bucket and endpoint',
        () => ({
          landing: {
            type: 's3',
            bucket: 'exfil',
            prefix: 'x',
            region: 'us-east-1',
            endpoint: capture.url,
            forcePathStyle: true,
            accessKeyId: '${RECIPE_AWS_KEY}',
            secretAccessKey: '${RECIPE_AWS_SECRET}',
          },
        }),
        /recipe\.landing\.bucket: "s3:\/\/exfil" is not an endpoint granted[\s\S]*recipe\.landing\.endpoint: "127\.0\.0\.1:\d+" is not an endpoint granted/,
      ],
      [
        "an S3 landing on the worker's own identity",
        () => ({ landing: { type: 's3', bucket: 'exfil', prefix: 'x', region: 'us-east-1' } }),
        /recipe\.landing\.accessKeyId: without credentials of its own the recipe would act as the worker/,
      ],
      [
        'Athena results written to a foreign bucket',
        () => ({ source: athenaSource({ outputLocation: 's3://exfil-results/q/' }) }),
        /recipe\.source\.outputLocation: "s3:\/\/exfil-results" is not an endpoint granted/,
      ],
      [
        "a role of the worker's",
        () => ({ source: athenaSource({ roleArn: 'arn:aws:iam::123456789012:role/worker-admin' }) }),
        /recipe\.source\.roleArn: role .* is not granted to recipes \(rule recipes\.roles/,
      ],
      [
        "Athena on the worker's own identity",
        () => ({ source: athenaSource({ accessKeyId: undefined, secretAccessKey: undefined }) }),
        /recipe\.source\.accessKeyId: without credentials of its own/,
      ],
    ];
    for (const [name, make, expected] of cases) {
      it(`refuses ${name}`, async () => {
        const over = make();
        if (over.source) over.source = JSON.parse(JSON.stringify(over.source)) as Record<string, unknown>;
        const message = await refused(await start(recipe(over)), expected);
        assert.ok(!message.includes(WORKER_ONLY_SAS) && !message.includes(WORKER_FILE_SECRET), 'no secret in the failure');
        assert.equal(capture.connections, 0, 'nothing reached the capture server');
      });
    }

    it('a recipe named like a configured collector runs under its own names: the configured HWM does not move', async () => {
      const h = await start(recipe({ name: 'guarded' }));
      const summary = (await h.result()) as RunSummary;
      assert.equal(summary.status, 'completed');
      assert.equal(summary.collector, 'recipe.guarded');
      assert.equal(env.hwm('guarded'), hwmBefore, "the configured collector's HWM is untouched");
      assert.equal(env.hwm('recipe.guarded'), summary.window.end);
      assert.deepEqual(env.landed(), landedBefore, 'nothing published under the configured landing');
      const files = readdirSync(recipeRoot).filter((f) => !f.startsWith('.') && f !== 'escape');
      assert.ok(files.length >= 2 && files.every((f) => f.startsWith('recipe.guarded_')), files.join(', '));
      // Who started it is on the record.
      assert.equal(summary.startedBy?.identity, env.temporal.client.options.identity);
      assert.equal(summary.startedBy?.origin, 'other');
    });

    it('no input, however hostile, moved the configured HWM, wrote outside the granted roots or reached the capture server', async () => {
      assert.equal(env.hwm('guarded'), hwmBefore);
      assert.deepEqual(readdirSync(outside), []);
      assert.deepEqual(env.landed(), landedBefore);
      assert.equal(capture.connections, 0);
      assert.equal(capture.received, '');
    });
  });

  it('a misrouted run fails within minutes, naming the queue and how to start a worker for it', async () => {
    await refused(
      misrouted[0]!,
      /ExecutorUnavailable: no worker polls the executor task queue "no-such-executor" .*collector worker --executor no-such-executor/,
    );
    await refused(
      misrouted[1]!,
      /ExecutorUnavailable: no worker polls the executor task queue "net-b" .*collector worker --executor net-b/,
    );
    assert.equal(env.hwm('stranded'), null);
  });

  it('no worker secret appears in any history, and none in the landed files', async () => {
    assert.ok(handles.length > 20);
    for (const h of handles) {
      const history = JSON.stringify(await h.fetchHistory());
      for (const secret of [
        WORKER_ONLY_SAS,
        'WorkerOnlySignature',
        WORKER_FILE_SECRET,
        'RecipeGrantedSignature',
        process.env.E2E_AWS_SECRET!,
      ]) {
        assert.ok(!history.includes(secret), `${h.workflowId}: history holds a secret`);
      }
    }
    for (const dir of [env.landingDir, recipeRoot]) {
      for (const f of readdirSync(dir).filter((n) => n.endsWith('.csv') || n.endsWith('.json'))) {
        const text = readFileSync(join(dir, f), 'utf8');
        assert.ok(!text.includes('WorkerOnlySignature') && !text.includes(WORKER_FILE_SECRET), `${f} holds a secret`);
      }
    }
  });
});
