/**
 * Table-only lineage for a statement QueryReader could not follow: a scan that takes a name only
 * where nothing but a table can stand (right after a query's FROM or a JOIN, or after a comma in a
 * plain FROM list), and nothing it is unsure of. It may miss tables; it must never invent one.
 */
import { type Token, isOp, isWord } from './masking';
import { type TableRef, isReserved } from './query';
import { type SqlContext, readQualifiedName, resolveObject } from './statements';

/** Words that may follow FROM or JOIN without naming a table. */
const NOT_TABLE = new Set(['UNNEST', 'LATERAL', 'TABLE', 'SELECT', 'VALUES', 'WITH']);

/** Words that end a plain FROM list's item. */
const ITEM_END = new Set([
  'WHERE',
  'GROUP',
  'HAVING',
  'ORDER',
  'LIMIT',
  'OFFSET',
  'FETCH',
  'WINDOW',
  'UNION',
  'INTERSECT',
  'EXCEPT',
  'ON',
  'USING',
  'WHEN',
]);

/** Tables of `t`, or why even this scan gave up. */
export function fallbackTables(t: Token[], ctx: SqlContext): TableRef[] | string {
  // Names that a WITH defines: `name [(cols)] AS (`, wherever they are.
  const ctes = new Set<string>();
  for (let i = 0; i < t.length; i++) {
    if (!isWord(t[i], 'AS') || !isOp(t[i + 1], '(')) continue;
    let k = i - 1;
    if (isOp(t[k], ')')) {
      let depth = 0;
      for (; k >= 0; k--) {
        if (isOp(t[k], ')')) depth++;
        else if (isOp(t[k], '(') && --depth === 0) break;
      }
      k--;
    }
    const n = t[k];
    if (n && (n.type === 'word' || n.type === 'quoted_identifier')) ctes.add(readQualifiedName(t, k)?.parts[0] ?? '');
  }
  // Per bracket level: has a SELECT (or DELETE) started there, so a FROM is a query's FROM?
  const selectAt: boolean[] = [false];
  const out = new Map<string, TableRef>();
  let listLevel = -1; // the level of a FROM list still open for `, table` items
  for (let i = 0; i < t.length; i++) {
    const x = t[i]!;
    const level = selectAt.length - 1;
    if (isOp(x, '(') || isOp(x, '[')) {
      selectAt.push(false);
      continue;
    }
    if (isOp(x, ')') || isOp(x, ']')) {
      if (selectAt.length > 1) selectAt.pop();
      if (listLevel >= selectAt.length) listLevel = -1;
      continue;
    }
    if (isWord(x, 'SELECT', 'DELETE')) selectAt[level] = true;
    let at = -1;
    if (isWord(x, 'FROM') && selectAt[level] && !isWord(t[i - 1], 'DISTINCT')) {
      at = i + 1;
      listLevel = level;
    } else if (isWord(x, 'JOIN')) at = i + 1;
    else if (isOp(x, ',') && listLevel === level) at = i + 1;
    else if (x.type === 'word' && level === listLevel && (ITEM_END.has(x.text.toUpperCase()) || isWord(x, 'LATERAL', 'JOIN')))
      listLevel = -1;
    if (at < 0) continue;
    const name = readQualifiedName(t, at);
    if (!name) continue;
    // What follows a table is an alias, a keyword, a comma, a closing bracket or the end; anything else
    // (`(`: a function; `-` in `hms-catalog-1.db.t`: not a name at all) means this is no table.
    const after = t[name.next];
    if (after && after.type !== 'word' && after.type !== 'quoted_identifier' && !isOp(after, ',') && !isOp(after, ')') && !isOp(after, ';'))
      continue;
    if (isWord(t[at], ...NOT_TABLE) || isReserved(t[at])) continue;
    if (name.parts.length === 1 && ctes.has(name.parts[0]!)) continue;
    // A comma item must look like one: `name [AS] [alias]` then a comma, a clause or the end.
    if (isOp(x, ',')) {
      let k = name.next;
      if (isWord(t[k], 'AS')) k++;
      if (t[k] && (t[k]!.type === 'word' || t[k]!.type === 'quoted_identifier') && !ITEM_END.has(t[k]!.text.toUpperCase())) k++;
      const end = t[k];
      if (end && !isOp(end, ',') && !isOp(end, ')') && !(end.type === 'word' && ITEM_END.has(end.text.toUpperCase()))) continue;
    }
    const obj = resolveObject(name.parts, ctx);
    if (!obj) return `table name with ${name.parts.length} parts`;
    const ref = { catalog: obj.catalog, database: obj.database, table: obj.name };
    out.set(`${ref.catalog}\u0000${ref.database}\u0000${ref.table}`, ref);
  }
  return [...out.values()];
}
