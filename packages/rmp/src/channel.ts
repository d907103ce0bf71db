import { randomBytes } from 'node:crypto';
import { endianness } from 'node:os';
import { existsSync, lstatSync, readdirSync, rmSync } from 'node:fs';
import { isShmkitError, objectName, RobustMutex, Segment, validateName, WakeHandle, type PackageToken } from '@shmkit/shm-core';
import { rmpError } from './errors.js';
import {
  KIND_READERS, KIND_RING, LAYOUT_MAJOR, MAX_READERS, MAX_RING, MIN_RING, NOTIFIER_CODE, READERS, RING, RING_DATA_OFFSET,
  SLOT, SLOT_STRIDE, SLOTS_OFFSET, libcTag, nativeMutexSize, peerLiveness, readersTotalSize, ringTotalSize,
} from './layout.js';
import { testPoint } from './testpoints.js';
import { ringParked } from './wait.js';
import { udpSend } from './udp.js';
import { RmpWriter, type RmpWriterOptions } from './writer.js';
import { RmpReader, type RmpReaderOptions } from './reader.js';

export type NotifierKind = 'fd' | 'udp-multicast' | 'none';
export type Role = 'both' | 'reader';

export interface RmpCreateOptions {
  /** Ring bytes S. Power of two, 64 ..= 2**30. Default 4 MiB (4_194_304). */
  ringSize?: number;
  /** Reader slots, 1 ..= 1024. Default 32. */
  maxReaders?: number;
  /** Largest payload, 0 ..= ringSize - 8. Default ringSize - 8. */
  maxPayload?: number;
  /** File mode of both segments and of wake FIFOs. Default 0o600. */
  mode?: number;
  /** Notifier a reader uses when it does not choose one (stored in the header). Default 'fd'. */
  notifier?: NotifierKind;
  /** UDP multicast group and port (stored in the header). Default '239.255.77.1', 37701. */
  udpGroup?: string;
  udpPort?: number;
}

export interface RmpOpenOptions {
  /** 'reader' maps the ring read-only (such a handle cannot write). Default 'both'. */
  role?: Role;
  /** How long `open` waits for a channel that a live process is still creating. Default 1000. */
  waitInitMs?: number;
  /** If given, must equal the channel's value, else ERR_LAYOUT_MISMATCH. */
  ringSize?: number;
  maxReaders?: number;
  signal?: AbortSignal;
}

/** Internal knobs (package token for layered protocols, test-only initial stream position). */
export interface RmpInternalOptions {
  package?: PackageToken;
  /** Test only: start freePos/reserveEnd here (multiple of 8) to exercise the u64 wrap. */
  initialPosition?: bigint;
}

export interface RmpChannelStats {
  freePos: bigint; reserveEnd: bigint; commitSeq: bigint;
  backpressureEvents: bigint; overwrites: bigint; notifications: bigint; writerDeaths: bigint;
  abandonedBytes: bigint; waitTimeouts: bigint; deadReaderSkips: bigint;
  expiredReads: bigint; slotReclaims: bigint; parked: number; allocHigh: number;
  readers: Array<{ slot: number; pid: number; active: boolean; doorbell: 'awake' | 'parked-fd' | 'parked-futex' | 'closed';
    position: bigint; lagBytes: bigint; expiredCount: bigint }>;
}

const DEFAULT_RING = 4 * 1024 * 1024;
const DEFAULT_READERS = 32;
const DEFAULT_GROUP = '239.255.77.1';
const DEFAULT_PORT = 37701;

/** rmp needs Linux (robust process-shared mutexes, /dev/shm) on a little-endian host. */
function checkPlatform(): void {
  if (process.platform !== 'linux' || endianness() !== 'LE') {
    throw rmpError('ERR_UNSUPPORTED_PLATFORM', `rmp needs Linux on a little-endian host (this is ${process.platform}, ${endianness()})`, { platform: process.platform, arch: process.arch });
  }
}

function isPow2(n: number): boolean { return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0; }
function checkInt(v: unknown, lo: number, hi: number, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) throw rmpError('ERR_INVALID_ARGUMENT', `${what} must be an integer in [${lo}, ${hi}], got ${String(v)}`, { field: what, actual: v });
  return v;
}
function checkRingSize(v: unknown): number {
  const n = checkInt(v, MIN_RING, MAX_RING, 'ringSize');
  if (!isPow2(n)) throw rmpError('ERR_INVALID_ARGUMENT', `ringSize must be a power of two, got ${n}`, { field: 'ringSize', actual: n });
  return n;
}
function ipv4ToInt(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const b = m.slice(1).map(Number);
  if (b.some((x) => x > 255)) return undefined;
  return (((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0);
}
function intToIpv4(n: number): string { return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.'); }
function sleepMs(ms: number): Promise<void> { return new Promise((r) => setTimeout(r, ms)); }

interface Resolved { ringSize: number; maxReaders: number; maxPayload: number; mode: number; notifier: NotifierKind; group: number; port: number }
function resolveCreate(o: RmpCreateOptions): Resolved {
  if (o === null || typeof o !== 'object') throw rmpError('ERR_INVALID_ARGUMENT', 'options must be an object');
  const ringSize = checkRingSize(o.ringSize ?? DEFAULT_RING);
  const maxReaders = checkInt(o.maxReaders ?? DEFAULT_READERS, 1, MAX_READERS, 'maxReaders');
  const maxPayload = checkInt(o.maxPayload ?? ringSize - 8, 0, ringSize - 8, 'maxPayload');
  const mode = checkInt(o.mode ?? 0o600, 0, 0o777, 'mode');
  const notifier = o.notifier ?? 'fd';
  if (!Object.hasOwn(NOTIFIER_CODE, notifier)) throw rmpError('ERR_INVALID_ARGUMENT', `notifier must be fd, udp-multicast or none, got ${String(notifier)}`);
  const groupStr = o.udpGroup ?? DEFAULT_GROUP;
  const group = typeof groupStr === 'string' ? ipv4ToInt(groupStr) : undefined;
  if (group === undefined || (group >>> 28) !== 0xe) throw rmpError('ERR_INVALID_ARGUMENT', `udpGroup must be an IPv4 multicast address, got ${String(groupStr)}`);
  const port = checkInt(o.udpPort ?? DEFAULT_PORT, 1, 65535, 'udpPort');
  return { ringSize, maxReaders, maxPayload, mode, notifier, group, port };
}

/** Shared per-handle state used by writers and readers (internal). */
export class ChannelCore {
  readonly pkg: PackageToken;
  readonly name: string;
  readonly ringSeg: Segment;
  readonly readersSeg: Segment;
  readonly S: number;
  readonly mask: number;
  readonly maskBig: bigint;
  readonly maxPayload: number;
  readonly maxReaders: number;
  readonly defaultNotifier: NotifierKind;
  readonly udpGroup: string;
  readonly udpPort: number;
  readonly mode: number;
  /** Ring area: byte 0 is segment offset 4096. */
  readonly ring: Uint8Array;
  readonly ring32: Uint32Array;
  /** u64 words of the ring segment's first page. */
  readonly rb: BigUint64Array;
  /** u32 words of the same page (low halves of the counters, read under the writer lock). */
  readonly rh32: Uint32Array;
  /** i32 / u64 words of the whole readers segment. */
  readonly ri32: Int32Array;
  readonly rib: BigUint64Array;
  readonly writable: boolean;
  readonly writerLock: RobustMutex | undefined;
  /** Signallers of FIFO-parked readers, per slot, replaced when the wakeId changes. */
  readonly #signallers = new Map<number, { wakeId: number; h: WakeHandle }>();
  /** Test instrumentation: full backpressure scans done through this handle. */
  scans = 0;
  #udpNeeded = false;
  lockCalls = 0;
  readonly #ringResolve = (slot: number, wakeId: number): WakeHandle | null => this.#signaller(slot, wakeId);

  constructor(pkg: PackageToken, name: string, ringSeg: Segment, readersSeg: Segment) {
    this.pkg = pkg; this.name = name; this.ringSeg = ringSeg; this.readersSeg = readersSeg;
    const dv = ringSeg.dataView(0, RING_DATA_OFFSET);
    this.S = Number(dv.getBigUint64(RING.ringSize, true));
    this.mask = this.S - 1; this.maskBig = BigInt(this.mask);
    this.maxPayload = dv.getUint32(RING.maxPayload, true);
    this.maxReaders = dv.getUint32(RING.maxReaders, true);
    const nc = dv.getUint32(RING.defaultNotifier, true);
    this.defaultNotifier = nc === 0 ? 'none' : nc === 2 ? 'udp-multicast' : 'fd';
    this.udpGroup = intToIpv4(dv.getUint32(RING.udpGroup, false));
    this.udpPort = dv.getUint16(RING.udpPort, true);
    this.mode = 0o600;
    this.ring = ringSeg.uint8(RING_DATA_OFFSET, this.S);
    this.ring32 = new Uint32Array(ringSeg.buffer, RING_DATA_OFFSET, this.S >> 2);
    this.rb = new BigUint64Array(ringSeg.buffer, 0, RING_DATA_OFFSET >> 3);
    this.rh32 = new Uint32Array(ringSeg.buffer, 0, RING_DATA_OFFSET >> 2);
    this.ri32 = readersSeg.int32(0, readersSeg.size >> 2);
    this.rib = new BigUint64Array(readersSeg.buffer, 0, readersSeg.size >> 3);
    this.writable = !ringSeg.readonly;
    this.writerLock = this.writable ? RobustMutex.attach(ringSeg, RING.writerLock) : undefined;
  }

  // ---- shared words ----
  freePos(): bigint { return Atomics.load(this.rb, RING.freePos >> 3); }
  reserveEnd(): bigint { return Atomics.load(this.rb, RING.reserveEnd >> 3); }
  commitSeq(): bigint { return Atomics.load(this.rb, RING.commitSeq >> 3); }
  addRing(field: number, v: bigint | number): void { Atomics.add(this.rb, field >> 3, BigInt(v)); }
  addReaders(field: number, v: bigint | number): void { Atomics.add(this.rib, field >> 3, BigInt(v)); }
  activeEpoch(): number { return Atomics.load(this.ri32, READERS.activeEpoch >> 2); }
  bumpEpoch(): void { Atomics.add(this.ri32, READERS.activeEpoch >> 2, 1); }
  /** Scan bound: min(allocHigh, maxReaders), never negative. */
  scanCount(): number {
    const a = Atomics.load(this.ri32, READERS.allocHigh >> 2);
    return a <= 0 ? 0 : Math.min(a, this.maxReaders);
  }
  slotBase(s: number): number { return SLOTS_OFFSET + SLOT_STRIDE * s; }
  slotI32(s: number, field: number): number { return (this.slotBase(s) + field) >> 2; }
  slotPos(s: number): bigint { return Atomics.load(this.rib, (this.slotBase(s) + SLOT.position) >> 3); }

  /** Ring every parked reader's doorbell; returns signals sent (counted in `notifications`). */
  ringReaders(): number {
    let n = ringParked(this.readersSeg, this.ri32, READERS.parked >> 2, SLOTS_OFFSET + SLOT.doorbell, SLOT_STRIDE, this.scanCount(), this.#ringResolve);
    if (this.#udpNeeded) { this.#udpNeeded = false; udpSend(this.udpGroup, this.udpPort); n++; }
    if (n > 0) this.addRing(RING.notifications, n);
    return n;
  }
  #signaller(slot: number, wakeId: number): WakeHandle | null {
    const kind = (wakeId >>> 12) & 0xf;
    if ((wakeId & 0xfff) !== slot) return null;
    if (kind === 2) { this.#udpNeeded = true; return null; } // one datagram wakes every UDP reader
    if (kind !== 1) return null; // 0: futex-only reader (woken by ringParked itself); unknown: no signal
    const c = this.#signallers.get(slot);
    if (c && c.wakeId === wakeId && c.h.fd >= 0) return c.h;
    // (re)opening by path: only ever into a FIFO (a regular file put in its place is never written)
    const path = `/dev/shm${objectName(this.pkg, this.name, `wake-${slot}`)}`;
    try { if (!lstatSync(path).isFIFO()) return null; } catch { return null; }
    if (c && c.wakeId === wakeId) return c.h;
    c?.h.close();
    const h = WakeHandle.fifoSignaller(this.pkg, this.name, `wake-${slot}`);
    this.#signallers.set(slot, { wakeId, h });
    return h;
  }
  closeSignallers(): void { for (const { h } of this.#signallers.values()) h.close(); this.#signallers.clear(); }
}

/** A handle on one rmp channel (ring segment + reader-info segment). */
export class RmpChannel implements Disposable {
  readonly name: string;
  readonly ringSize: number;
  readonly maxPayload: number;
  readonly maxReaders: number;
  readonly role: Role;
  readonly isCreator: boolean;
  readonly #core: ChannelCore;
  readonly #children = new Set<{ close(): void }>();
  #closed = false;

  private constructor(core: ChannelCore, role: Role, isCreator: boolean, mode: number) {
    this.#core = core; this.name = core.name; this.ringSize = core.S; this.maxPayload = core.maxPayload;
    this.maxReaders = core.maxReaders; this.role = role; this.isCreator = isCreator;
    (core as { mode: number }).mode = mode;
  }

  /** Create both segments exclusively (sync). ERR_EXISTS if the channel exists. */
  static create(name: string, opts: RmpCreateOptions & RmpInternalOptions = {}): RmpChannel {
    const pkg = opts.package ?? 'rmp';
    checkPlatform();
    validateName(name);
    if ((opts as RmpOpenOptions).role !== undefined && (opts as RmpOpenOptions).role !== 'both') throw rmpError('ERR_INVALID_ARGUMENT', 'a role "reader" process cannot create a channel');
    const r = resolveCreate(opts);
    const init0 = opts.initialPosition ?? 0n;
    if (typeof init0 !== 'bigint' || (init0 & 7n) !== 0n) throw rmpError('ERR_INVALID_ARGUMENT', 'initialPosition must be a bigint multiple of 8');
    // step 1: leftovers of a dead creator
    try {
      const rs = Segment.open({ package: pkg, name, part: 'readers', kind: KIND_READERS, layoutMajor: LAYOUT_MAJOR, readonly: true });
      const h = rs.header!; rs.close(); // opened with a kind, so headed
      if (!ringExists(pkg, name)) {
        if (peerLiveness(h.creatorPid, h.creatorStartTime) === 'dead') Segment.unlink(pkg, name, 'readers');
        else throw rmpError('ERR_EXISTS', `${objectName(pkg, name)}: another process is creating this channel`, { reason: 'creating' });
      }
    } catch (e) {
      if (!isShmkitError(e) || (e.code !== 'ERR_NOT_FOUND' && e.code !== 'ERR_NOT_INITIALIZED' && e.code !== 'ERR_LAYOUT_MISMATCH' && e.code !== 'ERR_NOT_SHMKIT')) throw e;
    }
    const channelId = randomBytes(8).readBigUInt64LE(0);
    const mutexSize = nativeMutexSize(), libc = libcTag();
    let readers: Segment;
    try {
      readers = Segment.create({ package: pkg, name, part: 'readers', kind: KIND_READERS, layoutMajor: LAYOUT_MAJOR, size: readersTotalSize(r.maxReaders), mode: r.mode,
        init: (seg) => {
          const dv = seg.dataView();
          dv.setUint32(READERS.maxReaders, r.maxReaders, true);
          dv.setUint32(READERS.slotStride, SLOT_STRIDE, true);
          dv.setUint32(READERS.slotsOffset, SLOTS_OFFSET, true);
          dv.setUint32(READERS.mutexSize, mutexSize, true);
          dv.setUint32(READERS.libcTag, libc, true);
          dv.setBigUint64(READERS.channelId, channelId, true);
          dv.setBigUint64(READERS.ringSize, BigInt(r.ringSize), true);
          for (let s = 0; s < r.maxReaders; s++) {
            const base = SLOTS_OFFSET + SLOT_STRIDE * s;
            dv.setBigUint64(base + SLOT.position, BigInt.asUintN(64, init0), true);
            RobustMutex.init(seg, base + SLOT.lock);
          }
        } });
    } catch (e) {
      if (isShmkitError(e, 'ERR_EXISTS')) throw rmpError('ERR_EXISTS', `${objectName(pkg, name)}: channel exists`, { name }, e);
      throw e;
    }
    testPoint('rmp.create.afterReaders');
    let ring: Segment;
    try {
      ring = Segment.create({ package: pkg, name, part: 'ring', kind: KIND_RING, layoutMajor: LAYOUT_MAJOR, size: ringTotalSize(r.ringSize), mode: r.mode,
        init: (seg) => {
          const dv = seg.dataView();
          dv.setBigUint64(RING.ringSize, BigInt(r.ringSize), true);
          dv.setUint32(RING.maxPayload, r.maxPayload, true);
          dv.setUint32(RING.mutexSize, mutexSize, true);
          dv.setUint32(RING.libcTag, libc, true);
          dv.setUint32(RING.maxReaders, r.maxReaders, true);
          dv.setBigUint64(RING.channelId, channelId, true);
          dv.setUint32(RING.defaultNotifier, NOTIFIER_CODE[r.notifier], true);
          dv.setUint32(RING.udpGroup, r.group, false);
          dv.setUint16(RING.udpPort, r.port, true);
          dv.setBigUint64(RING.freePos, BigInt.asUintN(64, init0), true);
          dv.setBigUint64(RING.reserveEnd, BigInt.asUintN(64, init0), true);
          RobustMutex.init(seg, RING.writerLock);
        } });
    } catch (e) {
      readers.unlink(); readers.close();
      if (isShmkitError(e, 'ERR_EXISTS')) throw rmpError('ERR_EXISTS', `${objectName(pkg, name)}: channel exists`, { name }, e);
      throw e;
    }
    return new RmpChannel(new ChannelCore(pkg, name, ring, readers), 'both', true, r.mode);
  }

  /** Open without waiting: ERR_NOT_FOUND at once while the channel is absent or still being created. */
  static openSync(name: string, opts: RmpOpenOptions & RmpInternalOptions = {}): RmpChannel {
    const pkg = opts.package ?? 'rmp';
    checkPlatform();
    validateName(name);
    const role = opts.role ?? 'both';
    if (role !== 'both' && role !== 'reader') throw rmpError('ERR_INVALID_ARGUMENT', `role must be both or reader, got ${String(role)}`);
    if (opts.ringSize !== undefined) checkRingSize(opts.ringSize);
    if (opts.maxReaders !== undefined) checkInt(opts.maxReaders, 1, MAX_READERS, 'maxReaders');
    let ring: Segment;
    try {
      ring = Segment.open({ package: pkg, name, part: 'ring', kind: KIND_RING, layoutMajor: LAYOUT_MAJOR, readonly: role === 'reader' });
    } catch (e) {
      if (isShmkitError(e, 'ERR_NOT_FOUND')) {
        const creating = creatorAlive(pkg, name);
        throw rmpError('ERR_NOT_FOUND', `${objectName(pkg, name)}: no such channel${creating ? ' (being created)' : ''}`, creating ? { reason: 'creating', name } : { name }, e);
      }
      throw e;
    }
    let readers: Segment | undefined;
    try {
      const rv = validateRing(ring, opts);
      try {
        readers = Segment.open({ package: pkg, name, part: 'readers', kind: KIND_READERS, layoutMajor: LAYOUT_MAJOR });
      } catch (e) {
        if (isShmkitError(e, 'ERR_NOT_FOUND')) throw rmpError('ERR_NOT_FOUND', `${objectName(pkg, name, 'readers')} missing`, { part: 'readers' }, e);
        throw e;
      }
      validateReaders(readers, rv);
      return new RmpChannel(new ChannelCore(pkg, name, ring, readers), role, false, 0o600);
    } catch (e) { readers?.close(); ring.close(); throw e; }
  }

  /** Open an existing channel; waits up to waitInitMs while a live process is still creating it. */
  static async open(name: string, opts: RmpOpenOptions & RmpInternalOptions = {}): Promise<RmpChannel> {
    const waitMs = opts.waitInitMs ?? 1000;
    if (typeof waitMs !== 'number' || !(waitMs >= 0)) throw rmpError('ERR_INVALID_ARGUMENT', 'waitInitMs must be >= 0');
    const end = Date.now() + waitMs;
    for (;;) {
      if (opts.signal?.aborted) throw rmpError('ERR_ABORTED', 'open aborted', undefined, opts.signal.reason);
      try { return RmpChannel.openSync(name, opts); } catch (e) {
        if (!isShmkitError(e, 'ERR_NOT_FOUND') || e.details.reason !== 'creating') throw e;
        if (Date.now() >= end) throw rmpError('ERR_TIMEOUT', `${name}: still being created after ${waitMs} ms`, { what: 'creation' });
      }
      await sleepMs(1);
    }
  }

  /** Open, or create if absent; removes the leftovers of a creator that died mid-way. */
  static async openOrCreate(name: string, opts: RmpCreateOptions & RmpOpenOptions & RmpInternalOptions = {}): Promise<RmpChannel> {
    if (opts.role !== undefined && opts.role !== 'both') throw rmpError('ERR_INVALID_ARGUMENT', 'openOrCreate needs role "both" (a read-only process cannot initialise)');
    for (let round = 0; round < 8; round++) {
      try { return RmpChannel.openSync(name, opts); } catch (e) {
        if (!isShmkitError(e, 'ERR_NOT_FOUND') || e.details.part === 'readers') throw e;
        if (e.details.reason === 'creating') { try { return await RmpChannel.open(name, opts); } catch (e2) { if (!isShmkitError(e2, 'ERR_NOT_FOUND')) throw e2; continue; } }
      }
      try { return RmpChannel.create(name, opts); } catch (e) {
        if (!isShmkitError(e, 'ERR_EXISTS')) throw e;
      }
      try { return await RmpChannel.open(name, opts); } catch (e) {
        if (!isShmkitError(e, 'ERR_NOT_FOUND')) throw e;
      }
    }
    throw rmpError('ERR_BUSY', `${name}: openOrCreate contended`, { reason: 'contended' });
  }

  /** Remove both segments and every wake FIFO of the channel. Returns false if nothing existed. */
  static unlink(name: string, opts: RmpInternalOptions = {}): boolean {
    const pkg = opts.package ?? 'rmp';
    validateName(name);
    let any = false;
    try { any = Segment.unlink(pkg, name, 'readers') || any; } catch (e) { if (!isShmkitError(e, 'ERR_NOT_FOUND')) throw e; }
    try { any = Segment.unlink(pkg, name, 'ring') || any; } catch (e) { if (!isShmkitError(e, 'ERR_NOT_FOUND')) throw e; }
    const prefix = `shmkit.${pkg}.${name}.wake-`;
    let files: string[] = [];
    try { files = readdirSync('/dev/shm'); } catch { /* no shm dir */ }
    for (const f of files) {
      if (f.startsWith(prefix) && /^\d+$/.test(f.slice(prefix.length))) { rmSync(`/dev/shm/${f}`, { force: true }); any = true; }
    }
    return any;
  }

  #check(): void { if (this.#closed) throw rmpError('ERR_CLOSED', `${this.name}: channel closed`); }

  createWriter(opts: RmpWriterOptions = {}): RmpWriter {
    this.#check();
    if (this.role === 'reader') throw rmpError('ERR_PERMISSION', `${this.name}: a role "reader" handle cannot write`);
    const w = new RmpWriter(this.#core, opts, () => this.#children.delete(w));
    this.#children.add(w);
    return w;
  }

  createReader(opts: RmpReaderOptions = {}): RmpReader {
    this.#check();
    const r = new RmpReader(this.#core, opts, () => this.#children.delete(r));
    this.#children.add(r);
    return r;
  }

  /** Snapshot of the shared counters and reader slots (atomic loads only). */
  stats(): RmpChannelStats {
    this.#check();
    const c = this.#core;
    const rg = (f: number) => Atomics.load(c.rb, f >> 3);
    const rd = (f: number) => Atomics.load(c.rib, f >> 3);
    const F = c.freePos();
    const readers: RmpChannelStats['readers'] = [];
    for (let s = 0; s < c.scanCount(); s++) {
      const st = Atomics.load(c.ri32, c.slotI32(s, SLOT.doorbell));
      const position = c.slotPos(s);
      readers.push({
        slot: s, pid: Atomics.load(c.ri32, c.slotI32(s, SLOT.pid)) >>> 0, active: Atomics.load(c.ri32, c.slotI32(s, SLOT.isActive)) === 1,
        doorbell: st === 1 ? 'parked-fd' : st === 2 ? 'parked-futex' : st === 3 ? 'closed' : 'awake',
        position, lagBytes: BigInt.asIntN(64, F - position), expiredCount: Atomics.load(c.rib, (c.slotBase(s) + SLOT.expiredCount) >> 3),
      });
    }
    return {
      freePos: F, reserveEnd: c.reserveEnd(), commitSeq: c.commitSeq(),
      backpressureEvents: rg(RING.backpressureEvents), overwrites: rg(RING.overwrites), notifications: rg(RING.notifications),
      writerDeaths: rg(RING.writerDeaths), abandonedBytes: rg(RING.abandonedBytes), waitTimeouts: rg(RING.waitTimeouts),
      deadReaderSkips: rg(RING.deadReaderSkips), expiredReads: rd(READERS.expiredReads), slotReclaims: rd(READERS.slotReclaims),
      parked: Atomics.load(c.ri32, READERS.parked >> 2), allocHigh: Atomics.load(c.ri32, READERS.allocHigh >> 2), readers,
    };
  }

  /** Reclaim reader slots whose owner died; returns how many. */
  sweep(): number { this.#check(); return sweepSlots(this.#core, -1); }

  /** Internal: the shared state (tests, layered packages). */
  get _core(): ChannelCore { this.#check(); return this.#core; }

  /** Closes every writer and reader made from this handle, then both segments. */
  close(): void {
    if (this.#closed) return;
    for (const ch of [...this.#children]) ch.close();
    this.#closed = true;
    this.#core.closeSignallers();
    this.#core.ringSeg.close();
    this.#core.readersSeg.close();
  }
  [Symbol.dispose](): void { this.close(); }
}

function ringExists(pkg: PackageToken, name: string): boolean {
  return existsSync(`/dev/shm${objectName(pkg, name, 'ring')}`);
}

function creatorAlive(pkg: PackageToken, name: string): boolean {
  try {
    const rs = Segment.open({ package: pkg, name, part: 'readers', kind: KIND_READERS, layoutMajor: LAYOUT_MAJOR, readonly: true });
    const h = rs.header!; rs.close();
    return peerLiveness(h.creatorPid, h.creatorStartTime) !== 'dead';
  } catch { return false; }
}

function mismatch(field: string, expected: unknown, actual: unknown): Error {
  return rmpError('ERR_LAYOUT_MISMATCH', `${field} is ${String(actual)}, expected ${String(expected)}`, { field, expected, actual });
}

interface RingValues { ringSize: number; maxReaders: number; channelId: bigint }
function validateRing(ring: Segment, opts: RmpOpenOptions): RingValues {
  const dv = ring.dataView(0, RING_DATA_OFFSET);
  const total = ring.size;
  const Sbig = dv.getBigUint64(RING.ringSize, true);
  const S = Number(Sbig);
  if (Sbig > BigInt(MAX_RING) || S < MIN_RING || !isPow2(S)) throw mismatch('ringSize', 'power of two in [64, 2^30]', Sbig);
  if (S !== total - RING_DATA_OFFSET) throw mismatch('ringSize', total - RING_DATA_OFFSET, S);
  const maxPayload = dv.getUint32(RING.maxPayload, true);
  if (maxPayload > S - 8) throw mismatch('maxPayload', `<= ${S - 8}`, maxPayload);
  const ms = dv.getUint32(RING.mutexSize, true);
  if (ms !== nativeMutexSize()) throw mismatch('mutexSize', nativeMutexSize(), ms);
  const lt = dv.getUint32(RING.libcTag, true);
  if (lt !== libcTag()) throw mismatch('libcTag', libcTag(), lt);
  const maxReaders = dv.getUint32(RING.maxReaders, true);
  if (maxReaders < 1 || maxReaders > MAX_READERS) throw mismatch('maxReaders', '1..1024', maxReaders);
  const nc = dv.getUint32(RING.defaultNotifier, true);
  if (nc > 2) throw mismatch('defaultNotifier', '0..2', nc);
  const g = dv.getUint32(RING.udpGroup, false);
  if ((g >>> 28) !== 0xe) throw mismatch('udpGroup', 'IPv4 multicast address', intToIpv4(g));
  const port = dv.getUint16(RING.udpPort, true);
  if (port === 0) throw mismatch('udpPort', '1..65535', port);
  if (opts.ringSize !== undefined && opts.ringSize !== S) throw mismatch('ringSize', opts.ringSize, S);
  if (opts.maxReaders !== undefined && opts.maxReaders !== maxReaders) throw mismatch('maxReaders', opts.maxReaders, maxReaders);
  const rb = new BigUint64Array(ring.buffer, 0, 32);
  const F = Atomics.load(rb, RING.freePos >> 3);
  if ((F & 7n) !== 0n && !ring.readonly) { /* repaired by the next writer under the lock */ }
  return { ringSize: S, maxReaders, channelId: dv.getBigUint64(RING.channelId, true) };
}

function validateReaders(rs: Segment, rv: RingValues): void {
  const dv = rs.dataView(0, SLOTS_OFFSET);
  const mr = dv.getUint32(READERS.maxReaders, true);
  if (mr !== rv.maxReaders) throw mismatch('maxReaders', rv.maxReaders, mr);
  if (rs.size !== readersTotalSize(mr)) throw mismatch('totalSize', readersTotalSize(mr), rs.size);
  const stride = dv.getUint32(READERS.slotStride, true);
  if (stride !== SLOT_STRIDE) throw mismatch('slotStride', SLOT_STRIDE, stride);
  const so = dv.getUint32(READERS.slotsOffset, true);
  if (so !== SLOTS_OFFSET) throw mismatch('slotsOffset', SLOTS_OFFSET, so);
  const ms = dv.getUint32(READERS.mutexSize, true);
  if (ms !== nativeMutexSize()) throw mismatch('mutexSize', nativeMutexSize(), ms);
  const lt = dv.getUint32(READERS.libcTag, true);
  if (lt !== libcTag()) throw mismatch('libcTag', libcTag(), lt);
  const id = dv.getBigUint64(READERS.channelId, true);
  if (id !== rv.channelId) throw mismatch('channelId', rv.channelId, id);
  const S = Number(dv.getBigUint64(READERS.ringSize, true));
  if (S !== rv.ringSize) throw mismatch('ringSize', rv.ringSize, S);
}

/** Repair a slot whose owner died (its lock came back 'recovered'; we hold it). */
export function repairSlot(core: ChannelCore, s: number): void {
  const bell = core.slotI32(s, SLOT.doorbell);
  const st = Atomics.load(core.ri32, bell);
  if ((st === 1 || st === 2) && Atomics.compareExchange(core.ri32, bell, st, 0) === st) {
    const pi = READERS.parked >> 2;
    for (;;) { const v = Atomics.load(core.ri32, pi); if (v <= 0 || Atomics.compareExchange(core.ri32, pi, v, v - 1) === v) break; }
  }
  Atomics.store(core.ri32, core.slotI32(s, SLOT.isActive), 0);
  core.bumpEpoch();
  core.addReaders(READERS.slotReclaims, 1);
}

/** tryLock of a slot lock; a slot held by this very thread (another reader of ours) is 'busy'. */
export function tryLockSlot(lock: RobustMutex): 'acquired' | 'recovered' | 'busy' {
  try { return lock.tryLock(); } catch (e) {
    if (isShmkitError(e, 'ERR_MUTEX_DEADLOCK')) return 'busy';
    throw e;
  }
}

/** Try every slot except `except` once; reclaim dead ones. Returns the number reclaimed. */
export function sweepSlots(core: ChannelCore, except: number): number {
  let n = 0;
  for (let s = 0; s < core.maxReaders; s++) {
    if (s === except) continue;
    const lock = RobustMutex.attach(core.readersSeg, core.slotBase(s) + SLOT.lock);
    let r: string;
    try { r = tryLockSlot(lock); } catch { continue; }
    if (r === 'busy') continue;
    if (r === 'recovered') {
      repairSlot(core, s);
      rmSync(`/dev/shm/shmkit.${core.pkg}.${core.name}.wake-${s}`, { force: true });
      n++;
    }
    lock.unlock();
  }
  return n;
}

