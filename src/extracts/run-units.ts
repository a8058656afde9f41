/**
 * Runs a source's units with bounded concurrency into per-unit part files, skipping units a previous
 * attempt finished (its checkpoint), then assembles one extract file per kind.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { appendFile, mkdir, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { PassThrough, type Writable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { stringify } from 'csv-stringify/sync';
import type { CursorValue, ExtractContext, ExtractUnit, Source, UnitOutput } from '../contracts/plugin';
import { errorMessage, isUnitIncomplete } from '../contracts/errors';
import { cursorView, type CursorChanges } from '../hwm/cursor';
import {
  EXTRACT_KINDS,
  COLUMNS,
  extractFileName,
  FORMAT_VERSION,
  type ExtractKind,
  type IncompleteUnit,
  type Row,
} from '../contracts/extract-format';
import { PartWriter } from './part-writer';
import { scrubSecrets } from '../secrets/scrub';

/** What a finished unit left on disk; small, so it travels in heartbeat details. */
export interface UnitDone {
  key: string;
  rows: Partial<Record<ExtractKind, number>>;
  /** What the unit counted (ctx.count) while it ran. */
  counters?: Record<string, number>;
  /** The unit set cursor entries, kept beside its parts (not here: heartbeats reach history, a cursor must not). */
  cursor?: true;
}

/**
 * Where a retried extract resumes from (it travels in heartbeat details). Finished units are listed
 * inline while there are at most `inlineUnits` of them; beyond that the list would outgrow what a
 * heartbeat should carry, so `units` is empty and `journaled` counts the leading lines of the staging
 * journal (`parts/units.jsonl`, one finished unit a line) that belong to it. The journal is written
 * either way: it is on the same disk as the part files, which resuming needs anyway.
 */
export interface ExtractCheckpoint {
  /**
   * The extract format the parts were written in. A checkpoint of another format (a build before or after
   * an upgrade that changed the columns) is not resumed: its parts would not assemble with new ones.
   */
  formatVersion?: string;
  units: UnitDone[];
  journaled?: number;
  /** Set by this version: units carry their own counters (older checkpoints only had the totals). */
  perUnitCounters?: true;
  warnings: string[];
  /** Counted by finished units only: a unit that is run again must not count twice. */
  counters: Record<string, number>;
}

/** Finished units a checkpoint stands for. */
export const unitsDone = (cp: ExtractCheckpoint | undefined): number => cp?.journaled ?? cp?.units.length ?? 0;

export interface ExtractedFile {
  kind: ExtractKind;
  name: string;
  path: string;
  rows: number;
}

export interface RunUnitsOptions {
  /** Created and closed by the caller. */
  source: Source;
  /** The source's type, for errors. */
  sourceType: string;
  collector: string;
  stamp: string;
  compress: boolean;
  dir: string;
  /** Without `cursor`, the source sees an empty one (a first run). */
  ctx: Omit<ExtractContext, 'warn' | 'count' | 'cursor'> & { cursor?: ExtractContext['cursor'] };
  checkpoint?: ExtractCheckpoint;
  /** Called after each unit completes, with the checkpoint to heartbeat and the rows finished so far. */
  onUnitDone(checkpoint: ExtractCheckpoint, rowsDone: number): void;
  /** Finished units listed in the checkpoint itself before it switches to the journal; default 1,000. */
  inlineUnits?: number;
  /** Resolved secret values: scrubbed from warnings, which reach heartbeats, the run summary and the manifest. */
  knownSecrets?: Iterable<string>;
}

const MAX_WARNINGS = 50;
const INLINE_UNITS = 1000;
/** A reason is an error message from the source's system (a Lambda's stack trace at worst): bounded. */
const MAX_REASON = 500;
/** Incomplete units named one by one in the warnings (reasons shortened); the manifest lists them all. */
const WARNED_INCOMPLETE = 10;
const WARNED_REASON = 200;

/** Where the extract leaves the full list of incomplete units for the manifest (same staging directory). */
export const INCOMPLETE_UNITS_FILE = 'incomplete-units.json';

/** The counters of the unit whose code is running (AsyncLocalStorage follows it through awaits). */
const unitCounters = new AsyncLocalStorage<Record<string, number>>();

const partName = (key: string) => createHash('sha256').update(key).digest('hex').slice(0, 24);

/**
 * The assembled files, the final checkpoint (with this attempt's counters), how many units were reused,
 * and the units the source gave up on (UnitIncompleteError), in key order. Those are not in the checkpoint:
 * a resumed attempt tries them again.
 */
export async function runUnits(opts: RunUnitsOptions): Promise<{
  files: ExtractedFile[];
  checkpoint: ExtractCheckpoint;
  reused: number;
  cursor: CursorChanges;
  incomplete: IncompleteUnit[];
}> {
  const partsDir = join(opts.dir, 'parts');
  await mkdir(partsDir, { recursive: true });
  const journalPath = join(partsDir, 'units.jsonl');
  const inlineUnits = opts.inlineUnits ?? INLINE_UNITS;
  let resumeFrom = opts.checkpoint;
  if (resumeFrom && resumeFrom.formatVersion !== FORMAT_VERSION) {
    // Written in another format: start over in an empty parts directory (its journal included).
    resumeFrom = undefined;
    await rm(partsDir, { recursive: true, force: true });
    await mkdir(partsDir, { recursive: true });
  }
  const previous = resumeFrom?.journaled ? await readJournal(journalPath, resumeFrom.journaled) : (resumeFrom?.units ?? []);
  const done = new Map<string, UnitDone>();
  // A unit counts as done only if every part it reported is still on disk (same host, same staging).
  for (const u of previous) {
    let present = true;
    for (const kind of Object.keys(u.rows) as ExtractKind[]) present &&= await exists(join(partsDir, `${partName(u.key)}.${kind}.csv`));
    if (u.cursor) present &&= await exists(cursorPath(partsDir, u.key));
    if (present) done.set(u.key, u);
  }
  const reused = done.size;
  const checkpoint: ExtractCheckpoint = {
    formatVersion: FORMAT_VERSION,
    units: [],
    perUnitCounters: true,
    warnings: [...(resumeFrom?.warnings ?? [])],
    counters: sumCounters(done.values()),
  };
  const record = (): void => {
    if (done.size <= inlineUnits) checkpoint.units = [...done.values()];
    else {
      checkpoint.units = [];
      checkpoint.journaled = done.size;
    }
  };
  record();
  // The journal restarts as exactly the units this attempt takes as done; appends are chained so the
  // order of its lines is the order units are recorded in (a checkpoint's "first n lines" holds).
  await writeFile(journalPath, [...done.values()].map((u) => `${JSON.stringify(u)}\n`).join(''));
  let journal: Promise<void> = Promise.resolve();
  let rowsDone = [...done.values()].reduce((n, u) => n + totalRows(u), 0);
  // Warnings travel in heartbeats, the run summary and the manifest: bounded, the overflow counted.
  const knownSecrets = [...(opts.knownSecrets ?? [])];
  const warn = (text: string) => {
    const m = scrubSecrets(text, knownSecrets);
    if (checkpoint.warnings.includes(m)) return;
    if (checkpoint.warnings.length < MAX_WARNINGS) checkpoint.warnings.push(m);
    else count('warnings_not_listed');
  };
  // Counts made while a unit runs are that unit's until it finishes (a failed or interrupted unit's are
  // dropped with it); counts made while listing units are this attempt's, as the listing reruns too.
  const attemptCounters: Record<string, number> = {};
  const count = (name: string, n = 1) => {
    const target = unitCounters.getStore() ?? attemptCounters;
    target[name] = (target[name] ?? 0) + n;
  };
  const ctx: ExtractContext = { cursor: cursorView({}), ...opts.ctx, warn, count };
  const limit = Math.max(1, opts.source.concurrency);
  const keys = new Set<string>();
  const running = new Set<Promise<void>>();
  const incomplete = new Map<string, IncompleteUnit>();
  let failure: unknown;

  const runOne = async (unit: ExtractUnit) => {
    const writers = new Map<ExtractKind, PartWriter>();
    const cursor: CursorChanges = {};
    let cursorSet = false;
    const out: UnitOutput = {
      setCursor(key: string, value: CursorValue | null) {
        cursor[key] = value;
        cursorSet = true;
      },
      write(kind: ExtractKind, row: Row) {
        let w = writers.get(kind);
        if (!w) {
          w = new PartWriter(kind, join(partsDir, `${partName(unit.key)}.${kind}.csv`));
          writers.set(kind, w);
        }
        return w.write(row);
      },
    };
    const counted: Record<string, number> = {};
    try {
      await unitCounters.run(counted, () => unit.run(out));
      for (const w of writers.values()) await w.close();
      if (cursorSet) await writeFile(cursorPath(partsDir, unit.key), JSON.stringify(cursor));
    } catch (e) {
      for (const w of writers.values()) w.destroy();
      // Given up for a reason of its own: none of its rows, counts or cursor entries count, the run goes on.
      if (isUnitIncomplete(e) && !opts.ctx.signal.aborted) {
        let reason = scrubSecrets(e.reason || errorMessage(e), knownSecrets);
        if (reason.length > MAX_REASON) reason = `${reason.slice(0, MAX_REASON - 1)}…`;
        incomplete.set(unit.key, { key: unit.key, reason, ...e.scope });
        opts.ctx.log.warn({ unit: unit.key, reason }, 'unit incomplete; the run goes on without it');
        return;
      }
      throw e;
    }
    const rows: Partial<Record<ExtractKind, number>> = {};
    for (const [kind, w] of writers) rows[kind] = w.rows;
    const entry: UnitDone = {
      key: unit.key,
      rows,
      ...(Object.keys(counted).length ? { counters: counted } : {}),
      ...(cursorSet ? { cursor: true as const } : {}),
    };
    const recorded = journal.then(async () => {
      await appendFile(journalPath, `${JSON.stringify(entry)}\n`);
      for (const [name, n] of Object.entries(counted)) checkpoint.counters[name] = (checkpoint.counters[name] ?? 0) + n;
      done.set(unit.key, entry);
      rowsDone += totalRows(entry);
      record();
      opts.onUnitDone(checkpoint, rowsDone);
    });
    journal = recorded.catch(() => undefined);
    await recorded;
  };

  try {
    for await (const unit of opts.source.units(ctx)) {
      if (failure) break;
      if (keys.has(unit.key)) throw new Error(`source "${opts.sourceType}" yielded the unit key "${unit.key}" twice`);
      keys.add(unit.key);
      if (done.has(unit.key)) continue;
      opts.ctx.signal.throwIfAborted();
      const p: Promise<void> = runOne(unit).then(
        () => void running.delete(p),
        (e) => {
          running.delete(p);
          failure ??= e;
        },
      );
      running.add(p);
      if (running.size >= limit) await Promise.race(running);
    }
  } finally {
    // However the listing ends (done, failed, aborted), no unit may still be writing when this returns:
    // the staging lock hands the directory to the next attempt as soon as it does.
    await Promise.allSettled(running);
    await journal;
  }
  if (failure) throw failure;

  // Units from an older checkpoint that the source no longer lists are dropped, so output matches the listing.
  const finished = [...done.values()].filter((u) => keys.has(u.key)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  // The heartbeated checkpoint is left alone (its timer may still send it); the result gets its own.
  const counters = sumCounters(finished);
  const files: ExtractedFile[] = [];
  for (const kind of EXTRACT_KINDS) {
    const name = extractFileName(opts.collector, kind, opts.stamp, opts.compress);
    const path = join(opts.dir, name);
    const parts = finished.filter((u) => u.rows[kind] !== undefined).map((u) => join(partsDir, `${partName(u.key)}.${kind}.csv`));
    const rows = finished.reduce((n, u) => n + (u.rows[kind] ?? 0), 0);
    await assemble(kind, parts, path, opts.compress);
    files.push({ kind, name, path, rows });
  }
  // Units apply their cursor changes in key order, so the result does not depend on which finished first.
  const cursor: CursorChanges = {};
  for (const u of finished)
    if (u.cursor) Object.assign(cursor, JSON.parse(await readFile(cursorPath(partsDir, u.key), 'utf8')) as CursorChanges);
  await rm(partsDir, { recursive: true, force: true });
  for (const [name, n] of Object.entries(attemptCounters)) counters[name] = (counters[name] ?? 0) + n;
  // Only units still listed count (a key yielded twice already failed above).
  const gaveUp = [...incomplete.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const warnings = [...checkpoint.warnings];
  if (gaveUp.length) {
    counters.units_incomplete = gaveUp.length;
    const short = (r: string) => (r.length > WARNED_REASON ? `${r.slice(0, WARNED_REASON - 1)}…` : r);
    const named = gaveUp.slice(0, WARNED_INCOMPLETE).map((u) => `${u.key} (${short(u.reason)})`);
    const more = gaveUp.length > WARNED_INCOMPLETE ? `; ${gaveUp.length - WARNED_INCOMPLETE} more in the manifest` : '';
    warnings.push(
      `${gaveUp.length} unit(s) incomplete, their rows are missing from this extract and their tables are not deleted: ${named.join('; ')}${more}`,
    );
  }
  await writeFile(join(opts.dir, INCOMPLETE_UNITS_FILE), JSON.stringify(gaveUp));
  return {
    files,
    checkpoint: { ...checkpoint, units: [...checkpoint.units], warnings, counters },
    reused,
    cursor,
    incomplete: gaveUp,
  };
}

const cursorPath = (partsDir: string, key: string) => join(partsDir, `${partName(key)}.cursor.json`);

/** Header + parts in key order, optionally through gzip: streamed, never buffered whole. */
async function assemble(kind: ExtractKind, parts: string[], path: string, compress: boolean): Promise<void> {
  const header = stringify([COLUMNS[kind].map((c) => c.name)], { record_delimiter: '\r\n' });
  if (!compress) return concatenate(header, parts, path);
  const body = new PassThrough();
  const sink: Writable = createWriteStream(path);
  const done = pipeline(body, createGzip({ level: 6 }), sink);
  body.write(header);
  for (const part of parts) {
    for await (const chunk of createReadStream(part)) {
      if (!body.write(chunk)) await new Promise((r) => body.once('drain', r));
    }
  }
  body.end();
  await done;
}

/**
 * Plain assembly through one reused buffer: a run's files are written at a steady memory whatever their
 * size (a stream would allocate a buffer per 64 KB read, garbage in proportion to the extract).
 */
async function concatenate(header: string, parts: string[], path: string): Promise<void> {
  const out = await open(path, 'w');
  try {
    const head = Buffer.from(header);
    let at = 0;
    while (at < head.length) at += (await out.write(head, at, head.length - at)).bytesWritten;
    const buf = Buffer.allocUnsafe(ASSEMBLY_CHUNK);
    for (const part of parts) {
      const src = await open(part, 'r');
      try {
        for (;;) {
          const { bytesRead } = await src.read(buf, 0, ASSEMBLY_CHUNK, null);
          if (bytesRead === 0) break;
          let off = 0;
          while (off < bytesRead) off += (await out.write(buf, off, bytesRead - off)).bytesWritten;
        }
      } finally {
        await src.close();
      }
    }
  } finally {
    await out.close();
  }
}

const ASSEMBLY_CHUNK = 1024 * 1024;

/** The first `n` units of the journal, or none when it holds fewer (then the extract starts over). */
async function readJournal(path: string, n: number): Promise<UnitDone[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const units: UnitDone[] = [];
  for (const line of text.split('\n')) {
    if (units.length === n) break;
    try {
      const u = JSON.parse(line) as UnitDone;
      if (typeof u.key === 'string' && u.rows && typeof u.rows === 'object') units.push(u);
    } catch {
      break; // a torn last line: what follows cannot be trusted either
    }
  }
  return units.length === n ? units : [];
}

function sumCounters(units: Iterable<UnitDone>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const u of units) for (const [name, n] of Object.entries(u.counters ?? {})) out[name] = (out[name] ?? 0) + n;
  return out;
}

const totalRows = (u: UnitDone): number => Object.values(u.rows).reduce((a, b) => a + (b ?? 0), 0);

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
