/**
 * The worker's observability settings from the environment and `collector worker` flags (a flag wins).
 * Bad values are ConfigErrors (exit 2) naming the variable.
 */
import type { WorkerDeploymentOptions } from '@temporalio/worker';
import { ConfigError } from '../contracts/errors';
import { tracingMode, type TracingMode } from './tracing';
import { deploymentSettingsFromEnv, workerDeploymentOptions } from './versioning';

export const DEFAULT_HEALTH_PORT = 8080;
export const DEFAULT_METRICS_PORT = 9464;

export interface ObservabilitySettings {
  /** Undefined: disabled (port 0). */
  health: { host: string; port: number } | undefined;
  metrics: { host: string; port: number } | undefined;
  tracing: TracingMode;
  deployment: WorkerDeploymentOptions | undefined;
}

export interface ObservabilityFlags {
  healthPort?: string | undefined;
  metricsPort?: string | undefined;
  tracing?: string | undefined;
}

function port(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value.trim() === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ConfigError(`${name}: "${value}" is not a port (0-65535; 0 disables)`);
  return n;
}

export function observabilitySettings(env: NodeJS.ProcessEnv = process.env, flags: ObservabilityFlags = {}): ObservabilitySettings {
  const healthPort = port(flags.healthPort !== undefined ? '--health-port' : 'COLLECTOR_HEALTH_PORT', flags.healthPort ?? env.COLLECTOR_HEALTH_PORT, DEFAULT_HEALTH_PORT);
  const metricsPort = port(flags.metricsPort !== undefined ? '--metrics-port' : 'COLLECTOR_METRICS_PORT', flags.metricsPort ?? env.COLLECTOR_METRICS_PORT, DEFAULT_METRICS_PORT);
  const healthHost = env.COLLECTOR_HEALTH_HOST || '0.0.0.0';
  const metricsHost = env.COLLECTOR_METRICS_HOST || healthHost;
  if (healthPort && healthPort === metricsPort && healthHost !== metricsHost) {
    throw new ConfigError(`COLLECTOR_HEALTH_PORT and COLLECTOR_METRICS_PORT are both ${healthPort} but the hosts differ (${healthHost}, ${metricsHost}): one port is one server`);
  }
  return {
    health: healthPort ? { host: healthHost, port: healthPort } : undefined,
    metrics: metricsPort ? { host: metricsHost, port: metricsPort } : undefined,
    tracing: tracingMode(env, flags.tracing),
    deployment: workerDeploymentOptions(deploymentSettingsFromEnv(env)),
  };
}
