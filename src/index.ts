/**
 * The library entry (`import { CollectorPlugin } from 'temporal-collectors'`): the plugin for your own
 * Worker, the plugin interfaces for your own sources and landing zones, and the typed errors.
 */
export { CollectorPlugin, type CollectorPluginOptions } from './plugin';
export type {
  ApiOutcome,
  Check,
  ExtractContext,
  ExtractUnit,
  FileIdentity,
  HwmPlugin,
  HwmState,
  HwmStore,
  LandingPlugin,
  LandingZone,
  OutgoingFile,
  PluginContext,
  PutOptions,
  PutOutcome,
  Source,
  SourceContext,
  SourcePlugin,
  UnitOutput,
} from './contracts/plugin';
export type { ExtractKind, Row } from './contracts/extract-format';
export { COLUMNS, EXTRACT_KINDS } from './contracts/extract-format';
export {
  AuthError,
  ConfigError,
  ConflictError,
  HwmConflictError,
  SecretError,
  TransientError,
  UnitIncompleteError,
  ValidationError,
  type UnitScope,
} from './contracts/errors';
export type { CollectInput, RunSummary, Progress } from './run/types';
export { encryptedDataConverter, dataConverterFromConfig } from './codec/data-converter';
export { applyCollectorV8Profile, STARTUP_NODE_OPTIONS } from './v8-profile';
export { COLLECT_WORKFLOW, progressQuery, approveSignal, rejectSignal } from '../workflows/messages';
