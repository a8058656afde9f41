/** The `collector` command as a user runs it: a real process, its output and exit code. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import { freePort, ROOT } from './support/processes';
import { demoSeed, startAthenaLocal } from '../tools/athena-local/index';
import { AthenaClient, ListQueryExecutionsCommand, ListTableMetadataCommand } from '@aws-sdk/client-athena';
import { EXTRACT_KINDS } from '../src/contracts/extract-format';

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function collector(args: string[], env: NodeJS.ProcessEnv = {}, cwd = ROOT): Promise<Result> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [join(ROOT, 'bin', 'collector.js'), ...args], {
      cwd,
      env: { ...process.env, TEMPORAL_ADDRESS: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const tmp = () => mkdtempSync(join(tmpdir(), 'cli-'));

describe('collector CLI', { timeout: 300_000 }, () => {
  it('prints its version', async () => {
    const r = await collector(['--version']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^\d+\.\d+\.\d+ \(build \S+\)/);
  });

  it('--version, --help and validate-config load neither the worker, a Temporal client nor any cloud SDK', () => {
    const HEAVY = /node_modules\/(@temporalio\/(worker|client)|@aws-sdk\/[^/]+|@azure\/[^/]+)\//;
    const loaded = (args: string[], heavy = HEAVY): string[] => {
      const code = [
        `process.stdout.write = () => true;`,
        `require(${JSON.stringify(join(ROOT, 'src', 'cli', 'main.ts'))}).main(${JSON.stringify(args)}).then((code) => {`,
        `  process.stderr.write(JSON.stringify({ code, modules: Object.keys(require.cache) }));`,
        `});`,
      ].join('\n');
      const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', code], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, TEMPORAL_ADDRESS: '' },
      });
      const out = JSON.parse(r.stderr.slice(r.stderr.indexOf('{'))) as { code: number; modules: string[] };
      assert.equal(out.code, 0, r.stderr);
      return [...new Set(out.modules.map((m) => heavy.exec(m)?.[1]).filter((m): m is string => Boolean(m)))];
    };
    assert.deepEqual(loaded(['--version']), []);
    assert.deepEqual(loaded(['--help']), []);
    const dir = tmp();
    const file = join(dir, 'collectors.yaml');
    writeFileSync(
      file,
      [
        'collectors:',
        '  a:',
        '    source: {type: athena, region: eu-west-1}',
        `    landing: {type: filesystem, path: ${dir}}`,
        '  b:',
        "    source: {type: postgres, host: db, user: u, password: '${PG}'}",
        '    landing: {type: s3, bucket: landing-bucket, region: eu-west-1}',
        "    hwm: {type: azure-blob, account: acct, container: hwm-state, sasToken: '${SAS}'}",
        '',
      ].join('\n'),
    );
    // Connectors load their SDK (or driver) with their first client, which checking a file never makes.
    assert.deepEqual(loaded(['validate-config', '--config', file]), []);
    // Without plugin files the check builds no runtime: no logger, no metrics registry.
    const runtimeOnly = /node_modules\/(pino|prom-client|@opentelemetry\/api)\//;
    assert.deepEqual(loaded(['validate-config', '--config', file], runtimeOnly), []);
  });

  it("a command leaves tsx's cache whole, so the next one compiles nothing it already compiled", async () => {
    // tsx writes its cache files asynchronously; a launcher that exits at once left them empty.
    const tmp = mkdtempSync(join(tmpdir(), 'cli-tsx-cache-'));
    const r = await collector(['--version'], { TMPDIR: tmp });
    assert.equal(r.code, 0, r.stderr);
    const [cacheDir] = readdirSync(tmp).filter((d) => d.startsWith('tsx-'));
    assert.ok(cacheDir, `no tsx cache under ${tmp}`);
    const files = readdirSync(join(tmp, cacheDir)).map((f) => join(tmp, cacheDir, f));
    const empty = files.filter((f) => statSync(f).size === 0);
    assert.deepEqual(empty, [], 'cache files cut short by the exit');
    const main = join(ROOT, 'src', 'cli', 'main.ts');
    assert.ok(
      files.some((f) => readFileSync(f, 'utf8').includes(JSON.stringify(main).slice(1, -1))),
      'the entry module (compiled last) is in the cache',
    );
  });

  it('a bad variable stops only the command that needs it, exit 2 naming it', async () => {
    const bad = { COLLECTOR_HEALTH_PORT: 'http', COLLECTOR_SHUTDOWN_GRACE: 'soon' };
    const version = await collector(['--version'], bad);
    assert.equal(version.code, 0, version.stderr);
    const worker = await collector(['worker'], bad);
    assert.equal(worker.code, 2, worker.stderr);
    assert.match(worker.stderr, /COLLECTOR_HEALTH_PORT: "http" is not a port/);
    const grace = await collector(['worker', '--health-port', '0'], { COLLECTOR_SHUTDOWN_GRACE: 'soon' });
    assert.equal(grace.code, 2, grace.stderr);
    assert.match(grace.stderr, /COLLECTOR_SHUTDOWN_GRACE: "soon" is not a duration/);
  });

  it('validate-config exits 2 listing every bad field by path', async () => {
    const dir = tmp();
    const file = join(dir, 'collectors.yaml');
    writeFileSync(
      file,
      'collectors:\n  athena-prod:\n    source: {type: athena}\n    landing: {type: filesystem}\n    options: {safetyLag: later}\n',
    );
    const r = await collector(['validate-config', '--config', file]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /collectors\.athena-prod\.source\.region: required/);
    assert.match(r.stderr, /collectors\.athena-prod\.landing\.path: required/);
    assert.match(r.stderr, /collectors\.athena-prod\.options\.safetyLag: must be a duration/);
  });

  it('validate-config accepts a good file', async () => {
    const dir = tmp();
    const file = join(dir, 'collectors.yaml');
    writeFileSync(
      file,
      `collectors:\n  a:\n    source: {type: athena, region: eu-west-1}\n    landing: {type: filesystem, path: ${dir}}\n`,
    );
    const r = await collector(['validate-config', '--config', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /1 collector\(s\) valid: a/);
  });

  // How fast is the CLI's own connect deadline's business (src/temporal/connection.ts), not a timed assertion.
  it('run --no-wait without a Temporal server of its own is refused before anything starts: the embedded one would strand the run', async () => {
    const dir = tmp();
    const file = join(dir, 'collectors.yaml');
    writeFileSync(
      file,
      `collectors:\n  a:\n    source: {type: athena, region: eu-west-1}\n    landing: {type: filesystem, path: ${dir}}\n`,
    );
    // No TEMPORAL_ADDRESS and a HOME without a temporal.toml: the embedded dev server would be used.
    const r = await collector(['run', 'a', '--no-wait', '--config', file, '--state-dir', join(dir, 'state')], { HOME: dir });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--no-wait needs a Temporal server that outlives this command/);
    assert.ok(!existsSync(join(dir, 'state')), 'nothing was started: no embedded server, no state');
  });

  it('names the address when Temporal is unreachable, exit 2', async () => {
    const port = await freePort();
    const r = await collector(['run', 'anything'], { TEMPORAL_ADDRESS: `127.0.0.1:${port}` });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`cannot reach Temporal at 127\\.0\\.0\\.1:${port}`));
  });

  it('hwm get|set|reset work on the file store, and moving back needs --force', async () => {
    const dir = tmp();
    const file = join(dir, 'collectors.yaml');
    writeFileSync(
      file,
      `collectors:\n  a:\n    source: {type: athena, region: eu-west-1}\n    landing: {type: filesystem, path: ${dir}}\n`,
    );
    const base = ['--config', file, '--state-dir', join(dir, 'state')];
    assert.equal((await collector(['hwm', 'get', 'a', ...base])).stdout.trim(), 'none');
    assert.equal((await collector(['hwm', 'set', 'a', '2026-11-01T00:00:00Z', ...base])).code, 0);
    assert.equal(readFileSync(join(dir, 'state', 'hwm', 'a_hwm.txt'), 'utf8'), '2026-11-01T00:00:00.000Z\n');
    const back = await collector(['hwm', 'set', 'a', '2026-10-01T00:00:00Z', ...base]);
    assert.equal(back.code, 2);
    assert.match(back.stderr, /add --force/);
    assert.equal((await collector(['hwm', 'set', 'a', '2026-10-01T00:00:00Z', '--force', ...base])).code, 0);
    assert.equal((await collector(['hwm', 'get', 'a', ...base])).stdout.trim(), '2026-10-01T00:00:00.000Z');
    assert.equal((await collector(['hwm', 'reset', 'a', ...base])).code, 0);
    assert.equal(existsSync(join(dir, 'state', 'hwm', 'a_hwm.txt')), false);
    const bad = await collector(['hwm', 'set', 'a', 'yesterday', ...base]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /not an ISO-8601 timestamp/);
  });

  it('test-connection prints every permission ok (source, landing, HWM store), and names the grant when one is denied', async () => {
    const athena = await startAthenaLocal({ seed: demoSeed(new Date()), port: 0 });
    try {
      const dir = tmp();
      const file = join(dir, 'collectors.yaml');
      writeFileSync(
        file,
        [
          'collectors:',
          ...['a', 'b'].flatMap((c) => [
            `  ${c}:`,
            `    source: {type: athena, region: us-east-1, endpoint: "${athena.endpoint}", s3Endpoint: "${athena.endpoint}", accessKeyId: "\${K}", secretAccessKey: "\${S}"}`,
            `    landing: {type: filesystem, path: ${dir}}`,
            // b's HWM directory is a file: the store cannot write there.
            `    hwm: {type: file, dir: ${join(dir, c === 'a' ? 'hwm' : 'collectors.yaml')}}`,
          ]),
          '',
        ].join('\n'),
      );
      const env = { K: 'local-key', S: 'local-secret' };
      const good = await collector(['test-connection', 'a', '--config', file], env);
      assert.equal(good.code, 0, good.stdout + good.stderr);
      assert.match(good.stdout, /ok\s+list query executions.*\[athena:ListQueryExecutions\]/);
      assert.doesNotMatch(good.stdout, /DENIED/);
      // The HWM store's grant is checked too, without moving any HWM.
      assert.match(good.stdout, /hwm file\n(.*\n)*\s+ok\s+HWM conditional create\n(.*\n)*\s+ok\s+HWM read/);
      assert.equal(existsSync(join(dir, 'hwm', 'a_hwm.txt')), false);
      const noHwm = await collector(['test-connection', 'b', '--config', file], env);
      assert.equal(noHwm.code, 1, noHwm.stdout + noHwm.stderr);
      assert.match(noHwm.stdout, /DENIED HWM conditional create -> grant read and write permission on .*collectors\.yaml/);
      athena.setFaults('ListQueryExecutions', { accessDenied: true });
      const denied = await collector(['test-connection', 'a', '--config', file], env);
      assert.equal(denied.code, 1, denied.stdout + denied.stderr);
      assert.match(denied.stdout, /DENIED .*grant athena:ListQueryExecutions/);
      assert.doesNotMatch(denied.stdout + denied.stderr, /local-secret/);
    } finally {
      await athena.close();
    }
  });

  it('dev athena-local serves a seed file through the AWS SDK and stops on SIGTERM', async () => {
    const seed = join(tmp(), 'seed.yaml');
    writeFileSync(
      seed,
      [
        'catalogs:',
        '  - name: AwsDataCatalog',
        '    databases:',
        '      - name: from_file',
        '        tables:',
        '          - name: customers',
        '            format: parquet',
        '            columns: ["id bigint -- Customer key", "email string"]',
        'workgroups:',
        '  - name: primary',
        '    outputLocation: s3://results/primary/',
        'executions:',
        '  - id: 11111111-2222-4333-8444-555555555555',
        '    query: SELECT * FROM from_file.customers',
        '    submittedAt: -2h',
        '',
      ].join('\n'),
    );
    const p = spawn(process.execPath, [join(ROOT, 'bin', 'collector.js'), 'dev', 'athena-local', '--port', '0', '--seed', seed], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        p.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('\n')) resolve(out.split('\n')[0]!);
        });
        p.once('exit', (code) => reject(new Error(`exited ${code} before listening`)));
      });
      const { endpoint } = JSON.parse(line) as { endpoint: string };
      const athena = new AthenaClient({ region: 'us-east-1', endpoint, credentials: { accessKeyId: 'cli', secretAccessKey: 'cli' } });
      try {
        const tables = await athena.send(new ListTableMetadataCommand({ CatalogName: 'AwsDataCatalog', DatabaseName: 'from_file' }));
        assert.deepEqual(
          tables.TableMetadataList?.map((t) => [t.Name, t.Columns?.map((c) => `${c.Name} ${c.Type} ${c.Comment ?? ''}`.trim())]),
          [['customers', ['id bigint Customer key', 'email string']]],
        );
        const history = await athena.send(new ListQueryExecutionsCommand({ WorkGroup: 'primary' }));
        assert.deepEqual(history.QueryExecutionIds, ['11111111-2222-4333-8444-555555555555']);
      } finally {
        athena.destroy();
      }
      const res = await fetch(`${endpoint}/_local/counters`);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { ListTableMetadata: 1, ListQueryExecutions: 1 });
      const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
      p.kill('SIGTERM');
      assert.equal(await exited, 0);
    } finally {
      if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL'); // a failed assertion above must not leave it running
    }
  });

  it('demo: two sources on embedded defaults, two runs each, the second starting where the first ended', async () => {
    const dir = tmp();
    const r = await collector(['demo', '--dir', dir], {}, dir);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /athena-demo: run 2 started where run 1 ended: .* no gap, no overlap/);
    assert.match(r.stdout, /postgres-demo: run 2 started where run 1 ended: .* no gap, no overlap/);
    assert.match(r.stdout, /PostgreSQL: a real server on 127\.0\.0\.1:\d+/);
    assert.match(r.stdout, /Temporal Web UI: http:\/\/127\.0\.0\.1:\d+/);
    // Consumers skip dot-entries (the collector's .collector-tmp/).
    const landed = readdirSync(join(dir, 'landing')).filter((f) => !f.startsWith('.'));
    // Every run lands one file per extract kind (empty kinds as a header) and its manifest.
    for (const source of ['athena-demo', 'postgres-demo']) {
      const own = landed.filter((f) => f.startsWith(`${source}_`));
      assert.equal(own.filter((f) => f.includes('_manifest_')).length, 2, own.join(', '));
      for (const kind of EXTRACT_KINDS) assert.equal(own.filter((f) => f.includes(`_${kind}_`)).length, 2, `${kind}: ${own.join(', ')}`);
      assert.equal(own.length, 2 * (EXTRACT_KINDS.length + 1), own.join(', '));
    }
    assert.equal(landed.length, 4 * (EXTRACT_KINDS.length + 1), landed.join(', '));
    const rowsOf = (source: string, kind: string) =>
      landed
        .filter((f) => f.startsWith(`${source}_${kind}_`))
        .flatMap((f) => parse(readFileSync(join(dir, 'landing', f), 'utf8'), { columns: true }) as Record<string, string>[]);
    // Column-level lineage, including the demo's `INSERT INTO sales.payments SELECT * FROM sales.stg_payments`
    // (no column list, a star: expanded with the tables' columns looked up in the catalog).
    const payments = rowsOf('athena-demo', 'linkages').filter(
      (r) => r.source_table === 'stg_payments' && r.target_table === 'payments' && r.target_column,
    );
    assert.ok(
      payments.some((r) => r.source_column === 'payment_id' && r.target_column === 'payment_id'),
      JSON.stringify(payments),
    );
    // The PostgreSQL side: its catalog, its views' lineage, and the application's statements as usage.
    assert.ok(rowsOf('postgres-demo', 'tables').some((m) => m.table_name === 'orders' && m.table_type === 'PARTITIONED TABLE'));
    assert.ok(rowsOf('postgres-demo', 'linkages').some((l) => l.target_table === 'customer_ltv' && l.source_table === 'orders'));
    assert.ok(
      rowsOf('postgres-demo', 'events').some(
        (e) => e.event_type === 'CREATE_TABLE' && e.database === 'sales' && e.object_name === 'orders',
      ),
      'the schema was built under the DDL audit table: its creation is in the events',
    );
    const usage = rowsOf('postgres-demo', 'usage');
    assert.ok(
      usage.some((u) => u.user_name === 'shop_app' && /^INSERT INTO sales\.orders/.test(u.query_text!) && Number(u.calls) >= 5),
      JSON.stringify(usage.slice(0, 5)),
    );
    assert.ok(!usage.some((u) => u.user_name === 'metadata_reader'), "the collector's own statements are not usage");
  });
});
