/**
 * One extract of the Athena source through the real unit runner (runUnits) and the real AWS SDK against
 * a local endpoint: what a run's activity would write, without Temporal around it.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import pino from 'pino';
import { athenaSource, DEFAULT_QUOTAS } from '../../src/connectors/athena/index';
import { runUnits } from '../../src/extracts/run-units';
import { applyCursorChanges, cursorView, parseCursor, type CursorEntries } from '../../src/hwm/cursor';

export type Rows = Record<string, Record<string, string>[]>;

export interface AthenaUnitsRun {
  /** Rows of each kind's file. */
  rows: Rows;
  counters: Record<string, number>;
  warnings: string[];
  /** The cursor a commit of this run would store. */
  next: CursorEntries;
}

export async function runAthenaUnits(
  endpoint: string,
  scope: { workgroups: string[]; catalogs: string[] },
  window: { start: string; end: string },
  cursor: CursorEntries = {},
): Promise<AthenaUnitsRun> {
  const log = pino({ level: 'silent' });
  const config = {
    ...athenaSource.configSchema.parse({
      type: 'athena',
      region: 'us-east-1',
      endpoint,
      accessKeyId: '${K}',
      secretAccessKey: '${S}',
      ...scope,
      quotas: Object.fromEntries(Object.keys(DEFAULT_QUOTAS).map((op) => [op, { perSecond: 2000, burst: 2000 }])),
    }),
    accessKeyId: 'k',
    secretAccessKey: 's',
  };
  const signal = new AbortController().signal;
  const source = athenaSource.create(config, { log, signal, apiCall: () => undefined });
  const dir = mkdtempSync(join(tmpdir(), 'athena-units-'));
  try {
    const {
      files,
      checkpoint,
      cursor: changes,
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
    const rows: Rows = {};
    for (const f of files) rows[f.kind] = parse(readFileSync(f.path, 'utf8'), { columns: true }) as Record<string, string>[];
    return { rows, counters: checkpoint.counters, warnings: checkpoint.warnings, next: parseCursor(applyCursorChanges(cursor, changes)) };
  } finally {
    await source.close();
  }
}
