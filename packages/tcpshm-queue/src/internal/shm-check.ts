// The SHM same-host/capability check (§4.7, §5.11), shmkit ↔ shmkit only.
import { randomBytes } from 'node:crypto';
import { TcpshmError } from '../errors.js';
import type { Resolved } from '../options.js';
import type { TcpshmConnection } from '../connection.js';
import type { Driver } from './driver.js';
import { createDataChannel, createSpaceChannel, dataSignaller, spaceSignaller } from './shm-pair.js';
import { decodeCheck, encodeCheck, MSG_CHECK_REQ, MSG_CHECK_RSP } from './wire.js';
import type { WakeHandle } from '@shmkit/shm-core';

export interface ShmCheckResult {
  outcome: 'verified' | 'unsupported' | 'not-same-host' | 'config-mismatch' | 'off';
  peerKind: 'shmkit' | 'reference' | 'unknown';
  effectiveWaitMode: 'spin' | 'hybrid' | 'block';
}

/** The peer parks on `.data` of our send ring: our pushes signal it when it says it is asleep. */
function wireSignal(conn: TcpshmConnection, sender: string, receiver: string): void {
  conn.producer!.setPeerWake(dataSignaller(sender, receiver));
}
/** Both sides can park (§5.12, producer mirror): this side's producer waits on `.space` of its send ring,
 *  and this side's consumer signals the peer's `.space` (of our receive ring) when a pop frees space. */
function wireSpace(conn: TcpshmConnection, driver: Driver): void {
  conn.consumer!.setPeerWake(spaceSignaller(conn.remoteName, conn.localName));
  driver.setSpaceChannel(conn, createSpaceChannel(conn.localName, conn.remoteName));
}

export class ShmCheckClient {
  #o: Resolved; #conn: TcpshmConnection; #mode: 'off' | 'try' | 'require'; #timeoutMs: number; #driver: Driver;
  #emit: (r: ShmCheckResult) => void;
  #timer: NodeJS.Timeout | undefined;
  #nonce: [number, number] = [0, 0];
  #channel: WakeHandle | undefined;
  #done = false;
  constructor(o: Resolved, conn: TcpshmConnection, mode: 'off' | 'try' | 'require', timeoutMs: number, driver: Driver, emit: (r: ShmCheckResult) => void) {
    this.#o = o; this.#conn = conn; this.#mode = mode; this.#timeoutMs = timeoutMs; this.#driver = driver; this.#emit = emit;
  }
  start(): void {
    const c = this.#conn;
    if (this.#mode === 'off') { this.#finish({ outcome: 'off', peerKind: 'unknown', effectiveWaitMode: 'spin' }); return; }
    if (this.#o.wait.mode !== 'spin') this.#channel = createDataChannel(c.remoteName, c.localName);
    const r = randomBytes(8);
    let lo = r.readUInt32LE(0), hi = r.readUInt32LE(4);
    if (lo === 0 && hi === 0) lo = 1;
    this.#nonce = [lo, hi];
    c.producer!.setNonce(lo, hi);
    c.writeControl(encodeCheck({ type: MSG_CHECK_REQ, flags: (this.#channel ? 1 : 0) | (this.#o.largeMessages ? 2 : 0),
      shmQueueSize: this.#o.shmQueueSize, pid: process.pid, largeMaxSize: this.#o.largeMessages ? this.#o.largeMessages.maxSize : 0, result: 0, nonceLo: 0, nonceHi: 0 }));
    this.#timer = setTimeout(() => {
      if (this.#done) return;
      if (this.#mode === 'require') {
        this.#done = true;
        c.endLink(new TcpshmError('ERR_TCPSHM_CHECK_UNSUPPORTED', 'shmCheck "require": the server did not answer the SHM check'));
        return;
      }
      c.peerKind = 'reference';
      this.#finish({ outcome: 'unsupported', peerKind: 'reference', effectiveWaitMode: 'spin' });
    }, this.#timeoutMs);
    this.#timer.unref?.();
  }
  #finish(r: ShmCheckResult): void {
    this.#done = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (r.effectiveWaitMode === 'spin') { this.#channel?.close(); this.#channel = undefined; }
    this.#conn.effectiveWaitMode = r.effectiveWaitMode;
    this.#emit(r);
  }
  onFrame(conn: TcpshmConnection, type: number, frame: Uint8Array): void {
    if (type !== MSG_CHECK_RSP || this.#done) { conn.counters.ignoredFrames++; return; }
    const f = decodeCheck(frame);
    if (!f) { conn.counters.ignoredFrames++; return; }
    if (f.result === 1 || f.result === 2) {
      this.#done = true; if (this.#timer) clearTimeout(this.#timer);
      conn.endLink(new TcpshmError('ERR_TCPSHM_CONFIG_MISMATCH', `the server has ${f.result === 1 ? `shmQueueSize ${f.shmQueueSize}` : 'another largeMessages setting'}`, { details: { result: f.result, serverQueueSize: f.shmQueueSize } }));
      return;
    }
    if (f.nonceLo !== this.#nonce[0] || f.nonceHi !== this.#nonce[1]) {
      this.#done = true; if (this.#timer) clearTimeout(this.#timer);
      conn.endLink(new TcpshmError('ERR_TCPSHM_NOT_SAME_HOST', 'the server mapped another ring (nonce mismatch): not the same host, container or naming', { reasonText: 'Shm peer not on same host' }));
      return;
    }
    conn.peerKind = 'shmkit';
    const both = (f.flags & 1) === 1 && this.#channel !== undefined;
    if ((f.flags & 1) === 1) wireSignal(conn, conn.localName, conn.remoteName);
    if (both) { this.#driver.setParkable(conn, this.#channel); wireSpace(conn, this.#driver); }
    const ch = this.#channel;
    this.#channel = both ? undefined : ch; // ownership moved to the driver
    this.#finish({ outcome: 'verified', peerKind: 'shmkit', effectiveWaitMode: both ? this.#o.wait.mode : 'spin' });
  }
  cancel(): void { this.#done = true; if (this.#timer) clearTimeout(this.#timer); this.#channel?.close(); this.#channel = undefined; }
}

/** Server side: answer a CHECK_REQ. Returns the result to emit, if any. */
export function serverCheck(o: Resolved, conn: TcpshmConnection, type: number, frame: Uint8Array, driver: Driver): ShmCheckResult | undefined {
  if (type !== MSG_CHECK_REQ) { conn.counters.ignoredFrames++; return undefined; }
  const f = decodeCheck(frame);
  const mine = { type: MSG_CHECK_RSP, shmQueueSize: o.shmQueueSize, pid: process.pid, largeMaxSize: o.largeMessages ? o.largeMessages.maxSize : 0 };
  if (!f) { conn.writeControl(encodeCheck({ ...mine, flags: 0, result: 3, nonceLo: 0, nonceHi: 0 })); return undefined; }
  const large = o.largeMessages !== false;
  if (f.shmQueueSize !== o.shmQueueSize || ((f.flags & 2) !== 0) !== large) {
    const result = f.shmQueueSize !== o.shmQueueSize ? 1 : 2;
    conn.writeControl(encodeCheck({ ...mine, flags: large ? 2 : 0, result, nonceLo: 0, nonceHi: 0 }));
    conn.endLink(new TcpshmError('ERR_TCPSHM_CONFIG_MISMATCH', `client ${conn.remoteName} has ${result === 1 ? `shmQueueSize ${f.shmQueueSize}` : 'another largeMessages setting'}`), false, false, true);
    return { outcome: 'config-mismatch', peerKind: 'shmkit', effectiveWaitMode: 'spin' };
  }
  const channel = o.wait.mode !== 'spin' ? createDataChannel(conn.remoteName, conn.localName) : undefined;
  const [lo, hi] = conn.consumer!.nonce();
  conn.writeControl(encodeCheck({ ...mine, flags: (channel ? 1 : 0) | (large ? 2 : 0), result: 0, nonceLo: lo, nonceHi: hi }));
  conn.peerKind = 'shmkit';
  if ((f.flags & 1) === 1) wireSignal(conn, conn.localName, conn.remoteName);
  const both = (f.flags & 1) === 1 && channel !== undefined;
  if (both) { driver.setParkable(conn, channel); wireSpace(conn, driver); } else channel?.close();
  conn.effectiveWaitMode = both ? o.wait.mode : 'spin';
  return { outcome: 'verified', peerKind: 'shmkit', effectiveWaitMode: conn.effectiveWaitMode as 'spin' };
}
