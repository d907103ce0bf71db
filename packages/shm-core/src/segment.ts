import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ShmkitError, syscallError } from './errors.js';
import { native } from './native.js';
import { objectName, PACKAGES, type PackageToken } from './names.js';

import { SHM_DIR } from './names.js';
export const MAGIC = 0x4b4d4853; // "SHMK" as LE u32
export const INIT_READY = 0x54494e49; // "INIT"
export const INIT_DEAD = 0x44414544; // "DEAD"
export const HEADER_SIZE = 64;
const O_CREAT = 1, O_EXCL = 2, O_RDONLY = 4;

export interface HeaderSpec { package: PackageToken; kind?: number; layoutMajor: number }
export interface CreateOptions extends HeaderSpec {
  name: string; part?: string;
  /** Total bytes including the 64-byte header; multiple of 8; 64 ≤ size ≤ 2^32 − 4096. */
  size: number;
  headerSize?: number; layoutMinor?: number;
  /** Default 0o600. */
  mode?: number;
  /** Default true: posix_fallocate the whole object so a full /dev/shm fails here, not with SIGBUS later. */
  reserve?: boolean;
  /** Runs before `initialized` is stored and the name is published. */
  init?: (seg: Segment) => void;
}
export interface OpenOptions extends HeaderSpec {
  name: string; part?: string;
  size?: number | { min: number };
  minLayoutMinor?: number;
  readonly?: boolean;
}
export interface SegmentHeader {
  packageId: number; kind: number; layoutMajor: number; layoutMinor: number;
  state: 'pending' | 'ready' | 'destroyed' | 'invalid';
  totalSize: number; headerSize: number; creatorPid: number; creatorStartTime: bigint;
}

function startTime(pid: number): bigint {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return BigInt(fields[19] ?? '0');
  } catch { return 0n; }
}

function validateSize(size: number, headerSize: number): void {
  if (!Number.isInteger(size) || size < 64 || size > 2 ** 32 - 4096 || size % 8 !== 0) {
    throw new ShmkitError('ERR_INVALID_ARGUMENT', `size must be a multiple of 8 in [64, 2^32-4096], got ${size}`);
  }
  if (!Number.isInteger(headerSize) || headerSize < 64 || headerSize % 8 !== 0 || headerSize > size) {
    throw new ShmkitError('ERR_INVALID_ARGUMENT', `headerSize must be a multiple of 8 in [64, size], got ${headerSize}`);
  }
}

/** shm_unlink; false if the name was already gone (ENOENT). */
function unlinkObject(obj: string): boolean {
  const r = native().shmUnlink(obj);
  if (r === -2) return false;
  if (r < 0) throw syscallError(r, 'shm_unlink', obj);
  return true;
}

/** A mapped shared-memory object with shmkit's common header. */
export class Segment implements Disposable {
  readonly objectName: string;
  readonly size: number;
  readonly created: boolean;
  readonly readonly: boolean;
  #addr: number;
  #buffer: ArrayBuffer | undefined;
  #closed = false;

  private constructor(name: string, addr: number, size: number, created: boolean, ro: boolean) {
    this.objectName = name; this.#addr = addr; this.size = size; this.created = created; this.readonly = ro;
    this.#buffer = native().view(addr, size);
  }

  /** Builds under a temporary name, then publishes with link(2): a name never shows a half-built object. */
  static create(opts: CreateOptions): Segment {
    const name = objectName(opts.package, opts.name, opts.part);
    const headerSize = opts.headerSize ?? HEADER_SIZE;
    validateSize(opts.size, headerSize);
    const n = native();
    const tmp = `${name}~${process.pid}-${randomBytes(4).toString('hex')}`;
    const fd = n.shmOpen(tmp, O_CREAT | O_EXCL, opts.mode ?? 0o600);
    if (fd < 0) throw syscallError(fd, 'shm_open', name);
    let addr = -1;
    try {
      let r = n.ftruncate(fd, opts.size);
      if (r < 0) throw syscallError(r, 'ftruncate', name);
      if (opts.reserve !== false) { r = n.fallocate(fd, 0, opts.size); if (r < 0) throw syscallError(r, 'posix_fallocate', name); }
      if (opts.mode !== undefined) { r = n.fchmod(fd, opts.mode); if (r < 0) throw syscallError(r, 'fchmod', name); }
      addr = n.mmap(fd, opts.size, 3, 0);
      if (addr < 0) throw syscallError(addr, 'mmap', name);
      const seg = new Segment(name, addr, opts.size, true, false);
      addr = -1;
      try {
        const dv = seg.dataView();
        dv.setUint32(0, MAGIC, true);
        dv.setUint16(4, PACKAGES[opts.package], true);
        dv.setUint16(6, opts.kind ?? 0, true);
        dv.setUint16(8, opts.layoutMajor, true);
        dv.setUint16(10, opts.layoutMinor ?? 0, true);
        dv.setBigUint64(16, BigInt(opts.size), true);
        dv.setUint32(24, process.pid, true);
        dv.setUint32(28, headerSize, true);
        dv.setBigUint64(32, startTime(process.pid), true);
        opts.init?.(seg);
        Atomics.store(seg.int32(), 3, INIT_READY);
        r = n.link(`${SHM_DIR}${tmp}`, `${SHM_DIR}${name}`);
        if (r < 0) throw syscallError(r, 'link', name);
        return seg;
      } catch (e) { seg.close(); throw e; }
    } finally {
      if (addr >= 0) n.munmap(addr, opts.size);
      n.shmUnlink(tmp);
      n.close(fd);
    }
  }

  /** Opens a published object and checks every header field before handing it out. */
  static open(opts: OpenOptions): Segment {
    const name = objectName(opts.package, opts.name, opts.part);
    const n = native();
    const ro = opts.readonly === true;
    const fd = n.shmOpen(name, ro ? O_RDONLY : 0, 0);
    if (fd < 0) throw syscallError(fd, 'shm_open', name);
    try {
      const st = new BigInt64Array(6);
      const r = n.fstat(fd, st);
      if (r < 0) throw syscallError(r, 'fstat', name);
      const size = Number(st[0]);
      if (size < HEADER_SIZE) throw new ShmkitError('ERR_NOT_SHMKIT', `${name}: ${size} bytes, smaller than a header`);
      const addr = n.mmap(fd, size, ro ? 1 : 3, 0);
      if (addr < 0) throw syscallError(addr, 'mmap', name);
      const seg = new Segment(name, addr, size, false, ro);
      try { seg.#validate(opts); } catch (e) { seg.close(); throw e; }
      return seg;
    } finally { n.close(fd); }
  }

  /** Marks the object destroyed and removes its name; false if absent. */
  static unlink(pkg: PackageToken, name: string, part?: string): boolean {
    return unlinkObject(objectName(pkg, name, part));
  }

  #validate(opts: OpenOptions): void {
    const dv = this.dataView();
    const mismatch = (field: string, expected: unknown, actual: unknown) =>
      new ShmkitError('ERR_LAYOUT_MISMATCH', `${this.objectName}: ${field} is ${String(actual)}, expected ${String(expected)}`, { details: { field, expected, actual } });
    if (dv.getUint32(0, true) !== MAGIC) throw new ShmkitError('ERR_NOT_SHMKIT', `${this.objectName}: no SHMK magic`);
    const h = this.header;
    if (h.state === 'pending') throw new ShmkitError('ERR_NOT_INITIALIZED', `${this.objectName}: not initialized`);
    if (h.state === 'invalid') throw new ShmkitError('ERR_HEADER_CORRUPT', `${this.objectName}: unknown initialized value`);
    if (h.state === 'destroyed') throw new ShmkitError('ERR_NOT_FOUND', `${this.objectName}: being destroyed`);
    if (h.headerSize < 64 || h.headerSize % 8 !== 0 || h.headerSize > h.totalSize) throw new ShmkitError('ERR_HEADER_CORRUPT', `${this.objectName}: impossible headerSize ${h.headerSize}`);
    if (h.totalSize !== this.size) throw new ShmkitError('ERR_SEGMENT_TRUNCATED', `${this.objectName}: header says ${h.totalSize} bytes, object has ${this.size}`);
    if (h.packageId !== PACKAGES[opts.package]) throw mismatch('packageId', PACKAGES[opts.package], h.packageId);
    if (h.kind !== (opts.kind ?? 0)) throw mismatch('kind', opts.kind ?? 0, h.kind);
    if (h.layoutMajor !== opts.layoutMajor) throw mismatch('layoutMajor', opts.layoutMajor, h.layoutMajor);
    if (h.layoutMinor < (opts.minLayoutMinor ?? 0)) throw mismatch('layoutMinor', opts.minLayoutMinor, h.layoutMinor);
    if (typeof opts.size === 'number' && opts.size !== this.size) throw mismatch('size', opts.size, this.size);
    if (typeof opts.size === 'object' && this.size < opts.size.min) throw mismatch('size', opts.size, this.size);
  }

  get header(): SegmentHeader {
    const dv = this.dataView();
    const init = Atomics.load(this.int32(), 3);
    return {
      packageId: dv.getUint16(4, true), kind: dv.getUint16(6, true),
      layoutMajor: dv.getUint16(8, true), layoutMinor: dv.getUint16(10, true),
      state: init === 0 ? 'pending' : init === INIT_READY ? 'ready' : init === INIT_DEAD ? 'destroyed' : 'invalid',
      totalSize: Number(dv.getBigUint64(16, true)), headerSize: dv.getUint32(28, true),
      creatorPid: dv.getUint32(24, true), creatorStartTime: dv.getBigUint64(32, true),
    };
  }

  get closed(): boolean { return this.#closed; }

  /** The one ArrayBuffer over the mapping; detached by close(). */
  get buffer(): ArrayBuffer {
    if (this.#closed || !this.#buffer) throw new ShmkitError('ERR_CLOSED', `${this.objectName}: segment closed`);
    return this.#buffer;
  }
  /** Address of byte `offset` of the mapping, for shim calls (mutex, futex). */
  address(offset = 0): number {
    if (this.#closed) throw new ShmkitError('ERR_CLOSED', `${this.objectName}: segment closed`);
    if (!Number.isInteger(offset) || offset < 0 || offset >= this.size) throw new ShmkitError('ERR_INVALID_ARGUMENT', `offset ${offset} outside the segment`);
    return this.#addr + offset;
  }
  dataView(offset = 0, length?: number): DataView { return new DataView(this.buffer, offset, length); }
  int32(offset = 0, length?: number): Int32Array { return new Int32Array(this.buffer, offset, length); }
  uint8(offset = 0, length?: number): Uint8Array { return new Uint8Array(this.buffer, offset, length); }
  bigInt64(offset = 0, length?: number): BigInt64Array { return new BigInt64Array(this.buffer, offset, length); }

  /** Marks the object destroyed (openers get ERR_NOT_FOUND) and removes its name. */
  unlink(): boolean {
    if (!this.readonly) Atomics.store(this.int32(), 3, INIT_DEAD);
    return unlinkObject(this.objectName);
  }

  /** Detaches every view (later access throws a TypeError, never a fault), then unmaps. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const n = native();
    const buf = this.#buffer;
    this.#buffer = undefined;
    if (buf && n.detach(buf)) n.munmap(this.#addr, this.size);
    else n.tombstone(this.#addr, this.size);
  }
  [Symbol.dispose](): void { this.close(); }
}
