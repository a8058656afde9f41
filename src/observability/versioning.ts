/**
 * Worker Deployment versioning, opt-in: COLLECTOR_DEPLOYMENT_NAME + COLLECTOR_BUILD_ID make every
 * worker of the process (executor queues and host-queue companions) poll as that deployment version.
 * Default behaviour PINNED: a run finishes on the build that started it, including the host-pinned
 * steps that read the staging files and heartbeat checkpoints that build wrote (docs/upgrades.md).
 */
import type { WorkerDeploymentOptions } from '@temporalio/worker';
import { ConfigError } from '../errors';

export type VersioningBehaviorName = 'PINNED' | 'AUTO_UPGRADE';

export interface DeploymentSettings {
  deploymentName?: string | undefined;
  buildId?: string | undefined;
  behavior?: string | undefined;
}

export function deploymentSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): DeploymentSettings {
  return { deploymentName: env.COLLECTOR_DEPLOYMENT_NAME, buildId: env.COLLECTOR_BUILD_ID, behavior: env.COLLECTOR_VERSIONING_BEHAVIOR };
}

function behaviorOf(v: string | undefined): VersioningBehaviorName {
  const b = (v ?? 'pinned').trim().toUpperCase().replace(/-/g, '_');
  if (b === 'PINNED' || b === 'AUTO_UPGRADE') return b;
  throw new ConfigError(`COLLECTOR_VERSIONING_BEHAVIOR: "${v}" is not a versioning behaviour (use "pinned" or "auto-upgrade")`);
}

/** The Worker option, or undefined when versioning is off (no deployment name). */
export function workerDeploymentOptions(s: DeploymentSettings): WorkerDeploymentOptions | undefined {
  const deploymentName = s.deploymentName?.trim();
  if (!deploymentName) return undefined;
  const buildId = s.buildId?.trim();
  // "dev" and "unknown" are the defaults of a checkout and of an image built without --build-arg BUILD_ID.
  if (!buildId || buildId === 'dev' || buildId === 'unknown') {
    throw new ConfigError(
      `COLLECTOR_DEPLOYMENT_NAME is "${deploymentName}" but COLLECTOR_BUILD_ID is ${buildId ? `"${buildId}"` : 'not set'}: set it to the image's build id (one per build, never reused)`,
    );
  }
  return {
    useWorkerVersioning: true,
    version: { deploymentName, buildId },
    defaultVersioningBehavior: behaviorOf(s.behavior),
  };
}
