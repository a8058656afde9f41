/**
 * Connecting to Temporal the way Temporal users expect: @temporalio/envconfig (TEMPORAL_ADDRESS,
 * TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*, TEMPORAL_PROFILE, the TOML config file).
 * Without any of them (no address in the environment or the default profile), the CLI runs an embedded
 * dev server instead (see dev/temporal-server.ts).
 */
import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { loadClientConfigProfile, loadClientConnectConfig } from '@temporalio/envconfig';
import { NativeConnection, type NativeConnectionOptions } from '@temporalio/worker';
import { ConfigError } from '../contracts/errors';
import { hostname, userInfo } from 'node:os';
import { insecureConnectionWarning } from './tls-warning';
import { settings, settingsFor, type Env } from '../settings';

export interface TemporalTarget {
  address: string;
  namespace: string;
  connectionOptions: NativeConnectionOptions;
  /** Set when a non-loopback address is dialled without TLS; callers show it before connecting. */
  insecureWarning: string | undefined;
}

/**
 * True when the environment or the Temporal config file names a cluster; otherwise the CLI embeds a dev
 * server. The file is the one `temporal config set` writes (~/.config/temporalio/temporal.toml, or
 * TEMPORAL_CONFIG_FILE); its profile (TEMPORAL_PROFILE, else `default`) counts when it has an address.
 * An empty TEMPORAL_ADDRESS overrides the file's address, as in every Temporal SDK.
 */
export function temporalConfigured(from?: Env): boolean {
  const env = settingsFor(from).env;
  if (env.TEMPORAL_ADDRESS || env.TEMPORAL_PROFILE || env.TEMPORAL_CONFIG_FILE) return true;
  const vars: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) vars[k] = v;
  try {
    return Boolean(loadClientConfigProfile({ overrideEnvVars: vars }).address);
  } catch {
    // An unreadable or malformed file still means someone configured Temporal: connecting reports the error.
    return true;
  }
}

export function loadTemporalTarget(overrides: { address?: string; namespace?: string } = {}): TemporalTarget {
  let loaded;
  try {
    loaded = loadClientConnectConfig({});
  } catch (e) {
    throw new ConfigError(`Temporal connection config is invalid: ${(e as Error).message}`);
  }
  const connectionOptions: NativeConnectionOptions = { ...loaded.connectionOptions };
  if (overrides.address) connectionOptions.address = overrides.address;
  const address = connectionOptions.address ?? 'localhost:7233';
  connectionOptions.address = address;
  return {
    address,
    namespace: overrides.namespace ?? loaded.namespace ?? 'default',
    connectionOptions,
    insecureWarning: insecureConnectionWarning(address, connectionOptions.tls ?? undefined),
  };
}

const CONNECT_TIMEOUT_MS = 10_000;

async function withDeadline<T>(what: string, address: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new ConfigError(
            `cannot reach Temporal at ${address} within ${CONNECT_TIMEOUT_MS / 1000}s (${what}); check TEMPORAL_ADDRESS, TLS and network`,
          ),
        ),
      CONNECT_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([p, deadline]);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(`cannot reach Temporal at ${address}: ${(e as Error).message.split('\n')[0]}`);
  } finally {
    clearTimeout(timer);
  }
}

export async function connectWorker(target: TemporalTarget): Promise<NativeConnection> {
  return withDeadline('worker connection', target.address, NativeConnection.connect(target.connectionOptions));
}

export async function connectClient(target: TemporalTarget, dataConverter?: DataConverter): Promise<Client> {
  const { address, tls, apiKey, metadata } = target.connectionOptions;
  const connection = await withDeadline(
    'client connection',
    target.address,
    Connection.connect({
      address,
      ...(tls !== undefined ? { tls } : {}),
      ...(apiKey ? { apiKey } : {}),
      ...(metadata ? { metadata } : {}),
      connectTimeout: CONNECT_TIMEOUT_MS,
    }),
  );
  // Connection.connect is lazy about auth; a cheap call proves the address and credentials work.
  await withDeadline('health check', target.address, connection.healthService.check({}));
  return new Client({ connection, namespace: target.namespace, identity: cliIdentity(), ...(dataConverter ? { dataConverter } : {}) });
}

/** Recorded on every run this CLI starts: the run summary's startedBy reads it back for the audit trail. */
function cliIdentity(): string {
  let user = settings().env.USER ?? '';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (some containers): the environment's USER, if any.
  }
  return `collector-cli ${user || 'unknown'}@${hostname()} pid ${process.pid}`;
}
