/** A directory (local disk or a mounted share) as landing zone and HWM store. */
import type { Connector } from '../../contracts/plugin';
import { fileHwm } from './hwm';
import { filesystemLanding } from './landing';

export { filesystemLanding, type FilesystemLandingConfig } from './landing';
export { fileHwm, FileHwmStore, type FileHwmConfig } from './hwm';

export const filesystem: Connector = { system: 'filesystem', landings: [filesystemLanding], hwmStores: [fileHwm] };
