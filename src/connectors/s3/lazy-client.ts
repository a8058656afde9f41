/** The S3 client with the AWS SDK loaded on first use, not with the plugin: `validate-config` never needs it. */
import type { S3ObjectClient } from './client';

export function s3Client(...args: ConstructorParameters<typeof S3ObjectClient>): S3ObjectClient {
  const { S3ObjectClient: Client } = require('./client') as typeof import('./client');
  return new Client(...args);
}
