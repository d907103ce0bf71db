export { ERROR_CODES, ShmkitError, isShmkitError, errnoToCode, errnoName } from './errors.js';
export type { ShmkitErrorCode, ShmkitErrorOptions } from './errors.js';
export { PACKAGES, USER_NAME_RE, PART_RE, SHM_DIR, objectName, objectPath, parseObjectName, validateName, validatePart, isValidName } from './names.js';
export type { PackageToken, ParsedObjectName } from './names.js';
export { Segment } from './segment.js';
export type { CreateOptions, OpenOptions, HeaderSpec, SegmentHeader } from './segment.js';
export { RobustMutex } from './mutex.js';
export type { LockResult } from './mutex.js';
export { futexWait, futexWake, ffiNoop, currentCpu } from './futex.js';
export { WakeHandle, Doorbell, DoorbellState, DOORBELL_SIZE } from './wake.js';
export type { WakeKind, WaitOptions } from './wake.js';
export { watchFd, pollFd, dupFd, closeFd, fstatFd, tcpPeerUid } from './fd.js';
export type { FdWatcher, FdEvent } from './fd.js';
export { UnixSocket, UnixServer, sendFds, recvFds, peerCredentials, MAX_FDS_PER_MESSAGE } from './sock.js';
export type { UnixSocketType, PeerCredentials, RecvResult } from './sock.js';
export { processLiveness, parseProcStat, processInfo, selfIdentity, watchProcessExit } from './liveness.js';
export type { Liveness, ProcessIdentity } from './liveness.js';
export { NodeLock, flockFd } from './nodelock.js';
// --- core-segment ---
export { HEADER_SIZE, COMMON_HEADER_SIZE, INIT_READY, INIT_DESTROYED } from './segment.js';
export type { SegmentKind, FromFdOptions, FileCreateOptions, FileOpenOptions, InPlaceTarget, InPlaceOptions } from './segment.js';
export { lockRangeFd } from './rangelock.js';
export type { LockOp } from './rangelock.js';
// --- core-segment ---
// --- core-segment (layout) ---
export { defineLayout } from './layout.js';
export { COMMON_HEADER } from './header.js';
export type { ScalarType, FieldSpec, Layout, LayoutField, IntField, BigField, F64Field, BytesField, FieldArray, Bound, BoundReadonly, ReadonlyIntField, ReadonlyBigField, ReadonlyMutex, ReadonlyDoorbell } from './layout.js';
// --- core-segment (layout) ---
// --- core-segment (introspect) ---
export { listSegments, readHeader } from './introspect.js';
export type { ObjectKind, ObjectInfo, ListOptions, Introspector, InstanceRef, InspectResult, CounterSnapshot, CounterReader, InstanceLiveness } from './introspect.js';
// --- core-segment (introspect) ---
export { Waiter, DoorbellGroup } from './waiter.js';
export type { WaitMode, WaiterOptions, WaitConfig, WaiterStats } from './waiter.js';
export type { WakeWatcher } from './wake.js';
export type { FutexWaitResult } from './futex.js';
// --- core-utils ---
export { fullFence, randomNonce64 } from './misc.js';
export { linkObject, unlinkObject, listObjectNames, watchObjects } from './objects.js';
export type { ObjectWatch } from './objects.js';
// --- core-utils ---
// --- core-mutex ---
export { nativeMutexSize } from './mutex.js';
export type { NameRejectReason } from './names.js';
// --- core-mutex ---
