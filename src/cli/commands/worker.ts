/** `collector worker`: polls the executor task queues; outbound connections only. */
import { loadRuntime } from '../../compose';
import { DEFAULT_EXECUTOR } from '../../config/schema';
import { createLogger } from '../../log';
import { checkSettings } from '../../settings';
import type { CollectorRuntime } from '../../runtime/runtime';
import { observabilitySettings } from '../../observability/settings';
import { sdkMetricsAddress } from '../../observability/prometheus';
import { setupTracing } from '../../observability/tracing';
import { connectWorker, loadTemporalTarget, temporalConfigured } from '../../temporal/connection';
import { startDevServer } from '../../temporal/dev-server';
import { installSdkLogging, runCollectorWorkers } from '../../worker';
import { stateDirOf, type Common } from '../common';
import { isMissingFile } from '../context';

export interface WorkerFlags extends Common {
  executor?: string[];
  workflowsOnly?: boolean;
  activitiesOnly?: boolean;
  healthPort?: string;
  metricsPort?: string;
  tracing?: string;
  plugin?: string[];
}

export async function worker(o: WorkerFlags): Promise<void> {
  const log = createLogger();
  // Every setting is checked before anything starts: a bad one exits 2 naming it.
  const obs = observabilitySettings(undefined, { healthPort: o.healthPort, metricsPort: o.metricsPort, tracing: o.tracing });
  checkSettings(['shutdownGraceMs', 'sdkLogLevel', 'hwmRefreshSeconds', 'workflowBundle']);
  const stateDir = stateDirOf(o);
  const { runtime } = await loadRuntime({ log, stateDir, pluginFiles: o.plugin ?? [], ...(o.config ? { configPath: o.config } : {}) });
  const sdkAddress = installSdkLogging(log, {
    forwardCoreLogs: true,
    ...(obs.metrics ? { prometheusAddress: await sdkMetricsAddress() } : {}),
  });
  const tracing = obs.tracing === 'otlp' ? setupTracing() : undefined;
  const dev = temporalConfigured() ? undefined : await startDevServer({ stateDir, log: (m) => log.info(m) });
  try {
    const target = loadTemporalTarget(dev ? { address: dev.address, namespace: dev.namespace } : {});
    if (target.insecureWarning) log.warn({ address: target.address }, target.insecureWarning);
    const connection = await connectWorker(target);
    await runCollectorWorkers({
      log,
      connection,
      namespace: target.namespace,
      executors: o.executor?.length ? o.executor : configuredExecutors(runtime),
      runtime,
      ...(o.workflowsOnly ? { activities: false } : {}),
      ...(o.activitiesOnly ? { workflows: false } : {}),
      ...(obs.health ? { health: obs.health } : {}),
      ...(obs.metrics ? { metrics: { ...obs.metrics, sdkAddress } } : {}),
      ...(tracing ? { tracing } : {}),
      ...(obs.deployment ? { deployment: obs.deployment } : {}),
    });
    await connection.close();
  } finally {
    await tracing?.shutdown();
    await dev?.stop();
  }
}

/** Every executor of the collectors file (with the loaded plugins: a plugin's source must parse too). */
function configuredExecutors(runtime: CollectorRuntime): string[] {
  let executors: string[] = [];
  try {
    executors = [...new Set([...runtime.config().collectors.values()].map((c) => c.executor))];
  } catch (e) {
    if (!isMissingFile(e)) throw e;
  }
  return executors.length ? executors : [DEFAULT_EXECUTOR];
}
