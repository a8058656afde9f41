/**
 * The `collector` command. Exit codes: 0 success, 1 a run or check failed, 2 bad input (config,
 * arguments, references) — the message names the field and what to do; 130 interrupted (Ctrl-C).
 *
 * This file only wires the commands: each action requires its module (and with it the worker, the
 * SDKs, the connectors) when it runs, so `--version` and `--help` load none of them.
 */
import { Command, CommanderError, Option } from 'commander';
import { CollectorError } from '../contracts/errors';
import { settings } from '../settings';
import { TOOL_VERSION, BUILD_ID } from '../version';
import { applyCollectorV8Profile } from '../v8-profile';
import { RunFailed, type Common } from './common';
import { Interrupted, INTERRUPTED_EXIT_CODE } from './interrupt';
import type { WorkerFlags } from './commands/worker';
import type { RunFlags } from './commands/run';
import type { ScheduleFlags } from './schedule';

/** A command's module, loaded when its action runs. */
const commands = {
  worker: () => require('./commands/worker') as typeof import('./commands/worker'),
  run: () => require('./commands/run') as typeof import('./commands/run'),
  decide: () => require('./commands/decide') as typeof import('./commands/decide'),
  schedule: () => require('./commands/schedule') as typeof import('./commands/schedule'),
  hwm: () => require('./commands/hwm') as typeof import('./commands/hwm'),
  validateConfig: () => require('./commands/validate-config') as typeof import('./commands/validate-config'),
  testConnection: () => require('./commands/test-connection') as typeof import('./commands/test-connection'),
  demo: () => require('./commands/demo') as typeof import('./commands/demo'),
  codecServer: () => require('./commands/codec-server') as typeof import('./commands/codec-server'),
  // Loaded by path, only in a checkout: DuckDB, behind the local endpoint, is a development dependency.
  devTools: () => require('./dev-tools') as typeof import('./dev-tools'),
};

function common(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', 'collectors file (default: $COLLECTOR_CONFIG or ./collectors.yaml)')
    .option('--state-dir <dir>', 'staging, HWM files and the embedded Temporal (default: $COLLECTOR_STATE_DIR or ./.collector)');
}

function scheduleOptions(cmd: Command): Command {
  return cmd
    .option('--cron <expr...>', 'cron expression(s), e.g. "0 */6 * * *" (default: the collector\'s schedule: block)')
    .option('--every <duration>', "interval instead of cron, e.g. 6h (default: the collector's schedule: block)")
    .option('--timezone <tz>', "IANA time zone for cron, e.g. Europe/Prague (default: the schedule: block's)")
    .option('--jitter <duration>', "random delay up to this, to spread load (default: the schedule: block's)")
    .option('--overlap <policy>', 'skip | buffer-one | buffer-all | cancel-other | terminate-other | allow-all', 'skip')
    .option('--catchup-window <duration>', 'how late a missed run may still start')
    .option('--pause-on-failure', 'pause the schedule when a run fails')
    .option('--paused', 'create it paused')
    .option('--note <text>', 'a note shown with the schedule')
    .option('--executor <queue>', "task queue to start runs on (default: the collector's executor)");
}

export function buildProgram(): Command {
  const program = new Command('collector')
    .description('Customer-side metadata collectors as durable Temporal workflows')
    .version(`${TOOL_VERSION} (build ${BUILD_ID})`, '-V, --version')
    .showHelpAfterError()
    .exitOverride();

  common(program.command('worker'))
    .description('run the collector worker: polls the executor task queues, outbound connections only')
    .option(
      '-e, --executor <queue...>',
      'executor task queues to serve (default: every executor in the collectors file, else "collectors")',
    )
    .addOption(new Option('--workflows-only', 'serve the workflow side only').conflicts('activitiesOnly'))
    .option('--activities-only', 'serve activities only (the workflow side runs elsewhere)')
    .option('--health-port <n>', '/healthz and /readyz port (default: $COLLECTOR_HEALTH_PORT or 8080; 0 disables)')
    .option('--metrics-port <n>', 'Prometheus /metrics port (default: $COLLECTOR_METRICS_PORT or 9464; 0 disables)')
    .option('--tracing <mode>', 'OpenTelemetry tracing: otlp (default: $COLLECTOR_TRACING, else off)')
    .option(
      '--plugin <spec>',
      'load a source/landing/HWM plugin module: path[#sha256] (repeatable; also $COLLECTOR_PLUGINS)',
      (v: string, all: string[]) => [...all, v],
      [] as string[],
    )
    .action((o: WorkerFlags) => commands.worker().worker(o));

  common(program.command('run <collector>'))
    .description('start a run, show its progress, print the summary')
    .option('--dry-run', 'stop after validation and keep the files in staging')
    .option('--require-approval', 'wait for "collector approve" before uploading')
    .option('--recipe <file>', 'run an inline recipe (YAML/JSON collector definition) instead of a named collector')
    .option('--executor <queue>', 'task queue to start the run on')
    .option('--workflow-id <id>', 'workflow id (default: collect-<collector>, so one run at a time)')
    .option(
      '--no-wait',
      'start and print the workflow id without waiting (needs a Temporal server of its own: TEMPORAL_ADDRESS or a profile)',
    )
    .option('--follow', 'when a run of the collector is already in progress, follow it instead of refusing')
    .option(
      '--cancel-on-interrupt',
      'Ctrl-C cancels the run and waits until the cancellation is recorded (default: Ctrl-C stops following, the run goes on)',
    )
    .option('--json', 'print the final result as JSON on stdout (progress and notes go to stderr)')
    .action((name: string, o: RunFlags) => commands.run().run(name, o));

  for (const verb of ['approve', 'reject'] as const) {
    common(program.command(`${verb} <workflowId>`))
      .description(`${verb} a run waiting at its approval gate`)
      .option('--by <who>', 'who decided', settings().env.USER)
      .option('--reason <text>', 'why')
      .action((workflowId: string, o: Common & { by?: string; reason?: string }) => commands.decide().decide(verb, workflowId, o));
  }

  const schedule = program
    .command('schedule')
    .description("manage Temporal Schedules of collectors (defaults from each collector's schedule: block in collectors.yaml)");
  const SCHEDULE_HELP = {
    create: "create the collector's Temporal Schedule from its schedule: block in collectors.yaml; flags override the block",
    update: "change the collector's Temporal Schedule to its schedule: block and the flags given (pause state and note are kept)",
  } as const;
  for (const verb of ['create', 'update'] as const) {
    scheduleOptions(common(schedule.command(`${verb} <collector>`)))
      .description(SCHEDULE_HELP[verb])
      .option('--schedule-id <id>', 'default: the collector name')
      .action((name: string, o: Common & ScheduleFlags & { executor?: string; scheduleId?: string }) =>
        commands.schedule().write(verb, name, o),
      );
  }
  common(schedule.command('apply'))
    .description(
      'make the Temporal Schedules match collectors.yaml: create or update one per collector with a schedule: block, ' +
        'delete those apply created for collectors without one; never touches other schedules',
    )
    .option('--dry-run', 'print the plan, change nothing')
    .action((o: Common & { dryRun?: boolean }) => commands.schedule().apply(o));
  common(schedule.command('describe <scheduleId>'))
    .description('show a schedule: spec, policies, next and recent runs')
    .option('--json', 'as JSON on stdout')
    .action((id: string, o: Common & { json?: boolean }) => commands.schedule().describe(id, o));
  common(schedule.command('list'))
    .description('list the schedules of the namespace: id, paused or active, next run')
    .action((o: Common) => commands.schedule().list(o));
  const VERB_HELP = {
    pause: 'pause a schedule (no runs start until unpaused)',
    unpause: 'resume a paused schedule',
    trigger: 'start a run of the schedule now',
    delete: 'delete a schedule (runs already started go on)',
  } as const;
  for (const verb of ['pause', 'unpause', 'trigger', 'delete'] as const) {
    const cmd = common(schedule.command(`${verb} <scheduleId>`)).description(VERB_HELP[verb]);
    if (verb === 'pause' || verb === 'unpause') cmd.option('--note <text>', 'why, shown with the schedule');
    cmd.action((id: string, o: Common & { note?: string }) => commands.schedule().act(verb, id, o));
  }
  common(schedule.command('backfill <scheduleId>'))
    .description('replay the runs a schedule would have started between --start and --end')
    .requiredOption('--start <iso>', 'first scheduled time to replay')
    .requiredOption('--end <iso>', 'last scheduled time to replay')
    .option('--overlap <policy>', 'overlap policy for the backfill', 'buffer-all')
    .action((id: string, o: Common & { start: string; end: string; overlap: string }) => commands.schedule().backfill(id, o));

  const hwm = program.command('hwm').description("read or change a collector's high-water mark");
  const hwmOptions = (c: Command) => c.option('-c, --config <file>', 'collectors file').option('--state-dir <dir>', 'state directory');
  hwmOptions(hwm.command('get <collector>'))
    .description('print the HWM (none before the first run)')
    .option('--json', 'as JSON on stdout: {collector, hwm, store, cursor}')
    .action((name: string, o: Common & { json?: boolean }) => commands.hwm().get(name, o));
  hwmOptions(hwm.command('set <collector> <timestamp>'))
    .description('set the HWM; moving it backwards re-collects that period and needs --force')
    .option('--force', 'allow moving the HWM backwards')
    .action((name: string, ts: string, o: Common & { force?: boolean }) => commands.hwm().set(name, ts, o));
  hwmOptions(hwm.command('reset <collector>'))
    .description("remove the HWM: the next run starts from the schedule's last result or initialLookback")
    .action((name: string, o: Common) => commands.hwm().reset(name, o));

  common(program.command('validate-config'))
    .description('check the collectors file; lists every bad field by path')
    .action((o: Common) => commands.validateConfig().validateConfig(o));

  common(program.command('test-connection <collector>'))
    .description("check every permission the collector's source and landing zone need")
    .action((name: string, o: Common) => commands.testConnection().testConnection(name, o));

  program
    .command('demo')
    .description('run the whole pipeline twice on embedded defaults (local Athena, embedded Temporal, ./landing)')
    .option('--dir <dir>', 'where the landing directory and demo state go', '.')
    .option('--keep', 'keep the embedded Temporal running afterwards, for the Web UI')
    .action((o: { dir: string; keep?: boolean }) => commands.demo().demo(o));

  const dev = program.command('dev').description('local development servers');
  dev
    .command('athena-local')
    .description('serve the local Athena endpoint (AWS JSON 1.1) for tests, demos and benchmarks')
    .option('--port <n>', 'port (0: any free one)', '4566')
    .option('--seed <file>', 'YAML/JSON seed file (default: the demo catalog)')
    .option('--generate <spec>', 'synthetic catalog, e.g. tables=20000,columns=50,executions=100000')
    .option('--latency-ms <n>', 'latency added to every request')
    .action(() => commands.devTools().athenaLocalMain(process.argv.slice(process.argv.indexOf('athena-local') + 1)));

  common(program.command('codec-server'))
    .description('serve /encode and /decode for the Temporal Web UI when payload encryption is on (token: $COLLECTOR_CODEC_TOKEN)')
    .option('--port <n>', 'port', '8888')
    .option('--host <host>', 'listen address', '127.0.0.1')
    .option('--ui-origin <origin...>', 'Web UI origins allowed by CORS', ['http://localhost:8233', 'http://127.0.0.1:8233'])
    .action((o: Common & { port: string; host: string; uiOrigin: string[] }) => commands.codecServer().serveCodec(o));

  return program;
}

export async function main(argv: string[]): Promise<number> {
  applyCollectorV8Profile();
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof Interrupted) {
      if (e.message) process.stderr.write(`${e.message}\n`);
      return INTERRUPTED_EXIT_CODE;
    }
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
