export { ERROR_CODES, ShmkitError, isShmkitError, errnoToCode, errnoName } from './errors.js';
export type { ShmkitErrorCode, ShmkitErrorOptions } from './errors.js';
export { PACKAGE_IDS, objectName, isValidName } from './names.js';
export type { PackageToken } from './names.js';
export { Segment, SHM_DIR } from './segment.js';
export type { CreateOptions, OpenOptions, HeaderSpec, SegmentHeader } from './segment.js';
export { RobustMutex } from './mutex.js';
export type { LockResult } from './mutex.js';
export { futexWait, futexWake, ffiNoop, currentCpu } from './futex.js';
