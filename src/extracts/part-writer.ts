/**
 * Writes one unit's rows of one kind to a headerless CSV part file, with backpressure.
 * Parts are assembled into the final extract files once every unit is done.
 */
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { stringify, type Stringifier } from 'csv-stringify';
import { ValidationError } from '../contracts/errors';
import { COLUMNS, type ExtractKind, type Row } from '../contracts/extract-format';

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
  } as const;
}

export class PartWriter {
  private readonly stringifier: Stringifier;
  private readonly file: WriteStream;
  rows = 0;

  constructor(
    readonly kind: ExtractKind,
    readonly path: string,
  ) {
    this.file = createWriteStream(path);
    this.stringifier = stringify(csvOptions(kind, false));
    this.stringifier.pipe(this.file);
  }

  async write(row: Row): Promise<void> {
    const known = columnSets.get(this.kind)!;
    for (const key of Object.keys(row)) {
      if (!known.has(key)) throw new ValidationError(`a ${this.kind} row has the unknown column "${key}" (a source plugin bug)`);
    }
    this.rows++;
    if (!this.stringifier.write(row)) await once(this.stringifier, 'drain');
  }

  async close(): Promise<void> {
    this.stringifier.end();
    await finished(this.file);
  }

  /**
   * Abandons the part (its unit failed or was given up): rows still buffered between the stringifier and
   * the file must not reach a destroyed stream, nor raise an error nobody listens for.
   */
  destroy(): void {
    this.stringifier.unpipe(this.file);
    this.file.on('error', () => undefined);
    this.stringifier.on('error', () => undefined);
    this.stringifier.destroy();
    this.file.destroy();
  }
}
