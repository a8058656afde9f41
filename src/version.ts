/** The tool's name and version, and the build id stamped into container images. */
import { settings } from './settings';

export const TOOL_NAME = 'temporal-collectors';
export const TOOL_VERSION: string = settings().version;
export const BUILD_ID: string = settings().buildId;
