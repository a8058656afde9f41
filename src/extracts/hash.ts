/** sha256 (hex), MD5 (base64) and size of a file in one streamed pass. */
import { createHash } from 'node:crypto';
import { createReadStream, type BigIntStats } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { FileIdentity } from '../contracts/plugin';

export const identityOf = (s: BigIntStats): FileIdentity => ({
  ino: String(s.ino),
  size: Number(s.size),
  mtimeNs: String(s.mtimeNs),
  ctimeNs: String(s.ctimeNs),
});

export async function fileIdentity(path: string): Promise<FileIdentity> {
  return identityOf(await stat(path, { bigint: true }));
}

export const sameIdentity = (a: FileIdentity, b: FileIdentity): boolean =>
  a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;

export async function hashFile(path: string): Promise<{ sha256: string; md5: string; bytes: number }> {
  const sha256 = createHash('sha256');
  const md5 = createHash('md5');
  let bytes = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
    sha256.update(chunk as Buffer);
    md5.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: sha256.digest('hex'), md5: md5.digest('base64'), bytes };
}
