import { topicError } from './errors.js';

/** Topic record format (spec §4.2). */
export const RECORD_VERSION = 1;
export const HEADER_FIXED = 12;
export const FLAG_POST_TO_DESCENDANTS = 1;
export const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const TWO32 = 2 ** 32;
/** Highest u32 word of a generation whose value is still below 2^53. */
const HI_SAFE = 0x1f_ffff;

export function align8(n: number): number { return (n + 7) & ~7; }
/** Bytes before the payload for a topic of `topicBytes` UTF-8 bytes. */
export function headerSize(topicBytes: number): number { return align8(HEADER_FIXED + topicBytes); }

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** 5.2 step 1: ERR_TOPIC_INVALID {reason} unless a well-formed string without U+0000 of at most `max` UTF-8 bytes. */
export function checkTopic(topic: unknown, max: number): number {
  if (typeof topic !== 'string') throw topicError('ERR_TOPIC_INVALID', `topic must be a string, got ${typeof topic}`, { reason: 'type' });
  if (!(topic as unknown as { isWellFormed(): boolean }).isWellFormed()) throw topicError('ERR_TOPIC_INVALID', 'topic contains a lone surrogate', { reason: 'surrogate' });
  if (topic.includes('\u0000')) throw topicError('ERR_TOPIC_INVALID', 'topic contains U+0000', { reason: 'nul' });
  const n = Buffer.byteLength(topic, 'utf8');
  if (n > max) throw topicError('ERR_TOPIC_INVALID', `topic is ${n} UTF-8 bytes, maxTopicBytes is ${max}`, { reason: 'length', size: n, max });
  return n;
}

/** Validated topic → its UTF-8 bytes (a fresh array; used by publishers and subscriptions). */
export function encodeTopic(topic: string, max: number): Uint8Array {
  checkTopic(topic, max);
  return utf8.encode(topic);
}
/** Encode into `dst` (at least the byte length); returns the byte length. */
export function encodeTopicInto(topic: string, dst: Uint8Array): number { return utf8.encodeInto(topic, dst).written; }

/** Strict UTF-8 decode; undefined when the bytes are not valid UTF-8. */
export function decodeTopic(bytes: Uint8Array): string | undefined {
  try { return strictUtf8.decode(bytes); } catch { return undefined; }
}

/** The bytes as a one-char-per-byte string: the index key (byte comparison, '/' stays at its byte index). */
export function byteKey(bytes: Uint8Array): string { return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1'); }

/** Write the 12-byte fixed header plus topic and zero pad at `at` of `dst`; returns H. */
export function writeHeader(dst: Uint8Array, at: number, stamp: number, flags: number, topic: Uint8Array, topicLen: number): number {
  const lo = stamp % TWO32, hi = Math.floor(stamp / TWO32);
  dst[at] = lo & 255; dst[at + 1] = (lo >>> 8) & 255; dst[at + 2] = (lo >>> 16) & 255; dst[at + 3] = lo >>> 24;
  dst[at + 4] = hi & 255; dst[at + 5] = (hi >>> 8) & 255; dst[at + 6] = (hi >>> 16) & 255; dst[at + 7] = hi >>> 24;
  dst[at + 8] = RECORD_VERSION;
  dst[at + 9] = flags;
  dst[at + 10] = topicLen & 255; dst[at + 11] = topicLen >>> 8;
  if (topicLen > 0) dst.set(topicLen === topic.length ? topic : topic.subarray(0, topicLen), at + HEADER_FIXED);
  const H = headerSize(topicLen);
  dst.fill(0, at + HEADER_FIXED + topicLen, at + H);
  return H;
}

/**
 * A validated, encoded topic ready for publishing: the record header after the 8 stamp bytes (version,
 * flags 0, topicLen, topic bytes, zero pad) as bytes and as u32 words, so that a publish writes the
 * header with a few word stores instead of encoding the topic again (5.2 step 2).
 */
export interface EncodedTopic {
  readonly topic: string;
  readonly bytes: Uint8Array;
  /** H = align8(12 + topicLen). */
  readonly H: number;
  /** Bytes 8 .. H of the record with flags 0. */
  readonly tail: Uint8Array;
  /** The same as little-endian u32 words ((H - 8) / 4 of them); word 0 carries the flags in bits 8..15. */
  readonly words: Uint32Array;
}
export function encodedTopic(topic: string, max: number): EncodedTopic {
  const bytes = encodeTopic(topic, max);
  const H = headerSize(bytes.length);
  const tail = new Uint8Array(H - 8);
  tail[0] = RECORD_VERSION; tail[2] = bytes.length & 255; tail[3] = bytes.length >>> 8;
  tail.set(bytes, 4);
  return { topic, bytes, H, tail, words: new Uint32Array(tail.buffer, 0, tail.length >> 2) };
}
/** Write the header of `t` (stamp as u32 halves) at the 8-aligned byte offset `at` of `dst`; returns H. */
export function putHeader(dst: Uint8Array, at: number, lo: number, hi: number, flags: number, t: EncodedTopic): number {
  dst[at] = lo & 255; dst[at + 1] = (lo >>> 8) & 255; dst[at + 2] = (lo >>> 16) & 255; dst[at + 3] = lo >>> 24;
  dst[at + 4] = hi & 255; dst[at + 5] = (hi >>> 8) & 255; dst[at + 6] = (hi >>> 16) & 255; dst[at + 7] = hi >>> 24;
  dst.set(t.tail, at + 8);
  dst[at + 9] = flags;
  return t.H;
}
/** As putHeader, through a u32 view `d32` of the same memory (`at` a multiple of 4). */
export function putHeader32(d32: Uint32Array, at: number, lo: number, hi: number, flags: number, t: EncodedTopic): number {
  const w = t.words, n = w.length;
  let i = at >>> 2;
  d32[i] = lo; d32[i + 1] = hi; d32[i + 2] = w[0]! | (flags << 8);
  i += 2;
  for (let k = 1; k < n; k++) d32[i + k] = w[k]!;
  return t.H;
}

/** Copy `src[from, from + n)` to `dst` at `at`: a byte loop for runs up to 16 bytes (no view allocated), else one set. */
export function copyBytes(dst: Uint8Array, at: number, src: Uint8Array, from: number, n: number): void {
  if (n > 16) dst.set(from === 0 && n === src.length ? src : src.subarray(from, from + n), at);
  else for (let k = 0; k < n; k++) dst[at + k] = src[from + k]!;
}

/** Encode a whole record (tests, coalescing staging). */
export function encodeRecord(stamp: number, flags: number, topic: Uint8Array, payload: Uint8Array): Uint8Array {
  const H = headerSize(topic.length);
  const out = new Uint8Array(H + payload.length);
  writeHeader(out, 0, stamp, flags, topic, topic.length);
  out.set(payload, H);
  return out;
}

export interface DecodedRecord { generation: number; version: number; flags: number; topicBytes: Uint8Array; topic: string | undefined; payload: Uint8Array }
/** Parse a record (undefined when malformed per 5.5 inspect step 1). */
export function decodeRecord(rec: Uint8Array): DecodedRecord | undefined {
  if (rec.length < HEADER_FIXED || rec[8] !== RECORD_VERSION || (rec[9]! & 0xfe) !== 0) return undefined;
  const tl = rec[10]! | (rec[11]! << 8);
  const H = headerSize(tl);
  if (H > rec.length) return undefined;
  const topicBytes = rec.subarray(HEADER_FIXED, HEADER_FIXED + tl);
  return { generation: readStamp(rec, 0), version: rec[8]!, flags: rec[9]!, topicBytes, topic: decodeTopic(topicBytes), payload: rec.subarray(H) };
}

/** u64 LE at `at`, read as two u32; values ≥ 2^53 clamp to 2^53 − 1. */
export function readStamp(v: Uint8Array, at: number): number {
  const lo = (v[at]! | (v[at + 1]! << 8) | (v[at + 2]! << 16) | (v[at + 3]! << 24)) >>> 0;
  const hi = (v[at + 4]! | (v[at + 5]! << 8) | (v[at + 6]! << 16) | (v[at + 7]! << 24)) >>> 0;
  if (hi > HI_SAFE) return MAX_SAFE;
  return hi * TWO32 + lo;
}

export type Matching = 'segment' | 'prefix';

/** `anc(A, D)`: A is D or an ancestor of D (5.3), on byte keys. */
export function anc(a: string, d: string, mode: Matching): boolean {
  if (mode === 'prefix') return d.startsWith(a);
  if (a.length === 0 || a === d) return true;
  if (!d.startsWith(a)) return false;
  return a.charCodeAt(a.length - 1) === 0x2f || d.charCodeAt(a.length) === 0x2f;
}

/** The delivery rule of 5.3 for one subscription (R, hd) and one message (W, pd). */
export function matches(r: string, hd: boolean, w: string, pd: boolean, mode: Matching): boolean {
  return r === w || (pd && anc(w, r, mode)) || (hd && anc(r, w, mode));
}
