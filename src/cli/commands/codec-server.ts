/** `collector codec-server`: /encode and /decode for the Temporal Web UI, keys from collectors.yaml. */
import { createEncryptionCodec } from '../../codec/encryption-codec';
import { startCodecServer } from '../../codec/server';
import { ConfigError } from '../../contracts/errors';
import { createLogger } from '../../log';
import { settings } from '../../settings';
import { say, type Common } from '../common';
import { runtimeFor } from '../context';

export async function serveCodec(o: Common & { port: string; host: string; uiOrigin: string[] }): Promise<void> {
  const runtime = await runtimeFor(o);
  const options = { port: Number(o.port), host: o.host, corsOrigins: o.uiOrigin };
  const encryption = runtime.config().encryption;
  if (!encryption) throw new ConfigError(`${runtime.configPath}: no "encryption" section, so there is nothing to decode`);
  const codec = await createEncryptionCodec(encryption, runtime.secrets());
  // The token is a secret: from the environment, never a command-line flag (visible in `ps`).
  const bearerToken = settings().codecToken;
  const server = await startCodecServer({
    port: options.port,
    host: options.host,
    codec,
    corsOrigins: options.corsOrigins,
    ...(bearerToken ? { bearerToken } : {}),
    log: createLogger({ name: 'codec-server' }),
  });
  say(`codec server on ${server.url} (CORS: ${options.corsOrigins.join(', ')}${bearerToken ? ', bearer token required' : ''})`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await server.close();
}
