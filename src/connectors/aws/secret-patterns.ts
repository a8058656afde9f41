/** How AWS credentials look in free text; the scrubber removes them (src/secrets/scrub.ts). */
import type { SecretPattern } from '../../contracts/plugin';

const R = '[redacted]';

export const awsSecretPatterns: readonly SecretPattern[] = [
  // S3 error documents echo the signature and the canonical request.
  { pattern: /<(SignatureProvided|StringToSignBytes|CanonicalRequestBytes)>[^<]*<\/\1>/g, replacement: `<$1>${R}</$1>` },
  // SigV4 query parameters URL-encoded once or twice (plain `name=value` is the generic rule's).
  {
    pattern:
      /(?:(?<=%26|%3F|%2526|%253F)|(?<![A-Za-z0-9_.-]))(X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token)(%3D|%253D)(?:(?!%26|%2526)[^\s&"'<>)\]}])+/gi,
    replacement: `$1$2${R}`,
  },
  // STS session tokens by their fixed prefixes, raw or URL-encoded.
  { pattern: /(?:IQoJb3JpZ2luX2Vj|FwoGZXIvYXdz|FQoGZXIvYXdz)[A-Za-z0-9+/=%]{8,}/g, replacement: R },
];
