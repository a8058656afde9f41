/**
 * Where workers get the collect workflow: a pre-built bundle in production (built at image build time,
 * no webpack at startup), else the workflows directory bundled on the fly in development.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { settings } from './settings';

export const WORKFLOW_BUNDLE_PATH = settings().workflowBundle;
/** Built with the encrypting failure converter inside (the SDK loads it from the bundle). */
export const ENCRYPTED_WORKFLOW_BUNDLE_PATH = WORKFLOW_BUNDLE_PATH.replace(/\.js$/, '-encrypted.js');

export function workflowSource(encrypted = false): { workflowBundle: { code: string } } | { workflowsPath: string } {
  const bundle = encrypted ? ENCRYPTED_WORKFLOW_BUNDLE_PATH : WORKFLOW_BUNDLE_PATH;
  if (existsSync(bundle)) return { workflowBundle: { code: readFileSync(bundle, 'utf8') } };
  const ts = join(__dirname, '..', 'workflows', 'index.ts');
  return { workflowsPath: existsSync(ts) ? ts : join(__dirname, '..', 'workflows', 'index.js') };
}
