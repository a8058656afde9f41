/** The plugins every worker has: the Athena source, the three landing zones, the three HWM stores. */
import { fileHwmPlugin } from '../hwm/file';
import { azureBlobHwmPlugin } from '../hwm/azure-blob';
import { s3HwmPlugin } from '../hwm/s3';
import { azureBlobLanding, filesystemLanding, s3Landing } from '../landing';
import { athenaSource } from '../sources/athena';
import { PluginRegistry } from './registry';

export function builtinRegistry(defaultHwmDir: () => string): PluginRegistry {
  return new PluginRegistry()
    .addSource(athenaSource)
    .addLanding(filesystemLanding)
    .addLanding(azureBlobLanding)
    .addLanding(s3Landing)
    .addHwmStore(fileHwmPlugin(defaultHwmDir))
    .addHwmStore(azureBlobHwmPlugin)
    .addHwmStore(s3HwmPlugin);
}
