export { RmpChannel } from './channel.js';
export type { NotifierKind, Role, RmpCreateOptions, RmpOpenOptions, RmpChannelStats } from './channel.js';
export { RmpWriter } from './writer.js';
export type { BackpressureInfo, BackpressureDecision, BackpressurePolicy, RmpWriterOptions, RmpWriterStats, FillFn } from './writer.js';
export { RmpReader, SKIP } from './reader.js';
export type { RmpReaderOptions, OverrunInfo, RmpMessage, MessageMeta, ViewHandler, RmpReaderStats } from './reader.js';
export { RmpError, RMP_ERROR_CODES } from './errors.js';
export type { RmpErrorCode } from './errors.js';
export { ShmkitError, isShmkitError } from '@shmkit/shm-core';
// WaitMode / WaitConfig: shm-core's types (shm-core §3.11).
export type { WaitMode, WaitConfig } from '@shmkit/shm-core';
