/** The content of every `<collector>_hwm.txt`, whichever store holds it: an ISO-8601 instant and a newline. */
import { ConfigError } from '../contracts/errors';

export function formatHwmText(value: string): string {
  return `${new Date(value).toISOString()}\n`;
}

export function parseHwmText(text: string, where: string): string {
  const value = text.trim();
  const ms = Date.parse(value);
  if (!value || Number.isNaN(ms)) {
    throw new ConfigError(
      `${where}: not a valid HWM (expected an ISO-8601 timestamp, found "${value.slice(0, 40)}"); fix it with "collector hwm set"`,
    );
  }
  return new Date(ms).toISOString();
}
