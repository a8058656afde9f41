/**
 * A codec server for the Temporal Web UI and `temporal` CLI: POST .../encode and .../decode. Only the last
 * path segment counts, as in the Web UI's contract: `/decode`, `/{namespace}/decode` (the CLI's
 * `--codec-endpoint .../{namespace}` templating) and `/codec/default/decode` behind a reverse-proxy prefix.
 *
 * Body and response are proto3 JSON of temporal.api.common.v1.Payloads:
 *   {"payloads":[{"metadata":{"encoding":"<base64>", ...},"data":"<base64>"}]}
 * Browsers are only served for the configured UI origins; a JSON content type is required so a
 * cross-site form post cannot skip the CORS preflight.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Payload, PayloadCodec } from '@temporalio/common';
import type { Logger } from '../log';
import { scrubSecrets } from '../secrets/scrub';
import { CodecError } from './encryption-codec';

export interface CodecServerOptions {
  /** 0 picks a free port (see `url`). */
  port: number;
  /** Default 127.0.0.1. */
  host?: string;
  codec: PayloadCodec;
  /** Exact Web UI origins allowed to call from a browser, e.g. `https://temporal.example.com`. */
  corsOrigins: string[];
  /** When set, requests need `Authorization: Bearer <token>` (preflights excepted). */
  bearerToken?: string;
  log: Logger;
  /** Default 32 MiB. */
  maxBodyBytes?: number;
}

export interface CodecServer {
  url: string;
  close(): Promise<void>;
}

/** proto3 JSON of one Payload: bytes fields are base64. */
export interface JsonPayload {
  metadata?: Record<string, string> | null;
  data?: string | null;
}

// Authorization-Extras: the Web UI sends it with SSO when "pass access token" is on.
const ALLOW_HEADERS = 'X-Namespace, Content-Type, Authorization, Authorization-Extras';
const ROUTE = /^\/(?:.*\/)?(encode|decode)\/?$/;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export async function startCodecServer(options: CodecServerOptions): Promise<CodecServer> {
  const host = options.host ?? '127.0.0.1';
  const origins = new Set(options.corsOrigins.map(normalizeOrigin));
  const tokenHash = options.bearerToken ? sha256(options.bearerToken) : undefined;
  const maxBody = options.maxBodyBytes ?? 32 * 1024 * 1024;
  const log = options.log;

  const server = createServer((req, res) => {
    const started = Date.now();
    handle(req, res)
      .catch((e: unknown) => {
        const err = e instanceof HttpError ? e : new HttpError(500, 'internal error');
        if (!(e instanceof HttpError)) log.error({ err: scrubSecrets(String(e instanceof Error ? e.stack : e)) }, 'codec server error');
        send(res, err.status, { error: err.message }, err.headers);
      })
      .finally(() => {
        log.debug(
          {
            method: req.method,
            path: pathOf(req),
            namespace: req.headers['x-namespace'],
            status: res.statusCode,
            ms: Date.now() - started,
          },
          'codec request',
        );
      });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = pathOf(req);
    if (path === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) return send(res, 200, { ok: true });
    const route = ROUTE.exec(path);
    if (!route) throw new HttpError(404, 'not found: use POST .../encode or .../decode');
    const op = route[1] as 'encode' | 'decode';

    const origin = req.headers.origin;
    if (origin !== undefined) {
      if (!origins.has(normalizeOrigin(origin)))
        throw new HttpError(403, `origin ${origin} is not allowed; add it to the codec server's CORS origins`);
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Credentials', 'true');
    }
    res.setHeader('Vary', 'Origin');

    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', ALLOW_HEADERS);
      res.setHeader('Access-Control-Max-Age', '600');
      // Chrome's Private Network Access: a public UI origin calling a codec server on a private address.
      if (req.headers['access-control-request-private-network'] === 'true') res.setHeader('Access-Control-Allow-Private-Network', 'true');
      res.writeHead(204).end();
      return;
    }
    if (req.method !== 'POST') throw new HttpError(405, 'use POST', { Allow: 'POST, OPTIONS' });
    if (tokenHash && !bearerMatches(req.headers.authorization, tokenHash)) {
      throw new HttpError(401, 'missing or wrong bearer token', { 'WWW-Authenticate': 'Bearer realm="codec"' });
    }
    if (!/^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? ''))
      throw new HttpError(415, 'Content-Type must be application/json');

    const payloads = parseBody(await readBody(req, maxBody));
    let out: Payload[];
    try {
      out = op === 'encode' ? await options.codec.encode(payloads) : await options.codec.decode(payloads);
    } catch (e) {
      if (e instanceof CodecError) {
        log.warn({ op, namespace: req.headers['x-namespace'], err: e.message }, 'codec server could not process payloads');
        throw new HttpError(400, e.message);
      }
      throw e;
    }
    send(res, 200, { payloads: out.map(payloadToJson) });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  log.info({ url, corsOrigins: [...origins], bearerToken: Boolean(tokenHash) }, 'codec server listening');
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export function payloadToJson(p: Payload): JsonPayload {
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) metadata[k] = Buffer.from(v).toString('base64');
  return { metadata, data: Buffer.from(p.data ?? new Uint8Array()).toString('base64') };
}

export function payloadFromJson(j: JsonPayload): Payload {
  const metadata: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(j.metadata ?? {})) metadata[k] = Buffer.from(v, 'base64');
  return { metadata, data: Buffer.from(j.data ?? '', 'base64') };
}

function parseBody(body: Buffer): Payload[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError(400, 'body is not JSON');
  }
  const list = (parsed as { payloads?: unknown } | null)?.payloads;
  if (!Array.isArray(list)) throw new HttpError(400, 'body must be {"payloads": [...]}');
  return list.map((p: unknown, i) => {
    if (!p || typeof p !== 'object') throw new HttpError(400, `payloads[${i}] must be an object`);
    const { metadata, data } = p as { metadata?: unknown; data?: unknown };
    if (data !== undefined && data !== null && typeof data !== 'string')
      throw new HttpError(400, `payloads[${i}].data must be base64 text`);
    if (metadata !== undefined && metadata !== null) {
      if (typeof metadata !== 'object' || Array.isArray(metadata)) throw new HttpError(400, `payloads[${i}].metadata must be an object`);
      for (const [k, v] of Object.entries(metadata)) {
        if (typeof v !== 'string') throw new HttpError(400, `payloads[${i}].metadata.${k} must be base64 text`);
      }
    }
    return payloadFromJson({ metadata: metadata as Record<string, string> | null | undefined, data: data as string | null | undefined });
  });
}

function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        // Stop reading but keep the socket, so the client gets the 413; the connection closes after it.
        req.removeAllListeners('data');
        req.pause();
        reject(new HttpError(413, `body larger than ${max} bytes`, { Connection: 'close' }));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return void res.end();
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
  });
  res.end(text);
}

function pathOf(req: IncomingMessage): string {
  return (req.url ?? '/').split('?')[0]!;
}

function normalizeOrigin(o: string): string {
  return o.trim().replace(/\/+$/, '').toLowerCase();
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** Constant-time comparison (hashes have equal length whatever was sent). */
function bearerMatches(header: string | undefined, want: Buffer): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header?.trim() ?? '');
  return Boolean(m) && timingSafeEqual(sha256(m![1]!), want);
}
