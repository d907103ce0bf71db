import type { WaitConfig } from '@shmkit/shm-core';
import { TcpshmError } from './errors.js';

/** Defaults of §3.2. */
export const TCPSHM_DEFAULTS = Object.freeze({
  nameSize: 16, loginUserDataSize: 1, loginUserDataAlign: 1, loginRspUserDataSize: 1, loginRspUserDataAlign: 1,
  byteOrder: 'little' as const, shmQueueSize: 1_048_576, shmNaming: 'reference' as const,
  tcpQueueSize: 1_048_576, tcpRecvBufInitSize: 65_536, tcpRecvBufMaxSize: 1_048_576, maxMessageSize: 65_535,
  tcpNoDelay: true, sendHighWaterMark: 1_048_576, heartbeatIntervalMs: 3000, connectionTimeoutMs: 10_000,
  ackDelayMs: 5, durability: 'none' as const, compaction: 'crash-safe' as const, nameRule: 'strict' as const,
  fileMode: 0o600, dirMode: 0o700, shmMode: 0o600, newConnectionTimeoutMs: 3000, maxPendingLogins: 5,
  loginTimeoutMs: 10_000, shmCheckTimeoutMs: 1000,
});

/** Rejection texts of §4.6, spelled as the reference spells them. */
export const TCPSHM_REJECT_TEXT = Object.freeze({
  invalidName: 'Invalid client name', rejected: 'Login Reject', maxClients: 'Max client cnt exceeded',
  alreadyLoggedOn: 'Already loggned on', systemError: 'System error', tcpDisabled: 'Tcp disabled',
  shmDisabled: 'Shm disabled', shmRequiresSameHost: 'Shm requires same host',
});

export interface TcpshmWireOptions {
  nameSize?: number;
  loginUserDataSize?: number;
  loginUserDataAlign?: 1 | 2 | 4 | 8;
  loginRspUserDataSize?: number;
  loginRspUserDataAlign?: 1 | 2 | 4 | 8;
  byteOrder?: 'little' | 'big';
  shmQueueSize?: number;
  shmNaming?: 'reference' | 'shmkit';
  largeMessages?: false | { maxSize: number };
}

/** shm-core's `WaitConfig` (ARCH §4), re-exported unchanged. */
export type { WaitConfig };

export interface TcpshmCommonOptions extends TcpshmWireOptions {
  name: string;
  ptcpDir: string;
  tcpQueueSize?: number;
  tcpRecvBufInitSize?: number;
  tcpRecvBufMaxSize?: number;
  maxMessageSize?: number;
  tcpNoDelay?: boolean;
  sendHighWaterMark?: number;
  heartbeatIntervalMs?: number;
  connectionTimeoutMs?: number;
  ackDelayMs?: number | false;
  durability?: 'none' | 'msync' | 'fsync-on-push';
  compaction?: 'crash-safe' | 'reference';
  wait?: WaitConfig;
  shmDriver?: 'auto' | 'manual';
  nameRule?: 'strict' | 'permissive';
  fileMode?: number;
  dirMode?: number;
  shmMode?: number;
}

/** Fully resolved options (internal). */
export interface Resolved {
  name: string; ptcpDir: string;
  nameSize: number; loginUserDataSize: number; loginUserDataAlign: number;
  loginRspUserDataSize: number; loginRspUserDataAlign: number; byteOrder: 'little' | 'big';
  shmQueueSize: number; shmNaming: 'reference' | 'shmkit'; largeMessages: false | { maxSize: number };
  tcpQueueSize: number; tcpRecvBufInitSize: number; tcpRecvBufMaxSize: number; maxMessageSize: number;
  tcpNoDelay: boolean; sendHighWaterMark: number; heartbeatIntervalMs: number; connectionTimeoutMs: number;
  ackDelayMs: number | false; durability: 'none' | 'msync' | 'fsync-on-push'; compaction: 'crash-safe' | 'reference';
  wait: Required<WaitConfig>; shmDriver: 'auto' | 'manual'; nameRule: 'strict' | 'permissive';
  fileMode: number; dirMode: number; shmMode: number;
}

/** Payload bytes of each non-final fragment (record size 65472 = 1023 x 64 = 8184 x 8). */
export const FRAG_PAYLOAD = 65464;
/** Framed TCP bytes of a large payload of `len` bytes (k padded records). */
export function largeFramedSize(len: number): number {
  const k = Math.max(1, Math.ceil(len / FRAG_PAYLOAD));
  return (k - 1) * (FRAG_PAYLOAD + 8) + ((len - (k - 1) * FRAG_PAYLOAD + 8 + 7) & ~7);
}

export function bad(option: string, why: string): TcpshmError {
  return new TcpshmError('ERR_INVALID_ARGUMENT', `option ${option}: ${why}`, { details: { option } });
}
export function intIn(o: Record<string, unknown>, key: string, def: number, lo: number, hi: number): number {
  const v = o[key] ?? def;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) throw bad(key, `must be an integer in [${lo}, ${hi}], got ${String(v)}`);
  return v;
}
function oneOf<T extends string>(o: Record<string, unknown>, key: string, def: T, values: readonly T[]): T {
  const v = o[key] ?? def;
  if (!values.includes(v as T)) throw bad(key, `must be one of ${values.join(', ')}`);
  return v as T;
}
const ALIGNS = [1, 2, 4, 8];

export function resolveCommon(opts: TcpshmCommonOptions): Resolved {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    throw new TcpshmError('ERR_UNSUPPORTED_PLATFORM', 'tcpshm-queue needs a little-endian host');
  }
  if (typeof opts !== 'object' || opts === null) throw bad('options', 'must be an object');
  const o = opts as unknown as Record<string, unknown>;
  const D = TCPSHM_DEFAULTS;
  const nameSize = intIn(o, 'nameSize', D.nameSize, 2, 256);
  const loginUserDataSize = intIn(o, 'loginUserDataSize', D.loginUserDataSize, 1, 4096);
  const loginUserDataAlign = intIn(o, 'loginUserDataAlign', D.loginUserDataAlign, 1, 8);
  if (!ALIGNS.includes(loginUserDataAlign) || loginUserDataSize % loginUserDataAlign !== 0) throw bad('loginUserDataAlign', 'must be 1/2/4/8 and divide the size');
  const loginRspUserDataSize = intIn(o, 'loginRspUserDataSize', D.loginRspUserDataSize, 1, 4096);
  const loginRspUserDataAlign = intIn(o, 'loginRspUserDataAlign', D.loginRspUserDataAlign, 1, 8);
  if (!ALIGNS.includes(loginRspUserDataAlign) || loginRspUserDataSize % loginRspUserDataAlign !== 0) throw bad('loginRspUserDataAlign', 'must be 1/2/4/8 and divide the size');
  const shmQueueSize = intIn(o, 'shmQueueSize', D.shmQueueSize, 128, 2 ** 30);
  const nBlocks = shmQueueSize / 64;
  if (shmQueueSize % 64 !== 0 || (nBlocks & (nBlocks - 1)) !== 0) throw bad('shmQueueSize', 'must be 64 x a power of two');
  const tcpQueueSize = intIn(o, 'tcpQueueSize', D.tcpQueueSize, 64, 2 ** 31 - 8);
  if (tcpQueueSize % 8 !== 0) throw bad('tcpQueueSize', 'must be a multiple of 8');
  const tcpRecvBufInitSize = intIn(o, 'tcpRecvBufInitSize', D.tcpRecvBufInitSize, 64, 2 ** 31);
  const tcpRecvBufMaxSize = intIn(o, 'tcpRecvBufMaxSize', D.tcpRecvBufMaxSize, 64, 2 ** 31);
  if (tcpRecvBufMaxSize < tcpRecvBufInitSize) throw bad('tcpRecvBufMaxSize', 'must be >= tcpRecvBufInitSize');
  const maxMessageSize = intIn(o, 'maxMessageSize', D.maxMessageSize, 16, 65535);
  const durability = oneOf(o, 'durability', D.durability, ['none', 'msync', 'fsync-on-push']);
  if (durability !== 'none' && tcpQueueSize % 512 > 488) throw bad('tcpQueueSize', 'in durable modes tcpQueueSize % 512 must be <= 488');
  let largeMessages: false | { maxSize: number } = false;
  if (o['largeMessages'] !== undefined && o['largeMessages'] !== false) {
    const lm = o['largeMessages'] as Record<string, unknown>;
    const maxSize = intIn(lm, 'maxSize', 0, 1, 2 ** 30);
    if (maxMessageSize < 65472) throw bad('largeMessages', 'needs maxMessageSize >= 65472');
    const framed = largeFramedSize(maxSize);
    const q = (o['tcpQueueSize'] ?? D.tcpQueueSize) as number, rb = (o['tcpRecvBufMaxSize'] ?? D.tcpRecvBufMaxSize) as number;
    if (framed > q) throw bad('largeMessages', `maxSize needs ${framed} framed bytes, more than tcpQueueSize ${q}`);
    if (framed > rb) throw bad('largeMessages', `maxSize needs ${framed} framed bytes, more than tcpRecvBufMaxSize ${rb}`);
    largeMessages = { maxSize };
  }
  const ack = o['ackDelayMs'] ?? D.ackDelayMs;
  if (ack !== false && (typeof ack !== 'number' || !(ack >= 0))) throw bad('ackDelayMs', 'must be a number >= 0 or false');
  const w = (o['wait'] ?? {}) as Record<string, unknown>;
  const wait: Required<WaitConfig> = {
    mode: oneOf(w, 'mode', 'hybrid', ['spin', 'hybrid', 'block']),
    spinBudgetUs: intIn(w, 'spinBudgetUs', 50, 0, 10_000_000),
    spinSliceMs: intIn(w, 'spinSliceMs', 1, 0, 10_000),
    recheckMs: intIn(w, 'recheckMs', 100, 1, 3_600_000),
  };
  if (typeof o['ptcpDir'] !== 'string' || o['ptcpDir'] === '') throw bad('ptcpDir', 'must be a non-empty string');
  const r: Resolved = {
    name: o['name'] as string, ptcpDir: o['ptcpDir'] as string,
    nameSize, loginUserDataSize, loginUserDataAlign, loginRspUserDataSize, loginRspUserDataAlign,
    byteOrder: oneOf(o, 'byteOrder', D.byteOrder as 'little' | 'big', ['little', 'big']),
    shmQueueSize, shmNaming: oneOf(o, 'shmNaming', D.shmNaming as 'reference' | 'shmkit', ['reference', 'shmkit']),
    largeMessages, tcpQueueSize, tcpRecvBufInitSize, tcpRecvBufMaxSize, maxMessageSize,
    tcpNoDelay: (o['tcpNoDelay'] ?? D.tcpNoDelay) !== false,
    sendHighWaterMark: intIn(o, 'sendHighWaterMark', D.sendHighWaterMark, 0, 2 ** 40),
    heartbeatIntervalMs: intIn(o, 'heartbeatIntervalMs', D.heartbeatIntervalMs, 1, 2 ** 31),
    connectionTimeoutMs: intIn(o, 'connectionTimeoutMs', D.connectionTimeoutMs, 1, 2 ** 31),
    ackDelayMs: ack as number | false, durability,
    compaction: oneOf(o, 'compaction', D.compaction as 'crash-safe' | 'reference', ['crash-safe', 'reference']),
    wait, shmDriver: oneOf(o, 'shmDriver', 'auto', ['auto', 'manual']),
    nameRule: oneOf(o, 'nameRule', D.nameRule as 'strict' | 'permissive', ['strict', 'permissive']),
    fileMode: intIn(o, 'fileMode', D.fileMode, 0, 0o7777), dirMode: intIn(o, 'dirMode', D.dirMode, 0, 0o7777),
    shmMode: intIn(o, 'shmMode', D.shmMode, 0, 0o7777),
  };
  return r;
}
