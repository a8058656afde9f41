/** Amazon S3 (and S3-compatible stores) as landing zone and HWM store. */
import type { Connector } from '../../contracts/plugin';
import { s3HwmPlugin } from './hwm';
import { s3Landing } from './landing';
import { awsSecretPatterns } from '../aws/secret-patterns';

export { s3Landing, type S3LandingConfig } from './landing';
export { s3HwmPlugin, type S3HwmConfig } from './hwm';

export const s3: Connector = { system: 's3', landings: [s3Landing], hwmStores: [s3HwmPlugin], secretPatterns: awsSecretPatterns };
