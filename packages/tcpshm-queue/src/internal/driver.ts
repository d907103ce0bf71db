// The SHM driver (§5.13): one loop per client/server over all its live SHM links.
import type { TcpshmError } from '../errors.js';
import type { Resolved } from '../options.js';
import type { TcpshmConnection } from '../connection.js';
import type { WakeHandle } from '@shmkit/shm-core';

interface Entry { conn: TcpshmConnection; wait: WakeHandle | undefined }

export class Driver {
  #o: Resolved;
  #links = new Map<TcpshmConnection, Entry>();
  #scheduled = false;
  #parked = false;
  #stopped = false;
  #idleSince = 0;
  #onError: (e: TcpshmError) => void;
  constructor(o: Resolved, onError: (e: TcpshmError) => void) { this.#o = o; this.#onError = onError; }

  get parked(): boolean { return this.#parked; }
  add(conn: TcpshmConnection): void { this.#links.set(conn, { conn, wait: undefined }); this.#idleSince = performance.now(); this.kick(conn); }
  /** The link may park: its consumer waits on `wait` (set by the SHM check). */
  setParkable(conn: TcpshmConnection, wait: WakeHandle | undefined): void {
    const e = this.#links.get(conn); if (e) { e.wait?.close(); e.wait = wait; } else wait?.close();
  }
  remove(conn: TcpshmConnection): void {
    const e = this.#links.get(conn);
    if (!e) return;
    e.wait?.close();
    this.#links.delete(conn);
  }
  stop(): void { this.#stopped = true; for (const e of this.#links.values()) e.wait?.close(); this.#links.clear(); }
  kick(_conn?: TcpshmConnection): void {
    if (this.#stopped || this.#o.shmDriver === 'manual' || this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#loop);
  }

  #loop = (): void => {
    this.#scheduled = false;
    if (this.#stopped || this.#links.size === 0) return;
    const w = this.#o.wait;
    const t0 = performance.now();
    let empty = 0;
    for (;;) {
      let runnable = false, waitingSpace = false;
      for (const e of this.#links.values()) {
        const p = e.conn.producer;
        if (p?.wantDrain) { if (p.spaceFreed()) e.conn.notifyDrain(); else waitingSpace = true; }
        if (e.conn.isOpen && !e.conn.held) runnable = true;
      }
      if (!runnable) {
        // pop()/resume() re-arm through kick(); a producer waiting for ring space is polled (no producer parking yet).
        if (waitingSpace) { this.#scheduled = true; setTimeout(() => this.#loop(), 1); }
        return;
      }
      let n = 0;
      for (const e of this.#links.values()) {
        const c = e.conn;
        if (!c.isOpen || c.held) continue;
        n += c.deliver(64);
        if (c.iterating && n > 0) { this.#scheduled = true; queueMicrotask(this.#loop); return; }
      }
      let now = 0;
      if (n > 0) { now = performance.now(); this.#idleSince = now; empty = 0; }
      else if (++empty % 64 === 0) now = performance.now();
      else continue;
      if (now - t0 >= w.spinSliceMs) break;
      if (n === 0) {
        const parkable = [...this.#links.values()].every((e) => e.wait !== undefined || !e.conn.isOpen);
        const mode = this.#effectiveMode();
        if (parkable && (mode === 'block' || (mode === 'hybrid' && (now - this.#idleSince) * 1000 >= w.spinBudgetUs))) { void this.#park(); return; }
      }
    }
    this.#scheduled = true;
    setImmediate(this.#loop);
  };

  #effectiveMode(): 'spin' | 'hybrid' | 'block' { return this.#o.wait.mode; }

  async #park(): Promise<void> {
    const entries = [...this.#links.values()].filter((e) => e.conn.isOpen && e.wait);
    if (entries.length !== 1) { this.#scheduled = true; setImmediate(this.#loop); return; }
    for (const e of entries) e.conn.consumer!.setParked(1);
    if (entries.some((e) => e.conn.consumer!.hasData())) {
      for (const e of entries) e.conn.consumer!.setParked(0);
      this.kick(); return;
    }
    this.#parked = true;
    for (const e of entries) e.conn.counters.parks++;
    this.#scheduled = true;
    try {
      // One wake channel per link; park on the first (one link is the usual client case) and re-check the rest.
      const first = entries[0]!;
      const woken = await first.wait!.wait({ timeoutMs: this.#o.wait.recheckMs }).catch(() => false);
      if (woken) first.conn.counters.wakeupsReceived++;
    } finally {
      this.#parked = false;
      for (const e of entries) if (!e.conn.isClosed) e.conn.consumer!.setParked(0);
      this.#scheduled = false;
      this.#idleSince = performance.now();
      this.kick();
    }
  }
  error(e: TcpshmError): void { this.#onError(e); }
}
