// Process liveness without timeouts (shm-core.md §3.12, §5.17): pid + start time from /proc, zombies
// count as dead, pids of another pid namespace are 'unknown'; process exit watched through a pidfd.
import { readFileSync, readlinkSync } from 'node:fs';
import { ShmkitError, errnoName, syscallError } from './errors.js';
import { watchFd, type FdWatcher } from './fd.js';
import { native } from './native.js';

export type Liveness = 'alive' | 'dead' | 'unknown';
/** pidNs: inode number of the pid namespace (from the /proc/<pid>/ns/pid link), when known. */
export interface ProcessIdentity { pid: number; startTime: number; pidNs?: number }
export interface ProcStat { pid: number; comm: string; state: string; ppid: number; startTime: number }

function invalidStat(text: string, why: string): never {
  throw new ShmkitError('ERR_INVALID_ARGUMENT', `parseProcStat: ${why}`, { details: { text: text.slice(0, 200) } });
}

/** Parses a /proc/<pid>/stat line: comm is between the first '(' and the LAST ')', so a comm that
 *  contains spaces or ') (' does not shift the fields after it. */
export function parseProcStat(text: string): ProcStat {
  if (typeof text !== 'string') invalidStat(String(text), 'not a string');
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 1 || close < open) invalidStat(text, 'no (comm)');
  const pid = Number(text.slice(0, open).trim());
  const rest = text.slice(close + 1).trim().split(' ');
  // rest[0] is field 3 (state); field N is rest[N - 3].
  if (rest.length < 20) invalidStat(text, `only ${rest.length + 2} fields`);
  const state = rest[0]!;
  const ppid = Number(rest[1]);
  const startTime = Number(rest[19]);
  if (!Number.isSafeInteger(pid) || pid <= 0 || state.length !== 1 || !Number.isSafeInteger(ppid) || !Number.isSafeInteger(startTime) || startTime < 0) {
    invalidStat(text, 'malformed fields');
  }
  return { pid, comm: text.slice(open + 1, close), state, ppid, startTime };
}

function readStat(pid: number): ProcStat | 'gone' | 'hidden' {
  let text: string;
  try { text = readFileSync(`/proc/${pid}/stat`, 'latin1'); } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') return 'gone';
    if (code === 'EACCES' || code === 'EPERM') return 'hidden';
    throw new ShmkitError('ERR_SYSCALL', `read /proc/${pid}/stat: ${code}`, { cause: e, syscall: 'read' });
  }
  // A process that exits between open and read leaves an empty file.
  if (text.length === 0) return 'gone';
  return parseProcStat(text);
}

/** Inode of the pid namespace of `pid` (the N of 'pid:[N]'), or undefined if /proc cannot tell. */
function pidNamespace(pid: number | 'self'): number | undefined {
  try {
    const m = /^pid:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/ns/pid`));
    return m ? Number(m[1]) : undefined;
  } catch { return undefined; }
}

let self: ProcessIdentity | undefined;
/** This process: pid, start time and pid namespace. */
export function selfIdentity(): ProcessIdentity {
  if (self && self.pid === process.pid) return { ...self };
  const st = readStat(process.pid);
  if (typeof st === 'string') throw new ShmkitError('ERR_UNSUPPORTED_PLATFORM', 'selfIdentity: /proc/self/stat is not readable');
  const ns = pidNamespace('self');
  self = ns === undefined ? { pid: process.pid, startTime: st.startTime } : { pid: process.pid, startTime: st.startTime, pidNs: ns };
  return { ...self };
}

function validPid(pid: unknown, what: string): asserts pid is number {
  if (!Number.isSafeInteger(pid) || (pid as number) <= 0 || (pid as number) > 0x3fffffff) {
    throw new ShmkitError('ERR_INVALID_ARGUMENT', `${what}: pid must be a positive integer, got ${String(pid)}`);
  }
}

/** 'dead' if the pid is gone, a zombie, or its start time differs (pid reused); 'unknown' if /proc cannot
 *  tell or pidNs is given and differs from ours (pids of another namespace cannot be checked here). */
export function processLiveness(id: { pid: number; startTime?: number; pidNs?: number }): Liveness {
  validPid(id?.pid, 'processLiveness');
  if (id.pidNs !== undefined) {
    const ours = selfIdentity().pidNs;
    if (ours === undefined || ours !== id.pidNs) return 'unknown';
  }
  const st = readStat(id.pid);
  if (st === 'gone') return 'dead';
  if (st === 'hidden') return 'unknown';
  if (st.state === 'Z' || st.state === 'X' || st.state === 'x') return 'dead';
  if (id.startTime !== undefined && id.startTime !== st.startTime) return 'dead';
  return 'alive';
}

/** exe, argv, cwd and real uid of a process; undefined if it is gone; ERR_PERMISSION if /proc hides it. */
export function processInfo(pid: number): { startTime: number; exePath: string; cmdline: string[]; cwd: string; uid: number } | undefined {
  validPid(pid, 'processInfo');
  try {
    const st = readStat(pid);
    if (st === 'gone') return undefined;
    if (st === 'hidden') throw Object.assign(new Error('EACCES'), { code: 'EACCES' });
    const exePath = readlinkSync(`/proc/${pid}/exe`);
    const cwd = readlinkSync(`/proc/${pid}/cwd`);
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    const cmdline = raw.length === 0 ? [] : raw.replace(/\0$/, '').split('\0');
    const uidLine = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    if (!uidLine) throw new ShmkitError('ERR_SYSCALL', `processInfo(${pid}): no Uid line in /proc/${pid}/status`);
    // The pid may have been reused while we read: only answer for the process we started with.
    const again = readStat(pid);
    if (typeof again === 'string' || again.startTime !== st.startTime) return undefined;
    return { startTime: st.startTime, exePath, cmdline, cwd, uid: Number(uidLine[1]) };
  } catch (e) {
    if (e instanceof ShmkitError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') return undefined;
    if (code === 'EACCES' || code === 'EPERM') {
      throw new ShmkitError('ERR_PERMISSION', `processInfo(${pid}): /proc/${pid} is not readable`, { cause: e, errno: 13, syscall: 'readlink' });
    }
    throw new ShmkitError('ERR_SYSCALL', `processInfo(${pid}): ${code}`, { cause: e });
  }
}

/** Resolves when the process exits (pidfd + an {@link FdWatcher}, no polling loop). Resolves at once if it
 *  is already dead or its start time differs. ERR_UNSUPPORTED_PLATFORM where pidfd_open is missing. */
export function watchProcessExit(id: { pid: number; startTime: number }, opts: { signal?: AbortSignal } = {}): Promise<void> {
  validPid(id?.pid, 'watchProcessExit');
  if (!Number.isSafeInteger(id.startTime) || id.startTime < 0) {
    throw new ShmkitError('ERR_INVALID_ARGUMENT', `watchProcessExit: startTime must be a non-negative integer, got ${String(id.startTime)}`);
  }
  const signal = opts.signal;
  if (signal?.aborted) return Promise.reject(new ShmkitError('ERR_ABORTED', 'watchProcessExit: aborted', { cause: signal.reason }));
  const n = native();
  const fd = n.pidfdOpen(id.pid);
  if (fd === -3 /* ESRCH */) return Promise.resolve();
  if (fd === -38 /* ENOSYS */) return Promise.reject(new ShmkitError('ERR_UNSUPPORTED_PLATFORM', 'watchProcessExit: pidfd_open is missing (kernel < 5.3)', { errno: 38, syscall: 'pidfd_open' }));
  if (fd < 0) return Promise.reject(syscallError(fd, 'pidfd_open', `watchProcessExit(${id.pid}) ${errnoName(-fd) ?? ''}`.trim()));
  // The pid could have been reused between the caller's identity and the open: the fd would then
  // refer to another process. A start time that differs (or a zombie) means ours is already gone.
  let watcher: FdWatcher;
  try {
    if (processLiveness(id) === 'dead') { n.close(fd); return Promise.resolve(); }
    watcher = watchFd(fd);
  } catch (e) { n.close(fd); return Promise.reject(e); }
  return new Promise<void>((resolve, reject) => {
    let done = false;
    const finish = (err?: unknown) => {
      if (done) return;
      done = true;
      watcher.close(); // stops it; the watcher set of fd.ts no longer holds it
      n.close(fd);
      signal?.removeEventListener('abort', onAbort);
      if (err === undefined) resolve(); else reject(err);
    };
    const onAbort = () => finish(new ShmkitError('ERR_ABORTED', 'watchProcessExit: aborted', { cause: signal?.reason }));
    // A started watcher is kept reachable by fd.ts, so the GC never silently stops this watch.
    try {
      watcher.start({ readable: true }, (ev) => {
        finish(ev.error ? new ShmkitError(ev.error.code, `watchProcessExit(${id.pid}): ${ev.error.message}`, { cause: ev.error }) : undefined);
      });
    } catch (e) { finish(e); return; }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
