/**
 * The content of every `<collector>_hwm.txt`, whichever store holds it: an ISO-8601 instant and a newline,
 * then, for a source that keeps state between runs, one `cursor <json>` line (see src/hwm/cursor.ts).
 * A file without the line is the HWM as it always was, so existing files and hand-written ones still read.
 */
import { createHash } from 'node:crypto';
import { ConfigError } from '../contracts/errors';

const CURSOR_PREFIX = 'cursor ';

export interface HwmText {
  value: string;
  /** The cursor's JSON text, or null when there is none. */
  cursor: string | null;
}

export function formatHwmText(value: string, cursor?: string | null): string {
  const instant = `${new Date(value).toISOString()}\n`;
  if (!cursor) return instant;
  // JSON.stringify never writes a raw newline, so the cursor stays one line; anything else is a caller's bug.
  if (cursor.includes('\n')) throw new Error('an HWM cursor must be single-line JSON');
  return `${instant}${CURSOR_PREFIX}${cursor}\n`;
}

export function parseHwmText(text: string, where: string): HwmText {
  const newline = text.indexOf('\n');
  const first = (newline < 0 ? text : text.slice(0, newline)).trim();
  const rest = newline < 0 ? '' : text.slice(newline + 1).trim();
  const ms = Date.parse(first);
  if (!first || Number.isNaN(ms)) {
    throw new ConfigError(
      `${where}: not a valid HWM (expected an ISO-8601 timestamp, found "${first.slice(0, 40)}"); fix it with "collector hwm set"`,
    );
  }
  let cursor: string | null = null;
  if (rest) {
    const json = rest.startsWith(CURSOR_PREFIX) ? rest.slice(CURSOR_PREFIX.length) : undefined;
    if (json === undefined || !isJsonObject(json)) {
      throw new ConfigError(
        `${where}: the line after the HWM is not a "cursor {...}" line; remove it (the source then starts its state afresh) or reset with "collector hwm reset"`,
      );
    }
    cursor = json;
  }
  return { value: new Date(ms).toISOString(), cursor };
}

/**
 * A version for stores whose version is the content itself (the file store): the text while it is a bare
 * instant (what earlier versions recorded, so runs in flight across an upgrade still match), a digest once
 * a cursor is in it: a version travels in workflow history, and a cursor must not.
 */
export function contentVersion(text: string): string {
  return text.includes(`\n${CURSOR_PREFIX}`) ? `sha256:${createHash('sha256').update(text).digest('hex')}` : text;
}

function isJsonObject(text: string): boolean {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v);
  } catch {
    return false;
  }
}
