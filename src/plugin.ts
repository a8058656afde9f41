/**
 * CollectorPlugin: the whole suite as a Temporal worker plugin. Add it to any Worker whose task queue is
 * an executor: it contributes the collect workflow, its activities and the data converter, and runs a
 * companion activity worker on this host's own queue (`<executor>@<host>`) for host-pinned staging.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SimplePlugin } from '@temporalio/plugin';
import { Worker, type InjectedSinks, type WorkerOptions, type WorkflowBundleOption } from '@temporalio/worker';
import type { DataConverter } from '@temporalio/common';
import { executorActivities, hostActivities } from '../activities';
import { collectorActivityInterceptors } from '../activities/interceptor';
import type { CollectorSinks } from '../workflows/sinks';
import { recordRunEnd } from './observability/activity';
import type { CollectorRuntime } from './runtime/runtime';
import { createRuntime, type RuntimeFactoryOptions } from './compose';
import { workflowSource } from './workflow-source';

export interface CollectorPluginOptions extends RuntimeFactoryOptions {
  /** A runtime already built (compose.ts) to serve; the runtime options above are then not used. */
  runtime?: CollectorRuntime;
  /** E.g. the payload-encryption converter from codec/data-converter.ts. */
  dataConverter?: DataConverter;
  /** Serve workflows too (default). False: activities only, for an executor apart from the workflow side. */
  workflows?: boolean;
  /** Serve activities too (default). False: workflows only. */
  activities?: boolean;
  /**
   * Bundle the workflows at start even when a pre-built bundle exists: workflow interceptor modules
   * added by another plugin (OpenTelemetry tracing) only take effect in a bundle built with them.
   */
  bundleAtStart?: boolean;
}

/** The workflows entry point, for bundling at start (the TypeScript sources in a checkout, else dist/). */
function workflowsEntry(): string {
  const ts = join(__dirname, '..', 'workflows', 'index.ts');
  return existsSync(ts) ? ts : join(__dirname, '..', 'workflows', 'index.js');
}

export class CollectorPlugin extends SimplePlugin {
  readonly runtime: CollectorRuntime;

  constructor(options: CollectorPluginOptions = {}) {
    const runtime = options.runtime ?? createRuntime(options);
    // The executor's own queue serves the executor set; the host set goes on the companion (runWorker).
    const activities = options.activities === false ? undefined : executorActivities(runtime);
    const source =
      options.workflows === false
        ? undefined
        : options.bundleAtStart
          ? { workflowsPath: workflowsEntry() }
          : workflowSource(Boolean(options.dataConverter));
    super({
      name: 'temporal-collectors',
      // Timing, failure counting, conversion and scrubbing of every step (the companion copies it). Put
      // a tracing plugin before this one, so the step's failure is recorded on its activity span.
      ...(activities ? { activities, workerInterceptors: { activity: [collectorActivityInterceptors] } } : {}),
      ...(options.dataConverter ? { dataConverter: options.dataConverter } : {}),
      // Never replace a customer's own workflows: they re-export ours from their workflows file.
      ...(source && 'workflowsPath' in source ? { workflowsPath: (existing?: string) => existing ?? source.workflowsPath } : {}),
      ...(source && 'workflowBundle' in source
        ? { workflowBundle: (existing?: WorkflowBundleOption) => existing ?? source.workflowBundle }
        : {}),
    });
    this.runtime = runtime;
    this.runActivities = options.activities !== false;
    this.runWorkflows = options.workflows !== false;
  }

  /** Adds the sink the collect workflow reports run outcomes to (SimplePlugin has no sinks option). */
  override configureWorker(options: WorkerOptions): WorkerOptions {
    const configured = super.configureWorker(options);
    return this.runWorkflows ? { ...configured, sinks: { ...configured.sinks, ...collectorSinks() } } : configured;
  }

  private readonly runActivities: boolean;
  private readonly runWorkflows: boolean;
  private readonly companions = new Map<string, Worker>();

  /** The running host-queue companion Worker of each executor queue (for readiness probes). */
  companionWorker(executorQueue: string): Worker | undefined {
    return this.companions.get(executorQueue);
  }

  /** A plugin whose data converter follows the collectors file's `encryption` section, when it has one. */
  static async fromConfig(options: CollectorPluginOptions = {}): Promise<CollectorPlugin> {
    const runtime = options.runtime ?? createRuntime(options);
    const dataConverter = options.dataConverter ?? (await runtime.dataConverter());
    return new CollectorPlugin({ ...options, runtime, ...(dataConverter ? { dataConverter } : {}) });
  }

  override async runWorker(worker: Worker, next: (w: Worker) => Promise<void>): Promise<void> {
    if (!this.runActivities) return next(worker);
    const { connection, namespace, taskQueue, dataConverter, interceptors, workerDeploymentOptions } = worker.options;
    // The companion mirrors its executor worker: same activity and client interceptors (tracing), same
    // deployment version, so a pinned run's host-pinned steps stay on the build that started it.
    const hostWorker = await Worker.create({
      connection,
      namespace,
      taskQueue: this.runtime.hostQueue(taskQueue),
      // Host-pinned steps (extract, upload) drain on shutdown like the executor's own worker.
      shutdownGraceTime: worker.options.shutdownGraceTimeMs,
      activities: hostActivities(this.runtime),
      interceptors: { activity: interceptors.activity, client: interceptors.client },
      ...(workerDeploymentOptions ? { workerDeploymentOptions } : {}),
      ...(dataConverter ? { dataConverter } : {}),
    });
    const host = hostWorker.run();
    this.companions.set(taskQueue, hostWorker);
    try {
      await next(worker);
    } finally {
      if (hostWorker.getState() === 'RUNNING') hostWorker.shutdown();
      await host;
      this.companions.delete(taskQueue);
    }
  }
}

/** The worker side of workflows/sinks.ts; not called while a history replays. */
export function collectorSinks(): InjectedSinks<CollectorSinks> {
  return { runs: { ended: { fn: (info, collector, outcome) => recordRunEnd(collector, outcome, info.runStartTime) } } };
}
