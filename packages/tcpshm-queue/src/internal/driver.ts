// The SHM driver (§5.13): one loop per client/server over all its live SHM links, and one park (§5.12) for
// all of them: every parkable link's consumer word (and, for a link whose send ring is full, its producer
// word) is announced, re-checked, and the driver sleeps once on all their FIFOs with one re-check timer.
import type { TcpshmError } from '../errors.js';
import type { Resolved } from '../options.js';
import type { TcpshmConnection } from '../connection.js';
import type { WakeHandle } from '@shmkit/shm-core';

interface Entry {
  conn: TcpshmConnection;
  /** The consumer's `.data` channel (the link may park waiting for data). */
  wait: WakeHandle | undefined;
  /** The producer's `.space` channel (the link may park waiting for ring space). */
  space: WakeHandle | undefined;
}

/** Poll period while a full send ring cannot be parked on (reference consumer, spin mode, manual driver). */
const SPACE_POLL_MS = 1;

export class Driver {
  #o: Resolved;
  #links = new Map<TcpshmConnection, Entry>();
  /** The same entries as an array: the spin loop iterates it without allocating an iterator. */
  #entries: Entry[] = [];
  #scheduled = false;
  #parked = false;
  /** Ends the current park early (kick() while parked). */
  #unpark: (() => void) | undefined;
  #stopped = false;
  #idleSince = 0;
  #onError: (e: TcpshmError) => void;
  /** Parks that covered more than one link (diagnostic, for tests). */
  multiLinkParks = 0;
  constructor(o: Resolved, onError: (e: TcpshmError) => void) { this.#o = o; this.#onError = onError; }

  get parked(): boolean { return this.#parked; }
  add(conn: TcpshmConnection): void {
    const old = this.#links.get(conn);
    if (old) { old.wait?.close(); old.space?.close(); old.wait = undefined; old.space = undefined; }
    else { const e: Entry = { conn, wait: undefined, space: undefined }; this.#links.set(conn, e); this.#entries.push(e); }
    this.#idleSince = performance.now();
    this.kick(conn);
  }
  /** The link may park: its consumer waits on `wait` (set by the SHM check). */
  setParkable(conn: TcpshmConnection, wait: WakeHandle | undefined): void {
    const e = this.#links.get(conn); if (e) { e.wait?.close(); e.wait = wait; } else wait?.close();
  }
  /** The link's producer may park on `space` while its send ring is full (set by the SHM check). */
  setSpaceChannel(conn: TcpshmConnection, space: WakeHandle | undefined): void {
    const e = this.#links.get(conn); if (e) { e.space?.close(); e.space = space; } else space?.close();
  }
  /** True if a full send ring of this link is waited for by parking (no polling needed). */
  canParkForSpace(conn: TcpshmConnection): boolean {
    return this.#o.shmDriver === 'auto' && this.#links.get(conn)?.space !== undefined;
  }
  remove(conn: TcpshmConnection): void {
    const e = this.#links.get(conn);
    if (!e) return;
    e.wait?.close(); e.space?.close();
    this.#links.delete(conn);
    this.#entries = this.#entries.filter((x) => x !== e);
    this.#unpark?.();
  }
  stop(): void {
    this.#stopped = true;
    for (const e of this.#entries) { e.wait?.close(); e.space?.close(); }
    this.#links.clear(); this.#entries = [];
    this.#unpark?.();
  }
  kick(_conn?: TcpshmConnection): void {
    if (this.#stopped || this.#o.shmDriver === 'manual') return;
    if (this.#unpark) { this.#unpark(); return; }
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#loop);
  }

  #loop = (): void => {
    this.#scheduled = false;
    const es = this.#entries;
    if (this.#stopped || es.length === 0) return;
    const w = this.#o.wait;
    const mode = w.mode;
    const t0 = performance.now();
    let delivered = false;
    for (let iter = 1; ; iter++) {
      let n = 0, runnable = false, waitingSpace = false;
      for (let i = 0; i < es.length; i++) {
        const c = es[i]!.conn;
        const p = c.producer!;
        if (p.wantDrain) { if (p.spaceFreed()) c.notifyDrain(); else waitingSpace = true; }
        if (!c.isOpen || c.held) continue;
        runnable = true;
        const k = c.deliver(64);
        if (k > 0) {
          n += k;
          if (c.iterating) { this.#scheduled = true; queueMicrotask(this.#loop); return; }
        }
      }
      if (!runnable) {
        // Nothing to consume (every link held or down); pop()/resume() re-arm through kick(). A producer
        // waiting for ring space parks on its `.space` channel, or polls where it cannot park.
        if (waitingSpace) { this.#scheduled = true; void this.#park(true); }
        return;
      }
      if (n > 0) delivered = true;
      // The clock (≈ 80 ns) is read every 64 passes only, never per message.
      if ((iter & 63) !== 0) continue;
      const now = performance.now();
      if (now - t0 >= w.spinSliceMs) { if (delivered) this.#idleSince = now; break; }
      if (delivered) { this.#idleSince = now; delivered = false; continue; }
      if (mode !== 'spin' && (mode === 'block' || (now - this.#idleSince) * 1000 >= w.spinBudgetUs) && this.#parkable()) {
        this.#scheduled = true; void this.#park(false); return;
      }
    }
    this.#scheduled = true;
    setImmediate(this.#loop);
  };

  /** Every live link can be woken through its `.data` channel. */
  #parkable(): boolean {
    for (const e of this.#entries) if (e.conn.isOpen && e.wait === undefined) return false;
    return true;
  }

  /** §5.12 for all links at once: announce, re-check, one sleep on every channel, one re-check timer.
   *  spaceOnly: no link is consumable; wait only for send space (polling links that cannot park). */
  async #park(spaceOnly: boolean): Promise<void> {
    const data: Entry[] = [], space: Entry[] = [];
    let poll = false;
    for (const e of this.#entries) {
      const c = e.conn;
      if (!spaceOnly && c.isOpen && !c.held && e.wait) { c.consumer!.setParked(1); data.push(e); }
      const p = c.producer!;
      if (p.wantDrain) {
        if (e.space && this.#o.wait.mode !== 'spin') { p.setParked(1); space.push(e); } else poll = true;
      }
    }
    const unparkWords = () => {
      for (const e of data) if (!e.conn.isClosed) e.conn.consumer!.setParked(0);
      for (const e of space) if (!e.conn.isClosed) e.conn.producer!.setParked(0);
    };
    // Re-check after announcing (seq-cst Atomics: a producer/consumer either sees our word or we see its index).
    if (data.some((e) => e.conn.consumer!.hasData()) || space.some((e) => e.conn.producer!.spaceFreed())) {
      unparkWords();
      this.#scheduled = false;
      this.kick();
      return;
    }
    this.#parked = true;
    for (const e of data) e.conn.counters.parks++;
    for (const e of space) e.conn.counters.parks++;
    if (data.length + space.length > 1) this.multiLinkParks++;
    const ac = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve) => {
        let done = false;
        const wake = () => { if (!done) { done = true; resolve(); } };
        this.#unpark = wake;
        const watch = (e: Entry, h: WakeHandle) => {
          h.wait({ signal: ac.signal }).then((woken) => { if (woken) e.conn.counters.wakeupsReceived++; wake(); }, wake);
        };
        for (const e of data) watch(e, e.wait!);
        for (const e of space) watch(e, e.space!);
        timer = setTimeout(wake, poll ? SPACE_POLL_MS : this.#o.wait.recheckMs);
      });
    } finally {
      this.#unpark = undefined;
      if (timer) clearTimeout(timer);
      ac.abort();
      unparkWords();
      this.#parked = false;
      this.#scheduled = false;
      this.#idleSince = performance.now();
      this.kick();
    }
  }
  error(e: TcpshmError): void { this.#onError(e); }
}
