// OFD byte-range locks (§5.21) and the op bits shared with flock.
import { ShmkitError, syscallError } from './errors.js';
import { native } from './native.js';

export type LockOp = 'shared' | 'exclusive' | 'unlock';
const EWOULDBLOCK = 11;

/** op bits of shk_flock / shk_ofd_lock: 1 SH, 2 EX, 4 NB, 8 UN. */
export function lockOpBits(op: LockOp, nonBlocking: boolean | undefined): number {
  const base = op === 'shared' ? 1 : op === 'exclusive' ? 2 : op === 'unlock' ? 8 : -1;
  if (base < 0) throw new ShmkitError('ERR_INVALID_ARGUMENT', `lock op must be 'shared', 'exclusive' or 'unlock', got ${String(op)}`);
  return base | (nonBlocking === false ? 0 : 4);
}

/** OFD byte-range lock on [offset, offset+length) of `fd`; false if nonBlocking and held by another
 *  open file description. Released when the description is closed (also at process exit). */
export function lockRangeFd(fd: number, offset: number, length: number, op: LockOp, opts: { nonBlocking?: boolean } = {}): boolean {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 1) {
    throw new ShmkitError('ERR_INVALID_ARGUMENT', `lockRange: offset must be an integer >= 0 and length an integer >= 1, got ${offset}, ${length}`, { details: { offset, length } });
  }
  const r = native().ofdLock(fd, offset, length, lockOpBits(op, opts.nonBlocking));
  if (r === -EWOULDBLOCK) return false;
  if (r < 0) throw syscallError(r, 'fcntl(F_OFD_SETLK)', `fd ${fd}`);
  return true;
}
