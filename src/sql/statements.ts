/**
 * DDL events from Athena statements, read from tokens (comments skipped), not from a grammar: Athena
 * DDL is Hive's, which no maintained JS parser covers, and only the leading clauses matter here.
 */
import type { SqlDialect } from './dialect';
import { type Token, findQueryAs, isOp, isWord, lexerOptionsFor, significantTokens } from './masking';

/** Where a statement ran (its unqualified names resolve there) and in which dialect it is written. */
export interface SqlContext {
  catalog: string;
  database: string;
  dialect: SqlDialect;
}

export interface ObjectName {
  catalog: string;
  database: string;
  name: string;
}

export type DdlEventType =
  | 'CREATE_TABLE'
  | 'CREATE_EXTERNAL_TABLE'
  | 'CREATE_TABLE_AS_SELECT'
  | 'DROP_TABLE'
  | 'ALTER_TABLE'
  | 'ALTER_TABLE_ADD_PARTITION'
  | 'ALTER_TABLE_DROP_PARTITION'
  | 'RENAME_TABLE'
  | 'RENAME_COLUMN'
  | 'MSCK_REPAIR_TABLE'
  | 'CREATE_VIEW'
  | 'DROP_VIEW'
  | 'ALTER_VIEW'
  | 'RENAME_VIEW'
  | 'CREATE_DATABASE'
  | 'DROP_DATABASE'
  | 'ALTER_DATABASE';

export interface DdlEvent {
  eventType: DdlEventType;
  objectType: 'TABLE' | 'VIEW' | 'DATABASE';
  /** For a DATABASE, `database` and `name` are both the database's name. */
  object: ObjectName;
  /** The new name, for RENAME_TABLE and RENAME_VIEW. */
  renamedTo?: ObjectName;
  /** The column's old and new name, for RENAME_COLUMN (lowercased like every name). */
  renamedColumn?: { from: string; to: string };
}

/**
 * Identifier text as Athena resolves it: quotes removed (doubled quotes unescaped) and lowercased.
 * Athena lowercases every name it resolves, quoted or not, because the Glue catalog stores lowercase.
 */
function identifierName(t: Token): string | null {
  if (t.type === 'word') return t.text.toLowerCase();
  // Hive lexes "x" as a string, but where a name must stand it can only be one.
  if (t.type === 'quoted_identifier' || (t.type === 'string' && t.text.startsWith('"'))) {
    const body = t.text.startsWith('"') ? t.text.slice(1) : t.text.slice(3); // "x" or U&"x"
    const inner = t.unterminated ? body : body.slice(0, -1);
    return inner.replace(/""/g, '"').toLowerCase();
  }
  if (t.type === 'backquoted_identifier') {
    const inner = t.unterminated ? t.text.slice(1) : t.text.slice(1, -1);
    return inner.replace(/``/g, '`').toLowerCase();
  }
  return null;
}

export interface QualifiedName {
  parts: string[];
  /** Index of the first token after the name. */
  next: number;
}

/** Reads `a`, `a.b` or `a.b.c` (any quoting) at `i`; null when no name starts there. */
export function readQualifiedName(tokens: Token[], i: number): QualifiedName | null {
  const parts: string[] = [];
  let j = i;
  for (;;) {
    const t = tokens[j];
    const part = t ? identifierName(t) : null;
    if (part === null) return null;
    parts.push(part);
    j++;
    if (!isOp(tokens[j], '.')) break;
    j++;
  }
  return { parts, next: j };
}

/** 1-, 2- or 3-part table name against the context; null for more parts. */
export function resolveObject(parts: string[], ctx: SqlContext): ObjectName | null {
  const catalog = ctx.catalog.toLowerCase();
  const database = ctx.database.toLowerCase();
  if (parts.length === 1) return { catalog, database, name: parts[0]! };
  if (parts.length === 2) return { catalog, database: parts[0]!, name: parts[1]! };
  if (parts.length === 3) return { catalog: parts[0]!, database: parts[1]!, name: parts[2]! };
  return null;
}

function resolveDatabase(parts: string[], ctx: SqlContext): ObjectName | null {
  if (parts.length === 1) return { catalog: ctx.catalog.toLowerCase(), database: parts[0]!, name: parts[0]! };
  if (parts.length === 2) return { catalog: parts[0]!, database: parts[1]!, name: parts[1]! };
  return null;
}

/** Skips the words in `seq` if they all follow at `i`; returns the index after them, or `i`. */
export function skipWords(tokens: Token[], i: number, ...seq: string[]): number {
  for (let k = 0; k < seq.length; k++) if (!isWord(tokens[i + k], seq[k]!)) return i;
  return i + seq.length;
}

function tableEvent(
  eventType: DdlEventType,
  objectType: 'TABLE' | 'VIEW',
  tokens: Token[],
  i: number,
  ctx: SqlContext,
): { event: DdlEvent; next: number } | null {
  const name = readQualifiedName(tokens, i);
  const object = name && resolveObject(name.parts, ctx);
  if (!name || !object) return null;
  return { event: { eventType, objectType, object }, next: name.next };
}

function databaseEvent(eventType: DdlEventType, tokens: Token[], i: number, ctx: SqlContext): DdlEvent | null {
  const name = readQualifiedName(tokens, i);
  const object = name && resolveDatabase(name.parts, ctx);
  return object ? { eventType, objectType: 'DATABASE', object } : null;
}

/**
 * Skips `[OR REPLACE] [PROTECTED] [MULTI DIALECT]` after CREATE and says whether VIEW follows;
 * returns the index of the token after VIEW, or -1.
 */
export function viewKeywordEnd(tokens: Token[], afterCreate: number): number {
  let i = skipWords(tokens, afterCreate, 'OR', 'REPLACE');
  i = skipWords(tokens, i, 'PROTECTED');
  i = skipWords(tokens, i, 'MULTI', 'DIALECT');
  return isWord(tokens[i], 'VIEW') ? i + 1 : -1;
}

/** The new name of `ALTER TABLE|VIEW x RENAME TO y`: unqualified, it stays in the old database. */
function renameTarget(tokens: Token[], i: number, from: ObjectName): ObjectName | null {
  const name = readQualifiedName(tokens, i);
  if (!name) return null;
  if (name.parts.length === 1) return { catalog: from.catalog, database: from.database, name: name.parts[0]! };
  if (name.parts.length === 2) return { catalog: from.catalog, database: name.parts[0]!, name: name.parts[1]! };
  if (name.parts.length === 3) return { catalog: name.parts[0]!, database: name.parts[1]!, name: name.parts[2]! };
  return null;
}

/**
 * The DDL event of a statement, or null for anything else (queries, DML, SHOW, DESCRIBE, EXPLAIN,
 * unknown or malformed DDL). Names resolve against `context` and come back lowercased.
 */
export function classifyStatement(sql: string, context: SqlContext): DdlEvent | null {
  const t = significantTokens(sql, lexerOptionsFor(sql, context.dialect));
  if (isWord(t[0], 'CREATE')) return classifyCreate(t, context);
  if (isWord(t[0], 'DROP')) return classifyDrop(t, context);
  if (isWord(t[0], 'ALTER')) return classifyAlter(t, context);
  if (isWord(t[0], 'MSCK') && isWord(t[1], 'REPAIR') && isWord(t[2], 'TABLE')) {
    return tableEvent('MSCK_REPAIR_TABLE', 'TABLE', t, 3, context)?.event ?? null;
  }
  return null;
}

function classifyCreate(t: Token[], ctx: SqlContext): DdlEvent | null {
  if (isWord(t[1], 'DATABASE', 'SCHEMA')) {
    return databaseEvent('CREATE_DATABASE', t, skipWords(t, 2, 'IF', 'NOT', 'EXISTS'), ctx);
  }
  const viewEnd = viewKeywordEnd(t, 1);
  if (viewEnd >= 0) return tableEvent('CREATE_VIEW', 'VIEW', t, viewEnd, ctx)?.event ?? null;
  if (isWord(t[1], 'EXTERNAL') && isWord(t[2], 'TABLE')) {
    return tableEvent('CREATE_EXTERNAL_TABLE', 'TABLE', t, skipWords(t, 3, 'IF', 'NOT', 'EXISTS'), ctx)?.event ?? null;
  }
  const tableAt = skipWords(t, 1, 'OR', 'REPLACE');
  if (isWord(t[tableAt], 'TABLE')) {
    const made = tableEvent('CREATE_TABLE', 'TABLE', t, skipWords(t, tableAt + 1, 'IF', 'NOT', 'EXISTS'), ctx);
    if (!made) return null;
    if (findQueryAs(t, made.next) >= 0) made.event.eventType = 'CREATE_TABLE_AS_SELECT';
    return made.event;
  }
  return null;
}

function classifyDrop(t: Token[], ctx: SqlContext): DdlEvent | null {
  if (isWord(t[1], 'TABLE')) return tableEvent('DROP_TABLE', 'TABLE', t, skipWords(t, 2, 'IF', 'EXISTS'), ctx)?.event ?? null;
  if (isWord(t[1], 'VIEW')) return tableEvent('DROP_VIEW', 'VIEW', t, skipWords(t, 2, 'IF', 'EXISTS'), ctx)?.event ?? null;
  if (isWord(t[1], 'DATABASE', 'SCHEMA')) return databaseEvent('DROP_DATABASE', t, skipWords(t, 2, 'IF', 'EXISTS'), ctx);
  return null;
}

function classifyAlter(t: Token[], ctx: SqlContext): DdlEvent | null {
  if (isWord(t[1], 'DATABASE', 'SCHEMA')) return databaseEvent('ALTER_DATABASE', t, 2, ctx);
  const isView = isWord(t[1], 'VIEW');
  if (!isView && !isWord(t[1], 'TABLE')) return null;
  const made = tableEvent(isView ? 'ALTER_VIEW' : 'ALTER_TABLE', isView ? 'VIEW' : 'TABLE', t, 2, ctx);
  if (!made) return null;
  const { event, next: i } = made;
  if (isWord(t[i], 'RENAME') && isWord(t[i + 1], 'TO')) {
    const to = renameTarget(t, i + 2, event.object);
    if (!to) return null;
    return { ...event, eventType: isView ? 'RENAME_VIEW' : 'RENAME_TABLE', renamedTo: to };
  }
  if (!isView) {
    const renamed = columnRename(t, i);
    if (renamed) return { ...event, eventType: 'RENAME_COLUMN', renamedColumn: renamed };
  }
  if (!isView && isWord(t[i], 'ADD')) {
    if (isWord(t[skipWords(t, i + 1, 'IF', 'NOT', 'EXISTS')], 'PARTITION')) event.eventType = 'ALTER_TABLE_ADD_PARTITION';
  } else if (!isView && isWord(t[i], 'DROP')) {
    if (isWord(t[skipWords(t, i + 1, 'IF', 'EXISTS')], 'PARTITION')) event.eventType = 'ALTER_TABLE_DROP_PARTITION';
  }
  return event;
}

/**
 * A column rename: Trino's `RENAME COLUMN [IF EXISTS] a TO b`, or Hive's and Athena Iceberg's
 * `CHANGE [COLUMN] a b <type>` when the name changes (the same name twice only changes the type or
 * comment: an ALTER_TABLE). Null for any other clause.
 */
function columnRename(t: Token[], i: number): { from: string; to: string } | null {
  if (isWord(t[i], 'RENAME') && isWord(t[i + 1], 'COLUMN')) {
    const at = skipWords(t, i + 2, 'IF', 'EXISTS');
    const from = t[at] && identifierName(t[at]);
    const to = isWord(t[at + 1], 'TO') && t[at + 2] ? identifierName(t[at + 2]) : null;
    return from && to ? { from, to } : null;
  }
  if (isWord(t[i], 'CHANGE')) {
    const at = skipWords(t, i + 1, 'COLUMN');
    const from = t[at] && identifierName(t[at]);
    const to = t[at + 1] && identifierName(t[at + 1]);
    return from && to && from !== to ? { from, to } : null;
  }
  return null;
}
