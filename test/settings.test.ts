/** src/settings.ts: the one reader of the collector's environment, and the README table that documents it. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from '../src/contracts/errors';
import { readSettings, VARIABLES } from '../src/settings';

const ROOT = join(__dirname, '..');

/** The rows of the README's "Worker environment" table: variable name and default cell. */
function readmeTable(): { name: string; shown: string }[] {
  const lines = readFileSync(join(ROOT, 'README.md'), 'utf8').split('\n');
  const header = lines.indexOf('| variable | default | meaning |');
  assert.ok(header >= 0, 'the README has the "| variable | default | meaning |" table');
  const rows: { name: string; shown: string }[] = [];
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith('|')) break;
    const cells = line.split(' | ');
    const name = /^\| `([A-Z0-9_]+)`$/.exec(cells[0]!)?.[1];
    assert.ok(name, `one variable per row, in backticks: ${line}`);
    rows.push({ name, shown: cells[1]!.trim() });
  }
  return rows;
}

function shownDefault(v: { default?: string; shown?: string }): string {
  return v.shown ?? (v.default !== undefined ? `\`${v.default}\`` : '');
}

function configError(variable: string): (e: unknown) => boolean {
  return (e) => e instanceof ConfigError && e.message.includes(variable);
}

describe('settings', () => {
  it('the README table lists every variable, with its default, and nothing else', () => {
    const table = readmeTable();
    const declared = Object.values(VARIABLES).map((v) => ({ name: v.name, shown: shownDefault(v) }));
    assert.deepEqual(
      table.map((r) => r.name).sort(),
      declared.map((d) => d.name).sort(),
      'names: a variable missing from one side must be added to the other',
    );
    for (const d of declared) assert.equal(table.find((r) => r.name === d.name)?.shown, d.shown, `default of ${d.name}`);
    for (const name of ['COLLECTOR_SHUTDOWN_GRACE', 'COLLECTOR_WORKFLOW_BUNDLE'])
      assert.ok(
        table.some((r) => r.name === name),
        name,
      );
  });

  it('defaults when unset or blank', () => {
    for (const env of [{}, Object.fromEntries(Object.values(VARIABLES).map((v) => [v.name, '  ']))]) {
      const s = readSettings(env);
      assert.equal(s.configPath, './collectors.yaml');
      assert.equal(s.stateDir, './.collector');
      assert.equal(s.hostId, hostname());
      assert.equal(s.logLevel, 'info');
      assert.equal(s.sdkLogLevel, 'WARN');
      assert.deepEqual([s.healthPort, s.metricsPort, s.healthHost, s.metricsHost], [8080, 9464, '0.0.0.0', undefined]);
      assert.equal(s.hwmRefreshSeconds, 30);
      assert.equal(s.tracing, 'off');
      assert.equal(s.buildId, 'dev');
      assert.deepEqual(s.plugins, []);
      assert.deepEqual([s.secretDir, s.secretMaxLength, s.secretCacheTtlMs], ['/mnt/secrets', 1048576, 60_000]);
      assert.equal(s.shutdownGraceMs, 240_000);
      assert.equal(s.workflowBundle, join(ROOT, 'workflow-bundle.js'));
      assert.deepEqual(s.v8Profile, { name: 'lean' });
      assert.equal(s.version, (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
    }
  });

  it('parses what is set', () => {
    const s = readSettings({
      COLLECTOR_SHUTDOWN_GRACE: '90s',
      COLLECTOR_HEALTH_PORT: '0',
      COLLECTOR_PLUGINS: ' /a.js#x,\n/b.js ',
      COLLECTOR_SECRET_CACHE_TTL: '5m',
      LOG_LEVEL: 'debug',
      TEMPORAL_SDK_LOG_LEVEL: 'info',
      COLLECTOR_WORKFLOW_BUNDLE: '/opt/bundle.js',
      COLLECTOR_V8_PROFILE: 'fast',
    });
    assert.equal(s.shutdownGraceMs, 90_000);
    assert.equal(s.healthPort, 0);
    assert.deepEqual(s.plugins, ['/a.js#x', '/b.js']);
    assert.equal(s.secretCacheTtlMs, 300_000);
    assert.equal(s.logLevel, 'debug', 'LOG_LEVEL stands in for COLLECTOR_LOG_LEVEL');
    assert.equal(readSettings({ LOG_LEVEL: 'debug', COLLECTOR_LOG_LEVEL: 'warn' }).logLevel, 'warn');
    assert.equal(s.sdkLogLevel, 'INFO');
    assert.equal(s.workflowBundle, '/opt/bundle.js');
    assert.deepEqual(s.v8Profile, { name: 'lean', unknown: 'fast' }, 'an unknown profile stays lean (the caller warns)');
  });

  it('a bad value is a ConfigError naming the variable, raised when that value is used', () => {
    const bad: [keyof typeof VARIABLES, string][] = [
      ['healthPort', 'http'],
      ['metricsPort', '70000'],
      ['hwmRefreshSeconds', '0'],
      ['tracing', 'jaeger'],
      ['secretMaxLength', 'lots'],
      ['secretCacheTtlMs', 'soon'],
      ['shutdownGraceMs', 'four minutes'],
      ['logLevel', 'loud'],
      ['sdkLogLevel', 'chatty'],
    ];
    for (const [key, value] of bad) {
      const name = VARIABLES[key].name;
      const s = readSettings({ [name]: value });
      assert.throws(() => s[key], configError(name), `${name}=${value}`);
      // Only the command that needs it fails: the rest of the settings still read.
      assert.equal(s.buildId, 'dev');
    }
  });

  it('is frozen, and reads each value once', () => {
    const env: Record<string, string> = { COLLECTOR_STATE_DIR: '/first' };
    const s = readSettings(env);
    assert.equal(s.stateDir, '/first');
    env.COLLECTOR_STATE_DIR = '/second';
    assert.equal(s.stateDir, '/first');
    assert.ok(Object.isFrozen(s));
    assert.throws(() => Object.assign(s, { stateDir: '/x' }), TypeError);
  });

  it('no module but settings.ts reads a COLLECTOR_* variable from the environment', () => {
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (path.endsWith('.ts') && name !== 'settings.ts') {
          const text = readFileSync(path, 'utf8');
          if (/env(\.|\[')(COLLECTOR|TEMPORAL_SDK|TEMPORAL_CLI)_/.test(text)) offenders.push(relative(ROOT, path));
        }
      }
    };
    for (const dir of ['src', 'activities', 'workflows']) walk(join(ROOT, dir));
    assert.deepEqual(offenders, []);
  });
});
