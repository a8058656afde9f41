/** A tiny node:http server for the health and metrics endpoints: GET/HEAD on fixed paths, nothing else. */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../contracts/errors';

export interface Reply {
  status: number;
  contentType: string;
  body: string;
}

export type Routes = Record<string, () => Promise<Reply>>;

export interface RunningServer {
  host: string;
  port: number;
  paths: string[];
  close(): Promise<void>;
}

export function json(status: number, value: unknown): Reply {
  return { status, contentType: 'application/json; charset=utf-8', body: `${JSON.stringify(value)}\n` };
}

export async function serveRoutes(routes: Routes, host: string, port: number): Promise<RunningServer> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const route = routes[path];
    const send = (r: Reply) => {
      res.writeHead(r.status, { 'content-type': r.contentType, 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : r.body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return send({ status: 405, contentType: 'text/plain', body: 'method not allowed\n' });
    if (!route) return send({ status: 404, contentType: 'text/plain', body: `not found; try ${Object.keys(routes).join(', ')}\n` });
    route().then(send, (e: unknown) =>
      send({ status: 500, contentType: 'text/plain', body: `${e instanceof Error ? e.message : String(e)}\n` }),
    );
  });
  // Probes and scrapes are short; idle keep-alive sockets must not hold shutdown up.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'EADDRINUSE' || e.code === 'EACCES'
          ? new ConfigError(
              `cannot listen on ${host}:${port} for ${Object.keys(routes).join(', ')} (${e.code}): choose another port or 0 to disable (COLLECTOR_HEALTH_PORT / COLLECTOR_METRICS_PORT)`,
            )
          : e,
      ),
    );
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return {
    host,
    port: addr.port,
    paths: Object.keys(routes),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
