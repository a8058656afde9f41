/**
 * Pre-bundles the workflows for production (`npm run build`, and the container image build), so a
 * worker starts without running webpack. Written next to the compiled code: dist/workflow-bundle.js.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOW_BUNDLE_PATH } from '../src/workflow-source';

async function main(): Promise<void> {
  const { code } = await bundleWorkflowCode({ workflowsPath: join(__dirname, '..', 'workflows', 'index.js') });
  writeFileSync(WORKFLOW_BUNDLE_PATH, code);
  process.stdout.write(`workflow bundle: ${WORKFLOW_BUNDLE_PATH} (${(code.length / 1024).toFixed(0)} KiB)\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${String(e)}\n`);
  process.exit(1);
});
