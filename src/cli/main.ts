/**
 * The `collector` command. Exit codes: 0 success, 1 a run or check failed, 2 bad input (config,
 * arguments, references) — the message names the field and what to do.
 */
import { Command, CommanderError, Option } from 'commander';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { resolve } from 'node:path';
import { approveSignal, rejectSignal } from '../../workflows/messages';
import { ConfigError, CollectorError } from '../contracts/errors';
import { createLogger } from '../log';
import { CollectorPlugin } from '../plugin';
import { DEFAULT_EXECUTOR } from '../config/schema';
import { TOOL_VERSION, BUILD_ID } from '../version';
import type { CollectInput } from '../run/types';
import type { Collector } from '../config/load';
import { openSession } from './session';
import { failureMessage, followRun, isWorkflowFailure, printSummary, runWorkflowId, startRun } from './run';
import {
  buildSchedule,
  createSchedule,
  describeSchedule,
  describeWhen,
  desiredSchedule,
  listSchedules,
  notFound,
  planApply,
  runApply,
  updateSchedule,
  withScheduleBlock,
  type ScheduleFlags,
} from './schedule';
import { hwmCommand } from './hwm';
import { testConnection } from './test-connection';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { parseRecipe } from '../config/load';
import { RECIPE_PREFIX, RECIPE_SHAPE_ONLY } from '../config/recipe-policy';
import { installSdkLogging, runCollectorWorkers } from '../worker';
import { connectWorker, loadTemporalTarget, temporalConfigured } from '../temporal/connection';
import { startDevServer } from '../temporal/dev-server';
import { observabilitySettings } from '../observability/settings';
import { sdkMetricsAddress } from '../observability/prometheus';
import { setupTracing } from '../observability/tracing';
import { loadPlugins, pluginSpecs } from '../runtime/plugin-loader';
import { applyCollectorV8Profile } from '../v8-profile';
import { settings } from '../settings';

const say = (m: string) => process.stdout.write(`${m}\n`);
const interactive = Boolean(process.stdout.isTTY);

interface Common {
  config?: string;
  stateDir?: string;
}

const stateDirOf = (o: Common) => resolve(o.stateDir ?? settings().stateDir);

/** The collectors file as the worker sees it: built-ins plus the plugins named in COLLECTOR_PLUGINS. */
async function pluginFor(o: Common): Promise<CollectorPlugin> {
  const log = createLogger({ level: 'warn', destination: undefined });
  const base = { log, stateDir: stateDirOf(o), ...(o.config ? { configPath: o.config } : {}), workflows: false, activities: false };
  const builtins = new CollectorPlugin(base).runtime.registry;
  const loaded = await loadPlugins(pluginSpecs(), log, {
    sources: builtins.sources.keys(),
    landings: builtins.landings.keys(),
    hwmStores: builtins.hwmStores.keys(),
  });
  return new CollectorPlugin({ ...base, sources: loaded.sources, landings: loaded.landings, hwmStores: loaded.hwmStores });
}

/** The collector `name` of the local collectors file; undefined when there is no such file. */
async function configuredCollector(o: Common, name: string): Promise<Collector | undefined> {
  try {
    return (await pluginFor(o)).runtime.collector({ collector: name });
  } catch (e) {
    if (e instanceof ConfigError && /not found/.test(e.message)) return undefined;
    throw e;
  }
}

/** The executor task queue of `name` from the local collectors file, when there is one. */
async function executorOf(o: Common, name: string, explicit?: string): Promise<string> {
  if (explicit) return explicit;
  return (await configuredCollector(o, name))?.executor ?? DEFAULT_EXECUTOR;
}

function common(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', 'collectors file (default: $COLLECTOR_CONFIG or ./collectors.yaml)')
    .option('--state-dir <dir>', 'staging, HWM files and the embedded Temporal (default: $COLLECTOR_STATE_DIR or ./.collector)');
}

function scheduleOptions(cmd: Command): Command {
  return cmd
    .option('--cron <expr...>', 'cron expression(s), e.g. "0 */6 * * *" (default: the collector\'s schedule: block)')
    .option('--every <duration>', 'interval instead of cron, e.g. 6h (default: the collector\'s schedule: block)')
    .option('--timezone <tz>', 'IANA time zone for cron, e.g. Europe/Prague (default: the schedule: block\'s)')
    .option('--jitter <duration>', 'random delay up to this, to spread load (default: the schedule: block\'s)')
    .option('--overlap <policy>', 'skip | buffer-one | buffer-all | cancel-other | terminate-other | allow-all', 'skip')
    .option('--catchup-window <duration>', 'how late a missed run may still start')
    .option('--pause-on-failure', 'pause the schedule when a run fails')
    .option('--paused', 'create it paused')
    .option('--note <text>', 'a note shown with the schedule')
    .option('--executor <queue>', 'task queue to start runs on (default: the collector\'s executor)');
}

export function buildProgram(): Command {
  const program = new Command('collector')
    .description('Customer-side metadata collectors as durable Temporal workflows')
    .version(`${TOOL_VERSION} (build ${BUILD_ID})`, '-V, --version')
    .showHelpAfterError()
    .exitOverride();

  common(program.command('worker'))
    .description('run the collector worker: polls the executor task queues, outbound connections only')
    .option('-e, --executor <queue...>', 'executor task queues to serve (default: every executor in the collectors file, else "collectors")')
    .addOption(new Option('--workflows-only', 'serve the workflow side only').conflicts('activitiesOnly'))
    .option('--activities-only', 'serve activities only (the workflow side runs elsewhere)')
    .option('--health-port <n>', '/healthz and /readyz port (default: $COLLECTOR_HEALTH_PORT or 8080; 0 disables)')
    .option('--metrics-port <n>', 'Prometheus /metrics port (default: $COLLECTOR_METRICS_PORT or 9464; 0 disables)')
    .option('--tracing <mode>', 'OpenTelemetry tracing: otlp (default: $COLLECTOR_TRACING, else off)')
    .option('--plugin <spec>', 'load a source/landing/HWM plugin module: path[#sha256] (repeatable; also $COLLECTOR_PLUGINS)', (v: string, all: string[]) => [...all, v], [] as string[])
    .action(
      async (
        o: Common & { executor?: string[]; workflowsOnly?: boolean; activitiesOnly?: boolean; healthPort?: string; metricsPort?: string; tracing?: string; plugin?: string[] },
      ) => {
        const log = createLogger();
        // Every setting is checked before anything starts: a bad one exits 2 naming it.
        const obs = observabilitySettings(undefined, { healthPort: o.healthPort, metricsPort: o.metricsPort, tracing: o.tracing });
        const builtins = new CollectorPlugin({ log, stateDir: stateDirOf(o), workflows: false, activities: false }).runtime.registry;
        const loaded = await loadPlugins(pluginSpecs(undefined, o.plugin ?? []), log, {
          sources: builtins.sources.keys(),
          landings: builtins.landings.keys(),
          hwmStores: builtins.hwmStores.keys(),
        });
        const extra = { sources: loaded.sources, landings: loaded.landings, hwmStores: loaded.hwmStores };
        const sdkAddress = installSdkLogging(log, obs.metrics ? { prometheusAddress: await sdkMetricsAddress() } : {});
        const tracing = obs.tracing === 'otlp' ? setupTracing() : undefined;
        const stateDir = stateDirOf(o);
        const dev = temporalConfigured() ? undefined : await startDevServer({ stateDir, log: (m) => log.info(m) });
        try {
          const target = loadTemporalTarget(dev ? { address: dev.address, namespace: dev.namespace } : {});
          if (target.insecureWarning) log.warn({ address: target.address }, target.insecureWarning);
          const connection = await connectWorker(target);
          let executors = o.executor;
          if (!executors?.length) {
            // With the loaded plugins: a collector whose source is a plugin's must parse here too.
            const plugin = new CollectorPlugin({ log, stateDir, workflows: false, activities: false, ...extra, ...(o.config ? { configPath: o.config } : {}) });
            try {
              executors = [...new Set([...plugin.runtime.config().collectors.values()].map((c) => c.executor))];
            } catch (e) {
              if (!(e instanceof ConfigError && /not found/.test(e.message))) throw e;
            }
            if (!executors?.length) executors = [DEFAULT_EXECUTOR];
          }
          await runCollectorWorkers({
            log,
            connection,
            namespace: target.namespace,
            executors,
            stateDir,
            ...extra,
            ...(o.config ? { configPath: o.config } : {}),
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
      },
    );

  common(program.command('run <collector>'))
    .description('start a run, show its progress, print the summary')
    .option('--dry-run', 'stop after validation and keep the files in staging')
    .option('--require-approval', 'wait for "collector approve" before uploading')
    .option('--recipe <file>', 'run an inline recipe (YAML/JSON collector definition) instead of a named collector')
    .option('--executor <queue>', 'task queue to start the run on')
    .option('--workflow-id <id>', 'workflow id (default: collect-<collector>, so one run at a time)')
    .option('--no-wait', 'start and print the workflow id without waiting')
    .action(async (name: string, o: Common & { dryRun?: boolean; requireApproval?: boolean; recipe?: string; executor?: string; workflowId?: string; wait: boolean }) => {
      let input: CollectInput = { collector: name };
      let taskQueue: string;
      if (o.recipe) {
        const recipe = { name, ...(parseYaml(readFileSync(o.recipe, 'utf8')) as Record<string, unknown>) };
        // Checked here first: a recipe with a plain secret must be refused before it is sent, since
        // whatever a workflow receives is stored in its history. With an embedded worker its policy is
        // this collectors file's; a remote worker applies its own, so here only the recipe's shape counts.
        const { runtime } = await pluginFor(o);
        const policy = temporalConfigured() ? RECIPE_SHAPE_ONLY : runtime.recipePolicy();
        const checked = parseRecipe(recipe, runtime.registry, policy);
        input = { recipe };
        taskQueue = o.executor ?? checked.executor;
      } else {
        taskQueue = await executorOf(o, name, o.executor);
      }
      if (o.dryRun) input.dryRun = true;
      if (o.requireApproval) input.requireApproval = true;
      const session = await openSession({ stateDir: stateDirOf(o), inProcessWorker: 'embedded', ...(o.config ? { configPath: o.config } : {}), say: (m) => process.stderr.write(`${m}\n`) });
      try {
        const handle = await startRun(session.client, input, taskQueue, o.workflowId ?? runWorkflowId(o.recipe ? `${RECIPE_PREFIX}${name}` : name));
        say(`started ${handle.workflowId} on task queue ${taskQueue}`);
        if (!o.wait) return;
        const summary = await followRun(handle, say, interactive);
        printSummary(summary, say);
      } catch (e) {
        if (isWorkflowFailure(e)) throw new RunFailed(failureMessage(e));
        throw e;
      } finally {
        await session.close();
      }
    });

  for (const [verb, signal] of [['approve', approveSignal], ['reject', rejectSignal]] as const) {
    common(program.command(`${verb} <workflowId>`))
      .description(`${verb} a run waiting at its approval gate`)
      .option('--by <who>', 'who decided', settings().env.USER)
      .option('--reason <text>', 'why')
      .action(async (workflowId: string, o: Common & { by?: string; reason?: string }) => {
        const session = await openSession({ stateDir: stateDirOf(o), inProcessWorker: 'never', say: (m) => process.stderr.write(`${m}\n`) });
        try {
          await session.client.workflow.getHandle(workflowId).signal(signal, { ...(o.by ? { by: o.by } : {}), ...(o.reason ? { reason: o.reason } : {}) });
          say(`${verb}d ${workflowId}`);
        } finally {
          await session.close();
        }
      });
  }

  const schedule = program
    .command('schedule')
    .description('manage Temporal Schedules of collectors (defaults from each collector\'s schedule: block in collectors.yaml)');
  const withClient = async <T>(o: Common, fn: (s: Awaited<ReturnType<typeof openSession>>) => Promise<T>): Promise<T> => {
    const session = await openSession({ stateDir: stateDirOf(o), inProcessWorker: 'never', ...(o.config ? { configPath: o.config } : {}), say: (m) => process.stderr.write(`${m}\n`) });
    try {
      return await fn(session);
    } finally {
      await session.close();
    }
  };
  const SCHEDULE_HELP = {
    create: 'create the collector\'s Temporal Schedule from its schedule: block in collectors.yaml; flags override the block',
    update: 'change the collector\'s Temporal Schedule to its schedule: block and the flags given (pause state and note are kept)',
  } as const;
  for (const verb of ['create', 'update'] as const) {
    scheduleOptions(common(schedule.command(`${verb} <collector>`)))
      .description(SCHEDULE_HELP[verb])
      .option('--schedule-id <id>', 'default: the collector name')
      .action(async (name: string, o: Common & ScheduleFlags & { executor?: string; scheduleId?: string }) => {
        const id = o.scheduleId ?? name;
        const configured = await configuredCollector(o, name);
        const { flags, names } = withScheduleBlock(o, configured?.schedule, name);
        const taskQueue = o.executor ?? configured?.executor ?? DEFAULT_EXECUTOR;
        const options = buildSchedule(id, { collector: name }, taskQueue, flags, names, { collector: name, managedBy: 'cli' });
        await withClient(o, (s) => (verb === 'create' ? createSchedule(s.client, options, names) : updateSchedule(s.client, id, options, names)));
        say(`schedule ${id} ${verb}d: ${describeWhen(flags, taskQueue)}`);
      });
  }
  common(schedule.command('apply'))
    .description(
      'make the Temporal Schedules match collectors.yaml: create or update one per collector with a schedule: block, ' +
        'delete those apply created for collectors without one; never touches other schedules',
    )
    .option('--dry-run', 'print the plan, change nothing')
    .action(async (o: Common & { dryRun?: boolean }) => {
      const config = (await pluginFor(o)).runtime.config();
      // Every block is checked before anything changes: one bad field exits 2 with nothing applied.
      const desired = [...config.collectors.values()].filter((c) => c.schedule).map((c) => desiredSchedule(c.name, c.executor, c.schedule!));
      const counts = await withClient(o, async (s) => runApply(s.client, await planApply(s.client, desired, new Set(config.collectors.keys())), Boolean(o.dryRun), say));
      if (counts.conflicts) throw new RunFailed(`${counts.conflicts} schedule(s) in conflict (see above); nothing was done to them`);
    });
  common(schedule.command('describe <scheduleId>'))
    .description('show a schedule: spec, policies, next and recent runs (JSON)')
    .action(async (id: string, o: Common) => {
      say(JSON.stringify(await withClient(o, (s) => describeSchedule(s.client, id)), null, 2));
    });
  common(schedule.command('list'))
    .description('list the schedules of the namespace: id, paused or active, next run')
    .action(async (o: Common) => {
      for (const s of await withClient(o, (x) => listSchedules(x.client))) say(`${s.scheduleId}\t${s.paused ? 'paused' : 'active'}\tnext ${s.next ?? '-'}`);
    });
  const VERB_HELP = {
    pause: 'pause a schedule (no runs start until unpaused)',
    unpause: 'resume a paused schedule',
    trigger: 'start a run of the schedule now',
    delete: 'delete a schedule (runs already started go on)',
  } as const;
  for (const verb of ['pause', 'unpause', 'trigger', 'delete'] as const) {
    const cmd = common(schedule.command(`${verb} <scheduleId>`)).description(VERB_HELP[verb]);
    if (verb === 'pause' || verb === 'unpause') cmd.option('--note <text>', 'why, shown with the schedule');
    cmd.action(async (id: string, o: Common & { note?: string }) => {
      await withClient(o, async (s) => {
        const h = s.client.schedule.getHandle(id);
        try {
          if (verb === 'pause') await h.pause(o.note);
          else if (verb === 'unpause') await h.unpause(o.note);
          else if (verb === 'trigger') await h.trigger();
          else await h.delete();
        } catch (e) {
          throw notFound(e, id);
        }
      });
      say(`schedule ${id}: ${verb} done`);
    });
  }
  common(schedule.command('backfill <scheduleId>'))
    .description('replay the runs a schedule would have started between --start and --end')
    .requiredOption('--start <iso>', 'first scheduled time to replay')
    .requiredOption('--end <iso>', 'last scheduled time to replay')
    .option('--overlap <policy>', 'overlap policy for the backfill', 'buffer-all')
    .action(async (id: string, o: Common & { start: string; end: string; overlap: string }) => {
      const start = new Date(o.start);
      const end = new Date(o.end);
      if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime()) || start >= end) {
        throw new ConfigError('--start and --end must be ISO-8601 timestamps with start before end');
      }
      const overlap = o.overlap === 'skip' ? ScheduleOverlapPolicy.SKIP : ScheduleOverlapPolicy.BUFFER_ALL;
      await withClient(o, async (s) => {
        try {
          await s.client.schedule.getHandle(id).backfill({ start, end, overlap });
        } catch (e) {
          throw notFound(e, id);
        }
      });
      say(`schedule ${id}: backfill ${start.toISOString()} .. ${end.toISOString()} requested`);
    });

  hwmCommand(program.command('hwm').description('read or change a collector\'s high-water mark'), pluginFor, stateDirOf, say);

  common(program.command('validate-config'))
    .description('check the collectors file; lists every bad field by path')
    .action(async (o: Common) => {
      const config = (await pluginFor(o)).runtime.config();
      say(`${config.path}: ${config.collectors.size} collector(s) valid: ${[...config.collectors.keys()].join(', ')}`);
    });

  common(program.command('test-connection <collector>'))
    .description('check every permission the collector\'s source and landing zone need')
    .action(async (name: string, o: Common) => {
      const ok = await testConnection(await pluginFor(o), name, say);
      if (!ok) throw new RunFailed('some required permissions are missing');
    });

  program
    .command('demo')
    .description('run the whole pipeline twice on embedded defaults (local Athena, embedded Temporal, ./landing)')
    .option('--dir <dir>', 'where the landing directory and demo state go', '.')
    .option('--keep', 'keep the embedded Temporal running afterwards, for the Web UI')
    .action(async (o: { dir: string; keep?: boolean }) => {
      try {
        // Loaded on demand: the demo's local Athena endpoint needs DuckDB, a development dependency.
        const { runDemo } = require('./demo') as typeof import('./demo');
        await runDemo({ dir: o.dir, keep: Boolean(o.keep), interactive, say });
      } catch (e) {
        if (isWorkflowFailure(e)) throw new RunFailed(failureMessage(e));
        throw e;
      }
    });

  const dev = program.command('dev').description('local development servers');
  dev
    .command('athena-local')
    .description('serve the local Athena endpoint (AWS JSON 1.1) for tests, demos and benchmarks')
    .option('--port <n>', 'port (0: any free one)', '4566')
    .option('--seed <file>', 'YAML/JSON seed file (default: the demo catalog)')
    .option('--generate <spec>', 'synthetic catalog, e.g. tables=20000,columns=50,executions=100000')
    .option('--latency-ms <n>', 'latency added to every request')
    .action(async () => {
      // Loaded on demand: DuckDB, behind the local endpoint, is a development dependency.
      await (require('./dev-tools') as typeof import('./dev-tools')).athenaLocalMain(process.argv.slice(process.argv.indexOf('athena-local') + 1));
    });

  common(program.command('codec-server'))
    .description('serve /encode and /decode for the Temporal Web UI when payload encryption is on (token: $COLLECTOR_CODEC_TOKEN)')
    .option('--port <n>', 'port', '8888')
    .option('--host <host>', 'listen address', '127.0.0.1')
    .option('--ui-origin <origin...>', 'Web UI origins allowed by CORS', ['http://localhost:8233', 'http://127.0.0.1:8233'])
    .action(async (o: Common & { port: string; host: string; uiOrigin: string[] }) => {
      const { serveCodec } = require('./codec-server') as typeof import('./codec-server');
      await serveCodec(await pluginFor(o), { port: Number(o.port), host: o.host, corsOrigins: o.uiOrigin, say });
    });

  return program;
}

/** A run or check that failed: exit 1 with its message. */
export class RunFailed extends Error {}

export async function main(argv: string[]): Promise<number> {
  applyCollectorV8Profile();
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof RunFailed) {
      process.stderr.write(`run failed: ${e.message}\n`);
      return 1;
    }
    if (e instanceof CollectorError && e.nonRetryable) {
      process.stderr.write(`error: ${e.message}\n`);
      return 2;
    }
    process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`error: ${String(e)}\n`);
      process.exit(1);
    },
  );
}
