/**
 * Loaded by path (DataConverter.failureConverterPath), also inside the workflow sandbox, so it imports
 * nothing but @temporalio/common. Moves failure messages and stack traces into an encoded payload,
 * which the payload codecs then encrypt.
 */
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
