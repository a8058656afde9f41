/**
 * The house plan, checked on every run: contracts at the bottom, composition at the top, every import
 * pointing down, no folder import cycles, connectors independent of each other, and workflow code that
 * imports only what the workflow sandbox can run. Reads the sources' own import statements.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from './support/processes';

/** Lower numbers are lower floors; a module may import its own floor (other rules permitting) or below. */
const FLOORS: readonly [prefix: string, floor: number][] = [
  ['src/contracts/', 0],
  ['src/run/', 1],
  ['src/log.ts', 1],
  ['src/version.ts', 1],
  ['src/v8-profile.ts', 1],
  ['src/settings.ts', 1],
  ['src/config/', 2],
  ['src/secrets/', 2],
  ['src/extracts/', 2],
  ['src/hwm/', 2],
  ['src/landing/', 2],
  ['src/sql/', 2],
  ['src/temporal/', 2],
  ['src/codec/', 2],
  ['src/observability/', 2],
  ['src/workflow-source.ts', 2],
  ['src/connectors/', 3],
  ['src/runtime/', 4],
  ['activities/', 5],
  ['src/builtins.ts', 5],
  ['workflows/', 6],
  ['src/compose.ts', 6],
  ['src/plugin.ts', 7],
  ['src/worker.ts', 8],
  ['src/index.ts', 9],
  ['src/cli/', 9],
];

/** Connector folders any connector may build on; every other connector folder stands alone. */
const SHARED_CONNECTOR_FOLDERS = new Set(['aws', 'object-store']);

interface Import {
  from: string;
  to: string;
  typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const rel = `${dir}/${name}`;
    if (statSync(join(ROOT, rel)).isDirectory()) out.push(...sourceFiles(rel));
    else if (name.endsWith('.ts')) out.push(rel);
  }
  return out;
}

function resolveImport(from: string, spec: string): string | undefined {
  const base = resolve(ROOT, dirname(from), spec);
  for (const candidate of [base, `${base}.ts`, join(base, 'index.ts')]) {
    try {
      if (statSync(candidate).isFile()) return relative(ROOT, candidate);
    } catch {
      // not this candidate
    }
  }
  return undefined;
}

const IMPORT =
  /(?:^|\n)\s*(import\s+type\s|import\s|export\s[^;'"]*?from\s)[^;'"]*?['"](\.{1,2}\/[^'"]+)['"]|(?:require|import)\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

function importsOf(file: string): Import[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const out: Import[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[2] ?? m[3]!;
    const to = resolveImport(file, spec);
    if (!to) continue;
    out.push({ from: file, to, typeOnly: Boolean(m[1]?.startsWith('import type') || /^import\s+type\s/.test(m[1] ?? '')) });
  }
  return out;
}

function floorOf(file: string): number | undefined {
  return FLOORS.find(([prefix]) => file === prefix || file.startsWith(prefix))?.[1];
}

/** The unit cycles are counted between: a folder under src/ (or the top-level folder), or a lone file. */
function unitOf(file: string): string {
  const parts = file.split('/');
  if (parts[0] === 'src' && parts[1] === 'connectors' && parts.length > 3) return parts.slice(0, 3).join('/');
  if (parts[0] === 'src' && parts.length > 2) return parts.slice(0, 2).join('/');
  if (parts[0] !== 'src') return parts[0]!;
  return file;
}

const files = ['src', 'activities', 'workflows'].flatMap(sourceFiles);
const imports = files.flatMap(importsOf);

describe('architecture (imports point down)', () => {
  it('knows the floor of every source file', () => {
    const unknown = files.filter((f) => floorOf(f) === undefined);
    assert.deepEqual(unknown, [], 'add these files to FLOORS in test/architecture.test.ts (and think about where they belong)');
    assert.ok(imports.length > 100, `read ${imports.length} imports: the import pattern no longer matches the sources`);
  });

  it('no import points from a lower floor to a higher one', () => {
    const up = imports.filter((i) => floorOf(i.from)! < floorOf(i.to)!).map((i) => `${i.from} -> ${i.to}`);
    assert.deepEqual(up, []);
  });

  it('src/contracts imports nothing of the product', () => {
    const out = imports.filter((i) => i.from.startsWith('src/contracts/') && !i.to.startsWith('src/contracts/') && i.to !== 'package.json');
    assert.deepEqual(
      out.map((i) => `${i.from} -> ${i.to}`),
      [],
    );
  });

  it('a connector folder imports no other connector folder but the shared ones', () => {
    const folder = (f: string) => (f.startsWith('src/connectors/') ? f.split('/')[2] : undefined);
    const crossing = imports.filter((i) => {
      const a = folder(i.from);
      const b = folder(i.to);
      return a && b && a !== b && !SHARED_CONNECTOR_FOLDERS.has(b);
    });
    assert.deepEqual(
      crossing.map((i) => `${i.from} -> ${i.to}`),
      [],
    );
  });

  it('workflow code imports only sandbox-safe modules (types of the activities excepted)', () => {
    const allowed = (to: string) =>
      to.startsWith('workflows/') || to.startsWith('src/run/') || to === 'src/contracts/errors.ts' || to === 'src/contracts/window.ts';
    const bad = imports.filter((i) => i.from.startsWith('workflows/') && !allowed(i.to) && !(i.typeOnly && i.to.startsWith('activities/')));
    assert.deepEqual(
      bad.map((i) => `${i.from} -> ${i.to}`),
      [],
    );
    const pure = new Set(['src/run/', 'src/contracts/errors.ts', 'src/contracts/window.ts']);
    const impure = imports.filter(
      (i) => [...pure].some((p) => i.from.startsWith(p)) && !i.typeOnly && ![...pure].some((p) => i.to.startsWith(p)),
    );
    assert.deepEqual(
      impure.map((i) => `${i.from} -> ${i.to}`),
      [],
      'what workflow code imports must itself import only sandbox-safe modules',
    );
  });

  it('no import cycles between folders', () => {
    const edges = new Map<string, Set<string>>();
    for (const i of imports) {
      const a = unitOf(i.from);
      const b = unitOf(i.to);
      if (a === b) continue;
      if (!edges.has(a)) edges.set(a, new Set());
      edges.get(a)!.add(b);
    }
    // Depth-first search with colours; every back edge closes a cycle, reported as its path.
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (node: string, path: string[]) => {
      state.set(node, 'open');
      for (const next of edges.get(node) ?? []) {
        if (state.get(next) === 'open') cycles.push([...path.slice(path.indexOf(next)), node, next].join(' -> '));
        else if (!state.has(next)) visit(next, [...path, node]);
      }
      state.set(node, 'done');
    };
    for (const node of edges.keys()) if (!state.has(node)) visit(node, []);
    assert.deepEqual(cycles, []);
  });
});
