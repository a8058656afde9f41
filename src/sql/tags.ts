/**
 * Query tags: the structured comments tools put on the SQL they send (dbt's `/* {"app": "dbt", ...} *\/`,
 * Looker's `-- Looker Query Context '{...}'`, sqlcommenter's `/*key='value',...*\/` as used by Airflow,
 * Django or Spring). Masking drops every comment, because prose cannot be masked; these are not prose, so
 * they are read here, apart from the text, and kept as data.
 *
 * Only a comment whose whole body has one of those shapes is a tag; anything else (free text, a JSON
 * fragment inside a sentence) is not, and stays dropped. Reading is bounded: long comments are not read,
 * and the tags of one statement are capped in number and size.
 */
import type { SqlDialect } from './dialect';
import { Lexer, lexerOptionsFor } from './masking';

/** Comments longer than this are not read as tags (no tool writes one that long). */
const MAX_COMMENT_CHARS = 8192;
/** At most this many tags per statement... */
const MAX_TAGS = 16;
/** ...and at most this much JSON for all of them together. */
export const MAX_TAGS_JSON_CHARS = 4096;

export type QueryTag = Record<string, unknown>;

export interface QueryTags {
  /** In the order they appear in the statement; empty when there are none. */
  tags: QueryTag[];
  /** Tags found but left out because of the caps above. */
  dropped: number;
}

/** A JSON object (not an array, string or number), or undefined. */
function jsonObject(text: string): QueryTag | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as QueryTag) : undefined;
  } catch {
    return undefined;
  }
}

/** `label '{...}'`, `label: {...}` or `label {...}`: a short label in front of a JSON object. */
const LABELLED_JSON = /^([A-Za-z][\w .-]{0,63}?)\s*[:=]?\s*(?:'(\{[\s\S]*\})'|(\{[\s\S]*\}))$/;
/** sqlcommenter: `key='value'` pairs, comma-separated, values URL-encoded. */
const SQLCOMMENTER = /^[\w.-]+='[^']*'(?:\s*,\s*[\w.-]+='[^']*')*$/;
const SQLCOMMENTER_PAIR = /([\w.-]+)='([^']*)'/g;

function decode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value; // not URL-encoded after all: kept as written
  }
}

/** The tag a comment body is, or undefined when it is not one. */
function tagOf(body: string): QueryTag | undefined {
  const text = body.trim();
  if (!text) return undefined;
  if (text.startsWith('{')) return jsonObject(text);
  const labelled = LABELLED_JSON.exec(text);
  if (labelled) {
    const value = jsonObject(labelled[2] ?? labelled[3]!);
    return value ? { [labelled[1]!.trim()]: value } : undefined;
  }
  if (SQLCOMMENTER.test(text)) {
    // fromEntries defines own keys, so a key `__proto__` stays data.
    return Object.fromEntries([...text.matchAll(SQLCOMMENTER_PAIR)].map((m) => [m[1]!, decode(m[2]!)]));
  }
  return undefined;
}

/** The query tags of `sql`. Never throws; linear in the input. */
export function queryTags(sql: string, dialect: SqlDialect): QueryTags {
  const lexer = new Lexer(sql, lexerOptionsFor(sql, dialect));
  const tags: QueryTag[] = [];
  let size = 2; // the array's brackets
  let dropped = 0;
  for (let t = lexer.next(); t !== null; t = lexer.next()) {
    if (t.type !== 'line_comment' && t.type !== 'block_comment') continue;
    if (t.text.length > MAX_COMMENT_CHARS) continue;
    const body = t.type === 'line_comment' ? t.text.slice(2) : t.text.slice(2, t.unterminated ? undefined : -2);
    const tag = tagOf(body);
    if (!tag || Object.keys(tag).length === 0) continue;
    const bytes = JSON.stringify(tag).length + (tags.length ? 1 : 0);
    if (tags.length >= MAX_TAGS || size + bytes > MAX_TAGS_JSON_CHARS) {
      dropped++;
      continue;
    }
    tags.push(tag);
    size += bytes;
  }
  return { tags, dropped };
}
