/**
 * Worker Deployment versioning, opt-in: COLLECTOR_DEPLOYMENT_NAME + COLLECTOR_BUILD_ID make every
 * worker of the process (executor queues and host-queue companions) poll as that deployment version.
 * The Temporal Worker Controller injects TEMPORAL_DEPLOYMENT_NAME + TEMPORAL_WORKER_BUILD_ID instead; they
 * are read too. Ours win when both pairs are set (COLLECTOR_DEPLOYMENT_NAME decides which pair applies).
 * Default behaviour PINNED: a run finishes on the build that started it, including the host-pinned
 * steps that read the staging files and heartbeat checkpoints that build wrote (docs/upgrades.md).
 */
import type { WorkerDeploymentOptions } from '@temporalio/worker';
import { ConfigError } from '../contracts/errors';
import { settingsFor, type Env } from '../settings';

export type VersioningBehaviorName = 'PINNED' | 'AUTO_UPGRADE';

export interface DeploymentSettings {
  deploymentName?: string | undefined;
  buildId?: string | undefined;
  behavior?: string | undefined;
}

/** The defaults of a checkout and of an image built without --build-arg BUILD_ID. */
const PLACEHOLDER_BUILD_IDS = new Set(['dev', 'unknown']);

const realBuildId = (v: string): string | undefined => (PLACEHOLDER_BUILD_IDS.has(v.trim()) ? undefined : v);

export function deploymentSettingsFromEnv(env?: Env): DeploymentSettings {
  const s = settingsFor(env);
  const behavior = s.versioningBehavior;
  if (s.deploymentName)
    return { deploymentName: s.deploymentName, buildId: realBuildId(s.buildId) ?? s.controllerBuildId ?? s.buildId, behavior };
  // The image always sets COLLECTOR_BUILD_ID (for --version); under the controller, its build id must be the
  // controller's, or the controller never sees the version's pollers.
  if (s.controllerDeploymentName)
    return { deploymentName: s.controllerDeploymentName, buildId: s.controllerBuildId ?? s.buildId, behavior };
  return { deploymentName: undefined, buildId: s.buildId, behavior };
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
  if (!buildId || PLACEHOLDER_BUILD_IDS.has(buildId)) {
    throw new ConfigError(
      `COLLECTOR_DEPLOYMENT_NAME is "${deploymentName}" but COLLECTOR_BUILD_ID is ${buildId ? `"${buildId}"` : 'not set'}: set it (or TEMPORAL_WORKER_BUILD_ID) to the image's build id (one per build, never reused)`,
    );
  }
  return {
    useWorkerVersioning: true,
    version: { deploymentName, buildId },
    defaultVersioningBehavior: behaviorOf(s.behavior),
  };
}
