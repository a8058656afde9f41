/**
 * Plugins loaded from files: spec parsing, the SHA-256 pin checked before the module runs, the warning
 * without a pin, shape checks, and the fixture source (test/fixtures/plugins/static-source.js) loaded
 * by a real `collector worker --plugin ...` that runs a collection end to end on a real Temporal server.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, appendFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { stringify } from 'yaml';
import { ActivityFailure, ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { ConfigError } from '../src/contracts/errors';
import { loadPlugins, parsePluginSpec, pluginSpecs, sha256Hex } from '../src/runtime/plugin-loader';
import type { RunSummary } from '../src/run/types';
import { ROOT, startProcess, waitFor, type Started } from './support/processes';
import { startTemporal, type TestTemporal } from './support/temporal';
import { sourceConformance } from './conformance/source';

const FIXTURE = join(ROOT, 'test', 'fixtures', 'plugins', 'static-source.js');
const fixtureHash = () => sha256Hex(readFileSync(FIXTURE));

function capture(): { log: pino.Logger; lines: () => Record<string, unknown>[] } {
  const out: string[] = [];
  const dest = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out.push(chunk.toString());
      cb();
    },
  });
  return {
    log: pino({ level: 'info' }, dest),
    lines: () =>
      out
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

declare global {
  var __tamperedPluginRan: boolean | undefined;
}

describe('plugin specs', () => {
  it('parses path and path#sha256, from flags and COLLECTOR_PLUGINS', () => {
    const h = 'a'.repeat(64);
    assert.deepEqual(parsePluginSpec('/opt/p.js'), { path: '/opt/p.js' });
    assert.deepEqual(parsePluginSpec(`/opt/p.js#${h.toUpperCase()}`), { path: '/opt/p.js', sha256: h });
    assert.deepEqual(parsePluginSpec(`/opt/p.js#sha256:${h}`), { path: '/opt/p.js', sha256: h });
    assert.throws(
      () => parsePluginSpec('/opt/p.js#abc'),
      (e: unknown) => e instanceof ConfigError && /not a SHA-256/.test(e.message),
    );
    assert.deepEqual(
      pluginSpecs({ COLLECTOR_PLUGINS: ` /a.js#${h},\n/b.js ` }, ['/c.js']).map((s) => s.path),
      ['/a.js', '/b.js', '/c.js'],
    );
  });
});

describe('loading plugin files', () => {
  it('loads a plain object module as well as a function of the host', async () => {
    const loaded = await loadPlugins(
      [{ path: join(ROOT, 'test', 'fixtures', 'plugins', 'plain-landing.js') }, { path: FIXTURE }],
      capture().log,
    );
    assert.deepEqual(
      loaded.landings.map((l) => l.type),
      ['nowhere'],
    );
    assert.deepEqual(
      loaded.sources.map((s) => s.type),
      ['static'],
    );
  });

  it('loads a pinned plugin and logs what it registered', async () => {
    const { log, lines } = capture();
    const loaded = await loadPlugins([{ path: FIXTURE, sha256: fixtureHash() }], log);
    assert.deepEqual(
      loaded.sources.map((s) => s.type),
      ['static'],
    );
    assert.equal(loaded.files[0]!.pinned, true);
    assert.ok(lines().some((l) => l.msg === 'plugin loaded' && l.pinned === true));
    assert.ok(!lines().some((l) => l.level === 40), 'no warning for a pinned plugin');
  });

  it('warns when a plugin is not pinned, naming the hash to pin', async () => {
    const { log, lines } = capture();
    await loadPlugins([{ path: FIXTURE }], log);
    const warning = lines().find((l) => l.level === 40);
    assert.ok(warning, 'a warning was logged');
    assert.match(String(warning.msg), new RegExp(`not pinned: add #${fixtureHash()}`));
  });

  it('refuses a tampered copy before running any of it, naming the file and both hashes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plugin-'));
    const copy = join(dir, 'static-source.js');
    copyFileSync(FIXTURE, copy);
    appendFileSync(copy, '\nglobalThis.__tamperedPluginRan = true;\n');
    const actual = sha256Hex(readFileSync(copy));
    await assert.rejects(
      loadPlugins([{ path: copy, sha256: fixtureHash() }], capture().log),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.message.includes(copy) &&
        e.message.includes(fixtureHash()) &&
        e.message.includes(actual) &&
        /mismatch/.test(e.message),
    );
    assert.equal(globalThis.__tamperedPluginRan, undefined, 'the tampered module never ran');
  });

  it('refuses a module of the wrong shape and a type that is already registered', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plugin-'));
    const bad = join(dir, 'bad.js');
    writeFileSync(bad, "module.exports = { sources: [{ type: 'bad', configSchema: {} }] };\n");
    await assert.rejects(loadPlugins([{ path: bad }], capture().log), /configSchema must be a zod schema/);
    const none = join(dir, 'none.js');
    writeFileSync(none, 'module.exports = { hello: 1 };\n');
    await assert.rejects(loadPlugins([{ path: none }], capture().log), /exports no plugins/);
    await assert.rejects(loadPlugins([{ path: FIXTURE }], capture().log, { sources: ['static'] }), /already registered/);
    await assert.rejects(loadPlugins([{ path: join(dir, 'missing.js') }], capture().log), /cannot read it \(ENOENT\)/);
  });

  it('refuses a source of the old shape, naming what to change, and checks what create() returns', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plugin-'));
    const old = join(dir, 'old.js');
    writeFileSync(
      old,
      "module.exports = ({ z }) => ({ sources: [{ type: 'old', configSchema: z.object({}), async *units() {}, async testConnection() { return []; } }] });\n",
    );
    await assert.rejects(
      loadPlugins([{ path: old }], capture().log),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.message.includes(old) &&
        /sources\[0\] \(old\) has the old source shape/.test(e.message) &&
        /export create\(config, ctx\) returning \{ units\(ctx\), concurrency, testConnection\(\), close\(\) \}/.test(e.message),
    );

    const sloppy = join(dir, 'sloppy.js');
    writeFileSync(
      sloppy,
      'let closes = 0;\n' +
        "module.exports = ({ z }) => ({ sources: [{ type: 'sloppy', configSchema: z.object({}), create: (config) => config.bad ? { units() {} } : { concurrency: config.c ?? 1, async *units() {}, async testConnection() { return []; }, close() { closes++; } } }] });\n" +
        'module.exports.closes = () => closes;\n',
    );
    const [plugin] = (await loadPlugins([{ path: sloppy }], capture().log)).sources;
    const ctx = { log: pino({ level: 'silent' }), signal: new AbortController().signal, apiCall: () => undefined };
    assert.throws(
      () => plugin!.create({ bad: true }, ctx),
      (e: unknown) =>
        e instanceof ConfigError && /source "sloppy": create\(\) returned a source without testConnection\(\)/.test(e.message),
    );
    assert.throws(() => plugin!.create({ c: 0 }, ctx), /concurrency is not a positive integer/);
    const source = plugin!.create({}, ctx);
    // The file's close() returns nothing and is not idempotent: the loaded source's is both.
    await Promise.all([source.close(), source.close()]);
    await source.close();
    assert.equal((require(sloppy) as { closes(): number }).closes(), 1);
  });
});

// The fixture as the loader hands it to the collector: the source contract holds for a plugin file too.
sourceConformance('static (plugin file)', async () => {
  const [plugin] = (await loadPlugins([{ path: FIXTURE }], pino({ level: 'silent' }))).sources;
  return {
    plugin: plugin!,
    config: plugin!.configSchema.parse({ type: 'static', tables: ['customers', 'orders', 'invoices'] }),
    window: { start: '2026-11-01T00:00:00.000Z', end: '2026-11-02T00:00:00.000Z' },
    secrets: [],
  };
});

describe('a real worker with a plugin from a file', { timeout: 300_000 }, () => {
  let temporal: TestTemporal;
  let root: string;
  let worker: Started | undefined;
  const configPath = () => join(root, 'collectors.yaml');
  const landing = () => join(root, 'landing');

  const collector = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    new Promise<{ code: number | null; out: string }>((resolve) => {
      const p = spawn(process.execPath, [join(ROOT, 'bin', 'collector.js'), ...args], {
        env: { ...process.env, TEMPORAL_ADDRESS: temporal.server.address, COLLECTOR_HEALTH_PORT: '0', COLLECTOR_METRICS_PORT: '0', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      p.stdout.on('data', (d: Buffer) => (out += d.toString()));
      p.stderr.on('data', (d: Buffer) => (out += d.toString()));
      p.on('exit', (code) => resolve({ code, out }));
    });

  before(async () => {
    temporal = await startTemporal();
    root = mkdtempSync(join(tmpdir(), 'plugin-e2e-'));
    mkdirSync(landing(), { recursive: true });
    writeFileSync(
      configPath(),
      stringify({
        collectors: {
          fixture: {
            executor: 'plugin-e2e',
            source: { type: 'static', tables: ['customers', 'orders', 'invoices'] },
            landing: { type: 'filesystem', path: landing() },
            options: { initialLookback: '1h', safetyLag: '0s' },
          },
          denied: {
            executor: 'plugin-e2e',
            source: { type: 'static', tables: ['customers', 'forbidden'] },
            landing: { type: 'filesystem', path: landing() },
          },
        },
      }),
    );
  });
  after(async () => {
    await worker?.stop();
    await temporal?.stop();
  });

  it('refuses to start with a tampered plugin: exit 2, the file and both hashes in the message', async () => {
    const copy = join(root, 'tampered.js');
    copyFileSync(FIXTURE, copy);
    appendFileSync(copy, '\n// changed\n');
    const r = await collector([
      'worker',
      '--config',
      configPath(),
      '--state-dir',
      join(root, 'state'),
      '--plugin',
      `${copy}#${fixtureHash()}`,
    ]);
    assert.equal(r.code, 2, r.out);
    assert.match(r.out, /SHA-256 mismatch/);
    assert.ok(r.out.includes(copy) && r.out.includes(fixtureHash()) && r.out.includes(sha256Hex(readFileSync(copy))), r.out);
  });

  it('loads the fixture source via --plugin and runs a collection with it end to end', async () => {
    worker = startProcess(
      process.execPath,
      [
        join(ROOT, 'bin', 'collector.js'),
        'worker',
        '--config',
        configPath(),
        '--state-dir',
        join(root, 'state'),
        '--plugin',
        `${FIXTURE}#${fixtureHash()}`,
      ],
      {
        env: {
          ...process.env,
          TEMPORAL_ADDRESS: temporal.server.address,
          COLLECTOR_HOST_ID: 'plugin-host',
          COLLECTOR_HEALTH_PORT: '0',
          COLLECTOR_METRICS_PORT: '0',
        },
      },
    );
    await waitFor('the worker to start', () => worker!.output().includes('Starting collector worker'), 90_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${worker!.output()}`);
    });
    assert.match(worker.output(), /"msg":"plugin loaded"/);
    const handle = await temporal.client.workflow.start('collect', {
      taskQueue: 'plugin-e2e',
      workflowId: 'plugin-e2e-1',
      args: [{ collector: 'fixture' }],
    });
    const summary = (await handle.result()) as RunSummary;
    assert.equal(summary.status, 'completed');
    const metadata = summary.files.find((f) => f.kind === 'metadata');
    assert.equal(metadata?.rows, 6, '3 tables x 2 columns');
    assert.equal(summary.counters.static_tables, 3);
    const landed = readdirSync(landing());
    assert.ok(landed.includes(metadata!.name) && landed.some((f) => f.startsWith('fixture_manifest_')), landed.join(', '));
    assert.match(readFileSync(join(landing(), metadata!.name), 'utf8'), /static,fixture,invoices,name,2/);
    const tables = summary.files.find((f) => f.kind === 'tables')!;
    assert.equal(tables.rows, 3);
    assert.match(readFileSync(join(landing(), tables.name), 'utf8'), /static,fixture,invoices,BASE TABLE,2,/);
    assert.equal(readFileSync(join(root, 'state', 'hwm', 'fixture_hwm.txt'), 'utf8').trim(), summary.window.end);
  });

  it("maps the plugin's own error types like the built-ins': an AuthError fails the run at once", async () => {
    const handle = await temporal.client.workflow.start('collect', {
      taskQueue: 'plugin-e2e',
      workflowId: 'plugin-e2e-denied',
      args: [{ collector: 'denied' }],
    });
    const err = await handle.result().then(
      () => assert.fail('the run should fail'),
      (e: unknown) => e,
    );
    assert.ok(
      err instanceof WorkflowFailedError && err.cause instanceof ActivityFailure && err.cause.cause instanceof ApplicationFailure,
      String(err),
    );
    assert.equal(err.cause.cause.type, 'AuthError');
    assert.equal(err.cause.cause.nonRetryable, true);
    assert.match(err.cause.cause.message, /grant SELECT/);
    const history = await handle.fetchHistory();
    const failedAttempts = (history.events ?? []).filter((e) => e.activityTaskFailedEventAttributes).length;
    assert.equal(failedAttempts, 1, 'not retried');
  });
});
