/**
 * Checks every extract file against the documented format before anything leaves the network:
 * header, column count, required fields, types, row count as reported, gzip integrity. Hashes the
 * bytes as stored (sha256 for the manifest, MD5 for Content-MD5) in the same pass.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { FileIdentity } from '../contracts/plugin';
import { fileIdentity, sameIdentity } from './hash';
import { open } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { ValidationError } from '../contracts/errors';
import { COLUMNS, type ExtractKind } from '../contracts/extract-format';
import { CsvScanner, CsvStructureError } from './csv-scan';

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
  /** The file while it was read: unchanged from the first byte to the last, or the file fails. */
  identity: FileIdentity;
}

const MAX_REPORTED = 20;
/** Read size: large reads keep the per-chunk costs (hash updates, stream turns) negligible. */
const CHUNK = 1024 * 1024;

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
  let before: FileIdentity = { ino: '', size: -1, mtimeNs: '', ctimeNs: '' };
  try {
    before = await fileIdentity(file.path);
  } catch (e) {
    report(`unreadable: ${(e as Error).message}`);
  }
  const columns = COLUMNS[file.kind];
  const compressed = file.name.endsWith('.gz');
  const scanner = new CsvScanner(
    columns,
    (header) => {
      const expected = columns.map((c) => c.name).join(',');
      if (header.join(',') !== expected) report(`header is "${header.join(',').slice(0, 200)}", expected "${expected}"`);
    },
    (row, fields, cellProblems) => {
      if (row % 50_000 === 0) beat();
      if (fields !== columns.length) report(`row ${row}: ${fields} fields, expected ${columns.length}`);
      else for (const p of cellProblems) report(`row ${row}, ${p}`);
    },
  );
  // Hashes the bytes as stored (compressed or not): the ones that will be uploaded.
  const take = (chunk: Buffer) => {
    sha256.update(chunk);
    md5.update(chunk);
    bytes += chunk.length;
  };
  if (!compressed) {
    // Plain CSV: one buffer read into again and again, no stream and no garbage per chunk.
    try {
      const fh = await open(file.path, 'r');
      try {
        const buf = Buffer.allocUnsafe(CHUNK);
        for (;;) {
          const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
          if (bytesRead === 0) break;
          const chunk = buf.subarray(0, bytesRead);
          take(chunk);
          scanner.push(chunk);
        }
        scanner.end();
      } finally {
        await fh.close();
      }
    } catch (e) {
      report(`unreadable CSV: ${(e as Error).message}`);
    }
    return await finish();
  }
  const source = createReadStream(file.path, { highWaterMark: CHUNK });
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      take(chunk);
      done(null, chunk);
    },
  });
  // Kept aside: ending the pipeline early surfaces as an abort, which would hide what was wrong.
  let structure: CsvStructureError | undefined;
  const scan = async (input: AsyncIterable<Buffer>) => {
    try {
      for await (const chunk of input) scanner.push(chunk);
      scanner.end();
    } catch (e) {
      if (e instanceof CsvStructureError) structure = e;
      throw e;
    }
  };
  try {
    await pipeline(source, tap, createGunzip({ chunkSize: CHUNK }), scan);
  } catch (e) {
    report(
      structure
        ? `unreadable CSV: ${structure.message}`
        : compressed && /gzip|header|unexpected end|incorrect/i.test((e as Error).message)
          ? `gzip is corrupt: ${(e as Error).message}`
          : `unreadable CSV: ${(e as Error).message}`,
    );
  }
  return await finish();

  async function finish(): Promise<{ file: ValidatedFile; problems: string[] }> {
    const rows = scanner.records;
    if (scanner.untouched) report('empty file: the header row is missing');
    if (rows !== file.rows) report(`holds ${rows} rows but the extract reported ${file.rows}`);
    const after = await fileIdentity(file.path).catch(() => undefined);
    if (!after || !sameIdentity(before, after)) report('changed while it was validated');
    return { file: { ...file, bytes, sha256: sha256.digest('hex'), md5: md5.digest('base64'), identity: before }, problems };
  }
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
