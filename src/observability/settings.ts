/**
 * The worker's observability settings from the environment and `collector worker` flags (a flag wins).
 * Bad values are ConfigErrors (exit 2) naming the variable.
 */
import type { WorkerDeploymentOptions } from '@temporalio/worker';
import { ConfigError } from '../contracts/errors';
import { parsePort, settingsFor, type Env } from '../settings';
import { tracingMode, type TracingMode } from './tracing';
import { deploymentSettingsFromEnv, workerDeploymentOptions } from './versioning';

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

/** A flag's port when it is given, else the variable's (parsed only then: an overridden bad value is ignored). */
function port(flag: string, value: string | undefined, fromEnv: () => number): number {
  return value !== undefined && value.trim() !== '' ? parsePort(flag, value) : fromEnv();
}

export function observabilitySettings(env?: Env, flags: ObservabilityFlags = {}): ObservabilitySettings {
  const s = settingsFor(env);
  const healthPort = port('--health-port', flags.healthPort, () => s.healthPort);
  const metricsPort = port('--metrics-port', flags.metricsPort, () => s.metricsPort);
  const healthHost = s.healthHost;
  const metricsHost = s.metricsHost ?? healthHost;
  if (healthPort && healthPort === metricsPort && healthHost !== metricsHost) {
    throw new ConfigError(
      `COLLECTOR_HEALTH_PORT and COLLECTOR_METRICS_PORT are both ${healthPort} but the hosts differ (${healthHost}, ${metricsHost}): one port is one server`,
    );
  }
  return {
    health: healthPort ? { host: healthHost, port: healthPort } : undefined,
    metrics: metricsPort ? { host: metricsHost, port: metricsPort } : undefined,
    tracing: tracingMode(env, flags.tracing),
    deployment: workerDeploymentOptions(deploymentSettingsFromEnv(env)),
  };
}
