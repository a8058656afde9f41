/**
 * SQL statements as Athena records them: the StatementType/SubstatementType classification of any query
 * text, and a generator of realistic synthetic statements (for seeded and live history).
 */

export type StatementType = 'DDL' | 'DML' | 'UTILITY';

export interface Classified {
  statementType: StatementType;
  substatementType: string;
}

/** Leading comments, whitespace and parentheses removed, upper-cased words. */
function leadingWords(sql: string, n: number): string[] {
  let s = sql;
  for (;;) {
    const t = s.replace(/^[\s(]+/, '');
    if (t.startsWith('--')) s = t.replace(/^--[^\n]*\n?/, '');
    else if (t.startsWith('/*')) s = t.replace(/^\/\*[\s\S]*?(\*\/|$)/, '');
    else {
      s = t;
      break;
    }
  }
  return s
    .split(/[\s(`"]+/)
    .filter(Boolean)
    .slice(0, n)
    .map((w) => w.toUpperCase());
}

/**
 * Athena's classification of a statement: SELECT and INSERT are DML, CREATE/DROP/ALTER/MSCK are DDL
 * (CTAS included), SHOW/DESCRIBE/EXPLAIN are UTILITY. Keyword-based: it only labels, it does not execute.
 */
export function classifyStatement(sql: string): Classified {
  const w = leadingWords(sql, 8);
  const first = w[0] ?? '';
  const dml = (s: string): Classified => ({ statementType: 'DML', substatementType: s });
  const ddl = (s: string): Classified => ({ statementType: 'DDL', substatementType: s });
  const util = (s: string): Classified => ({ statementType: 'UTILITY', substatementType: s });
  switch (first) {
    case 'SELECT':
    case 'WITH':
    case 'VALUES':
    case 'TABLE':
      return dml('SELECT');
    case 'INSERT':
      return dml('INSERT');
    case 'UPDATE':
    case 'DELETE':
    case 'MERGE':
      return dml(first);
    case 'UNLOAD':
      return dml('UNLOAD');
    case 'CREATE': {
      const rest = w.slice(1).filter((x) => x !== 'OR' && x !== 'REPLACE' && x !== 'EXTERNAL');
      const what = rest[0] ?? '';
      if (what === 'VIEW') return ddl('CREATE_VIEW');
      if (what === 'DATABASE' || what === 'SCHEMA') return ddl('CREATE_DATABASE');
      if (what === 'TABLE')
        return /\bAS\s+(SELECT|WITH)\b/i.test(sql) || /\)\s*AS\s*\(?\s*(SELECT|WITH)\b/i.test(sql)
          ? ddl('CREATE_TABLE_AS_SELECT')
          : ddl('CREATE_TABLE');
      return ddl(`CREATE_${what || 'UNKNOWN'}`);
    }
    case 'DROP':
      return ddl(`DROP_${w[1] === 'SCHEMA' ? 'DATABASE' : (w[1] ?? 'TABLE')}`);
    case 'ALTER': {
      if (/\bADD\s+(IF\s+NOT\s+EXISTS\s+)?PARTITION\b/i.test(sql)) return ddl('ALTER_TABLE_ADD_PARTITION');
      if (/\bDROP\s+(IF\s+EXISTS\s+)?PARTITION\b/i.test(sql)) return ddl('ALTER_TABLE_DROP_PARTITION');
      return ddl(`ALTER_${w[1] ?? 'TABLE'}`);
    }
    case 'MSCK':
      return ddl('MSCK_REPAIR_TABLE');
    case 'SHOW':
      return util(`SHOW_${(w[1] === 'CREATE' ? `CREATE_${w[2] ?? 'TABLE'}` : w[1]) ?? 'TABLES'}`);
    case 'DESCRIBE':
    case 'DESC':
      return util('DESCRIBE_TABLE');
    case 'EXPLAIN':
      return util('EXPLAIN');
    default:
      return dml('SELECT');
  }
}

// ---------------------------------------------------------------- synthetic statements

export interface PickedTable {
  catalog: string;
  database: string;
  name: string;
  columns: readonly string[];
  partitionKeys: readonly string[];
  isView: boolean;
}

export interface SyntheticError {
  message: string;
  category: number;
  type: number;
  retryable: boolean;
}

export interface SyntheticStatement {
  query: string;
  statementType: StatementType;
  substatementType: string;
  state: 'SUCCEEDED' | 'FAILED' | 'CANCELLED';
  error?: SyntheticError;
  catalog: string;
  database: string;
  durationMs: number;
  dataScannedBytes: number;
}

const REGIONS = ['EMEA', 'AMER', 'APAC', 'LATAM'];
const STATUSES = ['shipped', 'paid', 'refunded', 'open'];

function q(t: PickedTable): string {
  return `"${t.database}"."${t.name}"`;
}
function col(t: PickedTable, k: number): string {
  return t.columns.length ? (t.columns[k % t.columns.length] as string) : 'id';
}
function day(at: Date, minusDays: number): string {
  return new Date(at.getTime() - minusDays * 86_400_000).toISOString().slice(0, 10);
}

/**
 * A realistic statement submitted at `at`: `pick(k)` returns the k-th referenced table (two picks for
 * joins), `r(k)` independent uniform numbers; both deterministic so generated history is stable.
 */
export function syntheticStatement(
  pick: (k: number) => PickedTable,
  r: (k: number) => number,
  at: Date,
  bucket: string,
): SyntheticStatement {
  const a = pick(0);
  const b = pick(1);
  const d0 = day(at, Math.floor(r(2) * 7) + 1);
  const n = Math.floor(r(3) * 9000) + 100;
  const region = REGIONS[Math.floor(r(4) * REGIONS.length)] as string;
  const kind = r(5);
  const scanned = Math.floor(r(6) * r(6) * 5e10);
  const dur = Math.floor(300 + r(7) * r(7) * 120_000);
  const base = { catalog: a.catalog, database: a.database, durationMs: dur, dataScannedBytes: scanned };
  const ok = (query: string): SyntheticStatement => ({ ...base, query, ...classifyStatement(query), state: 'SUCCEEDED' });
  const fail = (query: string, message: string, type: number): SyntheticStatement => ({
    ...base,
    durationMs: Math.floor(dur / 20) + 200,
    dataScannedBytes: 0,
    query,
    ...classifyStatement(query),
    state: 'FAILED',
    error: { message, category: 2, type, retryable: false },
  });
  const sameDb = b.catalog === a.catalog && b.database === a.database ? b : a;
  const key = col(a, 0);
  const select = () =>
    `SELECT a.${col(a, 1)}, b.${col(sameDb, 2)}, count(*) AS cnt, sum(a.${col(a, 3)}) AS total\n` +
    `FROM ${q(a)} a\nJOIN ${q(sameDb)} b ON a.${key} = b.${col(sameDb, 0)}\n` +
    `WHERE a.${col(a, 4)} >= DATE '${d0}' AND b.${col(sameDb, 5)} = '${region}'\n` +
    `GROUP BY 1, 2\nORDER BY cnt DESC\nLIMIT ${n % 1000}`;
  if (kind < 0.4) return ok(select());
  if (kind < 0.46)
    return ok(
      `WITH recent AS (\n  SELECT ${key}, ${col(a, 1)} FROM ${q(a)} WHERE ${col(a, 2)} IN ('${STATUSES[n % 4]}', '${STATUSES[(n + 1) % 4]}')\n)\n` +
        `SELECT r.${col(a, 1)}, count(DISTINCT r.${key}) AS n FROM recent r LEFT JOIN ${q(sameDb)} s ON r.${key} = s.${col(sameDb, 0)} GROUP BY 1`,
    );
  if (kind < 0.54)
    return ok(
      `CREATE TABLE "${a.database}"."${a.name}_agg_${bucket}"\nWITH (format = 'PARQUET', external_location = 's3://analytics-lake/${a.database}/${a.name}_agg_${bucket}/')\n` +
        `AS SELECT ${col(a, 1)}, count(*) AS cnt FROM ${q(a)} WHERE ${col(a, 4)} >= DATE '${d0}' GROUP BY 1`,
    );
  if (kind < 0.64)
    return ok(`INSERT INTO ${q(sameDb)}\nSELECT * FROM ${q(a)}\nWHERE ${col(a, 4)} = DATE '${d0}' AND ${col(a, 5)} <> 'test'`);
  if (kind < 0.69)
    return ok(
      `CREATE OR REPLACE VIEW "${a.database}"."v_${a.name}_${region.toLowerCase()}" AS\n` +
        `SELECT a.${key}, a.${col(a, 1)}, b.${col(sameDb, 2)} FROM ${q(a)} a JOIN ${q(sameDb)} b ON a.${key} = b.${col(sameDb, 0)} WHERE b.${col(sameDb, 5)} = '${region}'`,
    );
  if (kind < 0.72) return ok(`DROP TABLE IF EXISTS \`${a.database}\`.\`tmp_${a.name}_${bucket}\``);
  if (kind < 0.79) {
    const pk = a.partitionKeys[0] ?? 'dt';
    return ok(
      `ALTER TABLE ${a.database}.${a.name} ADD IF NOT EXISTS PARTITION (${pk} = '${d0}') LOCATION 's3://analytics-lake/${a.database}/${a.name}/${pk}=${d0}/'`,
    );
  }
  if (kind < 0.83) return ok(`MSCK REPAIR TABLE ${a.database}.${a.name}`);
  if (kind < 0.86) return ok(r(8) < 0.5 ? `SHOW PARTITIONS ${a.database}.${a.name}` : `DESCRIBE ${a.database}.${a.name}`);
  if (kind < 0.91)
    return fail(
      `SELECT ${key}, missing_${n % 97} FROM ${q(a)} LIMIT 10`,
      `COLUMN_NOT_FOUND: line 1:${9 + key.length}: Column 'missing_${n % 97}' cannot be resolved or requester is not authorized to access requested resources`,
      1006,
    );
  if (kind < 0.95)
    return fail(
      `SELECT * FROM "${a.database}"."${a.name}_old" WHERE ${key} = ${n}`,
      `TABLE_NOT_FOUND: line 1:15: Table '${a.catalog.toLowerCase()}.${a.database}.${a.name}_old' does not exist`,
      1006,
    );
  if (kind < 0.98)
    return fail(
      `SELEC ${key} FORM ${q(a)}`,
      `line 1:1: mismatched input 'SELEC'. Expecting: 'ALTER', 'ANALYZE', 'CALL', 'COMMENT', 'COMMIT', 'CREATE', 'DEALLOCATE', 'DELETE', 'DESC', 'DESCRIBE', 'DROP', 'EXECUTE', 'EXPLAIN', 'GRANT', 'INSERT', 'MERGE', <query>`,
      1004,
    );
  return { ...ok(select()), state: 'CANCELLED', durationMs: Math.floor(dur / 3) + 500 };
}
