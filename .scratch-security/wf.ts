import { ApplicationFailure } from '@temporalio/workflow';
export async function failing(input: { collector: string }): Promise<string> {
  throw ApplicationFailure.nonRetryable(`secret-ish failure for ${input.collector}`, 'ValidationError');
}
