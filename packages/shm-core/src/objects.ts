// Object-name operations in SHM_DIR (shm-core.md §3.16): link, inode-checked unlink, prefix listing and a
// watch, all through node:fs on the shm directory. Every name is validated before the first fs call, so a
// name can never reach outside SHM_DIR or outside the `shmkit.` namespace.
import { linkSync, lstatSync, readdirSync, unlinkSync, watch, type FSWatcher } from 'node:fs';
import { errnoName, errnoToCode, ShmkitError } from './errors.js';
import { PACKAGES, SHM_DIR, parseObjectName } from './names.js';

const PREFIX = 'shmkit.';
const MAX_FILE_NAME = 255;
/** Characters of a shmkit file name: user names, parts, the dots between them and the `~<pid>-<hex8>`
 *  suffix of temporary names. */
const FILE_CHARS_RE = /^[A-Za-z0-9._~-]*$/;

function badName(what: string, name: unknown, reason: string, why: string): ShmkitError {
  return new ShmkitError('ERR_INVALID_NAME', `${what}: invalid object name ${JSON.stringify(String(name))}: ${why}`, { details: { name, reason } });
}

/** Checks the characters, length and `shmkit.<known token>.` start shared by names and prefixes;
 *  returns the bare file name (a leading '/' of an object name is accepted and dropped). */
function checkCommon(value: unknown, what: string, kind: 'name' | 'prefix'): string {
  if (typeof value !== 'string') throw badName(what, value, 'bad-char', `${kind} must be a string`);
  const bare = value.startsWith('/') ? value.slice(1) : value;
  if (bare.length === 0) throw badName(what, value, 'empty', `empty ${kind}`);
  if (Buffer.byteLength(bare, 'utf8') > MAX_FILE_NAME) throw badName(what, value, 'too-long', `more than ${MAX_FILE_NAME} bytes`);
  if (!FILE_CHARS_RE.test(bare)) throw badName(what, value, 'bad-char', `only A-Z a-z 0-9 . _ - ~ may occur in a ${kind} (no '/', NUL or spaces)`);
  if (!bare.startsWith(PREFIX)) {
    if (kind === 'prefix' && PREFIX.startsWith(bare)) throw badName(what, value, 'unknown-package', `a prefix must start with '${PREFIX}'`);
    throw badName(what, value, 'unknown-package', `not in the '${PREFIX}<package>.' namespace`);
  }
  const dot = bare.indexOf('.', PREFIX.length);
  if (dot !== -1 || kind === 'name') {
    const token = bare.slice(PREFIX.length, dot === -1 ? undefined : dot);
    if (!Object.hasOwn(PACKAGES, token)) throw badName(what, value, 'unknown-package', `unknown package token ${JSON.stringify(token)}`);
  }
  return bare;
}

/** Validates a file name in SHM_DIR: `shmkit.<package>.<user-name>[.<part>]`, optionally with the
 *  `~<pid>-<hex8>` suffix of a temporary name. Returns the bare file name. */
function checkFileName(value: unknown, what: string): string {
  const bare = checkCommon(value, what, 'name');
  const afterToken = bare.indexOf('.', PREFIX.length) + 1;
  const first = bare.charAt(afterToken);
  if (!/[A-Za-z0-9]/.test(first)) throw badName(what, value, first === '' ? 'empty' : 'bad-first-char', 'the user name must start with a letter or digit');
  const parsed = parseObjectName(bare);
  if (!parsed || bare.includes('..') || bare.endsWith('.')) throw badName(what, value, 'bad-char', 'not a valid shmkit object name');
  return bare;
}

function checkPrefix(value: unknown, what: string): string {
  return checkCommon(value, what, 'prefix');
}

const pathOf = (bare: string) => `${SHM_DIR}/${bare}`;

/** A node:fs error as a ShmkitError with the errno mapping of §3.3. */
function fsError(e: unknown, syscall: string, what: string): ShmkitError {
  const err = e as NodeJS.ErrnoException;
  const errno = typeof err.errno === 'number' ? Math.abs(err.errno) : undefined;
  const code = errno === undefined ? 'ERR_SYSCALL' : errnoToCode(errno);
  return new ShmkitError(code, `${what}: ${syscall} failed (${(errno !== undefined && errnoName(errno)) || err.code || 'unknown'})`,
    { cause: e, syscall, ...(errno === undefined ? {} : { errno }) });
}
const isNoEnt = (e: unknown) => (e as NodeJS.ErrnoException).code === 'ENOENT';

/** A second name for an existing object (`link(2)` in SHM_DIR): the new name refers to the same inode and
 *  appears complete at once. `ERR_EXISTS` if `newFileName` exists, `ERR_NOT_FOUND` if
 *  `existingFileName` does not; both are validated first (`ERR_INVALID_NAME`). */
export function linkObject(existingFileName: string, newFileName: string): void {
  const what = 'linkObject';
  const from = checkFileName(existingFileName, what);
  const to = checkFileName(newFileName, what);
  try { linkSync(pathOf(from), pathOf(to)); } catch (e) {
    const err = fsError(e, 'link', `${what}(${from}, ${to})`);
    if (err.code === 'ERR_EXISTS' || err.code === 'ERR_NOT_FOUND') {
      throw new ShmkitError(err.code, err.message, { cause: e, syscall: 'link', ...(err.errno === undefined ? {} : { errno: err.errno }),
        details: { existingFileName: from, newFileName: to } });
    }
    throw err;
  }
}

/** Removes the name `fileName` from SHM_DIR. With `expectIno` only if the name still refers to that inode
 *  (so a successor that re-created the name is left alone). `false` if the name is absent or refers to
 *  another inode; `true` if this call removed it. Processes that have the object open or mapped keep it. */
export function unlinkObject(fileName: string, expectIno?: number): boolean {
  const what = 'unlinkObject';
  const bare = checkFileName(fileName, what);
  let want: bigint | undefined;
  if (expectIno !== undefined) {
    const ok = (typeof expectIno === 'number' && Number.isSafeInteger(expectIno) && expectIno >= 0)
      || (typeof expectIno === 'bigint' && (expectIno as bigint) >= 0n);
    if (!ok) throw new ShmkitError('ERR_INVALID_ARGUMENT', `${what}: expectIno must be a non-negative integer, got ${String(expectIno)}`);
    want = BigInt(expectIno);
  }
  const path = pathOf(bare);
  if (want !== undefined) {
    let ino: bigint;
    try { ino = lstatSync(path, { bigint: true }).ino; } catch (e) {
      if (isNoEnt(e)) return false;
      throw fsError(e, 'lstat', `${what}(${bare})`);
    }
    if (ino !== want) return false;
  }
  try { unlinkSync(path); } catch (e) {
    if (isNoEnt(e)) return false;
    throw fsError(e, 'unlink', `${what}(${bare})`);
  }
  return true;
}

/** File names in SHM_DIR that start with `prefix` (which must start with `shmkit.`; end it with a dot,
 *  e.g. `'shmkit.flow-session.app.'`, so that `app` does not match `app2`), sorted. Temporary names
 *  (`…~<pid>-<hex8>`) are included. `[]` if SHM_DIR does not exist. */
export function listObjectNames(prefix: string): string[] {
  const p = checkPrefix(prefix, 'listObjectNames');
  let names: string[];
  try { names = readdirSync(SHM_DIR); } catch (e) {
    if (isNoEnt(e)) return [];
    throw fsError(e, 'readdir', `listObjectNames(${p})`);
  }
  return names.filter((n) => n.startsWith(p)).sort();
}

/** The handle of {@link watchObjects}. */
export interface ObjectWatch extends Disposable {
  /** Stops watching; no listener call follows. Idempotent. */
  close(): void;
  /** Keep the event loop alive while watching (the default). */
  ref(): this;
  /** Do not keep the event loop alive for this watch. */
  unref(): this;
}

/** `fs.watch` on SHM_DIR filtered by `prefix`: `listener(fileName)` is called when a name starting with
 *  `prefix` appears, disappears or is renamed over (including temporary names). Events are hints: the
 *  kernel may coalesce or drop them, so re-list or open to confirm. If the kernel reports an event
 *  without a name, every current name with the prefix is reported. `onError` receives a failure of the
 *  watch, which then stops; an inotify limit at start is `ERR_LIMIT`. */
export function watchObjects(prefix: string, listener: (fileName: string) => void, opts: { onError?: (e: ShmkitError) => void } = {}): ObjectWatch {
  const p = checkPrefix(prefix, 'watchObjects');
  if (typeof listener !== 'function') throw new ShmkitError('ERR_INVALID_ARGUMENT', 'watchObjects: listener must be a function');
  let closed = false;
  let watcher: FSWatcher;
  /** A failure of the watch: it stops, and onError hears about it once. */
  const fail = (e: unknown) => {
    if (closed) return;
    handle.close();
    opts.onError?.(e instanceof ShmkitError ? e : fsError(e, 'watch', `watchObjects(${p})`));
  };
  try {
    watcher = watch(SHM_DIR, { persistent: true, encoding: 'utf8' }, (event, fileName) => {
      if (closed || event !== 'rename') return;
      if (typeof fileName === 'string') {
        if (fileName.startsWith(p)) listener(fileName);
        return;
      }
      let names: string[];
      try { names = listObjectNames(p); } catch (e) { fail(e); return; }
      for (const n of names) { if (closed) return; listener(n); }
    });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    // inotify: ENOSPC = max_user_watches reached, EMFILE = max_user_instances reached.
    if (err.code === 'ENOSPC' || err.code === 'EMFILE') {
      throw new ShmkitError('ERR_LIMIT', `watchObjects(${p}): inotify limit reached (${err.code})`, { cause: e, syscall: 'inotify_add_watch', errno: Math.abs(err.errno ?? 0) || undefined });
    }
    throw fsError(e, 'watch', `watchObjects(${p})`);
  }
  const handle: ObjectWatch = {
    close() { if (closed) return; closed = true; watcher.close(); },
    ref() { watcher.ref(); return handle; },
    unref() { watcher.unref(); return handle; },
    [Symbol.dispose]() { handle.close(); },
  };
  watcher.on('error', fail);
  return handle;
}
