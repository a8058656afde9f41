import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { stringify } from 'csv-stringify/sync';
import { COLUMNS, EXTRACT_KINDS, type CellValue, type ExtractKind, type Row } from '../src/contracts/extract-format';
import { headerLine, rowEncoder } from '../src/extracts/csv-encoder';
import { csvOptions, PartWriter } from '../src/extracts/part-writer';

// Seeded, so a failure reproduces.
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = [
  'a',
  'Z',
  ' ',
  ',',
  '"',
  '""',
  '\r',
  '\n',
  '\r\n',
  '\t',
  'é',
  '日本',
  '😀',
  '\u2028',
  '\0',
  '=1+2',
  '-',
  "'",
  ';',
  'null',
  '',
];

function fuzzValue(rand: () => number): CellValue {
  const pick = Math.floor(rand() * 14);
  const text = () => {
    const n = Math.floor(rand() * (rand() < 0.05 ? 5000 : 12));
    let s = '';
    for (let i = 0; i < n; i++) s += PIECES[Math.floor(rand() * PIECES.length)];
    return s;
  };
  switch (pick) {
    case 0:
      return null;
    case 1:
      return undefined;
    case 2:
      return '';
    case 3:
      return [0, -0, 1.5, -42, 1e21, 2 ** 53, NaN, Infinity, -Infinity][Math.floor(rand() * 9)];
    case 4:
      return BigInt(Math.floor(rand() * 1e9)) * 1_000_000_007n * (rand() < 0.5 ? -1n : 1n);
    case 5:
      return rand() < 0.5;
    case 6:
      return new Date(Math.floor(rand() * 4e12));
    case 7:
      return { k: text(), nested: { n: rand(), list: [1, text(), null] }, empty: {} };
    default:
      return text();
  }
}

function fuzzRow(kind: ExtractKind, rand: () => number): Row {
  const row: Row = {};
  for (const c of COLUMNS[kind]) if (rand() < 0.9) row[c.name] = fuzzValue(rand);
  return row;
}

describe('extract CSV encoder', () => {
  it('is byte-identical to csv-stringify with the extract options on a fuzzed corpus', () => {
    const rand = prng(14);
    for (const kind of EXTRACT_KINDS) {
      const encode = rowEncoder(kind);
      assert.equal(headerLine(kind), stringify([COLUMNS[kind].map((c) => c.name)], { record_delimiter: '\r\n' }));
      for (let i = 0; i < 3000; i++) {
        const row = fuzzRow(kind, rand);
        const ours = encode(row);
        const theirs = stringify([row], csvOptions(kind, false));
        assert.equal(ours, theirs, `${kind} row ${i}`);
      }
    }
  });

  it('quotes exactly the fields holding a comma, quote, CR or LF, and keeps empty apart from a quoted empty', () => {
    const encode = rowEncoder('usage');
    const line = encode({ catalog: 'a,b', user_name: 'say "hi"', query_id: 'x\ry', statement_type: 'x\ny', query_text: '', calls: 0 });
    assert.equal(line, ',,"a,b","say ""hi""","x\ry",,"x\ny",,0,,\r\n');
  });

  it('PartWriter writes the same bytes as csv-stringify, across batch boundaries', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-'));
    try {
      const rand = prng(7);
      const rows = Array.from({ length: 4000 }, () => fuzzRow('metadata', rand));
      const w = new PartWriter('metadata', join(dir, 'part.csv'));
      for (const r of rows) await w.write(r);
      await w.close();
      assert.equal(w.rows, rows.length);
      assert.equal(readFileSync(join(dir, 'part.csv'), 'utf8'), stringify(rows, csvOptions('metadata', false)));
      await assert.rejects(new PartWriter('metadata', join(dir, 'p2.csv')).write({ nope: 1 }), /unknown column "nope"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('PartWriter keeps rows wider than its batch whole, and refuses a write made before the previous one resolved', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-'));
    try {
      const wide = { catalog: 'c', database: 'd', table_name: 't', column_name: 'x'.repeat(100_000), ordinal_position: 1 };
      const rows = [wide, { ...wide, column_name: 'é'.repeat(50_000) }, { ...wide, column_name: 'short' }];
      const w = new PartWriter('metadata', join(dir, 'wide.csv'));
      for (const r of rows) await w.write(r);
      await w.close();
      assert.equal(readFileSync(join(dir, 'wide.csv'), 'utf8'), stringify(rows, csvOptions('metadata', false)));

      // A source that does not await: the second write would land in a buffer still being written.
      const racy = new PartWriter('metadata', join(dir, 'racy.csv'));
      for (let i = 0; i < 40; i++) await racy.write({ ...wide, column_name: 'y'.repeat(1000) });
      const first = racy.write({ ...wide, column_name: 'z'.repeat(9000) }); // flushes the batch before it
      await assert.rejects(racy.write({ ...wide, column_name: 'a' }), /before the previous write resolved/);
      await first;
      await racy.close();
      assert.equal(racy.rows, 41);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
