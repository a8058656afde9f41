/**
 * Runs the local Athena endpoint until SIGTERM/SIGINT; prints one JSON line `{"endpoint": ...}` once
 * listening, so a parent process can read where to connect.
 *
 *   node --import tsx tools/athena-local/main.ts [--port 4566] [--host 127.0.0.1]
 *     [--seed FILE | --generate tables=20000,columns=50,executions=100000[,databases=20,catalogs=1,workgroups=5,seed=1]]
 *     [--latency-ms N] [--live-queries-every-ms N] [--random-seed N] [--export-demo-yaml]
 */
import { ConfigError } from '../../src/contracts/errors';
import { demoSeedData } from './demo';
import { startAthenaLocal } from './index';
import { demoSeed, generateSeed, loadSeedFile, seedDataToYaml, type AthenaSeed } from './seed';

interface Args {
  port: number;
  host: string;
  seedFile?: string;
  generate?: string;
  latencyMs?: number;
  liveQueriesEveryMs?: number;
  randomSeed?: number;
  exportDemoYaml: boolean;
}

const DEMO_YAML_HEADER = `# The demo seed of the local Athena endpoint (tools/athena-local/demo.ts), as a seed file.
# Regenerate: node --import tsx tools/athena-local/main.ts --export-demo-yaml > tools/athena-local/fixtures/demo.yaml
# Times are relative to the moment the file is loaded (-2h, -1d3h20m, now) so the history is always fresh;
# absolute ISO 8601 times work too. Columns are "name type -- comment" or {name, type, comment}.
`;

function parseArgs(argv: string[]): Args {
  const a: Args = { port: 4566, host: '127.0.0.1', exportDemoYaml: false };
  const num = (flag: string, v: string | undefined): number => {
    const n = Number(v);
    if (v === undefined || !Number.isInteger(n) || n < 0)
      throw new ConfigError(`${flag} needs a non-negative integer, got ${v ?? 'nothing'}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    const [name, inline] =
      flag.includes('=') && flag.startsWith('--')
        ? [flag.slice(0, flag.indexOf('=')), flag.slice(flag.indexOf('=') + 1)]
        : [flag, undefined];
    const value = () => inline ?? argv[++i];
    switch (name) {
      case '--port':
        a.port = num(name, value());
        break;
      case '--host':
        a.host = value() ?? a.host;
        break;
      case '--seed':
        a.seedFile = value();
        break;
      case '--generate':
        a.generate = value();
        break;
      case '--latency-ms':
        a.latencyMs = num(name, value());
        break;
      case '--live-queries-every-ms':
        a.liveQueriesEveryMs = num(name, value());
        break;
      case '--random-seed':
        a.randomSeed = num(name, value());
        break;
      case '--export-demo-yaml':
        a.exportDemoYaml = true;
        break;
      default:
        throw new ConfigError(`unknown option ${flag}`);
    }
  }
  if (a.seedFile && a.generate) throw new ConfigError('use --seed or --generate, not both');
  return a;
}

/** `tables=20000,columns=50,executions=100000`: tables is the total, spread over catalogs x databases. */
export function seedFromGenerateSpec(spec: string, now: Date): AthenaSeed {
  const allowed = ['tables', 'columns', 'executions', 'databases', 'catalogs', 'workgroups', 'seed'];
  const v: Record<string, number> = {};
  for (const part of spec.split(',').filter(Boolean)) {
    const [k = '', raw] = part.split('=');
    const n = Number(raw);
    if (!allowed.includes(k) || !Number.isInteger(n) || n < 0)
      throw new ConfigError(`--generate: bad "${part}"; use ${allowed.map((x) => `${x}=N`).join(',')}`);
    v[k] = n;
  }
  const catalogs = Math.max(1, v.catalogs ?? 1);
  const databases = Math.max(1, v.databases ?? 20);
  return generateSeed({
    catalogs,
    databasesPerCatalog: databases,
    tablesPerDatabase: Math.ceil((v.tables ?? 2000) / (catalogs * databases)),
    columnsPerTable: v.columns ?? 20,
    workgroups: Math.max(1, v.workgroups ?? 5),
    executions: v.executions ?? 10_000,
    now,
    seed: v.seed ?? 1,
  });
}

/** Serves until SIGTERM/SIGINT; resolves after a clean shutdown. */
export async function main(argv: string[]): Promise<void> {
  const args = parseArgs(argv);
  const now = new Date();
  if (args.exportDemoYaml) {
    process.stdout.write(seedDataToYaml(demoSeedData(now), now, DEMO_YAML_HEADER));
    return;
  }
  const seed = args.seedFile ? loadSeedFile(args.seedFile, now) : args.generate ? seedFromGenerateSpec(args.generate, now) : demoSeed(now);
  const server = await startAthenaLocal({
    seed,
    port: args.port,
    host: args.host,
    ...(args.liveQueriesEveryMs ? { liveQueriesEveryMs: args.liveQueriesEveryMs } : {}),
    ...(args.randomSeed !== undefined ? { randomSeed: args.randomSeed } : {}),
  });
  if (args.latencyMs) server.setFaults('*', { latencyMs: args.latencyMs });
  process.stdout.write(`${JSON.stringify({ endpoint: server.endpoint, port: server.port, seed: seed.label })}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  await server.close();
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (e: unknown) => {
      process.stderr.write(`athena-local: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(2);
    },
  );
}
