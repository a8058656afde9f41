/**
 * Object-name safety, checked before any I/O by every landing zone. A bad object name is a
 * ValidationError (non-retryable): names come from the extract file naming, so a name that could escape
 * the landing path is an extract that does not match the documented format and must not leave the
 * network. A bad configured prefix is a ConfigError (a person fixes collectors.yaml).
 */
import { z } from 'zod';
import { ConfigError, ValidationError } from '../contracts/errors';
// ---------------------------------------------------------------- names

/** S3 keys and Azure blob names are both limited to 1024 (bytes / characters); we keep the stricter. */
export const MAX_OBJECT_NAME_BYTES = 1024;
/** POSIX NAME_MAX on common filesystems; applied everywhere so a name works on every landing. */
export const MAX_SEGMENT_BYTES = 255;

// C0 and C1 controls, DEL, and Unicode line/paragraph separators (they break logs and listings).
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** Why `name` is not a safe relative object name, or undefined when it is. */
export function objectNameProblem(name: string): string | undefined {
  if (typeof name !== 'string' || name.length === 0) return 'is empty';
  if (CONTROL.test(name)) return 'contains a control character';
  if (name.includes('\\')) return 'contains a backslash';
  if (name.startsWith('/')) return 'is an absolute path';
  if (/^[A-Za-z]:/.test(name)) return 'starts with a drive letter';
  if (name.normalize('NFC') !== name) return 'is not in Unicode normal form C';
  if (Buffer.byteLength(name) > MAX_OBJECT_NAME_BYTES) return `is longer than ${MAX_OBJECT_NAME_BYTES} bytes`;
  for (const seg of name.split('/')) {
    if (seg === '') return 'has an empty path segment (// or a trailing /)';
    if (seg === '.' || seg === '..') return `has a "${seg}" path segment`;
    if (Buffer.byteLength(seg) > MAX_SEGMENT_BYTES) return `has a path segment longer than ${MAX_SEGMENT_BYTES} bytes`;
  }
  return undefined;
}

/** `name` if it is a safe relative object name; otherwise a ValidationError naming the problem. */
export function checkObjectName(name: string): string {
  const problem = objectNameProblem(name);
  // JSON.stringify shows control characters escaped instead of printing them.
  if (problem) throw new ValidationError(`object name ${JSON.stringify(name)} ${problem}; refusing to upload it`, { objectName: name });
  return name;
}

/** The configured landing prefix without surrounding slashes; '' means the container/bucket root. */
export function normalizePrefix(prefix: string | undefined): string {
  return (prefix ?? '').replace(/\/+$/, '');
}

/** A zod field for a landing prefix (`lz/athena/landing`): relative, no `..`, no empty segments. */
export const landingPrefix = () =>
  z
    .string()
    .default('')
    .superRefine((value, ctx) => {
      const p = normalizePrefix(value);
      if (p === '') return;
      const problem = objectNameProblem(p);
      if (problem) ctx.addIssue({ code: 'custom', message: `must be a relative path inside the container or bucket: ${problem}` });
    });

/**
 * The one prefix under the landing path for everything the collector writes that is not a deliverable
 * (filesystem temp files, test-connection probes). A dot-directory, so consumers that skip dot-entries
 * skip it; docs/landing-zones.md tells consumers to ignore it.
 */
export const COLLECTOR_TMP_DIR = '.collector-tmp';

/** A test-connection probe object's name, relative to the landing path. */
export function probeObjectName(id: string, suffix = ''): string {
  return `${COLLECTOR_TMP_DIR}/probe-${id}${suffix}.txt`;
}

/** `prefix/name`, checked as a whole (the prefix counts towards the length limit). */
export function joinObjectName(prefix: string, name: string): string {
  checkObjectName(name);
  const full = prefix ? `${prefix}/${name}` : name;
  if (Buffer.byteLength(full) > MAX_OBJECT_NAME_BYTES) {
    throw new ValidationError(`object name ${JSON.stringify(full)} is longer than ${MAX_OBJECT_NAME_BYTES} bytes with the landing prefix`, {
      objectName: name,
    });
  }
  return full;
}

/** A prefix from config, checked again at create() (configs built in code skip the schema). */
export function checkPrefix(prefix: string | undefined, field: string): string {
  const p = normalizePrefix(prefix);
  const problem = p === '' ? undefined : objectNameProblem(p);
  if (problem) throw new ConfigError(`${field}: must be a relative path inside the container or bucket: ${problem}`);
  return p;
}
