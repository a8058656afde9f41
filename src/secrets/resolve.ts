/**
 * `${REF}` resolution, done inside activities only and on every attempt (a rotated secret is picked up
 * without a restart). Values never leave the activity that resolved them, and never appear in errors.
 *
 * Lookup order for `${NAME}`: environment variable NAME, then the file NAME in the secret directory.
 * Explicit forms: `${env:NAME}`, `${file:NAME}`, `${aws-sm:name-or-arn}`, `${aws-sm:name-or-arn#jsonKey}`.
 * AWS Secrets Manager is only used when asked for by name: an unqualified reference never leaves the host.
 */
import { constants as fsConstants } from 'node:fs';
import { open, realpath, lstat } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AuthError, SecretError, TransientError } from '../contracts/errors';
import { readSettings } from '../settings';
import { scrubSecrets } from './scrub';
import { REF_IN_TEXT } from '../config/fields';

export interface SecretResolverOptions {
  env?: NodeJS.ProcessEnv;
  /** Default /mnt/secrets, or COLLECTOR_SECRET_DIR. */
  secretDir?: string;
  /** Files larger than this are refused. Default 1 MiB, or COLLECTOR_SECRET_MAXLEN. */
  maxLength?: number;
  /** How long an AWS Secrets Manager value is reused. Default 60 s, or COLLECTOR_SECRET_CACHE_TTL; 0 disables. */
  cacheTtlMs?: number;
  /**
   * Which references this resolver may resolve (by body, e.g. `NAME`, `aws-sm:x#k`) and the rule that
   * says so, for the refusal. Without it every reference resolves (process-level keys, tests).
   */
  scope?: { allows(ref: string): boolean; rule: string };
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SCHEME = /^([a-z][a-z0-9-]*):(.*)$/s;

/** Every reference body (`NAME`, `aws-sm:x#k`) in the strings of `value`, deduplicated; for validation. */
export function secretRefsIn(value: unknown): string[] {
  const found = new Set<string>();
  const walk = (v: unknown): void => {
    if (typeof v === 'string') for (const m of v.matchAll(REF_IN_TEXT)) found.add(m[1]!);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (isPlainObject(v)) Object.values(v).forEach(walk);
  };
  walk(value);
  return [...found];
}

export class SecretResolver {
  private readonly env: NodeJS.ProcessEnv;
  private readonly secretDir: string;
  private readonly maxLength: number;
  private readonly cacheTtlMs: number;
  private readonly resolved = new Set<string>();
  private readonly scope: SecretResolverOptions['scope'];

  constructor(options: SecretResolverOptions = {}) {
    this.scope = options.scope;
    // `${NAME}` names any variable, so references are looked up in the live environment itself; this
    // resolver's own settings are read from that same environment, once per resolver.
    this.env = options.env ?? process.env;
    const s = readSettings(this.env);
    this.secretDir = options.secretDir ?? s.secretDir;
    this.maxLength = options.maxLength ?? s.secretMaxLength;
    this.cacheTtlMs = options.cacheTtlMs ?? s.secretCacheTtlMs;
  }

  /**
   * Every value this resolver has returned, so callers can scrub them from error texts
   * (`scrubSecrets(text, resolver.resolvedValues())`). Create one resolver per activity attempt.
   */
  resolvedValues(): string[] {
    return [...this.resolved];
  }

  /** The value of one reference: its body (`NAME`, `env:NAME`, `aws-sm:x#k`) or the whole `${...}`. */
  async resolve(ref: string, field = 'config'): Promise<string> {
    const body = ref.startsWith('${') && ref.endsWith('}') ? ref.slice(2, -1) : ref;
    if (!body || /[${}\s]/.test(body)) {
      throw new SecretError(
        `${field}: "${body.slice(0, 80)}" is not a secret reference (write \${NAME}, \${file:name} or \${aws-sm:name#key})`,
        { field },
      );
    }
    // Before any lookup: an out-of-scope reference is not even looked for.
    if (this.scope && !this.scope.allows(body)) {
      throw new SecretError(`${field}: \${${body.slice(0, 120)}} may not be resolved here (${this.scope.rule})`, {
        ref: body.slice(0, 120),
        field,
      });
    }
    const m = SCHEME.exec(body);
    const scheme = m ? m[1]! : '';
    const name = m ? m[2]! : body;
    let value: string;
    switch (scheme) {
      case '':
        value = await this.fromDefault(name, body, field);
        break;
      case 'env':
        value = this.fromEnvOnly(name, body, field);
        break;
      case 'file': {
        const r = await this.fromFile(name, body, field);
        if (!r.found) throw missing(body, field, [r.looked]);
        value = r.value;
        break;
      }
      case 'aws-sm':
        value = await this.fromAwsSm(name, body, field);
        break;
      default:
        throw new SecretError(`${field}: unknown secret provider "${scheme}" in \${${body}} (use env:, file: or aws-sm:)`, {
          ref: body,
          field,
        });
    }
    this.resolved.add(value);
    return value;
  }

  /**
   * A copy of `value` with every `${REF}` in every string replaced. One pass over the original text:
   * a resolved value containing `${...}` is kept literally, never resolved again.
   */
  async resolveDeep<T>(value: T, path = ''): Promise<T> {
    return (await this.deep(value, path)) as T;
  }

  private async deep(value: unknown, path: string): Promise<unknown> {
    if (typeof value === 'string') return this.resolveText(value, path || 'config');
    if (Array.isArray(value)) return Promise.all(value.map((v, i) => this.deep(v, `${path}[${i}]`)));
    if (isPlainObject(value)) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = await this.deep(v, path ? `${path}.${k}` : k);
      return out;
    }
    return value;
  }

  private async resolveText(text: string, field: string): Promise<string> {
    const matches = [...text.matchAll(REF_IN_TEXT)];
    if (!matches.length) return text;
    const values = await Promise.all(matches.map((m) => this.resolve(m[1]!, field)));
    // Assembled from slices of the original, so `$&`-style patterns in values are not interpreted either.
    let out = '';
    let at = 0;
    matches.forEach((m, i) => {
      out += text.slice(at, m.index) + values[i]!;
      at = m.index! + m[0].length;
    });
    return out + text.slice(at);
  }

  private async fromDefault(name: string, ref: string, field: string): Promise<string> {
    const looked: string[] = [];
    if (ENV_NAME.test(name)) {
      const v = this.env[name];
      if (v !== undefined && v !== '') return v;
      looked.push(v === '' ? `environment variable ${name} (set but empty)` : `environment variable ${name}`);
    }
    const r = await this.fromFile(name, ref, field);
    if (r.found) return r.value;
    looked.push(r.looked);
    throw missing(ref, field, looked);
  }

  private fromEnvOnly(name: string, ref: string, field: string): string {
    if (!ENV_NAME.test(name)) {
      throw new SecretError(`${field}: \${${ref}}: "${name}" is not an environment variable name`, { ref, field });
    }
    const v = this.env[name];
    if (v === undefined || v === '') {
      throw missing(ref, field, [v === '' ? `environment variable ${name} (set but empty)` : `environment variable ${name}`]);
    }
    return v;
  }

  private async fromFile(
    name: string,
    ref: string,
    field: string,
  ): Promise<{ found: true; value: string } | { found: false; looked: string }> {
    const segments = name.split('/');
    if (
      !name ||
      isAbsolute(name) ||
      name.includes('\\') ||
      name.includes('\0') ||
      segments.some((s) => s === '' || s === '.' || s === '..')
    ) {
      throw new SecretError(
        `${field}: secret file name in \${${ref}} must be a relative path inside ${this.secretDir} (no "..", no leading "/")`,
        { ref, field },
      );
    }
    const shown = join(this.secretDir, name);
    let dir: string;
    try {
      dir = await realpath(this.secretDir);
    } catch (e) {
      return { found: false, looked: `file ${shown} (directory ${this.secretDir} ${fsReason(e)}; set COLLECTOR_SECRET_DIR)` };
    }
    let real: string;
    try {
      real = await realpath(join(dir, name));
    } catch (e) {
      const dangling = await lstat(join(dir, name)).then(
        (s) => s.isSymbolicLink(),
        () => false,
      );
      return { found: false, looked: `file ${shown} (${dangling ? 'a symlink to a missing file' : fsReason(e)})` };
    }
    // Symlinks may point anywhere inside the directory (Kubernetes' `..data/...` layout) but not out of it.
    const rel = relative(dir, real);
    if (!rel || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
      throw new SecretError(`${field}: secret file ${shown} for \${${ref}} resolves outside ${this.secretDir}; refused`, { ref, field });
    }
    let fh;
    try {
      // O_NOFOLLOW: the resolved path must not have been swapped for a symlink since realpath();
      // O_NONBLOCK: a FIFO planted in the directory must not hang the activity.
      fh = await open(real, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK);
    } catch (e) {
      throw new SecretError(`${field}: cannot read secret file ${shown} for \${${ref}}: ${fsReason(e)}`, { ref, field });
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new SecretError(`${field}: secret ${shown} for \${${ref}} is not a regular file`, { ref, field });
      if (st.size > this.maxLength) throw tooLarge(shown, ref, field, st.size, this.maxLength);
      // Read at most maxLength + 1 bytes: the size from stat is not trusted (procfs, growing files).
      const buf = Buffer.alloc(this.maxLength + 1);
      let len = 0;
      for (;;) {
        const { bytesRead } = await fh.read(buf, len, buf.length - len, null);
        if (bytesRead === 0) break;
        len += bytesRead;
        if (len > this.maxLength) throw tooLarge(shown, ref, field, len, this.maxLength);
      }
      const text = utf8(buf.subarray(0, len));
      if (text === undefined) throw new SecretError(`${field}: secret file ${shown} for \${${ref}} is not UTF-8 text`, { ref, field });
      const value = text.replace(/\r?\n$/, '');
      if (!value) throw new SecretError(`${field}: secret file ${shown} for \${${ref}} is empty`, { ref, field });
      return { found: true, value };
    } finally {
      await fh.close();
    }
  }

  private async fromAwsSm(spec: string, ref: string, field: string): Promise<string> {
    const hash = spec.indexOf('#');
    const secretId = hash >= 0 ? spec.slice(0, hash) : spec;
    const jsonKey = hash >= 0 ? spec.slice(hash + 1) : undefined;
    if (!secretId || jsonKey === '') {
      throw new SecretError(`${field}: \${${ref}} must be \${aws-sm:name-or-arn} or \${aws-sm:name-or-arn#jsonKey}`, { ref, field });
    }
    const arnRegion = /^arn:[^:]+:secretsmanager:([^:]+):/.exec(secretId)?.[1];
    const region = arnRegion || this.env.AWS_REGION || this.env.AWS_DEFAULT_REGION;
    if (!region) {
      throw new SecretError(`${field}: \${${ref}} needs an AWS region: set AWS_REGION (or use the secret's ARN)`, { ref, field });
    }
    const endpoint = this.env.AWS_ENDPOINT_URL_SECRETS_MANAGER || this.env.AWS_ENDPOINT_URL || undefined;
    const where = `AWS Secrets Manager secret "${secretId}" in ${region}${endpoint ? ` at ${endpoint}` : ''}`;
    const text = await this.fetchCached(secretId, region, endpoint, where, ref, field);
    if (jsonKey === undefined) {
      if (!text) throw new SecretError(`${field}: ${where} for \${${ref}} is empty`, { ref, field });
      return text;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      // JSON.parse's message quotes the input, so it is never passed on.
      throw new SecretError(`${field}: ${where} is not a JSON object, so \${${ref}} cannot read key "${jsonKey}"`, { ref, field });
    }
    if (!isPlainObject(parsed)) {
      throw new SecretError(`${field}: ${where} is not a JSON object, so \${${ref}} cannot read key "${jsonKey}"`, { ref, field });
    }
    if (!Object.prototype.hasOwnProperty.call(parsed, jsonKey)) {
      throw new SecretError(
        `${field}: ${where} has no key "${jsonKey}" for \${${ref}} (its keys: ${Object.keys(parsed).join(', ') || 'none'})`,
        { ref, field },
      );
    }
    const v = parsed[jsonKey];
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    if (typeof v !== 'string' || !v) {
      throw new SecretError(`${field}: key "${jsonKey}" of ${where} for \${${ref}} is ${v === '' ? 'empty' : 'not a string'}`, {
        ref,
        field,
      });
    }
    return v;
  }

  private fetchCached(
    secretId: string,
    region: string,
    endpoint: string | undefined,
    where: string,
    ref: string,
    field: string,
  ): Promise<string> {
    const key = `${region}\n${endpoint ?? ''}\n${secretId}`;
    const now = Date.now();
    for (const [k, e] of smCache) if (e.expires <= now) smCache.delete(k);
    const hit = smCache.get(key);
    if (hit && this.cacheTtlMs > 0) return hit.value;
    const value = this.fetchAwsSm(secretId, region, endpoint, where, ref, field);
    if (this.cacheTtlMs > 0) {
      smCache.set(key, { expires: now + this.cacheTtlMs, value });
      // Failures are not cached: a secret created a moment later is found on the next attempt.
      value.catch(() => {
        if (smCache.get(key)?.value === value) smCache.delete(key);
      });
    }
    return value;
  }

  private async fetchAwsSm(
    secretId: string,
    region: string,
    endpoint: string | undefined,
    where: string,
    ref: string,
    field: string,
  ): Promise<string> {
    const client = this.smClient(region, endpoint);
    let out;
    try {
      out = await client.send(new (secretsManager().GetSecretValueCommand)({ SecretId: secretId }));
    } catch (e) {
      throw awsError(e, where, ref, field);
    }
    if (out.SecretString !== undefined) return out.SecretString;
    if (out.SecretBinary !== undefined) {
      const text = utf8(out.SecretBinary);
      if (text === undefined) {
        throw new SecretError(
          `${field}: ${where} for \${${ref}} holds binary data that is not UTF-8 text; store it as a (e.g. base64) SecretString`,
          {
            ref,
            field,
          },
        );
      }
      return text;
    }
    throw new SecretError(`${field}: ${where} for \${${ref}} has no value`, { ref, field });
  }

  private smClient(region: string, endpoint: string | undefined): SecretsManagerClient {
    // Static credentials only when the caller gave its own env; otherwise the SDK's default chain (IRSA, profiles...).
    const own = this.env !== process.env && this.env.AWS_ACCESS_KEY_ID && this.env.AWS_SECRET_ACCESS_KEY;
    const credentials = own
      ? {
          accessKeyId: this.env.AWS_ACCESS_KEY_ID!,
          secretAccessKey: this.env.AWS_SECRET_ACCESS_KEY!,
          sessionToken: this.env.AWS_SESSION_TOKEN || undefined,
        }
      : undefined;
    const key = `${region}\n${endpoint ?? ''}\n${credentials ? `${credentials.accessKeyId}\n${credentials.secretAccessKey}` : ''}`;
    let client = smClients.get(key);
    if (!client) {
      client = new (secretsManager().SecretsManagerClient)({
        region,
        ...(endpoint ? { endpoint } : {}),
        ...(credentials ? { credentials } : {}),
        requestHandler: { connectionTimeout: 5_000, requestTimeout: 15_000 },
      });
      smClients.set(key, client);
    }
    return client;
  }
}

/** Drops every cached AWS Secrets Manager value (tests; or after an emergency rotation). */
export function clearSecretCache(): void {
  smCache.clear();
}

// Process-wide on purpose: the TTL must hold across the per-attempt resolvers.
const smCache = new Map<string, { expires: number; value: Promise<string> }>();
const smClients = new Map<string, SecretsManagerClient>();

/** The SDK, loaded on the first `${aws-sm:...}`: commands that only read the collectors file never need it. */
function secretsManager(): typeof import('@aws-sdk/client-secrets-manager') {
  return require('@aws-sdk/client-secrets-manager') as typeof import('@aws-sdk/client-secrets-manager');
}

function missing(ref: string, field: string, looked: string[]): SecretError {
  return new SecretError(`${field}: secret \${${ref}} not found; looked for ${looked.join(', then ')}`, { ref, field, looked });
}

function tooLarge(shown: string, ref: string, field: string, size: number, max: number): SecretError {
  return new SecretError(
    `${field}: secret file ${shown} for \${${ref}} is ${size > max ? `more than ${max}` : size} bytes, over COLLECTOR_SECRET_MAXLEN (${max}); refused`,
    { ref, field },
  );
}

function awsError(e: unknown, where: string, ref: string, field: string): Error {
  const name = e instanceof Error ? e.name : 'Error';
  const msg = scrubSecrets(e instanceof Error ? e.message : String(e));
  const details = { ref, field, awsError: name };
  switch (name) {
    case 'ResourceNotFoundException':
      return new SecretError(`${field}: secret \${${ref}} not found: no ${where}`, details);
    case 'AccessDeniedException':
    case 'UnrecognizedClientException':
    case 'InvalidSignatureException':
    case 'ExpiredTokenException':
    case 'CredentialsProviderError':
      return new AuthError(
        `${field}: reading ${where} for \${${ref}} was refused (${name}: ${msg}); grant secretsmanager:GetSecretValue on it`,
        details,
      );
    case 'DecryptionFailure':
      return new AuthError(`${field}: ${where} for \${${ref}} cannot be decrypted (${name}); grant kms:Decrypt on its KMS key`, details);
    case 'InvalidRequestException':
    case 'InvalidParameterException':
    case 'ValidationException':
      return new SecretError(`${field}: ${where} for \${${ref}} cannot be read (${name}: ${msg})`, details);
    default:
      return new TransientError(`${field}: reading ${where} for \${${ref}} failed (${name}: ${msg})`, details);
  }
}

function utf8(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

function fsReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 'does not exist';
  if (code === 'ENOTDIR') return 'is not inside a directory';
  if (code === 'EACCES' || code === 'EPERM') return 'is not readable by this process';
  if (code === 'ELOOP') return 'is a symlink loop';
  return code ?? 'unreadable';
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}
