/**
 * Writes one unit's rows of one kind to a headerless CSV part file, with backpressure.
 * Parts are assembled into the final extract files once every unit is done.
 */
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { ValidationError } from '../contracts/errors';
import { COLUMNS, type ExtractKind, type Row } from '../contracts/extract-format';
import { rowEncoder } from './csv-encoder';

/** Rows are batched into writes of about this many characters: one syscall-sized write, not one per row. */
const BATCH_CHARS = 64 * 1024;

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
  private readonly file: WriteStream;
  private readonly encode: (row: Row) => string;
  private readonly known: Set<string>;
  private pending = '';
  private failed: Error | undefined;
  rows = 0;

  constructor(
    readonly kind: ExtractKind,
    readonly path: string,
  ) {
    this.file = createWriteStream(path);
    // Kept, so a write error (disk full) surfaces from the next write or close instead of crashing the worker.
    this.file.on('error', (e) => (this.failed ??= e));
    this.encode = rowEncoder(kind);
    this.known = columnSets.get(kind)!;
  }

  async write(row: Row): Promise<void> {
    if (this.failed) throw this.failed;
    for (const key in row) {
      if (!this.known.has(key)) throw unknownColumn(this.kind, key);
    }
    this.pending += this.encode(row);
    this.rows++;
    if (this.pending.length >= BATCH_CHARS) {
      const batch = this.pending;
      this.pending = '';
      if (!this.file.write(batch)) await once(this.file, 'drain');
    }
  }

  async close(): Promise<void> {
    if (this.failed) throw this.failed;
    this.file.end(this.pending);
    this.pending = '';
    await finished(this.file);
  }

  /**
   * Abandons the part (its unit failed or was given up): rows still batched are dropped, and the file's
   * error listener (set at open) keeps a late error from going unhandled.
   */
  destroy(): void {
    this.file.destroy();
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
