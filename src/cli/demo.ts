/**
 * `collector demo`: the whole pipeline on embedded defaults. A local Athena endpoint with a small catalog
 * and live query traffic, the embedded Temporal dev server, an in-process worker, a landing directory
 * under the current directory; two runs, the second starting exactly where the first ended.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { startDemoAthena } from './dev-tools';
import { openSession } from './session';
import { followUntil, printSummary, runWorkflowId, startRun } from './run';
import { aborted, Interrupted } from './interrupt';
import type { RunSummary } from '../run/types';

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
  // The demo's credentials are references like any production config; the values live in this process only.
  process.env.DEMO_AWS_ACCESS_KEY_ID ??= 'demo-access-key';
  process.env.DEMO_AWS_SECRET_ACCESS_KEY ??= 'demo-secret-key';
  const configPath = join(stateDir, 'collectors.yaml');
  writeFileSync(
    configPath,
    stringify({
      collectors: {
        'athena-demo': {
          executor: DEMO_EXECUTOR,
          source: {
            type: 'athena',
            region: 'us-east-1',
            endpoint: athena.endpoint,
            accessKeyId: '${DEMO_AWS_ACCESS_KEY_ID}',
            secretAccessKey: '${DEMO_AWS_SECRET_ACCESS_KEY}',
          },
          landing: { type: 'filesystem', path: landingDir },
          hwm: { type: 'file', dir: join(stateDir, 'hwm') },
          options: { initialLookback: '2d', safetyLag: '1s', heartbeatTimeout: '30s' },
        },
      },
    }),
  );
  say(`config: ${configPath}`);
  const session = await openSession({ configPath, stateDir, inProcessWorker: 'always', executors: [DEMO_EXECUTOR], say });
  const results: RunSummary[] = [];
  try {
    for (const n of [1, 2]) {
      if (n === 2) await new Promise((r) => setTimeout(r, 3000));
      say(`\nrun ${n}:`);
      const handle = await startRun(
        session.client,
        { collector: 'athena-demo' },
        DEMO_EXECUTOR,
        `${runWorkflowId('athena-demo')}-${Date.now()}`,
      );
      const summary = await followUntil(handle, say, options.interactive, session.interrupts.first);
      // Interrupted: a demo run is nothing to keep; it stops with the embedded server.
      if (!summary) throw new Interrupted(`interrupted: demo stopped (run ${n} left unfinished in ${stateDir})`);
      printSummary(summary, say);
      results.push(summary);
    }
    const [a, b] = results as [RunSummary, RunSummary];
    say(
      `\nrun 2 started where run 1 ended: [${a.window.start}, ${a.window.end}) then [${b.window.start}, ${b.window.end}) — ${
        a.window.end === b.window.start ? 'no gap, no overlap' : 'MISMATCH'
      }`,
    );
    say(`files in ${landingDir}`);
    if (session.uiUrl) say(`Temporal Web UI: ${session.uiUrl}/namespaces/default/workflows`);
    if (options.keep && session.uiUrl) {
      say('--keep: Temporal keeps running for the Web UI; press Ctrl-C to stop');
      await new Promise<void>((r) => {
        void aborted(session.interrupts.first).then(r);
        process.once('SIGTERM', () => r());
      });
    }
    if (a.window.end !== b.window.start) throw new Error("the second window did not start at the first one's end");
    return results;
  } finally {
    await session.close();
    await athena.close();
  }
}
