/**
 * Checks every extract file against the documented format before anything leaves the network:
 * header, column count, required fields, types, row count as reported, gzip integrity. Hashes the
 * bytes as stored (sha256 for the manifest, MD5 for Content-MD5) in the same pass.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { parse } from 'csv-parse';
import { ValidationError } from '../contracts/errors';
import { COLUMNS, type Column, type ExtractKind } from '../contracts/extract-format';

export interface FileToValidate {
  kind: ExtractKind;
  name: string;
  path: string;
  /** What the extract reported writing. */
  rows: number;
}

export interface ValidatedFile extends FileToValidate {
  bytes: number;
  sha256: string;
  md5: string;
}

const MAX_REPORTED = 20;
const INT = /^-?\d+$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

function checkCell(col: Column, value: string): string | undefined {
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

/** `beat` is called every so many rows, so a long file keeps its activity's heartbeat alive. */
export async function validateFile(
  file: FileToValidate,
  beat: () => void = () => undefined,
): Promise<{ file: ValidatedFile; problems: string[] }> {
  const problems: string[] = [];
  const report = (msg: string) => {
    if (problems.length < MAX_REPORTED) problems.push(`${file.name}: ${msg}`);
    else if (problems.length === MAX_REPORTED) problems.push(`${file.name}: ... more problems not shown`);
  };
  const sha256 = createHash('sha256');
  const md5 = createHash('md5');
  let bytes = 0;
  const columns = COLUMNS[file.kind];
  const compressed = file.name.endsWith('.gz');
  const tap = new PassThrough();
  tap.on('data', (chunk: Buffer) => {
    sha256.update(chunk);
    md5.update(chunk);
    bytes += chunk.length;
  });
  const parser = parse({ bom: false, relax_column_count: true, skip_empty_lines: false });
  let line = 0;
  let rows = 0;
  parser.on('data', (record: string[]) => {
    line++;
    if (line === 1) {
      const expected = columns.map((c) => c.name).join(',');
      if (record.join(',') !== expected) report(`header is "${record.join(',').slice(0, 200)}", expected "${expected}"`);
      return;
    }
    rows++;
    if (rows % 50_000 === 0) beat();
    if (record.length !== columns.length) {
      report(`row ${rows}: ${record.length} fields, expected ${columns.length}`);
      return;
    }
    for (let i = 0; i < columns.length; i++) {
      const why = checkCell(columns[i]!, record[i]!);
      if (why) report(`row ${rows}, column ${columns[i]!.name}: ${why}`);
    }
  });
  try {
    if (compressed) await pipeline(createReadStream(file.path), tap, createGunzip(), parser);
    else await pipeline(createReadStream(file.path), tap, parser);
  } catch (e) {
    report(
      compressed && /gzip|header|unexpected end|incorrect/i.test((e as Error).message)
        ? `gzip is corrupt: ${(e as Error).message}`
        : `unreadable CSV: ${(e as Error).message}`,
    );
  }
  if (line === 0) report('empty file: the header row is missing');
  if (rows !== file.rows) report(`holds ${rows} rows but the extract reported ${file.rows}`);
  return { file: { ...file, bytes, sha256: sha256.digest('hex'), md5: md5.digest('base64') }, problems };
}

/**
 * Validates all files, one after another, and throws one ValidationError listing every problem found.
 * `signal` (cancelled, or superseded by a newer attempt) stops it between files.
 */
export async function validateFiles(
  files: FileToValidate[],
  onFile: (name: string) => void = () => undefined,
  signal?: AbortSignal,
): Promise<ValidatedFile[]> {
  const results = [];
  for (const f of files) {
    signal?.throwIfAborted();
    onFile(f.name);
    results.push(await validateFile(f, () => onFile(f.name)));
  }
  const problems = results.flatMap((r) => r.problems);
  if (problems.length) {
    throw new ValidationError(`extract failed validation; nothing was uploaded and the HWM is unchanged:\n  ${problems.join('\n  ')}`, {
      problems,
    });
  }
  return results.map((r) => r.file);
}
