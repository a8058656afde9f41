/**
 * Your own Temporal Worker, with the collectors added as a plugin: the worker serves the `collect`
 * workflow and its activities on its task queue (an executor) and a companion queue for this host.
 * collectors.yaml (COLLECTOR_CONFIG, default ./collectors.yaml) says which collectors exist and what any
 * run may touch; COLLECTOR_STATE_DIR (default ./.collector) holds staging and file high-water marks.
 *
 *   node dist/worker.js              serve until SIGINT/SIGTERM
 *   node dist/worker.js <collector>  run one collection of <collector>, print its summary as JSON, stop
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { COLLECT_WORKFLOW, CollectorPlugin, type RunSummary } from 'temporal-collectors';

async function main(): Promise<void> {
  const address = process.env.TEMPORAL_ADDRESS ?? 'localhost:7233';
  const namespace = process.env.TEMPORAL_NAMESPACE ?? 'default';
  const taskQueue = process.env.COLLECTOR_EXECUTOR ?? 'collectors';
  const connection = await NativeConnection.connect({ address });
  try {
    const worker = await Worker.create({
      connection,
      namespace,
      taskQueue,
      // With an `encryption:` block in collectors.yaml, use `await CollectorPlugin.fromConfig({ ... })`
      // instead: it also sets the data converter that encrypts payloads with those keys.
      plugins: [
        new CollectorPlugin({
          configPath: process.env.COLLECTOR_CONFIG ?? 'collectors.yaml',
          stateDir: process.env.COLLECTOR_STATE_DIR ?? '.collector',
        }),
      ],
    });
    const collector = process.argv[2];
    if (!collector) {
      await worker.run();
      return;
    }
    const client = new Client({ connection: await Connection.connect({ address }), namespace });
    const summary = await worker.runUntil(
      client.workflow.execute(COLLECT_WORKFLOW, {
        taskQueue,
        workflowId: `collect-${collector}`,
        args: [{ collector }],
      }) as Promise<RunSummary>,
    );
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    await client.connection.close();
  } finally {
    await connection.close();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
