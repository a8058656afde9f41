/**
 * Process settings: every environment variable the collector reads itself, declared once with its
 * default, validation and meaning. The README's "Worker environment" table is checked against
 * VARIABLES by test/settings.test.ts.
 *
 * Each value is parsed on first use and kept: a bad variable fails the command that needs it (a
 * ConfigError naming it, exit 2), never one that does not, so `collector --version` works whatever
 * the worker's ports say.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import pkg from '../package.json';
import { ConfigError } from './contracts/errors';
import { parseDuration } from './run/duration';

/** An environment: process.env, or a plain object in tests. */
export type Env = Readonly<Record<string, string | undefined>>;

interface Variable<T> {
  name: string;
  /** The value used when the variable is unset or blank; absent: the parser decides. */
  default?: string;
  /** The README's default cell when it is not the literal default (e.g. "hostname"). */
  shown?: string;
  /** One line for the README table. */
  doc: string;
  parse(value: string | undefined, env: Env): T;
}

const variable = <T>(v: Variable<T>): Variable<T> => v;

const text = (value: string | undefined): string => value ?? '';
const optional = (value: string | undefined): string | undefined => value;

function port(name: string) {
  return (value: string | undefined): number => parsePort(name, value);
}

/** A TCP port, 0 disabling; `name` is the variable or flag the value came from. */
export function parsePort(name: string, value: string | undefined): number {
  const n = Number(value);
  if (value === undefined || !/^\d+$/.test(value.trim()) || !Number.isInteger(n) || n < 0 || n > 65535) {
    throw new ConfigError(`${name}: "${value}" is not a port (0-65535; 0 disables)`);
  }
  return n;
}

function oneOf<T extends string>(name: string, allowed: readonly T[], normalize: (v: string) => string = (v) => v.toLowerCase()) {
  return (value: string | undefined): T => {
    const v = normalize(text(value).trim());
    const hit = allowed.find((a) => a === v);
    if (hit === undefined) throw new ConfigError(`${name}: "${value}" is not one of ${allowed.join(', ')}`);
    return hit;
  };
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const SDK_LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'] as const;

export interface V8Profile {
  name: 'lean' | 'default';
  /** The value given when it was neither: the profile stays lean and the caller warns. */
  unknown?: string;
}

/** Every variable, keyed by its settings property. Order is the README table's. */
export const VARIABLES = {
  configPath: variable({
    name: 'COLLECTOR_CONFIG',
    default: './collectors.yaml',
    doc: 'the collectors file (`--config` wins)',
    parse: text,
  }),
  stateDir: variable({
    name: 'COLLECTOR_STATE_DIR',
    default: './.collector',
    doc: 'staging directories, file HWMs and the embedded Temporal (`--state-dir` wins)',
    parse: text,
  }),
  hostId: variable({
    name: 'COLLECTOR_HOST_ID',
    shown: 'hostname',
    doc: "this host's identity for its host queue; keep it stable across restarts of one host",
    parse: (v) => v ?? hostname(),
  }),
  logLevel: variable({
    name: 'COLLECTOR_LOG_LEVEL',
    shown: '`LOG_LEVEL`, else `info`',
    doc: `pino level: ${LOG_LEVELS.join(', ')}`,
    parse: (v, env) => oneOf('COLLECTOR_LOG_LEVEL', LOG_LEVELS)(v ?? (given(env.LOG_LEVEL) || 'info')),
  }),
  sdkLogLevel: variable({
    name: 'TEMPORAL_SDK_LOG_LEVEL',
    default: 'WARN',
    doc: `the Temporal SDK's own log lines that reach the collector's log, Core's (Rust) included, as JSON like every other line (Core stays at WARN unless DEBUG or TRACE is asked): ${SDK_LOG_LEVELS.join(', ')}`,
    parse: oneOf('TEMPORAL_SDK_LOG_LEVEL', SDK_LOG_LEVELS, (v) => v.toUpperCase()),
  }),
  healthPort: variable({
    name: 'COLLECTOR_HEALTH_PORT',
    default: '8080',
    doc: '`/healthz` + `/readyz` of `collector worker` (`--health-port` wins; 0 disables)',
    parse: port('COLLECTOR_HEALTH_PORT'),
  }),
  healthHost: variable({ name: 'COLLECTOR_HEALTH_HOST', default: '0.0.0.0', doc: 'listen address of the health server', parse: text }),
  metricsPort: variable({
    name: 'COLLECTOR_METRICS_PORT',
    default: '9464',
    doc: 'Prometheus `/metrics` (`--metrics-port` wins; 0 disables)',
    parse: port('COLLECTOR_METRICS_PORT'),
  }),
  metricsHost: variable({
    name: 'COLLECTOR_METRICS_HOST',
    shown: 'the health host',
    doc: 'listen address of the metrics server',
    parse: optional,
  }),
  sdkMetricsAddress: variable({
    name: 'COLLECTOR_SDK_METRICS_ADDRESS',
    shown: 'a free loopback port',
    doc: "where the Temporal SDK's own metrics exporter listens (merged into `/metrics`; never needs exposing)",
    parse: optional,
  }),
  hwmRefreshSeconds: variable({
    name: 'COLLECTOR_HWM_REFRESH_SECONDS',
    default: '30',
    doc: 'how often, at most, the HWM stores are read for the freshness gauges',
    parse: (v) => {
      const n = Number(v);
      // A bad value would otherwise be NaN and re-read every store on every scrape.
      if (!Number.isFinite(n) || n < 1)
        throw new ConfigError(`COLLECTOR_HWM_REFRESH_SECONDS: "${v}" is not a number of seconds (1 or more)`);
      return n;
    },
  }),
  tracing: variable({
    name: 'COLLECTOR_TRACING',
    shown: 'off',
    doc: '`otlp` turns on OpenTelemetry spans (standard `OTEL_*` variables; `--tracing` wins)',
    parse: (v) => parseTracingMode(v),
  }),
  deploymentName: variable({
    name: 'COLLECTOR_DEPLOYMENT_NAME',
    shown: 'off',
    doc: "turns Worker Deployment versioning on, with `COLLECTOR_BUILD_ID` ([docs/upgrades.md](docs/upgrades.md)); wins over the Worker Controller's pair below",
    parse: optional,
  }),
  buildId: variable({
    name: 'COLLECTOR_BUILD_ID',
    default: 'dev',
    doc: "this build's id: `--version`, the startup line, and the deployment version",
    parse: text,
  }),
  versioningBehavior: variable({
    name: 'COLLECTOR_VERSIONING_BEHAVIOR',
    default: 'pinned',
    doc: "the deployment version's default: `pinned` or `auto-upgrade`",
    parse: (v) => v,
  }),
  controllerDeploymentName: variable({
    name: 'TEMPORAL_DEPLOYMENT_NAME',
    doc: 'the deployment name the Temporal Worker Controller injects',
    parse: optional,
  }),
  controllerBuildId: variable({
    name: 'TEMPORAL_WORKER_BUILD_ID',
    doc: 'the build id the Temporal Worker Controller injects',
    parse: optional,
  }),
  version: variable({
    name: 'COLLECTOR_VERSION',
    shown: 'the package version',
    doc: 'the version `--version`, manifests and metrics report',
    parse: (v) => v ?? pkg.version,
  }),
  plugins: variable({
    name: 'COLLECTOR_PLUGINS',
    doc: 'your own plugin files, `path#sha256`, separated by commas or newlines ([docs/plugins.md](docs/plugins.md))',
    parse: (v) =>
      Object.freeze(
        text(v)
          .split(/[,\n]/)
          .map((x) => x.trim())
          .filter(Boolean),
      ),
  }),
  secretDir: variable({
    name: 'COLLECTOR_SECRET_DIR',
    default: '/mnt/secrets',
    doc: 'where `${NAME}` / `${file:NAME}` secrets are read',
    parse: text,
  }),
  secretMaxLength: variable({
    name: 'COLLECTOR_SECRET_MAXLEN',
    default: '1048576',
    doc: 'largest secret file, in bytes',
    parse: (v) => {
      if (!/^\d+$/.test(text(v).trim()) || Number(v) <= 0)
        throw new ConfigError(`COLLECTOR_SECRET_MAXLEN must be a positive number of bytes, not "${v}"`);
      return Number(v);
    },
  }),
  secretCacheTtlMs: variable({
    name: 'COLLECTOR_SECRET_CACHE_TTL',
    default: '60',
    doc: 'seconds (or `90s`, `5m`) an AWS Secrets Manager value is reused; `0` disables',
    parse: (v) => {
      const t = text(v).trim();
      if (/^\d+$/.test(t)) return Number(t) * 1000;
      const ms = parseDuration(t);
      if (ms === undefined) throw new ConfigError(`COLLECTOR_SECRET_CACHE_TTL must be seconds (60) or a duration (90s, 5m), not "${v}"`);
      return ms;
    },
  }),
  codecToken: variable({ name: 'COLLECTOR_CODEC_TOKEN', doc: 'bearer token `collector codec-server` requires, when set', parse: optional }),
  shutdownGraceMs: variable({
    name: 'COLLECTOR_SHUTDOWN_GRACE',
    default: '4m',
    doc: "on SIGTERM, how long running activities may finish before they are cancelled; keep it below the pod's grace period",
    parse: (v) => {
      const ms = parseDuration(text(v));
      if (ms === undefined) throw new ConfigError(`COLLECTOR_SHUTDOWN_GRACE: "${v}" is not a duration (e.g. 4m, 90s)`);
      return ms;
    },
  }),
  workflowBundle: variable({
    name: 'COLLECTOR_WORKFLOW_BUNDLE',
    shown: '`workflow-bundle.js` of the installation',
    doc: 'the pre-built workflow bundle `npm run build` writes (its encrypting variant: the same name ending `-encrypted.js`); when absent, workflows are bundled at start',
    // The installation root: src/ in a checkout, dist/src/ when compiled.
    parse: (v) => v ?? join(__dirname, '..', 'workflow-bundle.js'),
  }),
  v8Profile: variable({
    name: 'COLLECTOR_V8_PROFILE',
    default: 'lean',
    doc: "`lean` keeps peak memory flat with catalog size (a V8 flag set at start, [src/v8-profile.ts](src/v8-profile.ts)); `default` leaves Node's settings. The image also sets `NODE_OPTIONS=--max-semi-space-size=4`, the part that must be given at start",
    parse: (v): V8Profile => {
      const name = text(v).trim().toLowerCase();
      // A typo must not silently change memory behaviour, nor stop a worker: lean, with a warning.
      return name === 'lean' || name === 'default' ? { name } : { name: 'lean', unknown: text(v) };
    },
  }),
  temporalCliPath: variable({
    name: 'TEMPORAL_CLI_PATH',
    shown: '`temporal` on `PATH`',
    doc: 'the `temporal` binary that runs the embedded dev server',
    parse: optional,
  }),
} as const;

export type TracingMode = 'off' | 'otlp';

/** `value` as a tracing mode (from COLLECTOR_TRACING or --tracing). */
export function parseTracingMode(value: string | undefined): TracingMode {
  const v = text(value).trim().toLowerCase();
  if (v === '' || v === 'off' || v === 'none' || v === 'false') return 'off';
  if (v === 'otlp') return 'otlp';
  throw new ConfigError(`COLLECTOR_TRACING: "${v}" is not a tracing mode (use "otlp", or leave it unset for none)`);
}

type Variables = typeof VARIABLES;

export type Settings = { readonly [K in keyof Variables]: ReturnType<Variables[K]['parse']> } & {
  /**
   * The environment itself, for what libraries and conventions read from it (PATH, USER, the
   * TEMPORAL_* connection variables of @temporalio/envconfig), never for a COLLECTOR_* variable.
   */
  readonly env: Env;
};

function given(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

/** Settings over `env`, each value parsed on first use (frozen; tests pass a plain object). */
export function readSettings(env: Env): Settings {
  const out: Record<string, unknown> = {};
  const memo = new Map<string, unknown>();
  for (const [key, spec] of Object.entries(VARIABLES) as [string, Variable<unknown>][]) {
    Object.defineProperty(out, key, {
      enumerable: true,
      get() {
        if (!memo.has(key)) memo.set(key, spec.parse(given(env[spec.name]) ?? spec.default, env));
        return memo.get(key);
      },
    });
  }
  out.env = env;
  return Object.freeze(out) as Settings;
}

let processSettings: Settings | undefined;

/** This process's settings, from process.env (the one place it is read for them). */
export function settings(): Settings {
  return (processSettings ??= readSettings(process.env));
}

/** Parses `keys` now, so a command can refuse a bad variable before it starts anything. */
export function checkSettings(keys: (keyof typeof VARIABLES)[], s: Settings = settings()): void {
  for (const k of keys) void s[k];
}

/** `env`'s settings when a caller (a test) passes one, else the process's. */
export function settingsFor(env?: Env): Settings {
  return env ? readSettings(env) : settings();
}
