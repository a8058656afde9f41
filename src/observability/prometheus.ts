/**
 * One /metrics for the whole process: the collector's prom-client registry followed by the Temporal
 * SDK's own metrics (`temporal_*`), which the SDK's Rust core serves on a loopback-only address that
 * is fetched and appended on every scrape. Names never collide: ours are `collector_*`, `process_*`
 * and `nodejs_*`.
 */
import { request } from 'node:http';
import { createServer } from 'node:net';
import { collectorRegistry, enableProcessMetrics } from './metrics';
import type { Routes } from './http';
import { settingsFor, type Env } from '../settings';

/** A loopback address for the SDK's exporter: COLLECTOR_SDK_METRICS_ADDRESS, else a free port now. */
export async function sdkMetricsAddress(env?: Env): Promise<string> {
  const configured = settingsFor(env).sdkMetricsAddress;
  if (configured) return configured;
  const port = await new Promise<number>((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no free port for the SDK metrics'))));
    });
  });
  return `127.0.0.1:${port}`;
}

function fetchText(address: string, timeoutMs: number): Promise<string> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  return new Promise((resolve, reject) => {
    const req = request({ host: host === '0.0.0.0' ? '127.0.0.1' : host, port, path: '/metrics', timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** The collector's metrics, then the SDK's (when `sdkAddress` is set); a failed SDK fetch becomes a comment. */
async function renderMetrics(sdkAddress?: string): Promise<string> {
  const own = await collectorRegistry.metrics();
  if (!sdkAddress) return own;
  const sdk = await fetchText(sdkAddress, 2_000).catch(
    (e: unknown) => `# temporal SDK metrics unavailable from ${sdkAddress}: ${e instanceof Error ? e.message : String(e)}\n`,
  );
  return `${own.endsWith('\n') ? own : `${own}\n`}${sdk}`;
}

export function metricsRoutes(sdkAddress?: string): Routes {
  enableProcessMetrics();
  return {
    '/metrics': async () => ({ status: 200, contentType: collectorRegistry.contentType, body: await renderMetrics(sdkAddress) }),
  };
}
