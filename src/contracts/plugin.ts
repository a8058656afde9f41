/**
 * The three plugin interfaces: a source produces extract rows, a landing zone stores finished files,
 * an HWM store keeps the high-water mark. A new one is a folder implementing one of these.
 */
import type { Logger } from 'pino';
import type { ZodType } from 'zod';
import type { ExtractKind, Row } from './extract-format';
import type { Window } from './window';

/** One line of `collector test-connection`. */
export interface Check {
  name: string;
  ok: boolean;
  /** What failed, or what was seen; never a secret. */
  detail?: string;
  /** The permission to grant when the check fails (an IAM action, an Azure SAS permission...). */
  grant?: string;
  /** A failed required check makes test-connection exit non-zero. */
  required: boolean;
}

/**
 * Something a configured plugin will reach outside the worker process. Inline recipes come from whoever
 * can start a workflow, so a recipe may only use plugins that declare their targets, and only targets the
 * worker's `recipes:` policy grants (src/config/recipe-policy.ts). Declared from the resolved config.
 */
export type Target =
  /** A host the worker dials (`host` or `host:port`, as in a URL), or an S3 bucket as `s3://bucket`. */
  | { kind: 'endpoint'; field: string; value: string }
  /** A directory the worker writes into (absolute). */
  | { kind: 'path'; field: string; value: string }
  /** An IAM role (or other identity) the worker assumes. */
  | { kind: 'role'; field: string; value: string }
  /** The worker's own ambient identity (AWS default credential chain, Azure managed identity...). */
  | { kind: 'ambient-credentials'; field: string; value: string };

/** `host` or `host:port` of a URL (default ports dropped, lower-cased), or the text itself if not a URL. */
export function hostOf(url: string): string {
  try {
    return new URL(url).host.toLowerCase();
  } catch {
    return url;
  }
}

export interface PluginContext {
  log: Logger;
  /** Cancelled when the activity is cancelled or times out. */
  signal: AbortSignal;
  /** The worker's state directory, for a plugin that keeps local state (the file HWM store's default). */
  stateDir?: string;
}

// ---------------------------------------------------------------- sources

/** What a cursor entry may hold: plain JSON. */
export type CursorValue = string | number | boolean | null | CursorValue[] | { [key: string]: CursorValue };

/** Where a unit writes rows. `write` resolves once the row is accepted (backpressure). */
export interface UnitOutput {
  write(kind: ExtractKind, row: Row): Promise<void>;
  /**
   * Sets the cursor entry `key` (null removes it) for the next run, as part of this unit: it takes effect
   * only if the unit completes and the run commits its HWM, under the same compare-and-set.
   */
  setCursor(key: string, value: CursorValue | null): void;
}

/** The cursor the last committed run left (entries by key); empty on a first run. */
export interface CursorView {
  get(key: string): CursorValue | undefined;
  keys(): string[];
}

/**
 * A resumable piece of extraction (one database's tables, one workgroup's history...). Its key is stable
 * for a given config and window, so a retried extract skips units its checkpoint lists as done.
 */
export interface ExtractUnit {
  key: string;
  run(out: UnitOutput): Promise<void>;
}

export interface ExtractContext extends PluginContext {
  window: Window;
  /** State this source kept from the previous run (see UnitOutput.setCursor). */
  cursor: CursorView;
  /** Adds a line to the run summary's warnings (e.g. history older than the source keeps). */
  warn(message: string): void;
  /** Adds to a named counter in the run summary (e.g. `unparseable_statements`). */
  count(name: string, n?: number): void;
}

/**
 * What happened to one request a source made to its system's API, for the `collector_source_api_*`
 * metrics: `call` for every attempt sent, then at most one of throttle/server-error/network-error for
 * how it failed, and `retry` or `failure` for what the source did about it.
 */
export const API_OUTCOMES = ['call', 'throttle', 'server-error', 'network-error', 'retry', 'failure'] as const;
export type ApiOutcome = (typeof API_OUTCOMES)[number];

export interface SourceContext extends PluginContext {
  /**
   * Counts one API event of `operation` (the system's own name for the request, e.g. `ListDatabases`
   * or `pg_stat_statements`); observability labels it with the source type. Cheap: call it per request.
   */
  apiCall(operation: string, outcome: ApiOutcome): void;
}

/**
 * A source created for one resolved config: it owns its clients (sessions, pools) from `create` to
 * `close`. The extract activity creates one per attempt and always closes it, after success, failure
 * or cancellation alike.
 */
export interface Source {
  /** Lists the window's units, lazily: a huge catalog is never held as one list of tables. */
  units(ctx: ExtractContext): AsyncIterable<ExtractUnit>;
  /** How many units may run at once (a positive integer). */
  readonly concurrency: number;
  /** One check per permission the source needs; a failed check names what to grant, never a secret. */
  testConnection(): Promise<Check[]>;
  /** Releases clients. Idempotent: a second call does nothing. */
  close(): Promise<void>;
}

export interface SourcePlugin<C = unknown> {
  type: string;
  configSchema: ZodType<C>;
  /** Creates the source for a resolved config; dials nothing yet (a recipe's targets are checked first). */
  create(config: C, ctx: SourceContext): Source;
  /** What this config reaches; without it, recipes may not use the plugin. */
  targets?(config: C): Target[];
}

// ---------------------------------------------------------------- landing zones

/** A finished, validated staging file on its way out. */
/**
 * A file as the kernel describes it (inode, size, modification and change times in nanoseconds, as
 * strings). If none of them moved, the content did not either: a write changes mtime and ctime, and
 * nobody can set ctime back.
 */
export interface FileIdentity {
  ino: string;
  size: number;
  mtimeNs: string;
  ctimeNs: string;
}

export interface OutgoingFile {
  path: string;
  bytes: number;
  /** Hex SHA-256 of the bytes as stored. */
  sha256: string;
  /** Base64 MD5 of the bytes, for Content-MD5. */
  md5: string;
  contentType: string;
  contentEncoding?: string;
  /** Run id, window, sha256: stored as object metadata. */
  metadata: Record<string, string>;
  /**
   * The file when `sha256` and `md5` were computed from its bytes. A landing that reads the file again
   * may trust those hashes, instead of computing them once more, while the file still has this identity.
   */
  identity?: FileIdentity;
}

export type PutOutcome = 'created' | 'already-present';

export interface PutOptions {
  signal: AbortSignal;
  /** Called with the bytes sent so far, for heartbeats. */
  onProgress?(bytesSent: number): void;
}

export interface LandingZone {
  /** Human-readable location for logs and summaries, e.g. `azure://acct/container/lz/athena`. */
  describe(): string;
  /**
   * Stores `file` as `objectName` (relative to the landing path) exactly once: conditional create;
   * the same content already there is `already-present`; other content is a ConflictError.
   */
  put(file: OutgoingFile, objectName: string, options: PutOptions): Promise<PutOutcome>;
  testConnection(): Promise<Check[]>;
  /** Releases clients and sockets; called once the caller is done (in `finally`), safe to call twice. */
  close(): Promise<void>;
}

export interface LandingPlugin<C = unknown> {
  type: string;
  configSchema: ZodType<C>;
  create(config: C, ctx: PluginContext): LandingZone;
  /** What this config reaches; without it, recipes may not use the plugin. */
  targets?(config: C): Target[];
}

// ---------------------------------------------------------------- HWM stores

export interface HwmState {
  /** ISO 8601, or null before the first successful run. */
  value: string | null;
  /** Opaque version for compare-and-set; null when there is no HWM yet. Small: it travels in workflow history. */
  version: string | null;
  /**
   * The source's cursor (JSON text, possibly hundreds of KB) stored with the value; null or absent when
   * there is none. Never in workflow history: only the version is.
   */
  cursor?: string | null;
}

export interface HwmStore {
  describe(): string;
  get(collector: string): Promise<HwmState>;
  /**
   * Writes `value` and `cursor` (absent: none) together, only if the stored version is still
   * `expectedVersion` (null: only if absent); otherwise throws HwmConflictError. Direction is the caller's
   * rule (runs only advance; `hwm set` may rewind). src/hwm/text.ts formats both as one text.
   */
  compareAndSet(collector: string, expectedVersion: string | null, value: string, cursor?: string | null): Promise<HwmState>;
  /** For `collector hwm reset`: removes the HWM if its version is still `expectedVersion`. */
  remove(collector: string, expectedVersion: string | null): Promise<void>;
  /**
   * For `collector test-connection`: read and conditional-write permission, checked on a probe name no
   * collector can have, so no HWM moves. A failed check names the grant.
   */
  testConnection(): Promise<Check[]>;
  /** Releases clients and sockets; called once the caller is done (in `finally`), safe to call twice. */
  close(): Promise<void>;
}

export interface HwmPlugin<C = unknown> {
  type: string;
  configSchema: ZodType<C>;
  create(config: C, ctx: PluginContext): HwmStore;
  /** What this config reaches; without it, recipes may not use the plugin. */
  targets?(config: C): Target[];
}

/** The text of `<collector>_hwm.txt`, the same for every store. */
export function hwmFileName(collector: string): string {
  return `${collector}_hwm.txt`;
}

// ---------------------------------------------------------------- connectors

/**
 * A credential shape of one vendor in free text (error messages, SDK fields): every match is replaced by
 * `replacement` (`$1`... name the kept groups; `[redacted]` stands for the secret). Applied by the
 * scrubber before its generic rules, for every registered connector.
 */
export interface SecretPattern {
  pattern: RegExp;
  replacement: string;
}

/**
 * One external system's plugins (a folder under src/connectors/), registered with one line in
 * src/builtins.ts or passed to CollectorPlugin by a customer.
 */
export interface Connector {
  /** The external system, e.g. `athena`, `s3`: names the folder and appears in errors. */
  system: string;
  sources?: readonly (SourcePlugin<never> | SourcePlugin<unknown>)[];
  landings?: readonly (LandingPlugin<never> | LandingPlugin<unknown>)[];
  hwmStores?: readonly (HwmPlugin<never> | HwmPlugin<unknown>)[];
  /** How this system's credentials look in text, so the scrubber removes them wherever they appear. */
  secretPatterns?: readonly SecretPattern[];
}
