/** How Azure Storage credentials look in free text; the scrubber removes them (src/secrets/scrub.ts). */
import type { SecretPattern } from '../../contracts/plugin';

const R = '[redacted]';

export const azureSecretPatterns: readonly SecretPattern[] = [
  // Connection strings: the value runs to the next `;` (a SAS inside contains `&`).
  { pattern: /(?<![A-Za-z0-9])(AccountKey|SharedAccessSignature|SharedAccessKey)=(?!\[redacted\])[^;\s"'<>]+/gi, replacement: `$1=${R}` },
  // A SAS `sig` query parameter, URL-encoded once or twice (a URL inside another URL), or plain.
  {
    pattern: /(?:(?<=%26|%3F|%2526|%253F)|(?<![A-Za-z0-9_.-]))(sig)(%3D|%253D)(?:(?!%26|%2526)[^\s&"'<>)\]}])+/gi,
    replacement: `$1$2${R}`,
  },
  { pattern: /(?<![A-Za-z0-9_.-])(sig)=(?!\[redacted\])[^\s&"'<>)\]},;]+/gi, replacement: `$1=${R}` },
  // Storage account keys: 64 bytes of base64.
  { pattern: /(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{86}==(?![A-Za-z0-9+/=])/g, replacement: R },
];
