/**
 * A real PostgreSQL server for tests: see tools/postgres-local (shared with the demo and the benchmark).
 */
import { stringify } from 'yaml';
import type { TestPostgres } from '../../tools/postgres-local/server';

export { startPostgres, type TestPostgres } from '../../tools/postgres-local/server';

/**
 * collectors.yaml with one collector `name` reading `databases` of `pg` as the role `collector`, whose
 * password the worker resolves from the environment variable `passwordVar`, landing in `landingDir`.
 */
export function postgresCollectorsYaml(
  pg: TestPostgres,
  o: { name: string; passwordVar: string; databases: string[]; landingDir: string },
): string {
  return stringify({
    collectors: {
      [o.name]: {
        executor: 'collectors',
        source: {
          type: 'postgres',
          host: '127.0.0.1',
          port: pg.port,
          user: 'collector',
          password: `\${${o.passwordVar}}`,
          sslmode: 'disable',
          databases: o.databases,
        },
        landing: { type: 'filesystem', path: o.landingDir },
        options: { initialLookback: '1d', safetyLag: '0s' },
      },
    },
  });
}
