/**
 * The extract format's CSV encoding (docs/extract-format.md), fitted to it rather than general:
 * column order fixed per kind, one string built per row, a field quoted only when it holds a comma,
 * quote, CR or LF. Byte-identical to csv-stringify with csvOptions (test/csv-encoder.test.ts proves it);
 * it exists because csv-stringify's per-field option handling was ~30% of a large run's CPU.
 */
import { COLUMNS, type CellValue, type ExtractKind, type Row } from '../contracts/extract-format';

const NEEDS_QUOTES = /[",\r\n]/;
const QUOTES = /"/g;

/** One cell as text; null, undefined and non-finite numbers are empty. */
export function encodeCell(v: CellValue): string {
  let s: string;
  switch (typeof v) {
    case 'string':
      s = v;
      break;
    case 'number':
      return Number.isFinite(v) ? String(v) : '';
    case 'bigint':
      return v.toString();
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object':
      if (v === null) return '';
      // Dates and JSON text may hold any character, so they go through the quoting check.
      s = v instanceof Date ? v.toISOString() : JSON.stringify(v);
      break;
    default:
      return '';
  }
  if (!NEEDS_QUOTES.test(s)) return s;
  return `"${s.includes('"') ? s.replace(QUOTES, '""') : s}"`;
}

/** Encodes rows of one kind, each as one CRLF-ended line, in the kind's column order. */
export function rowEncoder(kind: ExtractKind): (row: Row) => string {
  const names = COLUMNS[kind].map((c) => c.name);
  const last = names.length - 1;
  return (row) => {
    let line = '';
    for (let i = 0; i < last; i++) line += `${encodeCell(row[names[i]!])},`;
    return `${line}${encodeCell(row[names[last]!])}\r\n`;
  };
}

/** The header row of a kind's file. */
export function headerLine(kind: ExtractKind): string {
  return `${COLUMNS[kind].map((c) => encodeCell(c.name)).join(',')}\r\n`;
}
