import { readFileSync } from 'node:fs';
import { defineLayout, processLiveness, selfIdentity, type Liveness } from '@shmkit/shm-core';
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

// ---- the tables of spec §4.3 / §4.4 as shm-core layouts (describe() reproduces them; §8 test 2) ----
const u64 = (offset: number) => ({ type: 'u64', offset }) as const;
const u32 = (offset: number) => ({ type: 'u32', offset }) as const;
const HDR = { type: 'bytes', offset: 0, length: 64, doc: 'common header (shm-core §4.1)' } as const;
/** Ring segment bytes 0 … 4095 (§4.3); the ring data follows at 4096. */
export const RING_LAYOUT = defineLayout('rmp.ring', {
  header: HDR,
  ringSize: { type: 'u64', offset: 64, doc: 'S, power of two' },
  maxPayload: u32(72), mutexSize: u32(76),
  libcTag: { type: 'u32', offset: 80, doc: '1 glibc, 2 musl' },
  maxReaders: u32(84), channelId: u64(88),
  defaultNotifier: { type: 'u32', offset: 96, doc: '0 none, 1 fd, 2 udp-multicast' },
  udpGroup: u32(100),
  udpPort: { type: 'u16', offset: 104 },
  reserved0: { type: 'bytes', offset: 106, length: 22 },
  freePos: { type: 'u64', offset: 128, doc: 'commit counter' },
  reserveEnd: u64(136), commitSeq: u64(144),
  reserved1: { type: 'bytes', offset: 152, length: 40 },
  writerLock: { type: 'mutex', offset: 192, length: 64 },
  backpressureEvents: u64(256), overwrites: u64(264), notifications: u64(272), writerDeaths: u64(280),
  abandonedBytes: u64(288), waitTimeouts: u64(296), deadReaderSkips: u64(304),
  reserved2: { type: 'bytes', offset: 312, length: 3784 },
}, { size: RING_DATA_OFFSET });
/** Reader slot (§4.4, 128 bytes). */
export const SLOT_LAYOUT = defineLayout('rmp.slot', {
  position: u64(0), isActive: u32(8), incarnation: u32(12),
  doorbell: { type: 'doorbell', offset: 16 },
  wakeKind: { type: 'u32', offset: 32, doc: '0 none, 1 fifo, 2 udp' },
  pid: u32(36), threadId: u32(40), pidNs: u32(44), startTime: u64(48),
  expiredCount: u64(56),
  lock: { type: 'mutex', offset: 64, length: 64 },
}, { size: SLOT_STRIDE });
/** Reader-info segment header, bytes 0 … 255 (§4.4); slot i at 256 + 128 × i. */
export const READERS_LAYOUT = defineLayout('rmp.readers', {
  header: HDR,
  maxReaders: u32(64), slotStride: u32(68), slotsOffset: u32(72), mutexSize: u32(76),
  libcTag: u32(80),
  reserved0: { type: 'bytes', offset: 84, length: 4 },
  channelId: u64(88), ringSize: u64(96),
  reserved1: { type: 'bytes', offset: 104, length: 24 },
  allocHigh: u32(128), activeEpoch: u32(132),
  parked: { type: 'i32', offset: 136 },
  reserved2: { type: 'bytes', offset: 140, length: 4 },
  expiredReads: u64(144), slotReclaims: u64(152),
  reserved3: { type: 'bytes', offset: 160, length: 32 },
  ext: { type: 'u64', offset: 192, count: 8 },
}, { size: SLOTS_OFFSET });
