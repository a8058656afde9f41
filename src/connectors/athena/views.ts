/**
 * View text as Athena stores it in the Glue catalog: `/* Presto View: <base64 JSON> *\/` whose JSON
 * carries the SQL as `originalSql`. Hive/Spark views store plain SQL instead.
 */
const PRESTO_VIEW = /^\s*\/\*\s*(?:Presto|Trino) View:\s*([A-Za-z0-9+/=\s]+?)\s*\*\/\s*$/;

/** True when `value` is an encoded Presto/Trino view. */
export function isPrestoView(value: string): boolean {
  return PRESTO_VIEW.test(value);
}

/** The SQL of an encoded Presto/Trino view, or undefined when `value` is not one (or is damaged). */
export function decodePrestoView(value: string): string | undefined {
  const m = PRESTO_VIEW.exec(value);
  if (!m) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64').toString('utf8'));
    if (parsed && typeof parsed === 'object' && 'originalSql' in parsed) {
      const sql = (parsed as { originalSql: unknown }).originalSql;
      if (typeof sql === 'string') return sql;
    }
  } catch {
    // Damaged text: the caller falls back to information_schema.views.
  }
  return undefined;
}
