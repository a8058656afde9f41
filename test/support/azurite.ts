/**
 * A real Azurite blob server on a free loopback port with a fresh temp workspace, removed on stop.
 * Tests get the well-known dev account, its key, and helpers to mint container SAS tokens.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BlobServiceClient,
  ContainerSASPermissions,
  generateBlobSASQueryParameters,
  StorageSharedKeyCredential,
  type ContainerClient,
} from '@azure/storage-blob';
import { freePort, ROOT, startProcess, waitFor, type Started } from './processes';

/** Azurite's fixed development account (public, documented by Microsoft). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface Azurite {
  port: number;
  /** `http://127.0.0.1:<port>/devstoreaccount1`: path-style, as our `serviceUrl` config takes it. */
  serviceUrl: string;
  account: string;
  accountKey: string;
  connectionString: string;
  /** A client with the account key, for arranging and checking test state. */
  service: BlobServiceClient;
  createContainer(name: string): Promise<ContainerClient>;
  /** A container SAS with exactly `permissions` (e.g. `cw`), valid from 5 minutes ago until `expiresOn`. */
  containerSas(container: string, permissions: string, expiresOn?: Date): string;
  stop(): Promise<void>;
}

export interface AzuriteOptions {
  /** Keep blobs in memory (faster, but large uploads then cost RAM). Default: on disk in a temp dir. */
  inMemory?: boolean;
}

export async function startAzurite(options: AzuriteOptions = {}): Promise<Azurite> {
  const port = await freePort();
  const location = mkdtempSync(join(tmpdir(), 'azurite-'));
  const main = join(ROOT, 'node_modules', 'azurite', 'dist', 'src', 'blob', 'main.js');
  const args = [
    main,
    '--blobHost',
    '127.0.0.1',
    '--blobPort',
    String(port),
    '--silent',
    '--skipApiVersionCheck',
    '--disableTelemetry',
    '--loose',
    // Longer than the default 5 s so pooled client sockets are not closed under a slow test.
    '--blobKeepAliveTimeout',
    '60',
  ];
  // Azurite refuses a location together with in-memory persistence.
  args.push(...(options.inMemory ? ['--inMemoryPersistence'] : ['--location', location]));
  const server: Started = startProcess(process.execPath, args, { cwd: location });
  const serviceUrl = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
  // Any HTTP answer (even 403 for an unsigned request) means the server is listening.
  await waitFor(
    'azurite',
    async () => {
      if (server.proc.exitCode !== null) throw new Error(`azurite exited with ${server.proc.exitCode}`);
      return (await fetch(`${serviceUrl}?comp=list`)).status > 0;
    },
    60_000,
  ).catch(async (e) => {
    await server.stop();
    rmSync(location, { recursive: true, force: true });
    throw new Error(`${(e as Error).message}\n${server.output()}`);
  });
  const credential = new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY);
  const service = new BlobServiceClient(serviceUrl, credential);
  return {
    port,
    serviceUrl,
    account: AZURITE_ACCOUNT,
    accountKey: AZURITE_KEY,
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${serviceUrl};`,
    service,
    async createContainer(name) {
      const c = service.getContainerClient(name);
      await c.createIfNotExists();
      return c;
    },
    containerSas(container, permissions, expiresOn = new Date(Date.now() + 3_600_000)) {
      return generateBlobSASQueryParameters(
        {
          containerName: container,
          permissions: ContainerSASPermissions.parse(permissions),
          startsOn: new Date(Date.now() - 300_000),
          expiresOn,
        },
        credential,
      ).toString();
    },
    async stop() {
      await server.stop();
      rmSync(location, { recursive: true, force: true });
    },
  };
}
