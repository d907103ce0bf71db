// Introspection (§3.14, §5.20): list shmkit objects without mapping them, decode headers with node:fs,
// judge creator and lock liveness, find the processes that use them.
import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, statSync, type Stats } from 'node:fs';
import type { ShmkitErrorCode } from './errors.js';
import { processLiveness, type Liveness, type ProcessIdentity } from './liveness.js';
import { parseObjectName, SHM_DIR, type PackageToken, type ParsedObjectName } from './names.js';
import { NodeLock } from './nodelock.js';
import { decodeHeader, HEADER_SIZE, MAGIC, type SegmentHeader } from './segment.js';

export type { Liveness, ProcessIdentity } from './liveness.js';
export type ObjectKind = 'segment' | 'fifo' | 'lock' | 'temp' | 'socket' | 'memfd' | 'other';
export interface ObjectInfo {
  fileName: string;
  /** SHM_DIR + '/' + fileName, or '/proc/<pid>/fd/<n>' for a memfd. */
  path: string;
  kind: ObjectKind;
  parsed: ParsedObjectName;
  size: number; mode: number; uid: number; mtime: Date; ino: number;
  header?: SegmentHeader;
  headerError?: ShmkitErrorCode;
  creator?: { identity: ProcessIdentity; liveness: Liveness };
  /** kind 'lock': result of the flock test ('unknown' without the native library). */
  lock?: Liveness;
  /** pids mapping or holding it open (only with { users: true }). */
  users?: number[];
  state: 'ready' | 'pending' | 'destroyed' | 'corrupt' | 'foreign' | 'unreadable' | 'n/a';
}
export interface ListOptions {
  package?: PackageToken;
  /** Default false: only objects owned by this uid. */
  allUsers?: boolean;
  /** Scan /proc/<pid>/maps and /proc/<pid>/fd. */
  users?: boolean;
  includeMemfd?: boolean;
}

/** Contract each protocol package implements in its `./introspect` subpath export. */
export interface Introspector {
  readonly package: PackageToken;
  /** Grammar of this package's parts (anchored; may contain dots), or null if it uses none. */
  readonly partPattern: RegExp | null;
  /** Groups objects into protocol instances (default: by user name). */
  group?(objects: readonly ObjectInfo[]): InstanceRef[];
  /** Decodes protocol state read-only; never takes locks, never registers as a reader. */
  inspect(ref: InstanceRef, opts: { raw: boolean }): Promise<InspectResult>;
  /** Opens read-only mappings for repeated counter reads (top). */
  openCounters?(ref: InstanceRef): CounterReader | null;
  /** Verdict used by `shmkit clean`; default rule in cli.md when absent. */
  liveness?(ref: InstanceRef): Promise<InstanceLiveness>;
}
export interface InstanceRef { package: PackageToken; name: string; objects: readonly ObjectInfo[] }
export interface InspectResult {
  summary: Record<string, string | number | bigint | boolean | null>;
  sections: Array<{ title: string; fields?: Record<string, unknown>; columns?: string[]; rows?: Array<Record<string, unknown>> }>;
  warnings: string[];
}
export interface CounterSnapshot {
  at: bigint;
  messages?: bigint; bytes?: bigint; overruns?: bigint; drops?: bigint;
  depth?: number; capacity?: number; readers?: number; writers?: number;
  extra?: Record<string, number | bigint>;
}
export interface CounterReader { read(): CounterSnapshot; close(): void }
export interface InstanceLiveness { verdict: Liveness; reason: string; removable: string[] }

const errnoCode = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | undefined)?.code;

/** §5.17 for a creator; a start time of 0 (unknown when the header was written) is not compared. */
function creatorLiveness(id: ProcessIdentity): Liveness {
  try { return processLiveness(id.startTime > 0 ? id : { pid: id.pid }); } catch { return 'unknown'; }
}
/** §5.16 "check" of a lock object through NodeLock.checkPath; 'unknown' when it cannot tell (e.g. no native library). */
function lockLiveness(path: string): Liveness | 'absent' {
  try { return NodeLock.checkPath(path); } catch { return 'unknown'; }
}

type HeaderRead = { header?: SegmentHeader; error?: ShmkitErrorCode };
function decode64(buf: Uint8Array, got: number): HeaderRead {
  if (got < HEADER_SIZE) return { error: 'ERR_SEGMENT_TRUNCATED' };
  const dv = new DataView(buf.buffer, buf.byteOffset, HEADER_SIZE);
  if (dv.getUint32(0, true) !== MAGIC) return { error: 'ERR_NOT_SHMKIT' };
  const header = decodeHeader(dv, dv.getInt32(12, true));
  const hsOk = header.headerSize >= HEADER_SIZE && header.headerSize % 8 === 0 && header.headerSize <= header.totalSize;
  return header.state === 'invalid' || !hsOk ? { header, error: 'ERR_HEADER_CORRUPT' } : { header };
}
function readFd64(fd: number): HeaderRead {
  const buf = new Uint8Array(HEADER_SIZE);
  let got = 0;
  while (got < HEADER_SIZE) {
    const r = readSync(fd, buf, got, HEADER_SIZE - got, got);
    if (r <= 0) break;
    got += r;
  }
  return decode64(buf, got);
}

/** Reads and decodes the first 64 bytes of an object without mapping it (node:fs; FIFOs are never opened). */
export function readHeader(pathOrFd: string | number): HeaderRead {
  try {
    if (typeof pathOrFd === 'number') {
      if (!fstatSync(pathOrFd).isFile()) return { error: 'ERR_INVALID_ARGUMENT' };
      return readFd64(pathOrFd);
    }
    if (!statSync(pathOrFd).isFile()) return { error: 'ERR_INVALID_ARGUMENT' };
    const fd = openSync(pathOrFd, constants.O_RDONLY | constants.O_NONBLOCK);
    try { return fstatSync(fd).isFile() ? readFd64(fd) : { error: 'ERR_INVALID_ARGUMENT' }; } finally { closeSync(fd); }
  } catch (e) {
    const c = errnoCode(e);
    return { error: c === 'EACCES' || c === 'EPERM' ? 'ERR_PERMISSION' : c === 'ENOENT' ? 'ERR_NOT_FOUND' : 'ERR_SYSCALL' };
  }
}

function stateOf(r: HeaderRead): ObjectInfo['state'] {
  if (r.error === 'ERR_PERMISSION') return 'unreadable';
  if (r.error === 'ERR_HEADER_CORRUPT') return 'corrupt';
  if (!r.header) return 'foreign';
  const s = r.header.state;
  return s === 'invalid' ? 'corrupt' : s;
}
function withHeader(info: ObjectInfo, r: HeaderRead): void {
  if (r.header) info.header = r.header;
  if (r.error) info.headerError = r.error;
  info.state = stateOf(r);
  if (r.header && r.header.creator.pid > 0) {
    const identity = { pid: r.header.creator.pid, startTime: r.header.creator.startTime };
    info.creator = { identity, liveness: creatorLiveness(identity) };
  }
}
/** A temporary object (`<final>~<pid>-<hex8>`, §5.3 step 2) left by a builder: shorter than a header means it
 *  died before ftruncate, so it is still 'pending'; without a readable header its creator is the pid in the name. */
function tempInfo(info: ObjectInfo): void {
  const t = info.parsed.temp;
  if (!t) return;
  if (info.size < HEADER_SIZE && info.headerError === 'ERR_SEGMENT_TRUNCATED') { delete info.headerError; info.state = 'pending'; }
  if (!info.creator && t.pid > 0) info.creator = { identity: { pid: t.pid, startTime: 0 }, liveness: creatorLiveness({ pid: t.pid, startTime: 0 }) };
}
function fallbackParse(fileName: string): ParsedObjectName {
  return { package: undefined, packageToken: '', name: fileName, part: undefined, temp: undefined };
}
function baseInfo(fileName: string, path: string, st: Stats, kind: ObjectKind, parsed: ParsedObjectName): ObjectInfo {
  return { fileName, path, kind, parsed, size: st.size, mode: st.mode & 0o7777, uid: st.uid, mtime: st.mtime, ino: st.ino, state: 'n/a' };
}

interface ProcScan { users: Map<number, Set<number>>; memfds: Array<{ pid: number; fd: number; name: string }> }
/** §5.20 step 5: who maps or holds open which SHM_DIR inode, and which memfds are named shmkit.*. */
function scanProc(wantUsers: boolean, wantMemfd: boolean): ProcScan {
  const users = new Map<number, Set<number>>();
  const memfds: ProcScan['memfds'] = [];
  const add = (ino: number, pid: number) => { let s = users.get(ino); if (!s) users.set(ino, (s = new Set())); s.add(pid); };
  let pids: string[];
  try { pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d)); } catch { return { users, memfds }; }
  const prefix = `${SHM_DIR}/shmkit.`;
  for (const p of pids) {
    const pid = Number(p);
    if (wantUsers) {
      try {
        for (const line of readFileSync(`/proc/${p}/maps`, 'utf8').split('\n')) {
          const at = line.indexOf(prefix);
          if (at < 0) continue;
          const cols = line.slice(0, at).trim().split(/\s+/);
          const ino = Number(cols[4]);
          if (ino > 0) add(ino, pid);
        }
      } catch { /* gone or not ours */ }
    }
    let fds: string[];
    try { fds = readdirSync(`/proc/${p}/fd`); } catch { continue; }
    for (const f of fds) {
      let target: string;
      try { target = readlinkSync(`/proc/${p}/fd/${f}`); } catch { continue; }
      if (wantUsers && target.startsWith(prefix)) {
        try { add(statSync(`/proc/${p}/fd/${f}`).ino, pid); } catch { /* closed meanwhile */ }
      } else if (target.startsWith('/memfd:shmkit.')) {
        if (wantMemfd) memfds.push({ pid, fd: Number(f), name: target.slice('/memfd:'.length).replace(/ \(deleted\)$/, '') });
        if (wantUsers) { try { add(statSync(`/proc/${p}/fd/${f}`).ino, pid); } catch { /* closed meanwhile */ } }
      }
    }
  }
  return { users, memfds };
}

/** Lists shmkit objects in SHM_DIR (and memfds of live processes with `includeMemfd`). Never throws for one bad object. */
export function listSegments(opts: ListOptions = {}): ObjectInfo[] {
  const out: ObjectInfo[] = [];
  const uid = process.getuid?.() ?? -1;
  let entries: string[];
  try { entries = readdirSync(SHM_DIR).filter((f) => f.startsWith('shmkit.')); } catch { entries = []; }
  for (const fileName of entries) {
    const path = `${SHM_DIR}/${fileName}`;
    let st: Stats;
    try { st = lstatSync(path); } catch { continue; }
    if (!opts.allUsers && st.uid !== uid) continue;
    const parsed = parseObjectName(fileName);
    if (opts.package !== undefined && parsed?.package !== opts.package) continue;
    let kind: ObjectKind;
    if (st.isSymbolicLink() || !parsed) kind = 'other';
    else if (st.isFIFO()) kind = 'fifo';
    else if (st.isSocket()) kind = 'socket';
    else if (!st.isFile()) kind = 'other';
    else if (parsed.temp) kind = 'temp';
    else if (parsed.part === 'lock' || parsed.part?.endsWith('.lock')) kind = 'lock';
    else kind = 'segment';
    const info = baseInfo(fileName, path, st, kind, parsed ?? fallbackParse(fileName));
    if (st.isFile() && !st.isSymbolicLink()) {
      withHeader(info, st.size >= HEADER_SIZE ? readHeader(path) : { error: 'ERR_SEGMENT_TRUNCATED' });
      if (kind === 'lock') { const l = lockLiveness(path); info.lock = l === 'absent' ? 'dead' : l; }
      if (kind === 'temp') tempInfo(info);
    }
    out.push(info);
  }
  if (opts.users || opts.includeMemfd) {
    const scan = scanProc(opts.users === true, opts.includeMemfd === true);
    const seen = new Set<number>();
    for (const m of scan.memfds) {
      const path = `/proc/${m.pid}/fd/${m.fd}`;
      let st: Stats;
      try { st = statSync(path); } catch { continue; }
      if (seen.has(st.ino) || (!opts.allUsers && st.uid !== uid)) continue;
      const parsed = parseObjectName(m.name);
      if (opts.package !== undefined && parsed?.package !== opts.package) continue;
      seen.add(st.ino);
      const info = baseInfo(m.name, path, st, 'memfd', parsed ?? fallbackParse(m.name));
      withHeader(info, st.size >= HEADER_SIZE ? readHeader(path) : { error: 'ERR_SEGMENT_TRUNCATED' });
      out.push(info);
    }
    if (opts.users) for (const info of out) info.users = [...(scan.users.get(info.ino) ?? [])].sort((a, b) => a - b);
  }
  const key = (o: ObjectInfo) => [o.parsed.packageToken, o.parsed.name, o.parsed.part ?? '', o.fileName];
  return out.sort((a, b) => {
    const ka = key(a), kb = key(b);
    for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i]! < kb[i]! ? -1 : 1;
    return 0;
  });
}
