/**
 * Writes one unit's rows of one kind to a headerless CSV part file, with backpressure.
 * Parts are assembled into the final extract files once every unit is done.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { ValidationError } from '../contracts/errors';
import { COLUMNS, type ExtractKind, type Row } from '../contracts/extract-format';
import { rowEncoder } from './csv-encoder';

/** Rows are batched into writes of this many bytes at most: one syscall-sized write, not one per row. */
const BATCH_BYTES = 64 * 1024;

const columnSets = new Map<ExtractKind, Set<string>>(
  Object.entries(COLUMNS).map(([k, cols]) => [k as ExtractKind, new Set(cols.map((c) => c.name))]),
);

/** How cells become text: the one place the extract format's value encoding lives. */
export const CSV_CAST = {
  date: (d: Date) => d.toISOString(),
  boolean: (b: boolean) => (b ? 'true' : 'false'),
  object: (o: Record<string, unknown>) => JSON.stringify(o),
  bigint: (n: bigint) => n.toString(),
  number: (n: number) => (Number.isFinite(n) ? String(n) : ''),
};

export function csvOptions(kind: ExtractKind, header: boolean) {
  return {
    columns: COLUMNS[kind].map((c) => c.name),
    header,
    cast: CSV_CAST,
    record_delimiter: '\r\n',
    // csv-stringify leaves a lone CR or LF unquoted once record_delimiter is set; the format quotes them.
    quote_record_delimiter: true,
  } as const;
}

export class PartWriter {
  private file: Promise<FileHandle> | undefined;
  private readonly encode: (row: Row) => string;
  private readonly known: Set<string>;
  /** Encoded rows not yet written; one buffer per writer, reused, so writing allocates nothing per batch. */
  private readonly buf = Buffer.allocUnsafe(BATCH_BYTES);
  private used = 0;
  private destroyed = false;
  /** A batch is being written from `buf`: a row written now would overwrite bytes not yet on disk. */
  private busy = false;
  rows = 0;

  constructor(
    readonly kind: ExtractKind,
    readonly path: string,
  ) {
    this.encode = rowEncoder(kind);
    this.known = columnSets.get(kind)!;
  }

  async write(row: Row): Promise<void> {
    if (this.busy) {
      throw new ValidationError(
        `a ${this.kind} row was written before the previous write resolved (a source plugin bug: await out.write(...))`,
      );
    }
    for (const key in row) {
      if (!this.known.has(key)) throw unknownColumn(this.kind, key);
    }
    const text = this.encode(row);
    this.rows++;
    // UTF-8 takes at most 3 bytes per UTF-16 code unit: flush first unless the row surely fits.
    if (this.used + text.length * 3 > BATCH_BYTES) {
      await this.flush();
      if (text.length * 3 > BATCH_BYTES) return this.writeAll(Buffer.from(text, 'utf8'));
    }
    this.used += this.buf.write(text, this.used, 'utf8');
  }

  async close(): Promise<void> {
    await this.flush();
    // A part no row was written to still exists (empty): assembly reads every part a unit reported.
    const fh = await this.handle();
    await fh.close();
  }

  /** Abandons the part (its unit failed or was given up): rows still batched are dropped. */
  destroy(): void {
    this.destroyed = true;
    void this.file?.then((fh) => fh.close()).catch(() => undefined);
  }

  private handle(): Promise<FileHandle> {
    if (this.destroyed) return Promise.reject(new Error(`${this.path}: written after it was abandoned`));
    return (this.file ??= open(this.path, 'w'));
  }

  private async flush(): Promise<void> {
    if (this.used === 0) return;
    const n = this.used;
    this.used = 0;
    await this.writeAll(this.buf.subarray(0, n));
  }

  private async writeAll(bytes: Buffer): Promise<void> {
    this.busy = true;
    try {
      const fh = await this.handle();
      let off = 0;
      while (off < bytes.length) off += (await fh.write(bytes, off, bytes.length - off)).bytesWritten;
    } finally {
      this.busy = false;
    }
  }
}

/** Table-level columns that `metadata` rows carried before extract format 6. */
const MOVED_TO_TABLES = new Set(COLUMNS.tables.map((c) => c.name).filter((n) => !COLUMNS.metadata.some((c) => c.name === n)));

function unknownColumn(kind: ExtractKind, key: string): ValidationError {
  // A plugin written for format 5 or older: say where the column went instead of only that it is wrong.
  const moved =
    kind === 'metadata' && MOVED_TO_TABLES.has(key)
      ? ': since extract format 6 table-level fields go in one `tables` row per table (docs/extract-format.md)'
      : '';
  return new ValidationError(`a ${kind} row has the unknown column "${key}" (a source plugin bug)${moved}`);
}
