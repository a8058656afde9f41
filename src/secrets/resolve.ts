/**
 * `${REF}` resolution, done inside activities only and on every attempt (a rotated secret is picked up
 * without a restart). Values never leave the activity that resolved them.
 *
 * Lookup order for `${NAME}`: environment variable NAME, then the file NAME in the secret directory.
 * Explicit forms: `${env:NAME}`, `${file:NAME}`, `${aws-sm:name-or-arn#jsonKey}`.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SecretError } from '../errors';

export interface SecretResolverOptions {
  env?: NodeJS.ProcessEnv;
  /** Default /mnt/secrets, or COLLECTOR_SECRET_DIR. */
  secretDir?: string;
  /** Files larger than this are refused. Default 1 MiB, or COLLECTOR_SECRET_MAXLEN. */
  maxLength?: number;
}

const REF_IN_TEXT = /\$\{([^${}\s]+)\}/g;

export class SecretResolver {
  private readonly env: NodeJS.ProcessEnv;
  private readonly secretDir: string;
  private readonly maxLength: number;

  constructor(options: SecretResolverOptions = {}) {
    this.env = options.env ?? process.env;
    this.secretDir = options.secretDir ?? this.env.COLLECTOR_SECRET_DIR ?? '/mnt/secrets';
    this.maxLength = options.maxLength ?? Number(this.env.COLLECTOR_SECRET_MAXLEN ?? 1024 * 1024);
  }

  /** The value of one reference body (`NAME`, `env:NAME`, `file:NAME`...). */
  async resolve(ref: string, field = 'config'): Promise<string> {
    const colon = ref.indexOf(':');
    const scheme = colon > 0 ? ref.slice(0, colon) : '';
    const name = colon > 0 ? ref.slice(colon + 1) : ref;
    if (scheme === 'env') return this.fromEnv(name, ref, field) ?? this.missing(ref, field);
    if (scheme === 'file') return this.fromFile(name, ref, field) ?? this.missing(ref, field);
    if (scheme) throw new SecretError(`${field}: unknown secret provider "${scheme}" in \${${ref}} (use env:, file: or aws-sm:)`);
    return this.fromEnv(name, ref, field) ?? this.fromFile(name, ref, field) ?? this.missing(ref, field);
  }

  /** A copy of `value` with every `${REF}` in every string replaced. */
  async resolveDeep<T>(value: T, path = ''): Promise<T> {
    if (typeof value === 'string') {
      const refs = [...value.matchAll(REF_IN_TEXT)];
      if (!refs.length) return value as T;
      let out: string = value;
      for (const m of refs) out = out.replace(m[0], await this.resolve(m[1]!, path || 'config'));
      return out as T;
    }
    if (Array.isArray(value)) {
      return (await Promise.all(value.map((v, i) => this.resolveDeep(v, `${path}[${i}]`)))) as T;
    }
    if (value && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = await this.resolveDeep(v, path ? `${path}.${k}` : k);
      return out as T;
    }
    return value;
  }

  private fromEnv(name: string, _ref: string, _field: string): string | undefined {
    const v = this.env[name];
    return v === undefined || v === '' ? undefined : v;
  }

  private fromFile(name: string, ref: string, field: string): string | undefined {
    if (!/^[A-Za-z0-9._-]+$/.test(name) || name.startsWith('.')) {
      throw new SecretError(`${field}: secret file name in \${${ref}} must be a plain file name inside ${this.secretDir}`);
    }
    const file = join(this.secretDir, name);
    let size: number;
    try {
      size = statSync(file).size;
    } catch {
      return undefined;
    }
    if (size > this.maxLength) {
      throw new SecretError(`${field}: secret file for \${${ref}} is ${size} bytes, more than COLLECTOR_SECRET_MAXLEN (${this.maxLength})`);
    }
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  }

  private missing(ref: string, field: string): never {
    throw new SecretError(
      `${field}: secret \${${ref}} not found: set the environment variable or create the file ${join(this.secretDir, ref.replace(/^(env|file):/, ''))}`,
    );
  }
}
