/**
 * What main.ts and every command share, kept free of heavy imports: main.ts loads it for `--version`
 * and `--help`, which must not pay for the worker or the SDKs.
 */
import { resolve } from 'node:path';
import { settings } from '../settings';

/** The options every command that reads the collectors file takes. */
export interface Common {
  config?: string;
  stateDir?: string;
}

/** A run or check that failed: exit 1 with its message. */
export class RunFailed extends Error {}

export const say = (m: string): void => {
  process.stdout.write(`${m}\n`);
};

/** Progress and notes that are not the command's output. */
export const note = (m: string): void => {
  process.stderr.write(`${m}\n`);
};

export const interactive = Boolean(process.stdout.isTTY);

export const stateDirOf = (o: Common): string => resolve(o.stateDir ?? settings().stateDir);
