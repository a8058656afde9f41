/**
 * How long the SQL work of one large statement takes: masking, classification, the no-parse path for a
 * plain SELECT, lineage of a wide INSERT, and giving up on a broken one. A 100 KB statement (2,000
 * select items, 40 joined tables, a 600-value IN list), the largest kind Athena history holds in
 * practice; a quadratic slip in the tokenizer or the normaliser shows here as a jump, not as a failure.
 *
 *   node --import tsx bench/sql.ts [--repeat 5]
 */
import { classifyStatement, extractLineage, maskLiterals } from '../src/sql/index';

const at = process.argv.indexOf('--repeat');
const repeat = at > 0 ? Number(process.argv[at + 1]) : 5;
if (!Number.isInteger(repeat) || repeat < 1) throw new Error('--repeat must be a positive integer');
const ctx = { catalog: 'awsdatacatalog', database: 'sales', dialect: 'athena' as const };
const columns = Array.from({ length: 2000 }, (_, i) => `coalesce(t${i % 40}.col_${i}, 'default ${i}') AS c${i}`).join(',\n  ');
const joins = Array.from({ length: 39 }, (_, i) => `LEFT JOIN db${i % 5}.tbl_${i + 1} t${i + 1} ON t${i + 1}.id = t0.id`).join('\n');
const select = `SELECT ${columns}\nFROM base.t0 t0\n${joins}\nWHERE t0.x IN (${Array.from({ length: 600 }, (_, i) => i).join(', ')})`;
const insert = `INSERT INTO mart.wide\n${select}`;

// Load both grammars first: the figures are of the work, not of module loading.
extractLineage('INSERT INTO t SELECT * FROM s WHERE EXISTS (SELECT 1 FROM u)', ctx);

const cases: [string, () => unknown][] = [
  ['mask literals', () => maskLiterals(insert, 'athena')],
  ['classify (DDL events)', () => classifyStatement(insert, ctx)],
  ['lineage of a plain SELECT (no parse)', () => extractLineage(select, ctx)],
  ['lineage of the wide INSERT', () => extractLineage(insert, ctx)],
  ['lineage of a broken INSERT (both grammars fail)', () => extractLineage(`${insert} GARBAGE ((`, ctx)],
];
process.stdout.write(`sql bench: ${insert.length} characters, best and median of ${repeat}\n`);
for (const [name, run] of cases) {
  const times: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const t0 = performance.now();
    run();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  process.stdout.write(
    `${name.padEnd(48)} best ${times[0]!.toFixed(1)} ms  median ${times[Math.floor(times.length / 2)]!.toFixed(1)} ms\n`,
  );
}
