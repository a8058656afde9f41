/**
 * A streaming byte-level check of one extract CSV (docs/extract-format.md): a resumable state machine
 * over Buffer chunks that checks RFC 4180 structure (quotes, CRLF, field counts) and builds a string
 * only for the header and for the cells whose type needs a look (int, bool, timestamp, json). It
 * replaced csv-parse, which built every field of every row and ran at ~8 MB/s.
 */
import type { Column } from '../contracts/extract-format';

const QUOTE = 0x22;
const COMMA = 0x2c;
const CR = 0x0d;
const LF = 0x0a;

const enum S {
  FieldStart,
  Unquoted,
  Quoted,
  /** A quote inside a quoted field: either the first of a doubled quote or the closing one. */
  QuoteInQuoted,
  /** A CR ended a field: only LF may follow. */
  Cr,
}

/** 1 for the bytes an unquoted cell may hold without ending or breaking it. */
const PLAIN = new Uint8Array(256).fill(1);
for (const b of [QUOTE, COMMA, CR, LF]) PLAIN[b] = 0;

const INT = /^-?\d+$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;
const DOUBLED = /""/g;

/** Why a cell's text is not of its column's type, or undefined when it is. */
export function checkCell(col: Column, value: string): string | undefined {
  if (value === '') return col.required ? 'required but empty' : undefined;
  switch (col.type) {
    case 'int':
      return INT.test(value) ? undefined : `not an integer: "${value.slice(0, 40)}"`;
    case 'bool':
      return value === 'true' || value === 'false' ? undefined : `not true/false: "${value.slice(0, 40)}"`;
    case 'timestamp':
      return TIMESTAMP.test(value) && !Number.isNaN(Date.parse(value))
        ? undefined
        : `not an ISO-8601 UTC timestamp: "${value.slice(0, 40)}"`;
    case 'json':
      try {
        JSON.parse(value);
        return undefined;
      } catch {
        return `not JSON: "${value.slice(0, 40)}"`;
      }
    default:
      return undefined;
  }
}

/** A structural fault: the file cannot be read as CSV past this point. */
export class CsvStructureError extends Error {}

export class CsvScanner {
  private state = S.FieldStart;
  private field = 0;
  private line = 1;
  /** Bytes of the current cell carried over from earlier chunks, kept only when the cell is looked at. */
  private pieces: Buffer[] = [];
  private quoted = false;
  private empty = true;
  private header: string[] | undefined = [];
  private cellProblems: string[] = [];
  /** Per column, the raw bytes of the last timestamp or JSON cell that passed. */
  private readonly lastValid: (Buffer | undefined)[];
  private readonly look: boolean[];
  private readonly required: boolean[];
  records = 0;

  constructor(
    private readonly columns: readonly Column[],
    private readonly onHeader: (fields: string[]) => void,
    /** Called per data record with its field count and the problems of its cells. */
    private readonly onRecord: (row: number, fields: number, problems: string[]) => void,
  ) {
    this.look = columns.map((c) => c.type !== 'string');
    this.required = columns.map((c) => c.required);
    this.lastValid = columns.map(() => undefined);
  }

  private needsValue(): boolean {
    return this.header !== undefined || (this.field < this.columns.length && this.look[this.field]!);
  }

  private fail(what: string): never {
    throw new CsvStructureError(`${what} on line ${this.line}`);
  }

  /** True when a typed cell held in one chunk is plainly valid, told from its bytes without a string. */
  private quickCheck(buf: Buffer, start: number, end: number): boolean {
    const f = this.field;
    if (this.header || !this.look[f] || this.pieces.length || end === start) return false;
    switch (this.columns[f]!.type) {
      case 'int': {
        let i = buf[start] === 0x2d ? start + 1 : start;
        if (i === end) return false;
        for (; i < end; i++) if (buf[i]! < 0x30 || buf[i]! > 0x39) return false;
        return true;
      }
      case 'bool':
        return (
          (end - start === 4 && buf[start] === 0x74 && buf[start + 1] === 0x72 && buf[start + 2] === 0x75 && buf[start + 3] === 0x65) ||
          (end - start === 5 &&
            buf[start] === 0x66 &&
            buf[start + 1] === 0x61 &&
            buf[start + 2] === 0x6c &&
            buf[start + 3] === 0x73 &&
            buf[start + 4] === 0x65)
        );
      default: {
        // Timestamps and JSON often repeat down a column (a query's observed_at on each of its edges, tables
        // one job created at once): the same bytes as the last valid one are valid.
        const last = this.lastValid[f];
        return last !== undefined && last.length === end - start && buf.compare(last, 0, last.length, start, end) === 0;
      }
    }
  }

  private endField(buf: Buffer, start: number, end: number): void {
    const f = this.field;
    // Most cells: a string column of a data row. Nothing to look at but, if required, emptiness.
    if (this.header === undefined && f < this.look.length && !this.look[f]) {
      if (this.required[f] && (this.quoted ? this.pieces.length === 0 && end - start === 2 : this.empty)) {
        this.cellProblems.push(`column ${this.columns[f]!.name}: required but empty`);
      }
      if (this.pieces.length) this.pieces = [];
      this.field = f + 1;
      return;
    }
    if (this.quickCheck(buf, start, end)) {
      // valid as it stands
    } else if (this.needsValue()) {
      const whole = this.pieces.length === 0;
      let text: string;
      if (!whole) {
        this.pieces.push(buf.subarray(start, end));
        text = Buffer.concat(this.pieces).toString('utf8');
        this.pieces = [];
      } else text = buf.toString('utf8', start, end);
      // Quoted cells keep their quotes in [start, end): strip them and undo the doubling.
      if (this.quoted) text = text.slice(1, -1).replace(DOUBLED, '"');
      if (this.header) this.header.push(text);
      else {
        const col = this.columns[this.field]!;
        const why = checkCell(col, text);
        if (why) this.cellProblems.push(`column ${col.name}: ${why}`);
        else if ((col.type === 'json' || col.type === 'timestamp') && text !== '' && whole) {
          this.lastValid[this.field] = Buffer.from(buf.subarray(start, end));
        }
      }
    } else if (
      this.field < this.columns.length &&
      this.columns[this.field]!.required &&
      (this.quoted ? this.pieces.length === 0 && end - start === 2 : this.empty)
    ) {
      this.cellProblems.push(`column ${this.columns[this.field]!.name}: required but empty`);
    }
    if (this.pieces.length) this.pieces = [];
    this.field++;
  }

  private endRecord(): void {
    if (this.header) {
      this.onHeader(this.header);
      this.header = undefined;
    } else {
      this.records++;
      this.onRecord(this.records, this.field, this.cellProblems);
      if (this.cellProblems.length) this.cellProblems = [];
    }
    this.field = 0;
    this.line++;
  }

  /** Scans one chunk; throws CsvStructureError at the first structural fault. */
  push(buf: Buffer): void {
    const n = buf.length;
    // Start of the current cell in this chunk (quotes included): 0 when it began in an earlier one.
    let start = 0;
    let i = 0;
    while (i < n) {
      switch (this.state) {
        case S.FieldStart: {
          const b = buf[i]!;
          start = i;
          this.empty = true;
          this.quoted = false;
          if (b === QUOTE) {
            this.quoted = true;
            this.empty = false;
            this.state = S.Quoted;
          } else if (b === COMMA) {
            this.endField(buf, i, i);
          } else if (b === CR) {
            this.endField(buf, i, i);
            this.state = S.Cr;
          } else if (b === LF) this.fail('a line feed without a carriage return (records end with CRLF)');
          else {
            this.empty = false;
            this.state = S.Unquoted;
          }
          i++;
          break;
        }
        case S.Unquoted: {
          // Scan to the end of an unquoted cell.
          for (; i < n; i++) {
            const b = buf[i]!;
            // One table load per ordinary byte instead of four comparisons.
            if (PLAIN[b] === 1) continue;
            if (b === COMMA) {
              this.endField(buf, start, i);
              this.state = S.FieldStart;
              break;
            } else if (b === CR) {
              this.endField(buf, start, i);
              this.state = S.Cr;
              break;
            } else if (b === QUOTE) this.fail('a quote inside an unquoted field (such a field must be quoted, its quotes doubled)');
            else if (b === LF) this.fail('a line feed inside an unquoted field (such a field must be quoted)');
          }
          i++;
          break;
        }
        case S.Quoted: {
          const q = buf.indexOf(QUOTE, i);
          if (q === -1) i = n;
          else {
            this.state = S.QuoteInQuoted;
            i = q + 1;
          }
          break;
        }
        case S.QuoteInQuoted: {
          const b = buf[i]!;
          if (b === QUOTE) this.state = S.Quoted;
          else if (b === COMMA) {
            this.endField(buf, start, i);
            this.state = S.FieldStart;
          } else if (b === CR) {
            this.endField(buf, start, i);
            this.state = S.Cr;
          } else this.fail('a character after the closing quote of a field (quotes inside a field must be doubled)');
          i++;
          break;
        }
        case S.Cr: {
          if (buf[i] !== LF) this.fail('a carriage return without a line feed (inside a field it must be quoted)');
          this.endRecord();
          this.state = S.FieldStart;
          i++;
          break;
        }
      }
    }
    // A cell still open at the chunk's end: keep (a copy of) its bytes if it will be looked at; the
    // caller may read the next chunk into the same buffer.
    if ((this.state === S.Unquoted || this.state === S.Quoted || this.state === S.QuoteInQuoted) && this.needsValue()) {
      this.pieces.push(Buffer.from(buf.subarray(start)));
    }
  }

  /** At end of input: the last record must be complete and CRLF-ended. */
  end(): void {
    if (this.state === S.Quoted) this.fail('a quoted field not closed at the end of the file');
    if (this.state === S.Cr) this.fail('a carriage return without a line feed at the end of the file');
    if (this.state !== S.FieldStart || this.field > 0) this.fail('the last record is not ended by CRLF (a truncated file?)');
  }

  /** True when no byte was seen at all. */
  get untouched(): boolean {
    return this.line === 1 && this.header !== undefined && this.header.length === 0 && this.field === 0 && this.state === S.FieldStart;
  }
}
