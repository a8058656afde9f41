/**
 * Removes credentials from free text (error messages, stacks, SDK error fields) before it reaches logs,
 * workflow history or failure messages. Field-level redaction of structured logs is log.ts's job;
 * this catches what SDKs put into strings.
 */
import type { SecretPattern } from '../contracts/plugin';

export const REDACTED = '[redacted]';

/** Known values shorter than this are not scrubbed: replacing every "abc" would wreck the text. */
export const MIN_KNOWN_VALUE_LENGTH = 4;

const R = REDACTED;
/** Where an unquoted value ends in URLs, connection strings and `key=value` lists. */
const END = `[^\\s;&,"'<>)\\]}]`;
const QUOTED = `"(?:[^"\\\\\\r\\n]|\\\\.)*"|'(?:[^'\\\\\\r\\n]|\\\\.)*'`;
/** Parameter and field names whose values are credentials (the name ends with one of these words). */
const SECRET_WORD =
  '(?:authorization|password|passwd|pwd|secret|token|signature|accountkey|account_key|apikey|api_key|api-key|privatekey|private_key|credential|credentials|secret_access_key|secretaccesskey)';

/**
 * Vendors' credential shapes, registered by the runtime from its connectors (Connector.secretPatterns):
 * the built-ins bring Azure's (SAS signatures, account keys, connection strings) and AWS's (SigV4, STS).
 * Applied before the generic rules below, which replace whole values and would hide the vendor's shape.
 */
const vendorPatterns: SecretPattern[] = [];

/** Adds connectors' credential shapes to every later scrub in this process (each pattern once). */
export function addSecretPatterns(patterns: Iterable<SecretPattern>): void {
  for (const p of patterns) if (!vendorPatterns.includes(p)) vendorPatterns.push(p);
}

/** Credential shapes every vendor shares: URLs with passwords, auth headers, key=value, bearer tokens, JWTs. */
const RULES: Array<[RegExp, string | ((all: string, ...groups: string[]) => string)]> = [
  // user:password@ in URLs.
  [/\b([a-z][a-z0-9+.-]*:\/\/[^/\s:@]*:)[^@\s/]+@/gi, `$1${R}@`],
  // Credential-carrying headers, as raw header lines (to end of line) or quoted values.
  [
    /(?<![A-Za-z0-9-])((?:proxy-)?authorization|cookie|set-cookie|x-api-key|api-key|x-amz-security-token|x-ms-copy-source-authorization|ocp-apim-subscription-key)(["']?[ \t]*:[ \t]*)("(?:[^"\\\r\n]|\\.)*"|'(?:[^'\\\r\n]|\\.)*'|(?!\[redacted\])[^\r\n]+)/gi,
    (_all, name, sep, value) => `${name}${sep}${keepQuotes(value!)}`,
  ],
  // name=value / "name": "value" for names ending in a secret word (X-Amz-Signature, sessionToken, DB_PASSWORD...).
  [
    new RegExp(`(?<![A-Za-z0-9_-])([A-Za-z0-9_-]*${SECRET_WORD})(["']?[ \\t]*=[ \\t]*)(?!\\[redacted\\])(${QUOTED}|${END}+)`, 'gi'),
    (_all, name, sep, value) => `${name}${sep}${keepQuotes(value!)}`,
  ],
  [
    new RegExp(`(?<![A-Za-z0-9_-])([A-Za-z0-9_-]*${SECRET_WORD})(["']?[ \\t]*:[ \\t]*)(?!["']\\[redacted\\]["'])(${QUOTED})`, 'gi'),
    (_all, name, sep, value) => `${name}${sep}${keepQuotes(value!)}`,
  ],
  [/\b(Bearer)\s+(?!\[redacted\])[A-Za-z0-9\-._~+/]+=*/g, `$1 ${R}`],
  // JSON Web Tokens.
  [/\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, R],
];

/** `[redacted]`, inside the same quotes as `value` if it was quoted. */
function keepQuotes(value: string): string {
  const q = value.startsWith('"') || value.startsWith("'") ? value.charAt(0) : '';
  return `${q}${R}${q}`;
}

/** `text` with credentials and every known secret value replaced by `[redacted]`. */
export function scrubSecrets(text: string, knownValues?: Iterable<string>): string {
  let out = text;
  if (knownValues) out = scrubKnown(out, knownValues);
  for (const { pattern, replacement } of vendorPatterns) out = out.replace(pattern, replacement);
  for (const [re, to] of RULES) out = typeof to === 'string' ? out.replace(re, to) : out.replace(re, to);
  return out;
}

function scrubKnown(text: string, values: Iterable<string>): string {
  const variants = new Set<string>();
  for (const v of values) {
    if (typeof v !== 'string' || v.length < MIN_KNOWN_VALUE_LENGTH) continue;
    // The forms a value takes inside URLs and JSON, besides itself.
    variants.add(v);
    variants.add(encodeURIComponent(v));
    variants.add(JSON.stringify(v).slice(1, -1));
  }
  let out = text;
  for (const v of [...variants].sort((a, b) => b.length - a.length)) {
    if (out.includes(v)) out = out.split(v).join(REDACTED);
  }
  return out;
}

/** Own properties whose names say they hold a credential: their values are dropped whole. */
const SECRET_PROPERTY = /(password|passwd|secret|token|signature|accountkey|apikey|privatekey|authorization|cookie|credential)/i;
const MAX_DEPTH = 4;

/**
 * A copy of `err` whose message, stack, string fields and cause chain are scrubbed. The prototype is kept,
 * so `instanceof` and class getters (`name`, `kind`, `nonRetryable` of CollectorError) still work; fields
 * holding class instances (SDK request/response objects) are dropped, as they are not plain data.
 */
export function scrubError(err: unknown, knownValues?: Iterable<string>): Error {
  const known = knownValues ? [...knownValues] : [];
  return scrubErrorInner(err, known, 0, new WeakSet());
}

function scrubErrorInner(err: unknown, known: string[], depth: number, seen: WeakSet<object>): Error {
  const s = (t: string) => scrubSecrets(t, known);
  if (!(err instanceof Error)) {
    const text = typeof err === 'string' ? err : describe(err);
    const e = new Error(s(text));
    e.stack = `Error: ${e.message}`;
    return e;
  }
  seen.add(err);
  const out = Object.create(Object.getPrototypeOf(err) as object) as Error;
  const define = (key: string, value: unknown, enumerable = false) =>
    Object.defineProperty(out, key, { value, enumerable, writable: true, configurable: true });
  define('message', s(err.message));
  if (err.stack !== undefined) define('stack', s(err.stack));
  // `name` is often a prototype getter (CollectorError) or inherited; only own values are copied.
  const ownName = Object.getOwnPropertyDescriptor(err, 'name');
  if (ownName && 'value' in ownName)
    define('name', typeof ownName.value === 'string' ? s(ownName.value) : ownName.value, ownName.enumerable);
  for (const key of Object.keys(err)) {
    if (key === 'message' || key === 'stack' || key === 'name' || key === 'cause') continue;
    const v = scrubData((err as unknown as Record<string, unknown>)[key], key, known, depth, seen);
    if (v !== DROP) define(key, v, true);
  }
  if ('cause' in err && err.cause !== undefined) {
    const c = err.cause;
    if (depth < MAX_DEPTH && !(typeof c === 'object' && c !== null && seen.has(c))) {
      define('cause', c instanceof Error ? scrubErrorInner(c, known, depth + 1, seen) : scrubData(c, 'cause', known, depth + 1, seen));
    }
  }
  return out;
}

const DROP = Symbol('drop');

function scrubData(v: unknown, key: string, known: string[], depth: number, seen: WeakSet<object>): unknown {
  if (SECRET_PROPERTY.test(key) && v !== undefined && v !== null && typeof v !== 'boolean') return REDACTED;
  if (typeof v === 'string') return scrubSecrets(v, known);
  if (v === null || typeof v !== 'object') return typeof v === 'function' || typeof v === 'symbol' ? DROP : v;
  if (seen.has(v) || depth >= MAX_DEPTH) return DROP;
  if (v instanceof Error) return scrubErrorInner(v, known, depth + 1, seen);
  seen.add(v);
  if (Array.isArray(v)) return v.map((x) => scrubData(x, '', known, depth + 1, seen)).filter((x) => x !== DROP);
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return DROP;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    const y = scrubData(x, k, known, depth + 1, seen);
    if (y !== DROP) out[k] = y;
  }
  return out;
}

function describe(v: unknown): string {
  if (v && typeof v === 'object' && typeof (v as { message?: unknown }).message === 'string') return (v as { message: string }).message;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
