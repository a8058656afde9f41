/**
 * A small reverse proxy in front of an emulator that injects faults on a schedule: error statuses,
 * connection resets mid-request, stalls (the client must time out), and lost responses (the request
 * reached the server, the answer never reaches the client). Clients point their endpoint at `url`.
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Fault =
  | 'pass'
  /** Reads the request, then answers this status with a storage-style XML error body. */
  | { status: number; code?: string }
  /** Destroys the client connection after this many request-body bytes (0: before any). */
  | { reset: number }
  /** Reads this many request-body bytes, then stops reading and never answers. */
  | { stall: number }
  /** Forwards the request, lets the server complete it, then resets instead of answering. */
  | 'drop-response';

export interface RequestInfo {
  /** 1-based count of all requests seen. */
  n: number;
  method: string;
  /** Path and query, with any SAS signature removed. */
  url: string;
  headers: IncomingHttpHeaders;
}

export type FaultPlan = (req: RequestInfo) => Fault;

export interface FaultProxy {
  url: string;
  port: number;
  /** Every request and the fault it got, for assertions and failure messages. */
  log: { n: number; method: string; url: string; fault: string }[];
  /** How many requests got each kind of fault. */
  counts(): Record<string, number>;
  setPlan(plan: FaultPlan): void;
  close(): Promise<void>;
}

/**
 * A plan that injects `faults` in turn into every `every`-th request matching `filter` (default: requests
 * with a body), so no single request can fail forever: its retry lands on a later slot.
 */
export function cycle(faults: Fault[], every = 2, filter: (r: RequestInfo) => boolean = hasBody): FaultPlan {
  let matched = 0;
  let next = 0;
  return (r) => {
    if (!filter(r)) return 'pass';
    matched++;
    if (matched % every !== 0) return 'pass';
    return faults[next++ % faults.length]!;
  };
}

/** Applies `fault` to the first `times` requests matching `filter`, then defers to `rest`. */
export function first(times: number, filter: (r: RequestInfo) => boolean, fault: Fault, rest: FaultPlan = () => 'pass'): FaultPlan {
  let left = times;
  return (r) => {
    if (left > 0 && filter(r)) {
      left--;
      return fault;
    }
    return rest(r);
  };
}

export function hasBody(r: RequestInfo): boolean {
  return r.method === 'PUT' || r.method === 'POST';
}

export async function startFaultProxy(upstream: string, initialPlan: FaultPlan = () => 'pass'): Promise<FaultProxy> {
  const target = new URL(upstream);
  let plan = initialPlan;
  let n = 0;
  const log: FaultProxy['log'] = [];
  const sockets = new Set<Socket>();

  const server = createServer((req, res) => {
    n++;
    const info: RequestInfo = {
      n,
      method: req.method ?? 'GET',
      url: (req.url ?? '/').replace(/sig=[^&]*/g, 'sig=-'),
      headers: req.headers,
    };
    const fault = plan(info);
    log.push({ n, method: info.method, url: info.url, fault: describe(fault) });
    apply(fault, req, res);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  function apply(fault: Fault, req: IncomingMessage, res: ServerResponse): void {
    if (fault === 'pass' || fault === 'drop-response') return forward(req, res, fault === 'drop-response');
    if ('status' in fault) {
      req.resume();
      req.on('end', () => {
        const code = fault.code ?? (fault.status === 503 ? 'ServerBusy' : 'InternalError');
        const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>injected by fault proxy</Message></Error>`;
        res.writeHead(fault.status, {
          'content-type': 'application/xml',
          'x-ms-error-code': code,
          'content-length': Buffer.byteLength(body),
        });
        res.end(body);
      });
      return;
    }
    const limit = 'reset' in fault ? fault.reset : fault.stall;
    const act = () => {
      if ('reset' in fault) req.socket.destroy();
      else req.pause();
    };
    if (limit <= 0) return act();
    let got = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      got += chunk.length;
      if (!done && got >= limit) {
        done = true;
        act();
      }
    });
    // A body shorter than the limit: act once it is all in.
    req.on('end', () => {
      if (!done) {
        done = true;
        act();
      }
    });
  }

  function forward(req: IncomingMessage, res: ServerResponse, dropResponse: boolean): void {
    const up = httpRequest(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (ures) => {
        if (dropResponse) {
          // The server has acted; the client never learns how.
          ures.resume();
          ures.on('end', () => req.socket.destroy());
          return;
        }
        res.writeHead(ures.statusCode ?? 502, ures.headers);
        ures.pipe(res);
      },
    );
    up.on('error', () => req.socket.destroy());
    req.pipe(up);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    log,
    counts() {
      const out: Record<string, number> = {};
      for (const e of log) out[e.fault] = (out[e.fault] ?? 0) + 1;
      return out;
    },
    setPlan(p) {
      plan = p;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function describe(f: Fault): string {
  if (typeof f === 'string') return f;
  if ('status' in f) return `status-${f.status}`;
  if ('reset' in f) return 'reset';
  return 'stall';
}
