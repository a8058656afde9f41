/** The built-in landing zones. */
export { azureBlobLanding, type AzureBlobLandingConfig } from './azure-blob';
export { filesystemLanding, type FilesystemLandingConfig } from './filesystem';
export { s3Landing, type S3LandingConfig } from './s3';
