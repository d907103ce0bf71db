// Frames and login codec (spec §4.2–4.7). Pure functions over Uint8Array; no I/O.
import { bad } from '../options.js';

export const HEADER = 8;
export const MSG_HEARTBEAT = 0;
export const MSG_LOGIN = 1;
export const MSG_LOGIN_RSP = 2;
export const MSG_CHECK_REQ = 0xff01;
export const MSG_CHECK_RSP = 0xff02;
export const CHECK_MAGIC = 0x50544b53;
export const ERROR_MSG_SIZE = 32;

export const roundUp8 = (x: number): number => (x + 7) & ~7;
export const blocks64 = (x: number): number => (x + 63) >>> 6;
export const u32 = (x: number): number => x >>> 0;
export const sd = (a: number, b: number): number => (a - b) | 0;
export const newer = (a: number, b: number): boolean => sd(a, b) > 0;
export const inRange = (x: number, lo: number, hi: number): boolean => sd(x, lo) >= 0 && sd(hi, x) >= 0;
const alignUp = (x: number, a: number): number => Math.ceil(x / a) * a;

export interface WireConfig {
  nameSize: number; loginUserDataSize: number; loginUserDataAlign: number;
  loginRspUserDataSize: number; loginRspUserDataAlign: number; byteOrder: 'little' | 'big';
}

/** Sizes and offsets of the login frames (§4.4–4.5); offsets are frame offsets. */
export interface LoginLayout {
  reqSize: number; reqFrame: number; rspSize: number; rspFrame: number;
  req: { userData: number; useShm: number; clientName: number; lastServer: number };
  rsp: { userData: number; status: number; serverName: number; errorMsg: number };
}

export function loginLayout(c: WireConfig): LoginLayout {
  const K = c.nameSize, U = c.loginUserDataSize, R = c.loginRspUserDataSize;
  const reqBody = alignUp(9 + U + 2 * K, Math.max(4, c.loginUserDataAlign));
  const rspBody = alignUp(41 + R + K, Math.max(4, c.loginRspUserDataAlign));
  const l: LoginLayout = {
    reqSize: 8 + reqBody, reqFrame: 8 + roundUp8(reqBody), rspSize: 8 + rspBody, rspFrame: 8 + roundUp8(rspBody),
    req: { userData: 16, useShm: 16 + U, clientName: 17 + U, lastServer: 17 + U + K },
    rsp: { userData: 16, status: 16 + R, serverName: 17 + R, errorMsg: 17 + R + K },
  };
  if (l.reqSize > 65535) throw bad('nameSize', `login request size ${l.reqSize} exceeds 65535`);
  if (l.rspSize > 65535) throw bad('nameSize', `login response size ${l.rspSize} exceeds 65535`);
  return l;
}

export function writeHeader(buf: Uint8Array, off: number, size: number, type: number, ack: number, little: boolean): void {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  dv.setUint16(off, size, little); dv.setUint16(off + 2, type, little); dv.setUint32(off + 4, ack >>> 0, little);
}

/** Heartbeat frame: `08 00 00 00 <ack>`. */
export function encodeHeartbeat(ack: number, little = true): Uint8Array {
  const b = new Uint8Array(8);
  writeHeader(b, 0, 8, MSG_HEARTBEAT, ack, little);
  return b;
}

/** A complete application frame with zero padding. */
export function encodeMessage(type: number, payload: Uint8Array, ack: number, little = true): Uint8Array {
  const size = HEADER + payload.length;
  const b = new Uint8Array(roundUp8(size));
  writeHeader(b, 0, size, type, ack, little);
  b.set(payload, HEADER);
  return b;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
function putString(b: Uint8Array, off: number, len: number, s: string): void {
  const bytes = enc.encode(s);
  b.set(bytes.subarray(0, len), off);
}
/** Bytes up to the first NUL (or `len`), as latin1-free ASCII text. */
export function getString(b: Uint8Array, off: number, len: number): string {
  let end = off;
  while (end < off + len && b[end] !== 0) end++;
  return dec.decode(b.subarray(off, end));
}

export interface LoginRequest {
  clientAck: number; clientSeqStart: number; clientSeqEnd: number;
  userData: Uint8Array; useShm: boolean; clientName: string; lastServerName: string;
}
export interface LoginResponse {
  serverAck: number; serverSeqStart: number; serverSeqEnd: number;
  userData: Uint8Array; status: number; serverName: string; errorMsg: string;
}

export function encodeLoginRequest(c: WireConfig, l: LoginLayout, r: LoginRequest): Uint8Array {
  const b = new Uint8Array(l.reqFrame);
  const little = c.byteOrder === 'little';
  writeHeader(b, 0, l.reqSize, MSG_LOGIN, r.clientAck, little);
  const dv = new DataView(b.buffer);
  dv.setUint32(8, r.clientSeqStart >>> 0, little); dv.setUint32(12, r.clientSeqEnd >>> 0, little);
  b.set(r.userData.subarray(0, c.loginUserDataSize), l.req.userData);
  b[l.req.useShm] = r.useShm ? 1 : 0;
  putString(b, l.req.clientName, c.nameSize - 1, r.clientName);
  putString(b, l.req.lastServer, c.nameSize - 1, r.lastServerName);
  return b;
}

/** Decodes a complete request frame (the caller checked size and type). Names get byte K-1 forced to NUL. */
export function decodeLoginRequest(c: WireConfig, l: LoginLayout, b: Uint8Array): LoginRequest {
  const little = c.byteOrder === 'little';
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return {
    clientAck: dv.getUint32(4, little), clientSeqStart: dv.getUint32(8, little), clientSeqEnd: dv.getUint32(12, little),
    userData: b.slice(l.req.userData, l.req.userData + c.loginUserDataSize), useShm: b[l.req.useShm] !== 0,
    clientName: getString(b, l.req.clientName, c.nameSize - 1),
    lastServerName: getString(b, l.req.lastServer, c.nameSize - 1),
  };
}

export function encodeLoginResponse(c: WireConfig, l: LoginLayout, r: LoginResponse): Uint8Array {
  const b = new Uint8Array(l.rspFrame);
  const little = c.byteOrder === 'little';
  const rejected = r.status === 2;
  writeHeader(b, 0, l.rspSize, MSG_LOGIN_RSP, rejected ? 0 : r.serverAck, little);
  const dv = new DataView(b.buffer);
  if (!rejected) { dv.setUint32(8, r.serverSeqStart >>> 0, little); dv.setUint32(12, r.serverSeqEnd >>> 0, little); }
  b.set(r.userData.subarray(0, c.loginRspUserDataSize), l.rsp.userData);
  b[l.rsp.status] = r.status;
  putString(b, l.rsp.serverName, c.nameSize - 1, r.serverName);
  if (r.status !== 0 && r.status !== 1) putString(b, l.rsp.errorMsg, ERROR_MSG_SIZE - 1, r.errorMsg);
  return b;
}

/** Decodes a complete response frame; returns undefined if size or type are not the configured ones. */
export function decodeLoginResponse(c: WireConfig, l: LoginLayout, b: Uint8Array): LoginResponse | undefined {
  const little = c.byteOrder === 'little';
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length < l.rspFrame || dv.getUint16(0, little) !== l.rspSize || dv.getUint16(2, little) !== MSG_LOGIN_RSP) return undefined;
  return {
    serverAck: dv.getUint32(4, little), serverSeqStart: dv.getUint32(8, little), serverSeqEnd: dv.getUint32(12, little),
    userData: b.slice(l.rsp.userData, l.rsp.userData + c.loginRspUserDataSize), status: b[l.rsp.status]!,
    serverName: getString(b, l.rsp.serverName, c.nameSize - 1),
    errorMsg: getString(b, l.rsp.errorMsg, ERROR_MSG_SIZE),
  };
}

export interface CheckFrame {
  type: number; version: number; flags: number; shmQueueSize: number; pid: number; largeMaxSize: number;
  result: number; nonceLo: number; nonceHi: number;
}
/** CHECK_REQ (40 bytes) / CHECK_RSP (48 bytes), always little-endian (§4.7). */
export function encodeCheck(f: Omit<CheckFrame, 'version'>): Uint8Array {
  const rsp = f.type === MSG_CHECK_RSP;
  const b = new Uint8Array(rsp ? 48 : 40);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, b.length, true); dv.setUint16(2, f.type, true);
  dv.setUint32(8, CHECK_MAGIC, true); dv.setUint16(12, 1, true); dv.setUint16(14, f.flags, true);
  dv.setUint32(16, f.shmQueueSize, true); dv.setUint32(20, f.pid, true); dv.setUint32(24, f.largeMaxSize, true);
  if (rsp) { dv.setUint32(28, f.result, true); dv.setUint32(32, f.nonceLo, true); dv.setUint32(36, f.nonceHi, true); }
  return b;
}
export function decodeCheck(b: Uint8Array): CheckFrame | undefined {
  if (b.length < 40) return undefined;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const type = dv.getUint16(2, true);
  if (dv.getUint32(8, true) !== CHECK_MAGIC || dv.getUint16(12, true) !== 1) return undefined;
  if (type === MSG_CHECK_RSP && b.length < 48) return undefined;
  const rsp = type === MSG_CHECK_RSP;
  return {
    type, version: 1, flags: dv.getUint16(14, true), shmQueueSize: dv.getUint32(16, true), pid: dv.getUint32(20, true),
    largeMaxSize: dv.getUint32(24, true), result: rsp ? dv.getUint32(28, true) : 0,
    nonceLo: rsp ? dv.getUint32(32, true) : 0, nonceHi: rsp ? dv.getUint32(36, true) : 0,
  };
}
