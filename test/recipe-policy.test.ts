/**
 * The recipe policy's rules, narrowly: what each built-in plugin declares it reaches, how grants match,
 * path tricks, and the resolver's scope. The end-to-end proof (a capture server, a real worker) is
 * trust-boundary.test.ts.
 */
import assert from 'node:assert/strict';
import { athenaSource } from '../src/connectors/athena/index';
import { mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { globMatcher, isInside, recipePolicySchema, recipeTargetIssues } from '../src/config/recipe-policy';
import { builtinRegistry } from '../src/builtins';
import type { Target } from '../src/contracts/plugin';
import { SecretResolver } from '../src/secrets/resolve';
import { SecretError } from '../src/contracts/errors';

const registry = builtinRegistry();
/** Targets are declared from the resolved config (secrets already values), as the runtime calls them. */
const targetsOf = (kind: 'sources' | 'landings' | 'hwmStores', config: Record<string, unknown>): Target[] => {
  const plugin = registry[kind].get(String(config.type))!;
  return plugin.targets!(config);
};

describe('recipe policy', () => {
  it('every built-in plugin declares what it reaches, from its resolved config', () => {
    assert.deepEqual(
      targetsOf('sources', {
        type: 'athena',
        region: 'eu-west-1',
        endpoint: 'https://Evil.example:8443/x',
        accessKeyId: 'k',
        secretAccessKey: 's',
        outputLocation: 's3://results-b/q/',
      }),
      [
        { kind: 'endpoint', field: 'endpoint', value: 'evil.example:8443' },
        { kind: 'endpoint', field: 'outputLocation', value: 's3://results-b' },
      ],
    );
    assert.deepEqual(targetsOf('sources', { type: 'athena', region: 'eu-west-1', roleArn: 'arn:aws:iam::123456789012:role/r' }), [
      { kind: 'role', field: 'roleArn', value: 'arn:aws:iam::123456789012:role/r' },
      { kind: 'ambient-credentials', field: 'roleArn', value: 'the AWS default credential chain' },
    ]);
    assert.deepEqual(
      targetsOf('landings', { type: 'azure-blob', account: 'attacker', container: 'c', path: 'p', sasToken: 'sv=1&sig=x' }),
      [{ kind: 'endpoint', field: 'account', value: 'attacker.blob.core.windows.net' }],
    );
    assert.deepEqual(
      targetsOf('landings', {
        type: 'azure-blob',
        container: 'c',
        path: 'p',
        connectionString: 'AccountName=a;AccountKey=k;BlobEndpoint=http://127.0.0.1:9/a',
      }),
      [{ kind: 'endpoint', field: 'connectionString', value: '127.0.0.1:9' }],
    );
    assert.deepEqual(
      targetsOf('landings', { type: 's3', bucket: 'drop-box', prefix: 'p', region: 'us-east-1', endpoint: 'http://127.0.0.1:9' }),
      [
        { kind: 'endpoint', field: 'bucket', value: 's3://drop-box' },
        { kind: 'endpoint', field: 'endpoint', value: '127.0.0.1:9' },
        { kind: 'ambient-credentials', field: 'accessKeyId', value: 'the AWS default credential chain' },
      ],
    );
    assert.deepEqual(targetsOf('sources', { type: 'postgres', host: 'DB.internal', port: 5433, user: 'u', password: 'pw' }), [
      { kind: 'endpoint', field: 'host', value: 'db.internal:5433' },
    ]);
    // No password: the driver would use the worker's PGPASSWORD / ~/.pgpass; a CA path is a worker file it reads.
    assert.deepEqual(targetsOf('sources', { type: 'postgres', host: 'db', port: 5432, user: 'u', ca: '/etc/x/../ssl/ca.pem' }), [
      { kind: 'endpoint', field: 'host', value: 'db:5432' },
      { kind: 'ambient-credentials', field: 'password', value: "the worker's PGPASSWORD or ~/.pgpass" },
      { kind: 'path', field: 'ca', value: '/etc/ssl/ca.pem' },
    ]);
    assert.deepEqual(targetsOf('landings', { type: 'filesystem', path: '/srv/x/../y' }), [
      { kind: 'path', field: 'path', value: '/srv/y' },
    ]);
    assert.deepEqual(targetsOf('hwmStores', { type: 'file' }), [], "the worker's own HWM directory needs no grant");
    assert.deepEqual(targetsOf('hwmStores', { type: 'file', dir: '/etc' }), [{ kind: 'path', field: 'dir', value: '/etc' }]);
  });

  it('grants match as written: * is any run of characters, hosts ignore case, a port must be granted too', () => {
    const hosts = globMatcher(['*.blob.core.windows.net', '127.0.0.1:4566', 's3://landing-*'], { ignoreCase: true });
    assert.ok(hosts('ACCT.blob.core.windows.net'));
    assert.ok(hosts('127.0.0.1:4566'));
    assert.ok(!hosts('127.0.0.1:4567'));
    assert.ok(!hosts('127.0.0.1'));
    assert.ok(hosts('s3://landing-recipes'));
    assert.ok(!hosts('s3://other'));
    assert.ok(!hosts('blob.core.windows.net.evil.example'));
    assert.ok(!globMatcher(['a.b'])('aXb'), 'dots are literal');
  });

  it('each refusal names the field, the value and the rule to change', () => {
    const policy = recipePolicySchema.parse({
      enabled: true,
      endpoints: ['127.0.0.1:4566'],
      roles: ['arn:aws:iam::*:role/recipe-*'],
      paths: ['/srv/recipes'],
    });
    const issues = recipeTargetIssues(
      policy,
      [
        { kind: 'endpoint', field: 'serviceUrl', value: 'evil.example' },
        { kind: 'endpoint', field: 'endpoint', value: '127.0.0.1:4566' },
        { kind: 'role', field: 'roleArn', value: 'arn:aws:iam::123456789012:role/admin' },
        { kind: 'path', field: 'path', value: '/srv/recipes-evil' },
        { kind: 'path', field: 'dir', value: '/srv/recipes/r1' },
        { kind: 'ambient-credentials', field: 'accessKeyId', value: 'the AWS default credential chain' },
      ],
      'recipe.landing',
    );
    assert.deepEqual(issues, [
      'recipe.landing.serviceUrl: "evil.example" is not an endpoint granted to recipes (rule recipes.endpoints: ["127.0.0.1:4566"])',
      'recipe.landing.roleArn: role "arn:aws:iam::123456789012:role/admin" is not granted to recipes (rule recipes.roles: ["arn:aws:iam::*:role/recipe-*"])',
      'recipe.landing.path: "/srv/recipes-evil" is not under a directory granted to recipes (rule recipes.paths: ["/srv/recipes"])',
      'recipe.landing.accessKeyId: without credentials of its own the recipe would act as the worker (the AWS default credential chain); give it granted secret references, or set recipes.ambientCredentials: true',
    ]);
  });

  it("athena's s3Endpoint is a target: Iceberg metadata reads go there signed with the recipe's credentials", () => {
    const config = athenaSource.configSchema.parse({
      type: 'athena',
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:4566',
      s3Endpoint: 'https://evil.example',
      accessKeyId: '${K}',
      secretAccessKey: '${S}',
    });
    const policy = recipePolicySchema.parse({ enabled: true, endpoints: ['127.0.0.1:4566'] });
    assert.deepEqual(recipeTargetIssues(policy, athenaSource.targets!(config), 'recipe.source'), [
      'recipe.source.s3Endpoint: "evil.example" is not an endpoint granted to recipes (rule recipes.endpoints: ["127.0.0.1:4566"])',
    ]);
  });

  it('paths: .. and symlinks out of a granted root are outside it', () => {
    const root = mkdtempSync(join(tmpdir(), 'policy-'));
    const granted = join(root, 'granted');
    mkdirSync(join(granted, 'inside'), { recursive: true });
    mkdirSync(join(root, 'outside'));
    symlinkSync(join(root, 'outside'), join(granted, 'escape'));
    assert.ok(isInside(granted, granted));
    assert.ok(isInside(granted, join(granted, 'inside', 'not-yet-created', 'deeper')));
    assert.ok(!isInside(granted, join(granted, '..', 'outside')));
    assert.ok(!isInside(granted, join(granted, 'escape')));
    assert.ok(!isInside(granted, join(granted, 'escape', 'new-dir')));
    assert.ok(!isInside(granted, `${granted}-sibling`));
    assert.ok(!isInside(granted, 'relative/path'));
  });

  it('a scoped resolver refuses an out-of-scope reference before looking it up', async () => {
    let looked = 0;
    const env = new Proxy({ GRANTED: 'g-value', WORKER_ONLY: 'w-value' } as NodeJS.ProcessEnv, {
      get(t, k) {
        looked++;
        return t[k as string];
      },
    });
    const r = new SecretResolver({ env, secretDir: '/nonexistent', scope: { allows: (ref) => ref === 'GRANTED', rule: 'the test rule' } });
    looked = 0;
    assert.equal(await r.resolve('GRANTED', 'f'), 'g-value');
    assert.ok(looked > 0);
    looked = 0;
    await assert.rejects(r.resolveDeep({ a: 'x${WORKER_ONLY}y' }, 'recipe.landing'), (e: unknown) => {
      assert.ok(e instanceof SecretError);
      assert.match(e.message, /^recipe\.landing\.a: \$\{WORKER_ONLY\} may not be resolved here \(the test rule\)$/);
      return true;
    });
    assert.equal(looked, 0, 'the environment was not even read');
    assert.deepEqual(r.resolvedValues(), ['g-value']);
  });
});
