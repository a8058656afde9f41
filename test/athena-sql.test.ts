import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { z } from 'zod';
import {
  classifyStatement,
  extractLineage,
  maskLiterals,
  tokenize,
  viewLineage,
  type DdlEvent,
  type LineageResult,
  type ObjectName,
  type TableRef,
} from '../src/sql/index';

const FIXTURES = join(__dirname, 'fixtures', 'sql');

function fixture<T>(file: string, schema: z.ZodType<T>): T {
  return schema.parse(parse(readFileSync(join(FIXTURES, file), 'utf8')));
}

const name3 = z.tuple([z.string(), z.string(), z.string()]);
// The fixtures are Athena's statements, read in its dialect.
const context = z.object({ catalog: z.string(), database: z.string() }).transform((c) => ({ ...c, dialect: 'athena' as const }));
const ref = ([catalog, database, table]: [string, string, string]): TableRef => ({ catalog, database, table });
const obj = ([catalog, database, name]: [string, string, string]): ObjectName => ({ catalog, database, name });

describe('maskLiterals corpus', () => {
  const cases = fixture('masking.yaml', z.array(z.object({ name: z.string(), sql: z.string(), masked: z.string() })));
  it('has at least 30 statements', () => assert.ok(cases.length >= 30, `${cases.length} cases`));
  for (const c of cases) {
    it(c.name, () => assert.equal(maskLiterals(c.sql, 'athena'), c.masked));
  }
});

describe('maskLiterals properties', () => {
  // Deterministic fuzz over fragments that stress the lexer; 400 inputs keep it well under a second.
  const fragments = [
    "'",
    "''",
    '"',
    '`',
    '--',
    '/*',
    '*/',
    '\n',
    ' ',
    '.',
    '-',
    '+',
    'e',
    'E',
    'x',
    "E'",
    "U&'",
    'U&"',
    '\\',
    '0',
    '1',
    '42',
    '3.5',
    '.5',
    '1e9',
    '0x1F',
    'a1',
    'col_2',
    'SELECT',
    'FROM',
    ',',
    '(',
    ')',
    '?',
    '$1',
    'é',
    '🎉',
    'DATE',
    'CREATE EXTERNAL TABLE',
    'AS',
    'L',
  ];
  let seed = 0x2f6b3a1;
  const rand = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const inputs = Array.from({ length: 400 }, () => Array.from({ length: 1 + rand(30) }, () => fragments[rand(fragments.length)]).join(''));

  it('the lexer is lossless', () => {
    for (const s of inputs)
      assert.equal(
        tokenize(s)
          .map((t) => t.text)
          .join(''),
        s,
      );
  });

  it('masked output holds no literal and masking again changes nothing', () => {
    for (const s of inputs) {
      const masked = maskLiterals(s, 'athena');
      for (const t of tokenize(masked)) {
        assert.notEqual(t.type, 'number', `number ${t.text} left in ${JSON.stringify(masked)} from ${JSON.stringify(s)}`);
        if (t.type === 'string') assert.equal(t.text, "'?'", `from ${JSON.stringify(s)}`);
        assert.ok(t.type !== 'line_comment' && t.type !== 'block_comment', `comment left from ${JSON.stringify(s)}`);
      }
      assert.equal(maskLiterals(masked, 'athena'), masked, `not idempotent on ${JSON.stringify(s)}`);
    }
  });
});

const lineageExpect = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('lineage'),
    statement: z.enum(['CTAS', 'INSERT', 'MERGE', 'UNLOAD', 'CREATE_VIEW']),
    target: name3.nullable(),
    targetType: z.enum(['TABLE', 'VIEW', 'LOCATION']),
    sources: z.array(name3),
    location: z.string().optional(),
  }),
  z.object({ kind: z.literal('none') }),
  z.object({ kind: z.literal('unparseable'), reason: z.string() }),
]);

describe('extractLineage / viewLineage corpus', () => {
  const doc = fixture(
    'lineage.yaml',
    z.object({
      context,
      cases: z.array(z.object({ name: z.string(), sql: z.string(), view: name3.optional(), expect: lineageExpect })),
    }),
  );
  it('has at least 25 statements', () => assert.ok(doc.cases.length >= 25, `${doc.cases.length} cases`));
  for (const c of doc.cases) {
    it(c.name, () => {
      const got = c.view ? viewLineage(c.sql, ref(c.view), 'athena') : extractLineage(c.sql, doc.context);
      const e = c.expect;
      if (e.kind === 'unparseable') {
        assert.equal(got.kind, 'unparseable', JSON.stringify(got));
        if (got.kind === 'unparseable') assert.ok(got.reason.includes(e.reason), `reason: ${got.reason}`);
        return;
      }
      if (e.kind === 'none') {
        assert.deepEqual(got, { kind: 'none' });
        return;
      }
      const want: LineageResult = {
        kind: 'lineage',
        statement: e.statement,
        target: e.target && ref(e.target),
        targetType: e.targetType,
        sources: e.sources.map(ref),
      };
      if (e.location !== undefined) want.location = e.location;
      assert.deepEqual(got, want);
    });
  }

  it('parse errors never echo literal values', () => {
    const got = extractLineage("INSERT INTO t SELECT 'secret-4111' AS s FROM WHERE 'more-secret' (", {
      catalog: 'c',
      database: 'd',
      dialect: 'athena',
    });
    assert.equal(got.kind, 'unparseable');
    if (got.kind === 'unparseable') assert.doesNotMatch(got.reason, /secret|4111/);
  });
});

describe('classifyStatement corpus', () => {
  const event = z.object({
    eventType: z.string(),
    objectType: z.enum(['TABLE', 'VIEW', 'DATABASE']),
    object: name3,
    renamedTo: name3.optional(),
  });
  const doc = fixture(
    'statements.yaml',
    z.object({ context, cases: z.array(z.object({ name: z.string(), sql: z.string(), event: event.nullable() })) }),
  );
  it('has at least 25 statements', () => assert.ok(doc.cases.length >= 25, `${doc.cases.length} cases`));
  for (const c of doc.cases) {
    it(c.name, () => {
      let want: DdlEvent | null = null;
      if (c.event) {
        want = { eventType: c.event.eventType as DdlEvent['eventType'], objectType: c.event.objectType, object: obj(c.event.object) };
        if (c.event.renamedTo) want.renamedTo = obj(c.event.renamedTo);
      }
      assert.deepEqual(classifyStatement(c.sql, doc.context), want);
    });
  }
});

describe('100 KB statements', () => {
  const ctx = { catalog: 'awsdatacatalog', database: 'sales', dialect: 'athena' as const };
  const columns = Array.from({ length: 2000 }, (_, i) => `coalesce(t${i % 40}.col_${i}, 'default ${i}') AS c${i}`).join(',\n  ');
  const joins = Array.from({ length: 39 }, (_, i) => `LEFT JOIN db${i % 5}.tbl_${i + 1} t${i + 1} ON t${i + 1}.id = t0.id`).join('\n');
  const select = `SELECT ${columns}\nFROM base.t0 t0\n${joins}\nWHERE t0.x IN (${Array.from({ length: 600 }, (_, i) => i).join(', ')})`;
  const insert = `INSERT INTO mart.wide\n${select}`;
  // How long these take is measured by `npm run bench:sql`; here only what they return (a pathological
  // slowdown would still show as a test timeout).
  it('is 100 KB', () => {
    assert.ok(insert.length >= 100_000, `${insert.length}`);
  });

  it('masks every literal of it', () => {
    const masked = maskLiterals(insert, 'athena');
    assert.doesNotMatch(masked, /default \d/);
  });

  it('classifies it as no DDL event', () => {
    assert.equal(classifyStatement(insert, ctx), null);
  });

  it('skips plain SELECTs without parsing', () => {
    assert.deepEqual(extractLineage(select, ctx), { kind: 'none' });
  });

  it('extracts lineage of a wide INSERT', () => {
    const got = extractLineage(insert, ctx);
    assert.equal(got.kind, 'lineage');
    if (got.kind === 'lineage') {
      assert.deepEqual(got.target, { catalog: 'awsdatacatalog', database: 'mart', table: 'wide' });
      assert.equal(got.sources.length, 40);
    }
  });

  it('calls a broken one unparseable', () => {
    const got = extractLineage(`${insert} GARBAGE ((`, ctx);
    assert.equal(got.kind, 'unparseable');
  });
});
