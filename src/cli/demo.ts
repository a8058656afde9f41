/**
 * `collector demo`: the whole pipeline on embedded defaults. Two sources side by side: a local Athena
 * endpoint with a small catalog and live query traffic, and a real PostgreSQL server (embedded binaries)
 * with a small shop schema and application traffic; the embedded Temporal dev server, an in-process
 * worker, a landing directory under the current directory; two runs of each collector, the second
 * starting exactly where the first ended.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { startDemoAthena, startDemoPostgres, type DemoPostgres } from './dev-tools';
import { openSession } from './session';
import { followUntil, printSummary, runWorkflowId, startRun } from './run';
import { aborted, Interrupted } from './interrupt';
import type { RunSummary } from '../run/types';
import { errorMessage } from '../contracts/errors';

export interface DemoOptions {
  dir: string;
  keep: boolean;
  interactive: boolean;
  say(msg: string): void;
}

const DEMO_EXECUTOR = 'collectors-demo';

export async function runDemo(options: DemoOptions): Promise<RunSummary[]> {
  const { say } = options;
  const stateDir = resolve(options.dir, '.collector-demo');
  const landingDir = resolve(options.dir, 'landing');
  mkdirSync(stateDir, { recursive: true });
  mkdirSync(landingDir, { recursive: true });
  const athena = await startDemoAthena(1000);
  say(`Athena: local endpoint ${athena.endpoint} (a demo catalog, new queries arriving every second)`);
  let postgres: DemoPostgres | undefined;
  try {
    postgres = await startDemoPostgres();
    say(`PostgreSQL: a real server on ${postgres.host}:${postgres.port} (database ${postgres.database}, an application writing to it)`);
  } catch (e) {
    say(`PostgreSQL: not started (${errorMessage(e)}); the demo collects Athena alone`);
  }
  // The demo's credentials are references like any production config; the values live in this process only.
  process.env.DEMO_AWS_ACCESS_KEY_ID ??= 'demo-access-key';
  process.env.DEMO_AWS_SECRET_ACCESS_KEY ??= 'demo-secret-key';
  if (postgres) process.env.DEMO_PG_PASSWORD ??= postgres.password;
  const hwm = { type: 'file', dir: join(stateDir, 'hwm') };
  const runOptions = { initialLookback: '2d', safetyLag: '1s', heartbeatTimeout: '30s' };
  const collectors: Record<string, unknown> = {
    'athena-demo': {
      executor: DEMO_EXECUTOR,
      source: {
        type: 'athena',
        region: 'us-east-1',
        endpoint: athena.endpoint,
        // The local endpoint also serves the demo's Iceberg metadata files: nothing goes to AWS.
        s3Endpoint: athena.endpoint,
        accessKeyId: '${DEMO_AWS_ACCESS_KEY_ID}',
        secretAccessKey: '${DEMO_AWS_SECRET_ACCESS_KEY}',
        // Glue catalogs are read by default; the demo's Hive connector and S3 Tables bucket are listed.
        catalogs: ['AwsDataCatalog', 'hive_onprem', 's3tablescatalog/acme-analytics'],
      },
      landing: { type: 'filesystem', path: landingDir },
      hwm,
      options: runOptions,
    },
  };
  if (postgres) {
    collectors['postgres-demo'] = {
      executor: DEMO_EXECUTOR,
      source: {
        type: 'postgres',
        host: postgres.host,
        port: postgres.port,
        user: postgres.user,
        password: '${DEMO_PG_PASSWORD}',
        databases: [postgres.database],
        // A server on this machine, for the demo only; production keeps the default verify-full.
        sslmode: 'disable',
      },
      landing: { type: 'filesystem', path: landingDir },
      hwm,
      options: runOptions,
    };
  }
  const configPath = join(stateDir, 'collectors.yaml');
  writeFileSync(configPath, stringify({ collectors }));
  say(`config: ${configPath}`);
  const session = await openSession({ configPath, stateDir, inProcessWorker: 'always', executors: [DEMO_EXECUTOR], say });
  const names = Object.keys(collectors);
  const results: Record<string, RunSummary[]> = Object.fromEntries(names.map((n) => [n, []]));
  try {
    for (const n of [1, 2]) {
      if (n === 2) await new Promise((r) => setTimeout(r, 3000));
      await postgres?.traffic(n);
      for (const collector of names) {
        say(`\nrun ${n} of ${collector}:`);
        const handle = await startRun(session.client, { collector }, DEMO_EXECUTOR, `${runWorkflowId(collector)}-${Date.now()}`);
        const summary = await followUntil(handle, say, options.interactive, session.interrupts.first);
        // Interrupted: a demo run is nothing to keep; it stops with the embedded server.
        if (!summary) throw new Interrupted(`interrupted: demo stopped (run ${n} of ${collector} left unfinished in ${stateDir})`);
        printSummary(summary, say);
        results[collector]!.push(summary);
      }
    }
    for (const collector of names) {
      const [a, b] = results[collector] as [RunSummary, RunSummary];
      say(
        `\n${collector}: run 2 started where run 1 ended: [${a.window.start}, ${a.window.end}) then [${b.window.start}, ${b.window.end}) — ${
          a.window.end === b.window.start ? 'no gap, no overlap' : 'MISMATCH'
        }`,
      );
    }
    say(`files in ${landingDir}`);
    if (session.uiUrl) say(`Temporal Web UI: ${session.uiUrl}/namespaces/default/workflows`);
    if (options.keep && session.uiUrl) {
      say('--keep: Temporal keeps running for the Web UI; press Ctrl-C to stop');
      await new Promise<void>((r) => {
        void aborted(session.interrupts.first).then(r);
        process.once('SIGTERM', () => r());
      });
    }
    for (const collector of names) {
      const [a, b] = results[collector] as [RunSummary, RunSummary];
      if (a.window.end !== b.window.start) throw new Error(`${collector}: the second window did not start at the first one's end`);
    }
    return names.flatMap((n) => results[n]!);
  } finally {
    await session.close();
    await athena.close();
    await postgres?.stop();
  }
}
