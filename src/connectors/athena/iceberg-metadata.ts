/**
 * Iceberg partition specs read from the tables' own metadata files. Glue keeps only a pointer
 * (`metadata_location`) to the JSON file where Iceberg writes a table's schemas and partition specs;
 * one S3 GET of it costs milliseconds and no Athena quota, where SHOW CREATE TABLE is a DDL query per
 * table (about a second each, queued behind Athena's 20 active DDL queries per account). Where the
 * collector may not read a bucket, the caller falls back to the query.
 */
import { GetObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { gunzipSync } from 'node:zlib';
import type { AthenaConfig } from './config';
import { partitionSpecFromMetadataFile, type PartitionField } from './table-format';

/** Iceberg metadata files carry the snapshot log too; past this a table's file is not worth reading. */
const MAX_METADATA_BYTES = 32 * 1024 * 1024;
/** Files read at once across the run's units: bounds the bodies held in memory, whatever maxConcurrency is. */
const READS_IN_FLIGHT = 32;

export type MetadataFileRead =
  | { kind: 'spec'; spec: PartitionField[] }
  /** The collector may not read this bucket (AccessDenied): the same for every table in it. */
  | { kind: 'denied'; bucket: string; first: boolean }
  /** This table's file could not be used (gone since listing, unreadable, too large): ask another way. */
  | { kind: 'unavailable'; reason: string };

/** `s3://bucket/key` (or s3a/s3n, as Spark writes them) into bucket and key. */
export function s3Location(uri: string): { bucket: string; key: string } | null {
  const m = /^s3[an]?:\/\/([^/]+)\/(.+)$/.exec(uri);
  return m ? { bucket: m[1]!, key: m[2]! } : null;
}

export class IcebergMetadataFiles {
  private client?: S3Client;
  private readonly deniedBuckets = new Set<string>();
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly config: AthenaConfig,
    private readonly credentials: S3ClientConfig['credentials'],
  ) {}

  async read(location: string, signal: AbortSignal): Promise<MetadataFileRead> {
    // A finished read hands its slot straight to the next waiter, so never more than READS_IN_FLIGHT.
    if (this.inFlight >= READS_IN_FLIGHT) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.inFlight++;
    try {
      return await this.readOne(location, signal);
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.inFlight--;
    }
  }

  private async readOne(location: string, signal: AbortSignal): Promise<MetadataFileRead> {
    const at = s3Location(location);
    if (!at) return { kind: 'unavailable', reason: `metadata_location ${JSON.stringify(location.slice(0, 200))} is not an s3:// URI` };
    if (this.deniedBuckets.has(at.bucket)) return { kind: 'denied', bucket: at.bucket, first: false };
    let body: Buffer;
    try {
      const got = await this.s3().send(new GetObjectCommand({ Bucket: at.bucket, Key: at.key }), { abortSignal: signal });
      const size = got.ContentLength ?? 0;
      if (size > MAX_METADATA_BYTES) {
        (got.Body as { destroy?: () => void } | undefined)?.destroy?.();
        return { kind: 'unavailable', reason: `metadata file of ${size} bytes is over ${MAX_METADATA_BYTES}` };
      }
      body = Buffer.from(await got.Body!.transformToByteArray());
    } catch (err) {
      signal.throwIfAborted();
      const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (e.name === 'AccessDenied' || e.$metadata?.httpStatusCode === 403) {
        // Reads already in flight to the same bucket also come back denied: only the first says so.
        const first = !this.deniedBuckets.has(at.bucket);
        this.deniedBuckets.add(at.bucket);
        return { kind: 'denied', bucket: at.bucket, first };
      }
      const message = err instanceof Error ? err.message.slice(0, 200) : '';
      return { kind: 'unavailable', reason: `${e.name ?? 'error'} reading the metadata file${message ? `: ${message}` : ''}` };
    }
    try {
      // Iceberg's gzip codec (`*.gz.metadata.json`, `*.metadata.json.gz`) is told by its magic bytes.
      const text = (body[0] === 0x1f && body[1] === 0x8b ? gunzipSync(body, { maxOutputLength: MAX_METADATA_BYTES }) : body).toString(
        'utf8',
      );
      const spec = partitionSpecFromMetadataFile(JSON.parse(text));
      return spec ? { kind: 'spec', spec } : { kind: 'unavailable', reason: 'no readable current partition spec in the metadata file' };
    } catch {
      return { kind: 'unavailable', reason: 'the metadata file is not readable JSON' };
    }
  }

  close(): void {
    this.client?.destroy();
  }

  private s3(): S3Client {
    this.client ??= new S3Client({
      region: this.config.region,
      ...(this.config.s3Endpoint ? { endpoint: this.config.s3Endpoint, forcePathStyle: true } : {}),
      ...(this.credentials ? { credentials: this.credentials } : {}),
      requestHandler: { connectionTimeout: 10_000, requestTimeout: 60_000 },
    });
    return this.client;
  }
}
