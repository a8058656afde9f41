/**
 * manifest.json: the run's table of contents, uploaded last so its presence marks a complete window.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Window } from '../contracts/window';
import { FORMAT_VERSION, type IncompleteUnit } from '../contracts/extract-format';
import { ValidationError } from '../contracts/errors';
import { INCOMPLETE_UNITS_FILE } from './run-units';
import type { ValidatedFile } from './validate';
import { TOOL_NAME, TOOL_VERSION } from '../version';

export interface Manifest {
  formatVersion: string;
  tool: { name: string; version: string };
  collector: string;
  sourceType: string;
  workflowId: string;
  runId: string;
  window: Window;
  createdAt: string;
  files: { name: string; kind: string; rows: number; bytes: number; sha256: string; compressed: boolean }[];
  warnings: string[];
  counters: Record<string, number>;
  /** Every unit the source gave up on, with its reason; empty when the window's extract is complete. */
  incompleteUnits: IncompleteUnit[];
}

/**
 * The incomplete units the extract left in its staging directory (all of them: the extract's result, which
 * reaches workflow history, names only a few). `expected` is how many the result counted.
 */
export async function readIncompleteUnits(dir: string, expected: number): Promise<IncompleteUnit[]> {
  let units: IncompleteUnit[] = [];
  try {
    units = JSON.parse(await readFile(join(dir, INCOMPLETE_UNITS_FILE), 'utf8')) as IncompleteUnit[];
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (!Array.isArray(units) || units.length !== expected) {
    throw new ValidationError(
      `the staging directory lists ${Array.isArray(units) ? units.length : 'no'} incomplete unit(s) but the extract reported ${expected}; nothing was uploaded and the HWM is unchanged`,
    );
  }
  return units;
}

export function manifestName(collector: string, stamp: string): string {
  return `${collector}_manifest_${stamp}.json`;
}

export async function writeManifest(
  dir: string,
  stamp: string,
  fields: Omit<Manifest, 'formatVersion' | 'tool' | 'files' | 'createdAt'>,
  files: ValidatedFile[],
  createdAt: string,
): Promise<{ name: string; path: string; bytes: number; sha256: string; md5: string; manifest: Manifest }> {
  const manifest: Manifest = {
    formatVersion: FORMAT_VERSION,
    tool: { name: TOOL_NAME, version: TOOL_VERSION },
    ...fields,
    createdAt,
    files: files.map((f) => ({
      name: f.name,
      kind: f.kind,
      rows: f.rows,
      bytes: f.bytes,
      sha256: f.sha256,
      compressed: f.name.endsWith('.gz'),
    })),
  };
  const text = `${JSON.stringify(manifest, null, 2)}\n`;
  const name = manifestName(fields.collector, stamp);
  const path = join(dir, name);
  await writeFile(path, text);
  const buf = Buffer.from(text);
  return {
    name,
    path,
    bytes: buf.length,
    sha256: createHash('sha256').update(buf).digest('hex'),
    md5: createHash('md5').update(buf).digest('base64'),
    manifest,
  };
}
