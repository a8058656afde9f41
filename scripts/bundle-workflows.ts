/**
 * Pre-bundles the workflows for production (`npm run build`, and the container image build), so a
 * worker starts without running webpack. Written next to the compiled code: dist/workflow-bundle.js.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { ENCRYPTED_WORKFLOW_BUNDLE_PATH, WORKFLOW_BUNDLE_PATH } from '../src/workflow-source';
import { FAILURE_CONVERTER_PATH } from '../src/codec/data-converter';

async function main(): Promise<void> {
  const workflowsPath = join(__dirname, '..', 'workflows', 'index.js');
  for (const [path, extra] of [
    [WORKFLOW_BUNDLE_PATH, {}],
    [ENCRYPTED_WORKFLOW_BUNDLE_PATH, { failureConverterPath: FAILURE_CONVERTER_PATH }],
  ] as const) {
    const { code } = await bundleWorkflowCode({ workflowsPath, ...extra });
    writeFileSync(path, code);
    process.stdout.write(`workflow bundle: ${path} (${(code.length / 1024).toFixed(0)} KiB)\n`);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${String(e)}\n`);
  process.exit(1);
});
