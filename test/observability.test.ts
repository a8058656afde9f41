/**
 * Running it in production: /healthz and /readyz over real HTTP against real workers on a real Temporal
 * dev server, /metrics with the SDK's `temporal_*` and the collector's own metrics after real runs,
 * freshness, OpenTelemetry spans (in-memory exporter), and Worker Deployment versioning.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { NativeConnection, Worker, type WorkerDeploymentOptions } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { WorkflowFailedError } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import { ConfigError } from '../src/contracts/errors';
import type { RunSummary } from '../src/run/types';
import { installSdkLogging, runCollectorWorkers } from '../src/worker';
import { setupTracing, tracingMode, type Tracing } from '../src/observability/tracing';
import { workerDeploymentOptions } from '../src/observability/versioning';
import { observabilitySettings } from '../src/observability/settings';
import { collectorRegistry, sourceApiCalls } from '../src/observability/metrics';
import type { ApiOutcome } from '../src/contracts/plugin';
import { startCollectorEnv, type CollectorEnv } from './support/collector-env';
import { HISTORY_DIR } from './support/histories';
import { freePort, ROOT, waitFor } from './support/processes';

const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

async function get(url: string): Promise<{ status: number; body: string }> {
  const r = await fetch(url);
  return { status: r.status, body: await r.text() };
}

interface RunningWorker {
  done: Promise<void>;
  abort: AbortController;
  connection: NativeConnection;
  queues: string[];
}

let env: CollectorEnv;
let tracing: Tracing;
let sdkAddress: string | undefined;
const spans = new InMemorySpanExporter();

async function startWorker(
  executors: string[],
  hostId: string,
  extra: {
    health?: { host: string; port: number };
    metrics?: { host: string; port: number; sdkAddress?: string | undefined };
    deployment?: WorkerDeploymentOptions;
    tracing?: Tracing;
  },
): Promise<RunningWorker> {
  const connection = await NativeConnection.connect({ address: env.temporal.server.address });
  const abort = new AbortController();
  let running!: (q: string[]) => void;
  const ready = new Promise<string[]>((r) => (running = r));
  const done = runCollectorWorkers({
    log,
    connection,
    namespace: 'default',
    executors,
    configPath: env.configPath,
    stateDir: env.stateDir,
    hostId,
    signal: abort.signal,
    onRunning: (q) => running(q),
    ...extra,
  });
  const queues = await Promise.race([ready, done.then(() => [] as string[])]);
  return { done, abort, connection, queues };
}

// Process-wide, set up in the first suite's before(); flushed once every suite is done.
after(async () => tracing?.shutdown());

describe('observability of a real worker', { timeout: 600_000 }, () => {
  let main: RunningWorker | undefined;
  let healthPort: number;
  let metricsPort: number;
  const healthUrl = (p: string) => `http://127.0.0.1:${healthPort}${p}`;
  const metricsUrl = () => `http://127.0.0.1:${metricsPort}/metrics`;
  let firstReady: { status: number; body: string } | undefined;
  let summary: RunSummary;
  const t0 = Date.now();

  before(async () => {
    // Before anything touches the SDK runtime: the one Runtime.install of this process gets the exporter.
    sdkAddress = installSdkLogging(log, { prometheusAddress: `127.0.0.1:${await freePort()}` });
    tracing = setupTracing({ exporter: spans });
    env = await startCollectorEnv();
    const notADirectory = join(env.root, 'landing-is-a-file');
    writeFileSync(notADirectory, 'x');
    env.writeConfig({
      obs: {},
      // Every put fails, non-retryably: a failed run for the failure metrics.
      broken: { landing: { type: 'filesystem', path: notADirectory } },
      ver: { executor: 'versioned' },
      ver2: { executor: 'versioned' },
    });
    healthPort = await freePort();
    metricsPort = await freePort();
  });
  after(async () => {
    main?.abort.abort();
    await main?.done.catch(() => undefined);
    await main?.connection.close();
    await env?.stop();
  });

  it('is live at once, ready only when every worker polls: 503 naming what is not, then 200', async () => {
    const starting = startWorker(['collectors'], 'obs-host', {
      health: { host: '127.0.0.1', port: healthPort },
      metrics: { host: '127.0.0.1', port: metricsPort, sdkAddress },
      tracing,
    });
    await waitFor('/healthz', async () => (await get(healthUrl('/healthz'))).status === 200, 60_000);
    firstReady = await get(healthUrl('/readyz'));
    main = await starting;
    assert.deepEqual(main.queues, ['collectors', 'collectors@obs-host']);
    // Bundling the workflows takes seconds: the health server answers long before the workers poll.
    assert.equal(firstReady.status, 503, firstReady.body);
    const early = JSON.parse(firstReady.body) as { ready: boolean; workers: { taskQueue: string; ok: boolean; state: string }[] };
    assert.equal(early.ready, false);
    assert.deepEqual(
      early.workers.map((w) => w.taskQueue),
      ['collectors', 'collectors@obs-host'],
    );
    assert.ok(
      early.workers.some((w) => !w.ok && w.state === 'NOT_STARTED'),
      firstReady.body,
    );

    const ready = await get(healthUrl('/readyz'));
    assert.equal(ready.status, 200, ready.body);
    const body = JSON.parse(ready.body) as {
      ready: boolean;
      temporal: { ok: boolean };
      workers: { taskQueue: string; role: string; ok: boolean; state: string; workflowPoller?: string; activityPoller?: string }[];
    };
    assert.equal(body.ready, true);
    assert.equal(body.temporal.ok, true);
    assert.deepEqual(
      body.workers.map((w) => [w.taskQueue, w.role, w.state, w.workflowPoller, w.activityPoller]),
      [
        ['collectors', 'executor', 'RUNNING', 'POLLING', 'POLLING'],
        ['collectors@obs-host', 'host', 'RUNNING', undefined, 'POLLING'],
      ],
    );
    assert.equal((await get(healthUrl('/nope'))).status, 404);
  });

  it('serves /metrics with the SDK metrics and the collector metrics of a real run, freshness included', async () => {
    summary = (await (
      await env.temporal.client.workflow.start('collect', { taskQueue: 'collectors', workflowId: 'obs-1', args: [{ collector: 'obs' }] })
    ).result()) as RunSummary;
    assert.equal(summary.status, 'completed');
    await assert.rejects(
      (
        await env.temporal.client.workflow.start('collect', {
          taskQueue: 'collectors',
          workflowId: 'obs-broken',
          args: [{ collector: 'broken' }],
        })
      ).result(),
      WorkflowFailedError,
    );
    // The run's duration is observed once a describe of the workflow answers, just after the commit.
    let samples: Sample[] = [];
    let text = '';
    await waitFor('the run duration to be observed', async () => {
      const r = await get(metricsUrl());
      text = r.body;
      samples = parseMetrics(text);
      return value(samples, 'collector_run_duration_seconds_count', { collector: 'obs', outcome: 'completed' }) === 1;
    });
    if (process.env.DUMP_METRICS) writeFileSync(process.env.DUMP_METRICS, text);
    // The SDK's own metrics, merged into the same page.
    assert.ok(
      samples.some((s) => s.name.startsWith('temporal_')),
      'temporal_ metrics present',
    );
    assert.ok(
      (value(samples, 'temporal_workflow_completed', { workflow_type: 'collect' }) ?? 0) >= 1,
      'temporal_workflow_completed counts the run',
    );
    assert.ok(
      samples.some((s) => s.name.startsWith('process_') || s.name.startsWith('nodejs_')),
      'process metrics present',
    );

    assert.equal(value(samples, 'collector_runs_total', { collector: 'obs', outcome: 'completed' }), 1);
    assert.equal(value(samples, 'collector_runs_total', { collector: 'broken', outcome: 'failed' }), 1);
    const failed = samples.filter((s) => s.name === 'collector_activity_failures_total' && s.labels.collector === 'broken');
    assert.ok(
      failed.some((s) => s.labels.activity === 'upload' && s.labels.terminal === 'true' && s.value === 1),
      JSON.stringify(failed),
    );

    for (const f of summary.files)
      assert.equal(value(samples, 'collector_rows_extracted_total', { collector: 'obs', kind: f.kind }), f.rows, f.kind);
    const fileBytes = summary.files.reduce((n, f) => n + f.bytes, 0);
    const uploaded = value(samples, 'collector_uploaded_bytes_total', { collector: 'obs' }) ?? 0;
    assert.ok(uploaded > fileBytes, `uploaded ${uploaded} = files ${fileBytes} + manifest`);
    assert.equal(value(samples, 'collector_uploaded_objects_total', { collector: 'obs', outcome: 'created' }), summary.files.length + 1);
    assert.equal(
      value(samples, 'collector_activity_duration_seconds_count', { collector: 'obs', activity: 'extract', outcome: 'success' }),
      1,
    );
    assert.ok((value(samples, 'collector_source_api_calls_total', { source: 'athena' }) ?? 0) > 0, 'Athena API calls by operation');
    const apiSeries = samples.filter((s) => s.name === 'collector_source_api_calls_total' && s.labels.source === 'athena');
    assert.ok(
      apiSeries.every((s) => /^[A-Z][A-Za-z]+$/.test(s.labels.operation ?? '')),
      `labelled by the operation the source reported: ${JSON.stringify(apiSeries)}`,
    );

    // Freshness: the HWM is the window end; its age is the time since then.
    const age = value(samples, 'collector_hwm_age_seconds', { collector: 'obs' });
    assert.ok(
      age !== undefined,
      text
        .split('\n')
        .filter((l) => l.includes('hwm'))
        .join('\n'),
    );
    const expected = (Date.now() - Date.parse(summary.window.end)) / 1000;
    assert.ok(age >= 0 && Math.abs(age - expected) < 10, `age ${age}, expected about ${expected}`);
    assert.equal(value(samples, 'collector_hwm_timestamp_seconds', { collector: 'obs' }), Date.parse(summary.window.end) / 1000);
    const advanced = value(samples, 'collector_hwm_last_advanced_timestamp_seconds', { collector: 'obs' })!;
    assert.ok(advanced * 1000 >= t0 && advanced * 1000 <= Date.now(), `last advanced ${advanced}`);
    assert.equal(value(samples, 'collector_hwm_read_ok', { collector: 'obs' }), 1);
    // A collector that never completed has no age (an alert uses absent() for it), and only this worker's executors are reported.
    assert.equal(value(samples, 'collector_hwm_age_seconds', { collector: 'broken' }), undefined);
    assert.equal(value(samples, 'collector_hwm_read_ok', { collector: 'ver' }), undefined);
  });

  it('produces OpenTelemetry spans: the workflow, and extract/validate/upload with collector, window, rows and bytes', async () => {
    const mine = (s: ReadableSpan) => s.attributes['temporalWorkflowId'] === 'obs-1' || s.attributes['collector.name'] === 'obs';
    let all: ReadableSpan[] = [];
    await waitFor('the workflow span', () => {
      all = spans.getFinishedSpans();
      return all.some((s) => s.name === 'RunWorkflow:collect');
    });
    const byName = (n: string) => all.find((s) => s.name === n && mine(s));
    const extract = byName('RunActivity:extract');
    const validate = byName('RunActivity:validate');
    const upload = byName('RunActivity:upload');
    assert.ok(extract && validate && upload, all.map((s) => s.name).join(', '));
    const rows = summary.files.reduce((n, f) => n + f.rows, 0);
    assert.equal(extract.attributes['collector.name'], 'obs');
    assert.equal(extract.attributes['collector.window.start'], summary.window.start);
    assert.equal(extract.attributes['collector.window.end'], summary.window.end);
    assert.equal(extract.attributes['collector.rows'], rows);
    assert.equal(validate.attributes['collector.rows'], rows);
    assert.ok(Number(upload.attributes['collector.bytes']) > 0);
    // One trace: the workflow's span and its activities' spans share the trace id.
    const wf = all.find((s) => s.name === 'RunWorkflow:collect' && s.spanContext().traceId === extract.spanContext().traceId);
    assert.ok(wf, "the activity spans belong to the workflow run's trace");
    const failedUpload = all.find((s) => s.name === 'RunActivity:upload' && s.attributes['collector.failure_type'] !== undefined);
    assert.ok(failedUpload, 'the failed upload carries its failure type');
  });

  it('upgrades with Worker Deployment versioning: a PINNED run in flight stays on build-1, new runs go to build-2', async () => {
    const ws = env.temporal.client.workflowService;
    const deploymentName = 'collectors-test';
    const versionQueues = async (buildId: string) =>
      (
        (await ws.describeWorkerDeploymentVersion({ namespace: 'default', deploymentVersion: { deploymentName, buildId } }))
          .workerDeploymentVersionInfo?.taskQueueInfos ?? []
      ).map((q) => q.name ?? '');
    const waitQueues = async (buildId: string, want: string[]) => {
      let seen: string[] = [];
      await waitFor(`${want.join(' and ')} in ${buildId}`, async () => {
        seen = await versionQueues(buildId).catch(() => []);
        return want.every((q) => seen.includes(q));
      }).catch((e: Error) => {
        throw new Error(`${e.message}: ${seen.join(', ')}`);
      });
    };
    const port = await freePort();
    const v1 = await startWorker(['versioned'], 'ver-host-1', {
      deployment: workerDeploymentOptions({ deploymentName, buildId: 'build-1' })!,
      // Health and metrics on one port: one server with all three paths.
      health: { host: '127.0.0.1', port },
      metrics: { host: '127.0.0.1', port, sdkAddress },
    });
    let v2: RunningWorker | undefined;
    try {
      // Both queues poll as build-1: the executor queue and the host companion.
      await waitQueues('build-1', ['versioned', 'versioned@ver-host-1']);
      await ws.setWorkerDeploymentCurrentVersion({
        namespace: 'default',
        deploymentName,
        buildId: 'build-1',
        identity: 'observability-test',
      });
      const inFlight = await env.temporal.client.workflow.start('collect', {
        taskQueue: 'versioned',
        workflowId: 'ver-1',
        args: [{ collector: 'ver', requireApproval: true }],
      });
      await waitFor(
        'the build-1 run at its approval gate',
        async () => (await inFlight.query<{ phase: string }>('progress')).phase === 'awaiting-approval',
        60_000,
      );

      v2 = await startWorker(['versioned'], 'ver-host-2', { deployment: workerDeploymentOptions({ deploymentName, buildId: 'build-2' })! });
      await waitQueues('build-2', ['versioned', 'versioned@ver-host-2']);
      // Host queues are per host, so the new version never has the old one's: the server refuses unless told (docs/upgrades.md).
      await assert.rejects(
        ws.setWorkerDeploymentCurrentVersion({ namespace: 'default', deploymentName, buildId: 'build-2', identity: 'observability-test' }),
        /missing active task queues/,
      );
      await ws.setWorkerDeploymentCurrentVersion({
        namespace: 'default',
        deploymentName,
        buildId: 'build-2',
        identity: 'observability-test',
        ignoreMissingTaskQueues: true,
      });

      const fresh = await env.temporal.client.workflow.start('collect', {
        taskQueue: 'versioned',
        workflowId: 'ver-2',
        args: [{ collector: 'ver2' }],
      });
      assert.equal(((await fresh.result()) as RunSummary).status, 'completed');
      await inFlight.signal('approve', { by: 'observability-test' });
      assert.equal(((await inFlight.result()) as RunSummary).status, 'completed');
      const versionOf = async (h: typeof fresh) => (await h.describe()).raw.workflowExecutionInfo?.versioningInfo;
      const a = await versionOf(inFlight);
      const b = await versionOf(fresh);
      assert.equal(a?.behavior, proto.api.enums.v1.VersioningBehavior.VERSIONING_BEHAVIOR_PINNED);
      assert.deepEqual(
        [a?.deploymentVersion?.deploymentName, a?.deploymentVersion?.buildId],
        [deploymentName, 'build-1'],
        'the in-flight run finished on its own build',
      );
      assert.deepEqual(
        [b?.deploymentVersion?.deploymentName, b?.deploymentVersion?.buildId],
        [deploymentName, 'build-2'],
        'the new run went to the current build',
      );

      // The shared-port server serves the process's metrics too (one registry per process).
      const page = await get(`http://127.0.0.1:${port}/metrics`);
      assert.equal(page.status, 200);
      assert.equal(value(parseMetrics(page.body), 'collector_runs_total', { collector: 'ver', outcome: 'completed' }), 1);
      assert.equal((await get(`http://127.0.0.1:${port}/readyz`)).status, 200);
    } finally {
      for (const w of [v2, v1]) {
        w?.abort.abort();
        await w?.done;
        await w?.connection.close();
      }
    }
  });

  it('is not ready as soon as shutdown begins, and stops serving once stopped', async () => {
    assert.ok(main);
    main.abort.abort();
    const during = await get(healthUrl('/readyz'));
    assert.equal(during.status, 503);
    assert.equal((JSON.parse(during.body) as { stopping: boolean }).stopping, true);
    assert.equal((await get(healthUrl('/healthz'))).status, 200, 'still live while draining');
    await main.done;
    await assert.rejects(get(healthUrl('/healthz')), 'the server is closed with the worker');
    await main.connection.close();
    main = undefined;
  });
});

describe('tracing and determinism', { timeout: 300_000 }, () => {
  it('replays every recorded history with the tracing interceptors bundled in (turning tracing on never breaks open runs)', async () => {
    const files = readdirSync(HISTORY_DIR).filter((f) => f.endsWith('.json'));
    assert.ok(files.length > 0);
    const histories = files.map((f) => ({
      workflowId: f,
      history: historyFromJSON(JSON.parse(readFileSync(join(HISTORY_DIR, f), 'utf8'))),
    }));
    let replayed = 0;
    for await (const r of Worker.runReplayHistories(
      { workflowsPath: join(ROOT, 'workflows', 'index.ts'), plugins: [tracing.plugin] },
      histories,
    )) {
      assert.equal(r.error, undefined, `${r.workflowId}: ${String(r.error)}`);
      replayed++;
    }
    assert.equal(replayed, files.length);
  });
});

describe('source API counters', () => {
  it('count what any source reports through ctx.apiCall, labelled with its type; an outcome outside the contract is dropped', async () => {
    const series = async () =>
      parseMetrics(await collectorRegistry.metrics()).filter(
        (x) => x.name.startsWith('collector_source_api_') && x.labels.source === 'contract-probe',
      );
    assert.deepEqual(await series(), []);
    const report = sourceApiCalls('contract-probe');
    report('ReadTable', 'call');
    report('ReadTable', 'call');
    report('ReadTable', 'throttle');
    report('ReadTable', 'retry');
    report('Connect', 'network-error');
    report('Connect', 'failure');
    report('Connect', 'server-error');
    report('Connect', 'bogus' as ApiOutcome);
    const got = (await series()).map((x) => `${x.name}{${x.labels.operation}} ${x.value}`).sort();
    assert.deepEqual(got, [
      'collector_source_api_calls_total{ReadTable} 2',
      'collector_source_api_failures_total{Connect} 1',
      'collector_source_api_network_errors_total{Connect} 1',
      'collector_source_api_retries_total{ReadTable} 1',
      'collector_source_api_server_errors_total{Connect} 1',
      'collector_source_api_throttles_total{ReadTable} 1',
    ]);
  });
});

describe('observability settings', () => {
  it('maps COLLECTOR_DEPLOYMENT_NAME and COLLECTOR_BUILD_ID to Worker deployment options', () => {
    assert.equal(workerDeploymentOptions({}), undefined, 'off by default');
    assert.deepEqual(workerDeploymentOptions({ deploymentName: 'collectors', buildId: 'abc123' }), {
      useWorkerVersioning: true,
      version: { deploymentName: 'collectors', buildId: 'abc123' },
      defaultVersioningBehavior: 'PINNED',
    });
    assert.equal(
      workerDeploymentOptions({ deploymentName: 'c', buildId: 'b', behavior: 'auto-upgrade' })?.defaultVersioningBehavior,
      'AUTO_UPGRADE',
    );
    assert.throws(
      () => workerDeploymentOptions({ deploymentName: 'c' }),
      (e: unknown) => e instanceof ConfigError && /COLLECTOR_BUILD_ID is not set/.test(e.message),
    );
    assert.throws(() => workerDeploymentOptions({ deploymentName: 'c', buildId: 'dev' }), ConfigError);
    assert.throws(() => workerDeploymentOptions({ deploymentName: 'c', buildId: 'unknown' }), /image's build id/);
    assert.throws(
      () => workerDeploymentOptions({ deploymentName: 'c', buildId: 'b', behavior: 'sometimes' }),
      /COLLECTOR_VERSIONING_BEHAVIOR/,
    );
  });

  it('reads ports, hosts and tracing from the environment, flags first', () => {
    const d = observabilitySettings({});
    assert.deepEqual(
      [d.health, d.metrics, d.tracing, d.deployment],
      [{ host: '0.0.0.0', port: 8080 }, { host: '0.0.0.0', port: 9464 }, 'off', undefined],
    );
    const s = observabilitySettings(
      { COLLECTOR_HEALTH_PORT: '0', COLLECTOR_METRICS_PORT: '9100', COLLECTOR_HEALTH_HOST: '127.0.0.1', COLLECTOR_TRACING: 'otlp' },
      { metricsPort: '9200' },
    );
    assert.deepEqual([s.health, s.metrics, s.tracing], [undefined, { host: '127.0.0.1', port: 9200 }, 'otlp']);
    assert.throws(() => observabilitySettings({ COLLECTOR_HEALTH_PORT: 'http' }), /COLLECTOR_HEALTH_PORT: "http" is not a port/);
    assert.throws(() => tracingMode({ COLLECTOR_TRACING: 'jaeger' }), /not a tracing mode/);
  });
});
