import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { Worker, NativeConnection, Runtime, DefaultLogger } from '@temporalio/worker';
import { EncryptionCodec } from '../src/codec/encryption-codec';
import { encryptedDataConverter } from '../src/codec/data-converter';
import { startCodecServer } from '../src/codec/server';
import { createLogger } from '../src/log';
import { freePort, startProcess, waitFor, TOOLS_BIN } from '../test/support/processes';

async function main() {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const port = await freePort();
  const temporal = `${TOOLS_BIN}/temporal`;
  const dev = startProcess(temporal, ['server', 'start-dev', '--headless', '--port', String(port), '--log-level', 'error']);
  const address = `127.0.0.1:${port}`;
  await waitFor('dev server', async () => { const c = await Connection.connect({ address }); await c.close(); return true; }, 60_000);
  const codec = new EncryptionCodec([{ id: 'k1', key: randomBytes(32) }]);
  const dataConverter = encryptedDataConverter(codec);
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, dataConverter });
  const nc = await NativeConnection.connect({ address });
  const t0 = Date.now();
  const worker = await Worker.create({ connection: nc, taskQueue: 'q', workflowsPath: require.resolve('./wf'), dataConverter });
  console.log('bundle ms', Date.now() - t0);
  const err = await worker.runUntil(async () => {
    try { await client.workflow.execute('failing', { taskQueue: 'q', workflowId: 'wf-1', args: [{ collector: 'athena-prod' }], memo: { note: 'memo-marker' } }); return undefined; }
    catch (e) { return e; }
  });
  console.log('client sees:', err instanceof WorkflowFailedError ? (err.cause as Error).message : err);
  const srv = await startCodecServer({ port: 0, codec, corsOrigins: [], bearerToken: 'tok', log: createLogger({ level: 'warn' }) });
  const raw = execFileSync(temporal, ['workflow', 'show', '--address', address, '-w', 'wf-1', '-o', 'json'], { encoding: 'utf8' });
  console.log('raw has plaintext?', raw.includes('athena-prod'), raw.includes('secret-ish'), 'has Encoded failure?', raw.includes('Encoded failure'));
  const dec = execFileSync(temporal, ['workflow', 'show', '--address', address, '-w', 'wf-1', '-o', 'json', '--codec-endpoint', `${srv.url}/{namespace}`, '--codec-auth', 'Bearer tok'], { encoding: 'utf8' });
  console.log('decoded has input?', dec.includes('athena-prod'), 'failure msg?', dec.includes('secret-ish'));
  const desc = execFileSync(temporal, ['workflow', 'describe', '--address', address, '-w', 'wf-1', '-o', 'json', '--codec-endpoint', `${srv.url}/{namespace}`, '--codec-auth', 'Bearer tok'], { encoding: 'utf8' });
  console.log('describe memo decoded?', desc.includes('memo-marker'));
  const fail = (() => { try { execFileSync(temporal, ['workflow', 'show', '--address', address, '-w', 'wf-1', '-o', 'json', '--codec-endpoint', `${srv.url}/{namespace}`], { encoding: 'utf8', stdio: 'pipe' }); return 'ok?'; } catch (e) { return String((e as { stderr: string }).stderr).slice(0, 200); } })();
  console.log('no token:', fail);
  await srv.close(); await connection.close(); await nc.close(); await dev.stop();
}
main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
