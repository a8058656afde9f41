/**
 * Where workers get the collect workflow: a pre-built bundle in production (built at image build time,
 * no webpack at startup), else the workflows directory bundled on the fly in development.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const WORKFLOW_BUNDLE_PATH = process.env.COLLECTOR_WORKFLOW_BUNDLE ?? join(__dirname, '..', 'workflow-bundle.js');

export function workflowSource(): { workflowBundle: { code: string } } | { workflowsPath: string } {
  if (existsSync(WORKFLOW_BUNDLE_PATH)) return { workflowBundle: { code: readFileSync(WORKFLOW_BUNDLE_PATH, 'utf8') } };
  const ts = join(__dirname, '..', 'workflows', 'index.ts');
  return { workflowsPath: existsSync(ts) ? ts : join(__dirname, '..', 'workflows', 'index.js') };
}
