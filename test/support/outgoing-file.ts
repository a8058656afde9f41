/**
 * A staged file of a given size for landing tests and the upload benchmark: random bytes, each MiB
 * stamped with its index and `seed` (so two seeds give two contents of one size), hashed as written,
 * with the identity it had then.
 */
import { createHash, randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { OutgoingFile } from '../../src/contracts/plugin';
import { fileIdentity } from '../../src/extracts/hash';

const MiB = 1024 * 1024;

export async function makeOutgoingFile(
  path: string,
  size: number,
  seed = 0,
  metadata: Record<string, string> = { runid: 'run-1' },
): Promise<OutgoingFile> {
  const base = randomBytes(MiB);
  const sha = createHash('sha256');
  const md5 = createHash('md5');
  const fh = await open(path, 'w');
  try {
    for (let off = 0, i = 0; off < size; off += MiB, i++) {
      const chunk = Buffer.from(base.subarray(0, Math.min(MiB, size - off)));
      if (chunk.length >= 8) {
        chunk.writeUInt32BE(i, 0);
        chunk.writeUInt32BE(seed, 4);
      }
      sha.update(chunk);
      md5.update(chunk);
      await fh.write(chunk);
    }
  } finally {
    await fh.close();
  }
  // With its identity, as the upload activity passes a file unchanged since validation hashed it.
  return {
    path,
    bytes: size,
    sha256: sha.digest('hex'),
    md5: md5.digest('base64'),
    contentType: 'text/csv; charset=utf-8',
    metadata,
    identity: await fileIdentity(path),
  };
}
