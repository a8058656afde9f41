/**
 * How long the SQL work of one large statement takes (masking, classification, the no-parse path for a
 * plain SELECT, lineage of a wide INSERT, giving up on a broken one), how our lineage reader compares
 * with node-sql-parser (the parser it replaced) on the same statement, and how both score on the
 * public corpus (test/fixtures/sql/corpus.yaml): parse rate, table-level source precision and recall.
 *
 * The 100 KB statement (2,000 select items, 40 joined tables, a 600-value IN list) is the largest kind
 * Athena history holds in practice; a quadratic slip in the tokenizer or the reader shows here as a
 * jump, not as a failure.
 *
 *   node --import tsx bench/sql.ts [--repeat 5]
 */
import { classifyStatement, extractLineage, maskLiterals } from '../src/sql/index';
import {
  columnScore,
  corpus,
  corpusLineage,
  formatColumnScore,
  formatScore,
  ourReading,
  score,
  type CorpusCase,
  type Reading,
} from '../test/support/sql-corpus';

const at = process.argv.indexOf('--repeat');
const repeat = at > 0 ? Number(process.argv[at + 1]) : 5;
if (!Number.isInteger(repeat) || repeat < 1) throw new Error('--repeat must be a positive integer');
const ctx = { catalog: 'awsdatacatalog', database: 'sales', dialect: 'athena' as const };
const columns = Array.from({ length: 2000 }, (_, i) => `coalesce(t${i % 40}.col_${i}, 'default ${i}') AS c${i}`).join(',\n  ');
const joins = Array.from({ length: 39 }, (_, i) => `LEFT JOIN db${i % 5}.tbl_${i + 1} t${i + 1} ON t${i + 1}.id = t0.id`).join('\n');
const select = `SELECT ${columns}\nFROM base.t0 t0\n${joins}\nWHERE t0.x IN (${Array.from({ length: 600 }, (_, i) => i).join(', ')})`;
const insert = `INSERT INTO mart.wide\n${select}`;

interface NodeSqlParser {
  astify(sql: string, opt: { database: string }): unknown;
  tableList(sql: string, opt: { database: string }): string[];
}
// node-sql-parser is kept only to be measured against; load its grammars before timing anything.
const nsp = new (require('node-sql-parser/build/trino') as { Parser: new () => NodeSqlParser }).Parser();
const nspPg = new (require('node-sql-parser/build/postgresql') as { Parser: new () => NodeSqlParser }).Parser();
nsp.astify('SELECT 1', { database: 'trino' });
nspPg.astify('SELECT 1', { database: 'postgresql' });
extractLineage('INSERT INTO t SELECT * FROM s WHERE EXISTS (SELECT 1 FROM u)', ctx);

const cases: [string, () => unknown][] = [
  ['mask literals', () => maskLiterals(insert, 'athena')],
  ['classify (DDL events)', () => classifyStatement(insert, ctx)],
  ['lineage of a plain SELECT (no parse)', () => extractLineage(select, ctx)],
  ['lineage of the wide INSERT (tables + columns)', () => extractLineage(insert, ctx)],
  ['lineage of a broken INSERT', () => extractLineage(`${insert} GARBAGE ((`, ctx)],
  ['lineage, broken but balanced (fallback scan)', () => extractLineage(`${insert} GARBAGE`, ctx)],
  ['node-sql-parser: parse the wide SELECT', () => nsp.astify(select, { database: 'trino' })],
];
process.stdout.write(`sql bench: ${insert.length} characters, best and median of ${repeat}\n`);
for (const [name, run] of cases) {
  const times: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const t0 = performance.now();
    try {
      run();
    } catch {
      // node-sql-parser throws on what it cannot read; the time to fail is the figure.
    }
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  process.stdout.write(
    `${name.padEnd(48)} best ${times[0]!.toFixed(1)} ms  median ${times[Math.floor(times.length / 2)]!.toFixed(1)} ms\n`,
  );
}

// The slowest corpus statement bounds how long one statement holds the event loop.
let slowest = 0;
for (const c of corpus.cases) {
  const t0 = performance.now();
  corpusLineage(c);
  slowest = Math.max(slowest, performance.now() - t0);
}
process.stdout.write(`slowest corpus statement (ours)                  ${slowest.toFixed(1)} ms\n\n`);

/** node-sql-parser's table list (trino grammar, then postgresql), as the old extractor read it. */
function nspReading(c: CorpusCase): Reading {
  for (const [p, database] of [
    [nsp, 'trino'],
    [nspPg, 'postgresql'],
  ] as const) {
    let list: string[];
    try {
      list = p.tableList(c.sql, { database });
    } catch {
      continue;
    }
    const sources = new Set<string>();
    for (const entry of list) {
      const [kind, db, table] = entry.split('::');
      if (kind !== 'select' || !table) continue;
      const parts = [...(db && db !== 'null' ? db.split('.') : []), table].map((x) => x.toLowerCase());
      const full = [...[corpus.context.catalog, corpus.context.database].slice(0, Math.max(0, 3 - parts.length)), ...parts.slice(-3)];
      sources.add(full.join('.'));
    }
    return { sources: [...sources].sort() };
  }
  return null;
}

process.stdout.write(`corpus: ${corpus.cases.length} public statements\n`);
process.stdout.write(`${formatScore('ours', score(ourReading))}\n`);
process.stdout.write(`${formatScore('node-sql-parser tableList', score(nspReading))}\n`);
process.stdout.write(`${formatColumnScore(columnScore())}\n`);
