// NodeLock (shm-core.md §3.12, §4.3, §5.16): a 64-byte shm object its holder keeps flock'ed for its
// whole life. The kernel drops the flock when the holder exits (even as an unreaped zombie), so a free
// lock means a dead holder, decided without timeouts. The object is published already locked (build
// under a temp name, flock, then link), so a visible lock object is never momentarily unlocked.
import { randomBytes } from 'node:crypto';
import { linkSync, readSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { ShmkitError, syscallError } from './errors.js';
import { native } from './native.js';
import { objectName, objectPath, PACKAGES, type PackageToken } from './names.js';
import { HEADER_SIZE, INIT_READY, MAGIC } from './segment.js';
import { testPoint } from './testpoint.js';
import { selfIdentity, type Liveness, type ProcessIdentity } from './liveness.js';

/** Header `kind` of a NodeLock object (reserved in every package). */
export const NODELOCK_KIND = 0xffff;
const O_CREAT = 1, O_EXCL = 2, O_RDONLY = 4;
const LOCK_SH = 1, LOCK_EX = 2, LOCK_NB = 4, LOCK_UN = 8;
const EWOULDBLOCK = 11, ENOENT = 2, EACCES = 13;
const MAX_ROUNDS = 8;

function lockPart(part: string | undefined): string {
  if (part === undefined) return 'lock';
  if (part !== 'lock' && !part.endsWith('.lock')) {
    throw new ShmkitError('ERR_INVALID_NAME', `NodeLock part must be 'lock' or end in '.lock', got ${JSON.stringify(part)}`, { details: { name: part, reason: 'bad-part' } });
  }
  return part;
}

/** fstat inode of an fd (as a bigint: inode numbers can exceed 2^53). */
function fdIno(fd: number, what: string): bigint {
  const st = new BigInt64Array(6);
  const r = native().fstat(fd, st);
  if (r < 0) throw syscallError(r, 'fstat', what);
  return st[1]!;
}
function pathIno(path: string): bigint | undefined {
  try { return statSync(path, { bigint: true }).ino; } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fsError(e, 'stat', path);
  }
}
function fsError(e: unknown, syscall: string, path: string): ShmkitError {
  const err = e as NodeJS.ErrnoException;
  const errno = typeof err.errno === 'number' ? -err.errno : undefined;
  const code = err.code === 'EEXIST' ? 'ERR_EXISTS' : err.code === 'ENOENT' ? 'ERR_NOT_FOUND'
    : err.code === 'EACCES' || err.code === 'EPERM' ? 'ERR_PERMISSION' : 'ERR_SYSCALL';
  return new ShmkitError(code, `${path}: ${syscall} failed (${err.code ?? 'unknown'})`, { cause: e, syscall, ...(errno === undefined ? {} : { errno }) });
}
function unlinkQuiet(path: string): void { try { unlinkSync(path); } catch { /* already gone */ } }

/** The creator pid recorded in a lock object's header (informative only), or undefined. */
function headerPid(fd: number): number | undefined {
  const b = Buffer.alloc(HEADER_SIZE);
  try {
    if (readSync(fd, b, 0, HEADER_SIZE, 0) < HEADER_SIZE || b.readUInt32LE(0) !== MAGIC) return undefined;
    return b.readUInt32LE(24) || undefined;
  } catch { return undefined; }
}

/** Opens `path` read-only and tests its flock (shared, non-blocking): 'absent' | 'alive' | 'dead', or
 *  'unknown' if we may not open it. flock belongs to the open file description, so a holder that opens
 *  and closes other fds of the file keeps its lock, and a holder that exited (even a zombie) has none. */
function checkFile(path: string): { verdict: Liveness | 'absent'; pid?: number } {
  const n = native();
  const fd = n.fileOpen(path, O_RDONLY, 0);
  if (fd === -ENOENT) return { verdict: 'absent' };
  if (fd === -EACCES) return { verdict: 'unknown' };
  if (fd < 0) throw syscallError(fd, 'open', path);
  try {
    const r = n.flock(fd, LOCK_SH | LOCK_NB);
    if (r === -EWOULDBLOCK) { const pid = headerPid(fd); return pid === undefined ? { verdict: 'alive' } : { verdict: 'alive', pid }; }
    if (r < 0) throw syscallError(r, 'flock', path);
    n.flock(fd, LOCK_UN);
    return { verdict: 'dead' };
  } finally { n.close(fd); }
}

function lockHeld(objName: string, pid: number | undefined, reason?: string): ShmkitError {
  const details: Record<string, unknown> = { pid, objectName: objName };
  if (reason) details['reason'] = reason;
  return new ShmkitError('ERR_LOCK_HELD', `${objName}: held by ${pid === undefined ? 'a live process' : `live process ${pid}`}${reason ? ` (${reason})` : ''}`, { details });
}

/** Leak net (ARCHITECTURE §6): a NodeLock collected without release() warns. Its fd stays open, so the
 *  lock stays held until the process exits, exactly as acquire() promises; only release() gives it up. */
const lockLeaks = new FinalizationRegistry<string>((objName) => {
  process.emitWarning(`shmkit NodeLock ${objName} was not released (it stays held until the process exits)`, { code: 'SHMKIT_LEAK' });
});

/** A per-node lock object `/shmkit.<pkg>.<name>.<part>` held (flock) for the life of this process. */
export class NodeLock implements Disposable {
  readonly objectName: string;
  readonly identity: ProcessIdentity;
  readonly #path: string;
  #fd: number;
  readonly #ino: bigint;

  private constructor(objName: string, path: string, fd: number, ino: bigint, identity: ProcessIdentity) {
    this.objectName = objName; this.#path = path; this.#fd = fd; this.#ino = ino; this.identity = identity;
    lockLeaks.register(this, objName, this);
  }

  /** Holds /shmkit.<pkg>.<name>.<part> for the life of this process; ERR_LOCK_HELD if a live process holds it. */
  static acquire(pkg: PackageToken, name: string, part?: string): NodeLock {
    const objName = objectName(pkg, name, lockPart(part));
    const path = objectPath(objName);
    const identity = selfIdentity();
    const n = native();
    // 1. Temp object, locked before anyone can see it, with the informative header.
    const tmpName = `${objName}~${process.pid}-${randomBytes(4).toString('hex')}`;
    const tmpPath = objectPath(tmpName);
    const fd = n.shmOpen(tmpName, O_CREAT | O_EXCL, 0o600);
    if (fd < 0) throw syscallError(fd, 'shm_open', objName);
    let ok = false;
    try {
      const r = n.flock(fd, LOCK_EX | LOCK_NB);
      if (r < 0) throw syscallError(r, 'flock', tmpName);
      const h = Buffer.alloc(HEADER_SIZE);
      h.writeUInt32LE(MAGIC, 0);
      h.writeUInt16LE(PACKAGES[pkg], 4);
      h.writeUInt16LE(NODELOCK_KIND, 6);
      h.writeUInt16LE(1, 8);           // layoutMajor
      h.writeUInt16LE(0, 10);          // layoutMinor
      h.writeInt32LE(INIT_READY, 12);
      h.writeBigUInt64LE(BigInt(HEADER_SIZE), 16);
      h.writeUInt32LE(process.pid, 24);
      h.writeUInt32LE(HEADER_SIZE, 28);
      h.writeBigUInt64LE(BigInt(identity.startTime), 32);
      if (writeSync(fd, h, 0, HEADER_SIZE, 0) !== HEADER_SIZE) throw new ShmkitError('ERR_NO_SPACE', `${tmpName}: short header write`);
      const ino = fdIno(fd, tmpName);
      testPoint('shm-core.nodelock.afterTempLocked');
      for (let round = 0; round < MAX_ROUNDS; round++) {
        // 2. Publish: the final name appears already locked.
        try {
          linkSync(tmpPath, path);
          unlinkQuiet(tmpPath);
          ok = true;
          return new NodeLock(objName, path, fd, ino, identity);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw fsError(e, 'link', objName);
        }
        // 3. The name exists: is its holder alive?
        const seen = checkFile(path);
        if (seen.verdict === 'absent') continue;          // released meanwhile: link again
        if (seen.verdict === 'unknown') {                  // another user's object we may not even open
          throw new ShmkitError('ERR_PERMISSION', `${objName}: exists and is not readable by us, so its holder cannot be checked`, { errno: EACCES, syscall: 'open', details: { objectName: objName } });
        }
        if (seen.verdict !== 'dead') throw lockHeld(objName, seen.pid);
        // 4. Dead holder: take its inode's flock to become the only replacer.
        const stale = n.fileOpen(path, O_RDONLY, 0);
        if (stale === -ENOENT) continue;
        if (stale < 0) throw syscallError(stale, 'open', objName);
        try {
          const lr = n.flock(stale, LOCK_EX | LOCK_NB);
          if (lr === -EWOULDBLOCK) throw lockHeld(objName, headerPid(stale));
          if (lr < 0) throw syscallError(lr, 'flock', objName);
          if (pathIno(path) !== fdIno(stale, objName)) continue; // replaced meanwhile: retry from 2
          try { renameSync(tmpPath, path); } catch (e) { throw fsError(e, 'rename', objName); }
          ok = true;
          return new NodeLock(objName, path, fd, ino, identity);
        } finally { n.close(stale); }
      }
      throw lockHeld(objName, undefined, 'contended');
    } finally {
      if (!ok) { unlinkQuiet(tmpPath); n.close(fd); }
    }
  }

  /** 'alive' (a process holds it), 'dead' (the object exists, nobody holds it), 'unknown' or 'absent'. */
  static check(pkg: PackageToken, name: string, part?: string): Liveness | 'absent' {
    return checkFile(objectPath(objectName(pkg, name, lockPart(part)))).verdict;
  }
  /** Same as check() for a path (e.g. from listSegments). */
  static checkPath(path: string): Liveness | 'absent' {
    if (typeof path !== 'string' || path.length === 0 || path.includes('\0')) {
      throw new ShmkitError('ERR_INVALID_ARGUMENT', `NodeLock.checkPath: not a path: ${JSON.stringify(path)}`);
    }
    return checkFile(path).verdict;
  }
  /** checkPath(path) === 'alive'; no timeouts involved. */
  static isAlive(path: string): boolean { return NodeLock.checkPath(path) === 'alive'; }

  /** True until release(). */
  get held(): boolean { return this.#fd >= 0; }

  /** Unlinks the name (if it is still ours), then closes the fd, which drops the flock. Idempotent. */
  release(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    lockLeaks.unregister(this);
    try {
      if (pathIno(this.#path) === this.#ino) unlinkQuiet(this.#path);
    } finally { native().close(fd); }
  }
  [Symbol.dispose](): void { this.release(); }
}

/** flock(2) on any fd; false if nonBlocking (default) and another open file description holds it. */
export function flockFd(fd: number, op: 'shared' | 'exclusive' | 'unlock', opts: { nonBlocking?: boolean } = {}): boolean {
  if (!Number.isInteger(fd) || fd < 0) throw new ShmkitError('ERR_INVALID_ARGUMENT', `flockFd: bad fd ${String(fd)}`);
  const bits = op === 'shared' ? LOCK_SH : op === 'exclusive' ? LOCK_EX : op === 'unlock' ? LOCK_UN : -1;
  if (bits < 0) throw new ShmkitError('ERR_INVALID_ARGUMENT', `flockFd: op must be 'shared', 'exclusive' or 'unlock', got ${String(op)}`);
  const r = native().flock(fd, bits | (opts.nonBlocking === false ? 0 : LOCK_NB));
  if (r === -EWOULDBLOCK) return false;
  if (r < 0) throw syscallError(r, 'flock', `fd ${fd}`);
  return true;
}

export { lockRangeFd } from './rangelock.js';

