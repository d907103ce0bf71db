import { readFileSync } from 'node:fs';
import { processLiveness, selfIdentity, type Liveness } from '@shmkit/shm-core';
/** Byte layout of rmp's two segments, layout version 1.0 (spec §4). Offsets in bytes. */
export const LAYOUT_MAJOR = 1;
export const LAYOUT_MINOR = 0;
export const KIND_RING = 1;
export const KIND_READERS = 2;

export const RING_DATA_OFFSET = 4096;
export const RING = {
  ringSize: 64, maxPayload: 72, mutexSize: 76, libcTag: 80, maxReaders: 84, channelId: 88,
  defaultNotifier: 96, udpGroup: 100, udpPort: 104,
  freePos: 128, reserveEnd: 136, commitSeq: 144, writerLock: 192,
  backpressureEvents: 256, overwrites: 264, notifications: 272, writerDeaths: 280,
  abandonedBytes: 288, waitTimeouts: 296, deadReaderSkips: 304,
} as const;

export const READERS = {
  maxReaders: 64, slotStride: 68, slotsOffset: 72, mutexSize: 76, libcTag: 80, channelId: 88, ringSize: 96,
  allocHigh: 128, activeEpoch: 132, parked: 136, expiredReads: 144, slotReclaims: 152, ext: 192,
} as const;
export const SLOTS_OFFSET = 256;
export const SLOT_STRIDE = 128;
export const SLOT = {
  position: 0, isActive: 8, incarnation: 12, doorbell: 16, wakeKind: 32, pid: 36, threadId: 40,
  pidNs: 44, startTime: 48, expiredCount: 56, lock: 64,
} as const;

export const PAD_FLAG = 0x8000_0000;
export const BAD_FLAG = 0x4000_0000;
export const LEN_MASK = 0x3fff_ffff;
export const MIN_RING = 64;
export const MAX_RING = 2 ** 30;
export const MAX_READERS = 1024;

export const NOTIFIER_CODE = { none: 0, fd: 1, 'udp-multicast': 2 } as const;
export const WAKE_KIND = { none: 0, fifo: 1, udp: 2 } as const;

export function ringTotalSize(ringSize: number): number { return RING_DATA_OFFSET + ringSize; }
export function readersTotalSize(maxReaders: number): number { return SLOTS_OFFSET + SLOT_STRIDE * maxReaders; }
export function recSize(len: number): number { return 8 + ((len + 7) & ~7); }

/** `sizeof(pthread_mutex_t)` of this platform (40 on x86-64 glibc/musl, 48 on aarch64 glibc).
 *  shm-core's `nativeMutexSize()` is not exported on this branch; switch to it when it is. */
export function nativeMutexSize(): number { return process.arch === 'arm64' && libcTag() === 1 ? 48 : 40; }

let libc: number | undefined;
/** 1 = glibc, 2 = musl (musl if an ld-musl loader is mapped). */
export function libcTag(): number {
  if (libc === undefined) {
    try { libc = /ld-musl/.test(readFileSync('/proc/self/maps', 'utf8')) ? 2 : 1; } catch { libc = 1; }
  }
  return libc;
}

let selfId: { startTime: number; pidNs: number } | undefined;
/** This process's start time and pid-namespace inode (0 when unknown) for a reader slot (§4.4),
 *  from shm-core's `selfIdentity` (read once per process). */
export function selfSlotIdentity(): { startTime: number; pidNs: number } {
  if (selfId === undefined) { const id = selfIdentity(); selfId = { startTime: id.startTime, pidNs: (id.pidNs ?? 0) >>> 0 }; }
  return selfId;
}

/** shm-core's `processLiveness` for a (pid, startTime) read from shared memory (§5.17 usage): a start
 *  time of 0 is "not recorded" (pid only); a pid outside 1 .. 2^30 - 1 (garbage or never written) is
 *  'unknown' rather than an error. */
export function peerLiveness(pid: number, startTime: bigint): Liveness {
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid > 0x3fffffff) return 'unknown';
  if (startTime <= 0n || startTime > BigInt(Number.MAX_SAFE_INTEGER)) return processLiveness({ pid });
  return processLiveness({ pid, startTime: Number(startTime) });
}
