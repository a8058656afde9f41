/**
 * One Athena extract through the real pipeline (runUnits, CSV files on disk) against a local endpoint,
 * read back as a consumer reads it: rows of strings per kind, the header, counters and cursor changes.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import pino from 'pino';
import { athenaSource, DEFAULT_QUOTAS, type AthenaConfigInput } from '../../src/connectors/athena/index';
import type { Source } from '../../src/contracts/plugin';
import { runUnits } from '../../src/extracts/run-units';
import { cursorView, type CursorEntries } from '../../src/hwm/cursor';

const log = pino({ level: 'silent' });

/**
 * An athena config on `endpoint` (which also serves the Iceberg metadata files' S3 GETs) with quotas out
 * of the way and dummy credentials, secrets resolved.
 */
export function localAthenaConfig(endpoint: string, over: Partial<AthenaConfigInput> = {}) {
  return {
    ...athenaSource.configSchema.parse({
      type: 'athena',
      region: 'us-east-1',
      endpoint,
      s3Endpoint: endpoint,
      accessKeyId: '${K}',
      secretAccessKey: '${S}',
      quotas: Object.fromEntries(Object.keys(DEFAULT_QUOTAS).map((op) => [op, { perSecond: 2000, burst: 2000 }])),
      ...over,
    }),
    accessKeyId: 'k',
    secretAccessKey: 's',
  };
}

/** An athena source on `endpoint` (see localAthenaConfig). */
export function localAthenaSource(endpoint: string, over: Partial<AthenaConfigInput> = {}): Source {
  return athenaSource.create(localAthenaConfig(endpoint, over), { log, signal: new AbortController().signal, apiCall: () => undefined });
}

export type CsvRows = Record<string, Record<string, string>[]>;

export interface ExtractedFiles {
  rows: CsvRows;
  headers: Record<string, string[]>;
  counters: Record<string, number>;
  warnings: string[];
  /** The cursor changes the run would commit with its HWM. */
  cursorChanges: Awaited<ReturnType<typeof runUnits>>['cursor'];
  /** The units given up on, the assembled files and their staging directory (kept, for a manifest). */
  incomplete: Awaited<ReturnType<typeof runUnits>>['incomplete'];
  files: Awaited<ReturnType<typeof runUnits>>['files'];
  dir: string;
}

/** Runs every unit of `source` over `window` into CSV files, closes the source, reads the files back. */
export async function extractToCsv(
  source: Source,
  window: { start: string; end: string },
  cursor: CursorEntries = {},
): Promise<ExtractedFiles> {
  const signal = new AbortController().signal;
  const dir = mkdtempSync(join(tmpdir(), 'athena-extract-'));
  try {
    const {
      files,
      checkpoint,
      incomplete,
      cursor: cursorChanges,
    } = await runUnits({
      source,
      sourceType: 'athena',
      collector: 'c',
      stamp: 's',
      compress: false,
      dir,
      ctx: { log, signal, window, cursor: cursorView(cursor) },
      onUnitDone() {},
    });
    const rows: CsvRows = {};
    const headers: Record<string, string[]> = {};
    for (const f of files) {
      const text = readFileSync(f.path, 'utf8');
      headers[f.kind] = text.split('\r\n')[0]!.split(',');
      rows[f.kind] = parse(text, { columns: true }) as Record<string, string>[];
    }
    return { rows, headers, counters: checkpoint.counters, warnings: checkpoint.warnings, cursorChanges, incomplete, files, dir };
  } finally {
    await source.close();
  }
}
