/** A real Temporal dev server (the pinned `temporal` CLI) on free ports with a throwaway SQLite file. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { startDevServer, type DevServer } from '../../src/temporal/dev-server';
import { freePort } from './processes';

export interface TestTemporal {
  server: DevServer;
  client: Client;
  stop(): Promise<void>;
}

export async function startTemporal(): Promise<TestTemporal> {
  const stateDir = mkdtempSync(join(tmpdir(), 'temporal-'));
  const server = await startDevServer({ stateDir, port: await freePort(), uiPort: await freePort() });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: server.namespace });
  return {
    server,
    client,
    async stop() {
      await connection.close();
      await server.stop();
    },
  };
}
