/**
 * PostgreSQL's own lexer (libpg-query, the server's scanner compiled to WebAssembly) for what the source
 * writes of a statement's text: every constant becomes `?` and comments go, as for Athena's masked texts.
 * pg_stat_statements already replaces the constants of the statements it normalises with `$n`, but it keeps
 * utility statements as written (`ALTER ROLE ... PASSWORD '...'`, `CREATE TABLE AS SELECT 'literal'`),
 * which is why every text passes here. Dollar quotes, E'' strings and nested comments are lexed as the
 * server lexes them.
 */
import { loadModule, scanSync } from 'libpg-query';

const CONSTANTS = new Set(['SCONST', 'USCONST', 'FCONST', 'ICONST', 'BCONST', 'XCONST']);
const COMMENTS = new Set(['C_COMMENT', 'SQL_COMMENT']);
/** Bit, hex, national and Unicode strings come back unnamed from the scanner: told by their opening. */
const QUOTED = /^(?:[bBxXnNeE]|[uU]&)?'|^\$[A-Za-z_]*\$/;

let loaded: Promise<void> | undefined;
/** The WebAssembly module loads once per process, on first use. */
export function loadPostgresParser(): Promise<void> {
  return (loaded ??= loadModule());
}

/** The masked text, or null when it cannot be lexed (then nothing of it is written). Needs loadPostgresParser(). */
export function maskPostgresText(sql: string): string | null {
  let tokens: { start: number; end: number; text: string; tokenName: string }[];
  try {
    tokens = scanSync(sql).tokens;
  } catch {
    return null;
  }
  // Offsets are in UTF-8 bytes.
  const bytes = Buffer.from(sql, 'utf8');
  const parts: string[] = [];
  let pos = 0;
  let pendingSpace = false;
  for (const t of tokens) {
    const gap = bytes.subarray(pos, t.start).toString('utf8');
    pos = t.end;
    if (COMMENTS.has(t.tokenName)) {
      pendingSpace = true;
      continue;
    }
    if (gap) parts.push(gap);
    else if (pendingSpace && parts.length) parts.push(' ');
    pendingSpace = false;
    parts.push(CONSTANTS.has(t.tokenName) || QUOTED.test(t.text) ? '?' : t.text);
  }
  return parts.join('').trim();
}
