/**
 * What an object store (Azure Blob, S3...) supplies to the shared landing protocol and ETag HWM store:
 * single tries of a few operations in its own SDK, its retry/error classification, and the grants to
 * name. Everything the services have in common (create once, judge what is there, conflict, probe,
 * compare-and-set) is written once against this, in ./landing.ts and ./hwm.ts.
 */
import type { Check, PutOptions } from '../../contracts/plugin';
import type { BlockSource } from './blocks';

/** What a put needs to know about the bytes, wherever they come from (a staging file or a probe). */
export interface Content {
  bytes: number;
  sha256: string;
  md5: string;
  contentType: string;
  contentEncoding?: string | undefined;
  metadata: Record<string, string>;
}

/** An existing object compared with ours. */
export type Judgement = 'identical' | 'different' | 'absent';

/** What a read of an existing object's properties found. */
export interface StoredProperties {
  metadata: Record<string, string> | undefined;
  /** For objects without sha256 metadata: whether the store's own digest and length match ours. */
  digestMatches(c: Content): boolean;
}

/** One try of a service call; the client's `call` retries it with its own policy and error mapping. */
export type Try<T> = (signal: AbortSignal, attempt: number) => Promise<T>;

export interface ObjectStoreClient {
  /** Starts every message, e.g. `azure-blob`, `s3 HWM store`. */
  readonly label: string;
  /** Human-readable location, never with a credential. */
  describe(): string;
  /** The full object name of `objectName` under the configured prefix (checked for safety). */
  key(objectName: string): string;
  /** Where an object lives, for messages (never with a credential). */
  url(key: string): string;
  /** Credentials removed from `text`. */
  scrub(text: string): string;
  /** Fails before any request when the credential cannot work (an expired SAS...). */
  assertUsable(): void;
  /** Runs one try with retries; failures come out as typed, scrubbed errors (`grant` named on a refusal). */
  call<T>(what: string, key: string, signal: AbortSignal, op: Try<T>, grant?: string): Promise<T>;
  /** The HTTP status of a failed try, if it has one. */
  status(err: unknown): number | undefined;
  /** Whether the credential may read objects: known (true/false) or unknown until tried. */
  readonly canRead: boolean | undefined;
  readonly canDelete: boolean | undefined;
  /** Releases sockets and clients; safe to call twice. */
  close(): Promise<void>;
}

/** The landing protocol's vendor half. */
export interface LandingClient extends ObjectStoreClient {
  /** Whether `bytes` go out in more than one block or part (then an existing object is read first). */
  isMultiBlock(bytes: number): boolean;
  /** Sends the bytes and creates the object only if the name is free: false when it is taken. */
  create(source: BlockSource, c: Content, key: string, options: PutOptions): Promise<boolean>;
  /** One try of reading the existing object's properties; a missing or unreadable one throws (see `status`). */
  head(key: string, signal: AbortSignal): Promise<StoredProperties>;
  /** Identity without read permission (see each vendor's proof); `absent` when the object vanished. */
  proveIdentity(source: BlockSource, c: Content, key: string, signal: AbortSignal): Promise<Judgement>;
  /** One try of a delete (probe clean-up). */
  deleteOnce(key: string, signal: AbortSignal): Promise<void>;
  /** test-connection's first check: the credential itself. */
  checkCredentials(signal: AbortSignal): Promise<Check>;
  /** Checks only this store has (e.g. S3 multipart), on probe names it returns for clean-up. */
  extraProbeChecks?(probe: {
    id: string;
    source: BlockSource;
    content: Content;
    signal: AbortSignal;
  }): Promise<{ checks: Check[]; keys: string[] }>;
  /** Said in a conflict message (e.g. why a write-only comparison may call identical bytes different). */
  conflictHint(readsAllowed: boolean): string;
  /** The write-only proof, in words, and what to do when it judged the probe wrongly. */
  readonly proof: { detail: string; failed(j: Judgement): Pick<Check, 'detail' | 'grant'> };
  readonly grants: { write: string; read(key: string): string; verify: string; delete: string };
}

/** The ETag HWM store's vendor half: single tries, the version being the object's ETag. */
export interface HwmClient extends ObjectStoreClient {
  /** The text and ETag of `key`, or undefined when there is none. */
  readText(key: string, signal: AbortSignal): Promise<{ text: string; etag: string | undefined } | undefined>;
  /**
   * One try of writing `text` if the ETag is still `expected` (null: only if absent): the new ETag (null
   * if the store gave none). A refused condition throws with its status (see `status`).
   */
  writeText(key: string, text: string, expected: string | null, signal: AbortSignal): Promise<string | null>;
  /** One try of deleting `key` if its ETag is `etag`; a missing key or a moved ETag throws with its status. */
  deleteIfMatch(key: string, etag: string, signal: AbortSignal): Promise<void>;
  /** S3 answers a delete of a missing key with success: the version is then checked by a read first. */
  readonly deleteOfMissingSucceeds: boolean;
  readonly hwmGrants: { read(key: string): string; write: string; delete(key: string): string };
}
