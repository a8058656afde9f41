/** A real moto server (S3, STS, Secrets Manager) on a free loopback port, from .tools/venv. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, startProcess, TOOLS_BIN, waitFor, type Started } from './processes';

export interface Moto {
  endpoint: string;
  port: number;
  /** Credentials moto accepts (any); fixed so tests read alike. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  region: string;
  stop(): Promise<void>;
}

export async function startMoto(): Promise<Moto> {
  const bin = join(TOOLS_BIN, 'moto_server');
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run "node scripts/setup.js" (npm test does) to install moto`);
  const port = await freePort();
  const server: Started = startProcess(bin, ['-H', '127.0.0.1', '-p', String(port)]);
  const endpoint = `http://127.0.0.1:${port}`;
  await waitFor('moto server', async () => (await fetch(`${endpoint}/moto-api/`)).ok, 60_000).catch((e) => {
    throw new Error(`${(e as Error).message}\n${server.output()}`);
  });
  return {
    endpoint,
    port,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    region: 'us-east-1',
    stop: () => server.stop(),
  };
}
