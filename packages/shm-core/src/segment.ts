import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { ShmkitError, syscallError } from './errors.js';
import { guardTable } from './guard.js';
import { native } from './native.js';
import { objectName, PACKAGES, type PackageToken } from './names.js';
import { lockOpBits, lockRangeFd, type LockOp } from './rangelock.js';
import { testPoint } from './testpoint.js';

import { SHM_DIR } from './names.js';
export const MAGIC = 0x4b4d4853; // "SHMK" as LE u32
export const INIT_READY = 0x54494e49; // "INIT"
export const INIT_DEAD = 0x44414544; // "DEAD"
export const INIT_DESTROYED = INIT_DEAD;
export const HEADER_SIZE = 64;
export const COMMON_HEADER_SIZE = 40;
const O_CREAT = 1, O_EXCL = 2, O_RDONLY = 4;
const SEAL_SEAL = 1, SEAL_SHRINK = 2, SEAL_GROW = 4;
const PAGE = 4096;
const MAX_SIZE = 2 ** 32 - 4096;
const ENOENT = 2, EEXIST = 17, EWOULDBLOCK = 11;
const S_IFMT = 0o170000, S_IFREG = 0o100000;
const SHM_NAME_RE = /^\/[A-Za-z0-9][A-Za-z0-9._-]{0,250}$/;

export type SegmentKind = 'shm' | 'memfd' | 'file';
export interface HeaderSpec {
  package: PackageToken;
  /** u16 object kind defined by the package, default 0. */
  kind?: number;
  /** u16; openers require equality. */
  layoutMajor: number;
  /** Default true; false only for a reference-compatible foreign layout (no common header). */
  header?: boolean;
}
export interface CreateOptions extends HeaderSpec {
  name: string; part?: string;
  /** Total bytes including the header; multiple of 8; 64 ≤ size ≤ 2^32 − 4096 (≥ 8 without a header). */
  size: number;
  /** Where the package's data starts: multiple of 8, ≥ 64, default 64. */
  headerSize?: number;
  layoutMinor?: number;
  /** Default 0o600; applied to the published object after initialisation. */
  mode?: number;
  /** Default true: posix_fallocate the whole object so a full /dev/shm fails here, not with SIGBUS later. */
  reserve?: boolean;
  /** Default false: MAP_POPULATE. */
  populate?: boolean;
  /** Runs before `initialized` is stored and the name is published. */
  init?: (seg: Segment) => void;
}
export interface OpenOptions extends HeaderSpec {
  name: string; part?: string;
  /** Default: any size ≥ 64 that equals the header's totalSize. */
  size?: number | { min: number };
  minLayoutMinor?: number;
  readonly?: boolean;
  populate?: boolean;
  /** Package checks after header validation; throw a ShmkitError. */
  validate?: (seg: Segment) => void;
}
export interface SegmentHeader {
  packageId: number; package: PackageToken | undefined; kind: number;
  layoutMajor: number; layoutMinor: number;
  state: 'pending' | 'ready' | 'destroyed' | 'invalid';
  totalSize: number; headerSize: number;
  /** pid + start time (clock ticks after boot) of the creating process. */
  creator: { pid: number; startTime: number };
  /** Copy of bytes 40..63 (the package area). */
  packageBytes: Uint8Array;
  /** Same as creator.pid / creator.startTime. */
  creatorPid: number; creatorStartTime: bigint;
}
export type FromFdOptions = HeaderSpec & {
  size?: number | { min: number }; minLayoutMinor?: number; readonly?: boolean; populate?: boolean;
  /** Default true: F_SEAL_SHRINK and F_SEAL_GROW must be set. */
  requireSeals?: boolean;
  /** Default true: the segment closes `fd`; false: it maps a dup and the caller keeps `fd`. */
  takeOwnership?: boolean;
  /** Map a window of the fd (page-aligned offset); header checks only at offset 0. */
  offset?: number; length?: number;
  validate?: (seg: Segment) => void;
};
export type FileCreateOptions = Omit<CreateOptions, 'name' | 'part'> & { lock?: boolean };
export type FileOpenOptions = Omit<OpenOptions, 'name' | 'part'> & { lock?: boolean };
export type InPlaceTarget = { package: PackageToken; name: string; part?: string } | { shmName: string } | { path: string };
export interface InPlaceOptions { size: number; mode?: number; readonly?: boolean; lock?: boolean; reserve?: boolean }

const PACKAGE_BY_ID = new Map<number, PackageToken>(Object.entries(PACKAGES).map(([k, v]) => [v, k as PackageToken]));

function startTime(pid: number): bigint {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return BigInt(fields[19] ?? '0');
  } catch { return 0n; }
}

const invalidArg = (msg: string, details?: Record<string, unknown>) => new ShmkitError('ERR_INVALID_ARGUMENT', msg, { details });

function checkU16(what: string, v: unknown): void {
  if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 0xffff) throw invalidArg(`${what} must be an integer in [0, 65535], got ${String(v)}`, { [what]: v });
}
function checkMode(mode: unknown): void {
  if (mode !== undefined && (!Number.isInteger(mode) || (mode as number) < 0 || ((mode as number) & ~0o777) !== 0)) {
    throw invalidArg(`mode must only have bits of 0o777, got ${String(mode)}`, { mode });
  }
}
function checkHeaderSpec(spec: HeaderSpec): void {
  if (!Object.hasOwn(PACKAGES, spec.package)) throw new ShmkitError('ERR_INVALID_NAME', `unknown package token: ${String(spec.package)}`, { details: { name: String(spec.package), reason: 'unknown-package' } });
  if (spec.header === false) return;
  checkU16('layoutMajor', spec.layoutMajor);
  checkU16('kind', spec.kind ?? 0);
}
/** §5.3 step 1: size and headerSize; returns headerSize (0 without a header). */
function validateCreate(opts: Omit<CreateOptions, 'name' | 'part'>): number {
  checkHeaderSpec(opts);
  checkMode(opts.mode);
  const headed = opts.header !== false;
  const min = headed ? HEADER_SIZE : 8;
  const size = opts.size;
  if (!Number.isInteger(size) || size < min || size > MAX_SIZE || size % 8 !== 0) {
    throw invalidArg(`size must be a multiple of 8 in [${min}, 2^32-4096], got ${size}`, { size });
  }
  if (!headed) return 0;
  checkU16('layoutMinor', opts.layoutMinor ?? 0);
  const headerSize = opts.headerSize ?? HEADER_SIZE;
  if (!Number.isInteger(headerSize) || headerSize < HEADER_SIZE || headerSize % 8 !== 0 || headerSize > size) {
    throw invalidArg(`headerSize must be a multiple of 8 in [64, size], got ${headerSize}`, { headerSize });
  }
  return headerSize;
}
function checkPath(path: unknown): asserts path is string {
  if (typeof path !== 'string' || path.length === 0 || path.includes('\0') || path.length > 4000) {
    throw new ShmkitError('ERR_INVALID_NAME', `invalid file path ${JSON.stringify(String(path))}`, { details: { name: String(path), reason: 'bad-char' } });
  }
}
/** Creates the temporary object `<final>~<pid>-<hex8>` (another random part on EEXIST). */
function openTemp(final: string, open: (tmp: string) => number, syscall: string): { tmp: string; fd: number } {
  for (let i = 0; ; i++) {
    const tmp = `${final}~${process.pid}-${randomBytes(4).toString('hex')}`;
    const fd = open(tmp);
    if (fd >= 0) return { tmp, fd };
    if (fd !== -EEXIST || i === 7) throw syscallError(fd, syscall, final);
  }
}

/** shm_unlink; false if the name was already gone (ENOENT). */
function unlinkObject(obj: string): boolean {
  const r = native().shmUnlink(obj);
  if (r === -ENOENT) return false;
  if (r < 0) throw syscallError(r, 'shm_unlink', obj);
  return true;
}
function fstat6(fd: number, what: string): BigInt64Array {
  const st = new BigInt64Array(6);
  const r = native().fstat(fd, st);
  if (r < 0) throw syscallError(r, 'fstat', what);
  return st;
}
function inoOf(path: string): number | undefined {
  try { return statSync(path).ino; } catch { return undefined; }
}

interface SegmentInit {
  kind: SegmentKind; objectName: string | undefined; path: string | undefined; label: string;
  fd: number; addr: number; size: number; created: boolean; readonly: boolean; headed: boolean; ino: number;
  fileOffset: number;
}

// Leak net (§5.8 step 7): a Segment collected without close() warns and closes its fd; its mapping
// goes when the ArrayBuffer itself is collected (a view of it may still be reachable until then).
const segmentLeaks = new FinalizationRegistry<{ fd: number; label: string }>((held) => {
  process.emitWarning(`shmkit segment ${held.label} was not closed`, { code: 'SHMKIT_LEAK' });
  native().close(held.fd);
});
const bufferLeaks = new FinalizationRegistry<{ addr: number; size: number; slot: number; extras: ReadonlySet<ArrayBuffer> }>((held) => {
  const n = native();
  // Attached extraViews may outlive the collected main buffer: detach them before the memory goes away.
  for (const v of held.extras) n.detach(v);
  if (held.slot > 0) n.guardRemove(held.slot);
  n.munmap(held.addr, held.size);
});

let detachDisabled = false;
/** Test switch (§8 test 17): behave as if the N-API detach were unavailable, so close() tombstones. */
export function forceTombstoneForTests(on: boolean): void { detachDisabled = on; }

/** A mapped shared-memory object (POSIX shm, memfd or file), normally with shmkit's common header. */
export class Segment implements Disposable {
  readonly kind: SegmentKind;
  readonly objectName: string | undefined;
  readonly path: string | undefined;
  readonly size: number;
  readonly created: boolean;
  readonly readonly: boolean;
  /** Name used in messages: the object name, the path or the memfd name. */
  readonly label: string;
  readonly bytes: Uint8Array;
  readonly i32: Int32Array;
  readonly u32: Uint32Array;
  readonly i64: BigInt64Array;
  readonly u64: BigUint64Array;
  readonly view: DataView;
  #fd: number;
  #addr: number;
  #buffer: ArrayBuffer;
  #headed: boolean;
  #ino: number;
  #fileOffset: number;
  #slot: number;
  #poison: Uint32Array | null;
  #closed = false;
  #dataOffset = 0;
  /** Attached extraViews (also held by the leak net, which detaches them if the segment is never closed). */
  #extra = new Set<ArrayBuffer>();
  #token = {};
  /** @internal RobustMutexes of this segment held by this thread (maintained by RobustMutex; close() refuses while > 0). */
  heldMutexes = 0;
  /** @internal Set by RobustMutex: true while another open Segment of this thread maps the same object (a held
   *  mutex stays reachable, and unlockable, through it, so this mapping may close). */
  mappedElsewhere: (() => boolean) | undefined = undefined;

  private constructor(s: SegmentInit) {
    this.kind = s.kind; this.objectName = s.objectName; this.path = s.path; this.label = s.label;
    this.#fd = s.fd; this.#addr = s.addr; this.size = s.size; this.created = s.created; this.readonly = s.readonly;
    this.#headed = s.headed; this.#ino = s.ino; this.#fileOffset = s.fileOffset;
    const n = native();
    this.#poison = guardTable();
    let slot = 0;
    if (this.#poison) {
      slot = n.guardAdd(s.addr, s.size);
      if (slot < 0) {
        n.munmap(s.addr, s.size); // the caller still owns and closes the fd
        throw new ShmkitError('ERR_LIMIT', `${s.label}: SIGBUS guard table full (1023 live mappings)`, { errno: -slot, syscall: 'shk_guard_add', details: { what: 'guard slots' } });
      }
    }
    this.#slot = slot;
    const buf = n.view(s.addr, s.size);
    this.#buffer = buf;
    this.bytes = new Uint8Array(buf);
    this.i32 = new Int32Array(buf, 0, s.size >>> 2);
    this.u32 = new Uint32Array(buf, 0, s.size >>> 2);
    this.i64 = new BigInt64Array(buf, 0, Math.floor(s.size / 8));
    this.u64 = new BigUint64Array(buf, 0, Math.floor(s.size / 8));
    this.view = new DataView(buf);
    segmentLeaks.register(this, { fd: s.fd, label: s.label }, this.#token);
    bufferLeaks.register(buf, { addr: s.addr, size: s.size, slot, extras: this.#extra }, this.#token);
  }

  /** mmap of `fd` at `off`; on failure closes nothing. */
  static #map(fd: number, size: number, ro: boolean, populate: boolean | undefined, off: number, what: string): number {
    const addr = native().mmap(fd, size, (ro ? 1 : 3) | (populate ? 4 : 0), off);
    if (addr < 0) throw syscallError(addr, 'mmap', what);
    return addr;
  }

  /** §5.3 steps 3–7 on a fresh fd: size, reserve, map, header, init, `initialized` last. Owns `fd`. */
  static #build(fd: number, meta: Omit<SegmentInit, 'fd' | 'addr' | 'size' | 'created' | 'readonly' | 'headed' | 'ino' | 'fileOffset'>,
    opts: Omit<CreateOptions, 'name' | 'part'>, headerSize: number): Segment {
    const n = native();
    let seg: Segment | undefined;
    try {
      let r = n.ftruncate(fd, opts.size);
      if (r < 0) throw syscallError(r, 'ftruncate', meta.label);
      if (opts.reserve !== false) { r = n.fallocate(fd, 0, opts.size); if (r < 0) throw syscallError(r, 'posix_fallocate', meta.label); }
      const ino = Number(fstat6(fd, meta.label)[1]);
      const addr = Segment.#map(fd, opts.size, false, opts.populate, 0, meta.label);
      const headed = opts.header !== false;
      seg = new Segment({ ...meta, fd, addr, size: opts.size, created: true, readonly: false, headed, ino, fileOffset: 0 });
      if (headed) {
        // Bytes 0–11 and 16–39; `initialized` (12) stays 0 until init() has run.
        const dv = seg.view;
        dv.setUint32(0, MAGIC, true);
        dv.setUint16(4, PACKAGES[opts.package], true);
        dv.setUint16(6, opts.kind ?? 0, true);
        dv.setUint16(8, opts.layoutMajor, true);
        dv.setUint16(10, opts.layoutMinor ?? 0, true);
        dv.setBigUint64(16, BigInt(opts.size), true);
        dv.setUint32(24, process.pid, true);
        dv.setUint32(28, headerSize, true);
        dv.setBigUint64(32, startTime(process.pid), true);
        seg.#dataOffset = headerSize;
      }
      opts.init?.(seg);
      testPoint('shm-core.create.beforeReady');
      if (headed) Atomics.store(seg.i32, 3, INIT_READY);
      if (opts.mode !== undefined && opts.mode !== 0o600) { r = n.fchmod(fd, opts.mode); if (r < 0) throw syscallError(r, 'fchmod', meta.label); }
      return seg;
    } catch (e) {
      // A half-built object is discarded even if init() left one of its mutexes locked.
      if (seg) { seg.heldMutexes = 0; seg.close(); } else n.close(fd);
      throw e;
    }
  }

  /** Maps an opened fd and runs §5.4 steps 2–8. Owns `fd`. */
  static #openFd(fd: number, meta: { kind: SegmentKind; objectName: string | undefined; path: string | undefined; label: string },
    opts: Omit<OpenOptions, 'name' | 'part'>, window?: { offset: number; length: number | undefined }): Segment {
    const n = native();
    let seg: Segment | undefined;
    try {
      const st = fstat6(fd, meta.label);
      const fileSize = Number(st[0]);
      const off = window?.offset ?? 0;
      const headed = opts.header !== false && off === 0;
      let size = fileSize - off;
      if (window?.length !== undefined) {
        if (!Number.isInteger(window.length) || window.length < 1 || window.length > size) throw invalidArg(`${meta.label}: window [${off}, ${off + window.length}) outside the object of ${fileSize} bytes`);
        size = window.length;
      }
      if (headed && size < HEADER_SIZE) throw new ShmkitError('ERR_SEGMENT_TRUNCATED', `${meta.label}: ${size} bytes, smaller than a header`, { details: { size } });
      if (size <= 0) throw new ShmkitError('ERR_SEGMENT_TRUNCATED', `${meta.label}: empty object`, { details: { size } });
      const ro = opts.readonly === true;
      const addr = Segment.#map(fd, size, ro, opts.populate, off, meta.label);
      seg = new Segment({ ...meta, fd, addr, size, created: false, readonly: ro, headed, ino: Number(st[1]), fileOffset: off });
      if (headed) { seg.#validate(opts, fileSize); seg.#dataOffset = seg.view.getUint32(28, true); }
      else if (opts.size !== undefined) seg.#checkSizeRule(opts.size);
      opts.validate?.(seg);
      return seg;
    } catch (e) {
      if (seg) seg.close(); else n.close(fd);
      throw e;
    }
  }

  /** Builds under a temporary name, then publishes with link(2): a name never shows a half-built object. */
  static create(opts: CreateOptions): Segment {
    const name = objectName(opts.package, opts.name, opts.part);
    const headerSize = validateCreate(opts);
    const n = native();
    const { tmp, fd } = openTemp(name, (t) => n.shmOpen(t, O_CREAT | O_EXCL, 0o600), 'shm_open');
    let seg: Segment | undefined;
    try {
      seg = Segment.#build(fd, { kind: 'shm', objectName: name, path: SHM_DIR + name, label: name }, opts, headerSize);
      testPoint('shm-core.create.beforeLink');
      const r = n.link(SHM_DIR + tmp, SHM_DIR + name);
      if (r === -EEXIST) throw new ShmkitError('ERR_EXISTS', `${name}: already exists`, { errno: EEXIST, syscall: 'link' });
      if (r < 0) throw syscallError(r, 'link', name);
      return seg;
    } catch (e) { seg?.close(); throw e; } finally { n.shmUnlink(tmp); }
  }

  /** Opens a published object and checks every header field before handing it out. Never waits. */
  static open(opts: OpenOptions): Segment {
    const name = objectName(opts.package, opts.name, opts.part);
    checkHeaderSpec(opts);
    const n = native();
    const fd = n.shmOpen(name, opts.readonly === true ? O_RDONLY : 0, 0);
    if (fd < 0) throw syscallError(fd, 'shm_open', name);
    return Segment.#openFd(fd, { kind: 'shm', objectName: name, path: SHM_DIR + name, label: name }, opts);
  }

  /** open, else create; if another process wins the link race, opens theirs. At most 8 rounds (then ERR_BUSY). */
  static openOrCreate(opts: CreateOptions & Omit<OpenOptions, 'size'>): { segment: Segment; created: boolean } {
    validateCreate(opts);
    for (let round = 0; round < 8; round++) {
      try {
        return { segment: Segment.open({ ...opts, size: opts.size }), created: false };
      } catch (e) { if (!(e instanceof ShmkitError) || e.code !== 'ERR_NOT_FOUND') throw e; }
      try {
        return { segment: Segment.create(opts), created: true };
      } catch (e) { if (!(e instanceof ShmkitError) || e.code !== 'ERR_EXISTS') throw e; }
    }
    throw new ShmkitError('ERR_BUSY', `${objectName(opts.package, opts.name, opts.part)}: openOrCreate contended for 8 rounds`, { details: { reason: 'contended' } });
  }

  /** Reference-compatible layouts only (no common header): open with O_CREAT in place; ftruncate(size) when the
   *  object is empty (`created: true`); any other size → ERR_LAYOUT_MISMATCH {field: 'size'}. `lock` takes
   *  flock(EX|NB) first (held → ERR_LOCK_HELD). */
  static openOrCreateInPlace(target: InPlaceTarget, opts: InPlaceOptions): { segment: Segment; created: boolean } {
    let kind: SegmentKind, objName: string | undefined, path: string;
    if ('path' in target) {
      checkPath(target.path); kind = 'file'; objName = undefined; path = target.path;
    } else if ('shmName' in target) {
      if (typeof target.shmName !== 'string' || !SHM_NAME_RE.test(target.shmName)) {
        throw new ShmkitError('ERR_INVALID_NAME', `invalid shm name ${JSON.stringify(String(target.shmName))}`, { details: { name: String(target.shmName), reason: 'bad-char' } });
      }
      kind = 'shm'; objName = target.shmName; path = SHM_DIR + objName;
    } else {
      kind = 'shm'; objName = objectName(target.package, target.name, target.part); path = SHM_DIR + objName;
    }
    if (!Number.isInteger(opts.size) || opts.size < 1 || opts.size > MAX_SIZE) throw invalidArg(`size must be an integer in [1, 2^32-4096], got ${opts.size}`, { size: opts.size });
    checkMode(opts.mode);
    const n = native();
    const ro = opts.readonly === true;
    const flags = O_CREAT | (ro ? O_RDONLY : 0);
    const mode = opts.mode ?? 0o600;
    const fd = kind === 'file' ? n.fileOpen(path, flags, mode) : n.shmOpen(objName!, flags, mode);
    const label = objName ?? path;
    if (fd < 0) throw syscallError(fd, kind === 'file' ? 'open' : 'shm_open', label);
    let created = false;
    try {
      if (opts.lock) Segment.#lockOrThrow(fd, label);
      const size = Number(fstat6(fd, label)[0]);
      if (size === 0) {
        let r = n.ftruncate(fd, opts.size);
        if (r < 0) throw syscallError(r, 'ftruncate', label);
        if (opts.reserve === true) { r = n.fallocate(fd, 0, opts.size); if (r < 0) throw syscallError(r, 'posix_fallocate', label); }
        created = true;
      } else if (size !== opts.size) {
        throw new ShmkitError('ERR_LAYOUT_MISMATCH', `${label}: size is ${size}, expected ${opts.size}`, { details: { field: 'size', expected: opts.size, actual: size } });
      }
    } catch (e) { n.close(fd); throw e; }
    const segment = Segment.#openFd(fd, { kind, objectName: kind === 'shm' ? objName : undefined, path, label },
      { package: 'shm-core', layoutMajor: 0, header: false, readonly: ro, size: opts.size });
    return { segment, created };
  }

  static #lockOrThrow(fd: number, label: string): void {
    const r = native().flock(fd, 2 | 4);
    if (r === -EWOULDBLOCK) throw new ShmkitError('ERR_LOCK_HELD', `${label}: locked by another process`, { errno: EWOULDBLOCK, syscall: 'flock' });
    if (r < 0) throw syscallError(r, 'flock', label);
  }

  /** Removes the name `/shmkit.<pkg>.<name>[.<part>]`; false if absent. */
  static unlink(pkg: PackageToken, name: string, part?: string): boolean {
    return unlinkObject(objectName(pkg, name, part));
  }

  /** An anonymous segment (memfd) built like `create` and sealed (SHRINK|GROW|SEAL) before anyone sees it. */
  static createMemfd(opts: Omit<CreateOptions, 'mode'> & { seal?: boolean }): Segment {
    const name = objectName(opts.package, opts.name, opts.part);
    const headerSize = validateCreate(opts);
    const n = native();
    const fd = n.memfdCreate(name.slice(1), 1);
    if (fd < 0) throw syscallError(fd, 'memfd_create', name);
    const seg = Segment.#build(fd, { kind: 'memfd', objectName: undefined, path: undefined, label: `memfd:${name.slice(1)}` }, { ...opts, mode: undefined }, headerSize);
    if (opts.seal !== false) {
      const r = n.addSeals(fd, SEAL_SHRINK | SEAL_GROW | SEAL_SEAL);
      if (r < 0) { seg.close(); throw syscallError(r, 'fcntl(F_ADD_SEALS)', seg.label); }
    }
    return seg;
  }

  /** Maps a received fd (a memfd from a peer): checks it is a regular file, its seals, size and header.
   *  With takeOwnership (default) the fd belongs to shm-core from the call on: closed with the segment, or
   *  at once if fromFd throws. */
  static fromFd(fd: number, opts: FromFdOptions): Segment {
    checkHeaderSpec(opts);
    if (!Number.isInteger(fd)) throw invalidArg(`fd must be an integer, got ${String(fd)}`);
    const offset = opts.offset ?? 0;
    if (!Number.isInteger(offset) || offset < 0 || offset % PAGE !== 0) throw invalidArg(`offset must be a page-aligned integer >= 0, got ${offset}`, { offset });
    const n = native();
    const label = `fd ${fd}`;
    const owned = opts.takeOwnership !== false;
    let own = fd;
    try {
      const st = fstat6(fd, label);
      if ((Number(st[3]) & S_IFMT) !== S_IFREG) throw invalidArg(`${label}: not a regular file or memfd`, { mode: Number(st[3]) });
      if (opts.requireSeals !== false) {
        const seals = n.getSeals(fd);
        if (seals < 0 || (seals & (SEAL_SHRINK | SEAL_GROW)) !== (SEAL_SHRINK | SEAL_GROW)) {
          throw new ShmkitError('ERR_UNSEALED', `${label}: F_SEAL_SHRINK and F_SEAL_GROW are required`, { details: { seals: seals < 0 ? 0 : seals } });
        }
      }
      if (!owned) {
        own = n.dup(fd);
        if (own < 0) throw syscallError(own, 'fcntl(F_DUPFD_CLOEXEC)', label);
      }
    } catch (e) { if (owned && fd >= 0) n.close(fd); throw e; }
    return Segment.#openFd(own, { kind: 'memfd', objectName: undefined, path: undefined, label }, opts, { offset, length: opts.length });
  }

  /** A file-backed segment built at `<path>~<pid>-<hex8>` and linked to `path`; fsynced with its directory. */
  static createFile(path: string, opts: FileCreateOptions): Segment {
    checkPath(path);
    const headerSize = validateCreate(opts);
    const n = native();
    const { tmp, fd } = openTemp(path, (t) => n.fileOpen(t, O_CREAT | O_EXCL, 0o600), 'open');
    let seg: Segment | undefined;
    try {
      seg = Segment.#build(fd, { kind: 'file', objectName: undefined, path, label: path }, opts, headerSize);
      if (opts.lock) Segment.#lockOrThrow(fd, path);
      testPoint('shm-core.create.beforeLink');
      const r = n.link(tmp, path);
      if (r === -EEXIST) throw new ShmkitError('ERR_EXISTS', `${path}: already exists`, { errno: EEXIST, syscall: 'link' });
      if (r < 0) throw syscallError(r, 'link', path);
    } catch (e) { seg?.close(); n.unlink(tmp); throw e; }
    n.unlink(tmp);
    const r = n.fsync(fd, 0);
    if (r < 0) { seg.close(); throw syscallError(r, 'fsync', path); }
    try { const d = openSync(dirname(path), 'r'); try { fsyncSync(d); } finally { closeSync(d); } } catch { /* directory fsync is best effort */ }
    return seg;
  }

  /** Opens a file-backed segment (no create) and validates its header; `lock` takes flock(EX|NB). */
  static openFile(path: string, opts: FileOpenOptions): Segment {
    checkPath(path);
    checkHeaderSpec(opts);
    const n = native();
    const fd = n.fileOpen(path, opts.readonly === true ? O_RDONLY : 0, 0);
    if (fd < 0) throw syscallError(fd, 'open', path);
    if (opts.lock) { try { Segment.#lockOrThrow(fd, path); } catch (e) { n.close(fd); throw e; } }
    return Segment.#openFd(fd, { kind: 'file', objectName: undefined, path, label: path }, opts);
  }

  /** createFile, or openFile when the file exists (bounded retries if it vanishes in between). */
  static openOrCreateFile(path: string, opts: FileCreateOptions): { segment: Segment; created: boolean } {
    for (let round = 0; round < 8; round++) {
      try { return { segment: Segment.createFile(path, opts), created: true }; } catch (e) { if (!(e instanceof ShmkitError) || e.code !== 'ERR_EXISTS') throw e; }
      try { return { segment: Segment.openFile(path, { ...opts, size: opts.size }), created: false }; } catch (e) { if (!(e instanceof ShmkitError) || e.code !== 'ERR_NOT_FOUND') throw e; }
    }
    throw new ShmkitError('ERR_BUSY', `${path}: openOrCreateFile contended for 8 rounds`, { details: { reason: 'contended' } });
  }

  #checkSizeRule(rule: number | { min: number }): void {
    const bad = typeof rule === 'number' ? rule !== this.size : this.size < rule.min;
    if (bad) throw new ShmkitError('ERR_LAYOUT_MISMATCH', `${this.label}: size is ${this.size}, expected ${JSON.stringify(rule)}`, { details: { field: 'size', expected: rule, actual: this.size } });
  }

  #validate(opts: Omit<OpenOptions, 'name' | 'part'>, fileSize: number): void {
    const dv = this.view;
    const what = this.label;
    const mismatch = (field: string, expected: unknown, actual: unknown) =>
      new ShmkitError('ERR_LAYOUT_MISMATCH', `${what}: ${field} is ${String(actual)}, expected ${String(expected)}`, { details: { field, expected, actual } });
    if (dv.getUint32(0, true) !== MAGIC) throw new ShmkitError('ERR_NOT_SHMKIT', `${what}: no SHMK magic`);
    const init = Atomics.load(this.i32, 3);
    if (init === INIT_DEAD) throw new ShmkitError('ERR_NOT_FOUND', `${what}: being destroyed`, { details: { reason: 'destroyed' } });
    if (init === 0) throw new ShmkitError('ERR_NOT_INITIALIZED', `${what}: not initialized`);
    if (init !== INIT_READY) throw new ShmkitError('ERR_HEADER_CORRUPT', `${what}: unknown initialized value 0x${(init >>> 0).toString(16)}`, { details: { initialized: init >>> 0 } });
    const expectedId = PACKAGES[opts.package];
    if (dv.getUint16(4, true) !== expectedId) throw mismatch('packageId', expectedId, dv.getUint16(4, true));
    if (dv.getUint16(6, true) !== (opts.kind ?? 0)) throw mismatch('kind', opts.kind ?? 0, dv.getUint16(6, true));
    if (dv.getUint16(8, true) !== opts.layoutMajor) throw mismatch('layoutMajor', opts.layoutMajor, dv.getUint16(8, true));
    if (dv.getUint16(10, true) < (opts.minLayoutMinor ?? 0)) throw mismatch('layoutMinor', opts.minLayoutMinor ?? 0, dv.getUint16(10, true));
    const totalSize = Number(dv.getBigUint64(16, true));
    const headerSize = dv.getUint32(28, true);
    if (headerSize < HEADER_SIZE || headerSize % 8 !== 0 || headerSize > totalSize) throw new ShmkitError('ERR_HEADER_CORRUPT', `${what}: impossible headerSize ${headerSize}`, { details: { headerSize } });
    if (fileSize < totalSize) throw new ShmkitError('ERR_SEGMENT_TRUNCATED', `${what}: header says ${totalSize} bytes, object has ${fileSize}`, { details: { totalSize, size: fileSize } });
    if (fileSize !== totalSize) throw mismatch('size', totalSize, fileSize);
    if (opts.size !== undefined) this.#checkSizeRule(opts.size);
  }

  /** The decoded common header (live `state`), or undefined without a header. */
  get header(): SegmentHeader | undefined {
    if (!this.#headed) return undefined;
    this.assertUsable();
    return decodeHeader(this.view, Atomics.load(this.i32, 3));
  }

  get closed(): boolean { return this.#closed; }
  /** Byte offset where the package's data starts: header.headerSize, or 0 without a header. */
  get dataOffset(): number { return this.#dataOffset; }
  /** Set by the SIGBUS guard when the object was truncated underneath this mapping. */
  get poisoned(): boolean { return this.#slot > 0 && !this.#closed && Atomics.load(this.#poison!, this.#slot) !== 0; }
  get fd(): number { return this.#closed ? -1 : this.#fd; }

  /** Throws ERR_CLOSED or ERR_SEGMENT_TRUNCATED; one boolean and one Atomics.load. */
  assertUsable(): void {
    if (this.#closed) throw new ShmkitError('ERR_CLOSED', `${this.label}: segment closed`);
    if (this.#slot > 0 && Atomics.load(this.#poison!, this.#slot) !== 0) {
      throw new ShmkitError('ERR_SEGMENT_TRUNCATED', `${this.label}: object was truncated underneath the mapping (SIGBUS guard)`, { details: { reason: 'poisoned' } });
    }
  }

  /** The one ArrayBuffer over the mapping; detached by close() (then every view of it throws a TypeError). */
  get buffer(): ArrayBuffer { return this.#buffer; }
  /** Address of byte `offset` of the mapping, for shim calls (mutex, futex). */
  address(offset = 0): number {
    this.assertUsable();
    if (!Number.isInteger(offset) || offset < 0 || offset >= this.size) throw invalidArg(`offset ${offset} outside the segment`);
    return this.#addr + offset;
  }
  dataView(offset = 0, length?: number): DataView { this.assertUsable(); return new DataView(this.#buffer, offset, length); }
  int32(offset = 0, length?: number): Int32Array { this.assertUsable(); return new Int32Array(this.#buffer, offset, length); }
  uint8(offset = 0, length?: number): Uint8Array { this.assertUsable(); return new Uint8Array(this.#buffer, offset, length); }
  bigInt64(offset = 0, length?: number): BigInt64Array { this.assertUsable(); return new BigInt64Array(this.#buffer, offset, length); }

  #range(offset: number, length: number, what: string): void {
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
      throw invalidArg(`${what}: range [${offset}, ${offset + length}) outside the segment of ${this.size} bytes`, { offset, length });
    }
  }
  /** A Uint8Array window sharing `buffer` (never a new koffi view). */
  subarray(offset: number, length: number): Uint8Array {
    this.assertUsable();
    this.#range(offset, length, 'subarray');
    return new Uint8Array(this.#buffer, offset, length);
  }
  /** A separate ArrayBuffer over [offset, offset+length) that can be detached on its own; close() detaches it too. */
  extraView(offset: number, length: number): ArrayBuffer {
    this.assertUsable();
    this.#range(offset, length, 'extraView');
    const v = native().view(this.#addr + offset, length);
    this.#extra.add(v);
    return v;
  }
  /** Detaches an extraView (its typed arrays become length 0; Atomics/DataView/set throw). */
  detachView(view: ArrayBuffer): void {
    if (!this.#extra.delete(view)) throw invalidArg(`${this.label}: not an attached extraView of this segment`);
    native().detach(view);
  }

  /** True if the name now refers to another object or to none (always false for a memfd). */
  isStale(): boolean {
    if (this.path === undefined) return false;
    return inoOf(this.path) !== this.#ino;
  }

  /** msync(MS_SYNC) of the range (default all); `durable` also fsyncs the fd. */
  flush(opts: { offset?: number; length?: number; durable?: boolean } = {}): void {
    this.assertUsable();
    const offset = opts.offset ?? 0;
    const length = opts.length ?? this.size - offset;
    this.#range(offset, length, 'flush');
    const n = native();
    if (length > 0) {
      const r = n.msync(this.#addr + offset, length, 1);
      if (r < 0) throw syscallError(r, 'msync', this.label);
    }
    if (opts.durable) {
      const r = n.fsync(this.#fd, 1);
      if (r < 0) throw syscallError(r, 'fdatasync', this.label);
    }
  }

  /** Frees the pages of a page-aligned range; later reads give zeros. */
  punchHole(offset: number, length: number): void {
    this.assertUsable();
    this.#range(offset, length, 'punchHole');
    if (offset % PAGE !== 0 || length % PAGE !== 0) throw invalidArg(`punchHole: offset and length must be multiples of ${PAGE}`, { offset, length });
    const r = native().punchHole(this.#fd, this.#fileOffset + offset, length);
    if (r < 0) throw syscallError(r, 'fallocate(PUNCH_HOLE)', this.label);
  }

  /** flock on the segment's fd; false if nonBlocking (default) and held elsewhere. */
  flock(op: LockOp, opts: { nonBlocking?: boolean } = {}): boolean {
    this.assertUsable();
    const r = native().flock(this.#fd, lockOpBits(op, opts.nonBlocking));
    if (r === -EWOULDBLOCK) return false;
    if (r < 0) throw syscallError(r, 'flock', this.label);
    return true;
  }

  /** OFD byte-range lock on [offset, offset+length) of the segment's fd (§5.21); false if nonBlocking and held. */
  lockRange(offset: number, length: number, op: LockOp, opts: { nonBlocking?: boolean } = {}): boolean {
    this.assertUsable();
    return lockRangeFd(this.#fd, offset, length, op, opts);
  }

  /** Removes the name if it still refers to this object (marking it destroyed first); true if removed. */
  unlink(): boolean {
    if (this.#closed) throw new ShmkitError('ERR_CLOSED', `${this.label}: segment closed`);
    if (this.path === undefined) return false;
    if (inoOf(this.path) !== this.#ino) return false;
    if (this.#headed && !this.readonly && !this.poisoned) Atomics.store(this.i32, 3, INIT_DEAD);
    if (this.kind === 'shm') return unlinkObject(this.objectName!);
    try { unlinkSync(this.path); return true; } catch { return false; }
  }

  /** Detaches every view (later access throws a TypeError, never a fault), unmaps, closes the fd. Idempotent. */
  close(): void {
    if (this.#closed) return;
    if (this.heldMutexes > 0 && this.mappedElsewhere?.() !== true) throw new ShmkitError('ERR_BUSY', `${this.label}: a RobustMutex in it is held by this thread`, { details: { held: this.heldMutexes } });
    this.#closed = true;
    const n = native();
    const buf = this.#buffer;
    let detached = true;
    if (detachDisabled) detached = false;
    else {
      for (const v of this.#extra) if (!n.detach(v)) detached = false;
      if (!n.detach(buf)) detached = false;
    }
    this.#extra.clear();
    segmentLeaks.unregister(this.#token);
    bufferLeaks.unregister(this.#token);
    if (detached) {
      if (this.#slot > 0) n.guardRemove(this.#slot);
      n.munmap(this.#addr, this.size);
    } else {
      // A view may still reach the range: make it inert zero pages, unmapped once the buffer is collected.
      n.tombstone(this.#addr, this.size);
      if (this.#slot > 0) n.guardRemove(this.#slot);
      bufferLeaks.register(buf, { addr: this.#addr, size: this.size, slot: 0, extras: new Set() });
    }
    n.close(this.#fd);
  }
  [Symbol.dispose](): void { this.close(); }
}

/** Decodes bytes 0–63 of a common header (`initialized` given separately, read atomically by the caller). */
export function decodeHeader(dv: DataView, initialized: number): SegmentHeader {
  const packageId = dv.getUint16(4, true);
  const init = initialized >>> 0;
  const pid = dv.getUint32(24, true);
  const st = dv.getBigUint64(32, true);
  return {
    packageId, package: PACKAGE_BY_ID.get(packageId), kind: dv.getUint16(6, true),
    layoutMajor: dv.getUint16(8, true), layoutMinor: dv.getUint16(10, true),
    state: init === 0 ? 'pending' : init === INIT_READY ? 'ready' : init === INIT_DEAD ? 'destroyed' : 'invalid',
    totalSize: Number(dv.getBigUint64(16, true)), headerSize: dv.getUint32(28, true),
    creator: { pid, startTime: Number(st) },
    packageBytes: new Uint8Array(dv.buffer.slice(dv.byteOffset + 40, dv.byteOffset + 64)),
    creatorPid: pid, creatorStartTime: st,
  };
}


