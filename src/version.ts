/** The tool's name and version, and the build id stamped into container images. */
import pkg from '../package.json';

export const TOOL_NAME = 'temporal-collectors';
export const TOOL_VERSION: string = process.env.COLLECTOR_VERSION || pkg.version;
export const BUILD_ID: string = process.env.COLLECTOR_BUILD_ID || 'dev';
