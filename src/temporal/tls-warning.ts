/**
 * A warning for dialing Temporal in plain text over a real network. Loopback (127.0.0.0/8, ::1,
 * localhost) is the dev server case and stays quiet.
 */
import { isIP } from 'node:net';

export function insecureConnectionWarning(address: string, tls: boolean | object | undefined): string | undefined {
  if (tls) return undefined;
  const host = hostOf(address);
  if (isLoopback(host)) return undefined;
  return (
    `Connecting to Temporal at ${address} without TLS: workflow inputs, results, failure messages and any API key ` +
    'or authorization header cross the network in plain text, and the server is not authenticated. ' +
    'Enable TLS (TEMPORAL_TLS=true, or a tls section in the temporal.toml profile, with TEMPORAL_TLS_SERVER_CA_CERT_PATH ' +
    'for a private CA), or dial a loopback address (for example through a local proxy or port-forward).'
  );
}

/** The host part of `host:port`, `[v6]:port`, a bare host, or a URL-like `scheme://host:port`. */
function hostOf(address: string): string {
  let a = address.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  a = a.split('/')[0]!;
  if (a.startsWith('[')) return a.slice(1, a.indexOf(']') > 0 ? a.indexOf(']') : undefined);
  if (isIP(a) === 6) return a;
  const colon = a.lastIndexOf(':');
  return (colon >= 0 ? a.slice(0, colon) : a).toLowerCase();
}

function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) {
    const groups = expandV6(h.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_m, a, b, c, d) => hex16(a, b) + ':' + hex16(c, d)));
    if (groups.slice(0, 7).every((g) => g === 0) && groups[7] === 1) return true;
    // IPv4-mapped ::ffff:127.x.x.x
    return groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff && groups[6]! >> 8 === 127;
  }
  return false;
}

function hex16(hi: string, lo: string): string {
  return ((Number(hi) << 8) | Number(lo)).toString(16);
}

function expandV6(h: string): number[] {
  const [head = '', tail] = h.split('::');
  const a = head ? head.split(':') : [];
  const b = tail ? tail.split(':') : [];
  const fill = tail !== undefined ? Array<string>(Math.max(0, 8 - a.length - b.length)).fill('0') : [];
  return [...a, ...fill, ...b].map((x) => parseInt(x, 16));
}
