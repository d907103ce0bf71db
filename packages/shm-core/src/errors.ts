/** The single table of error codes used by every shmkit package (append-only). */
export const ERROR_CODES = {
  ERR_INVALID_ARGUMENT: 'option or argument out of range or of the wrong type',
  ERR_INVALID_NAME: 'user name, part or path rejected',
  ERR_CLOSED: 'handle used after close()',
  ERR_TIMEOUT: 'a bounded wait expired',
  ERR_ABORTED: 'an AbortSignal fired',
  ERR_WOULD_BLOCK: 'operation cannot proceed without waiting',
  ERR_BUSY: 'resource in use',
  ERR_EXISTS: 'object already exists',
  ERR_NOT_FOUND: 'object does not exist',
  ERR_PERMISSION: 'not allowed',
  ERR_NO_SPACE: 'no memory or space to reserve the object',
  ERR_LIMIT: 'process or system limit reached',
  ERR_SYSCALL: 'a system call failed; see errno and syscall',
  ERR_UNSUPPORTED_PLATFORM: 'not Linux x64/arm64 little-endian',
  ERR_NATIVE_NOT_FOUND: 'libshmkit.so missing',
  ERR_NATIVE_ABI_MISMATCH: 'libshmkit.so of another ABI version',
  ERR_NOT_SHMKIT: 'object does not start with the SHMK magic',
  ERR_LAYOUT_MISMATCH: 'package id, kind, layout version or size differ',
  ERR_NOT_INITIALIZED: 'initialized is 0 in a published object',
  ERR_HEADER_CORRUPT: 'initialized has an unknown value or headerSize is impossible',
  ERR_SEGMENT_TRUNCATED: 'mapping shorter than its header says',
  ERR_UNSEALED: 'received memfd lacks the required seals',
  ERR_MUTEX_NOT_RECOVERABLE: 'robust mutex is not recoverable',
  ERR_MUTEX_DEADLOCK: 'this thread already holds the mutex',
  ERR_MUTEX_NOT_OWNER: 'unlock by a non-owner',
  ERR_ASYNC_IN_LOCK: 'withLock callback returned a thenable',
  ERR_LOCK_HELD: 'a lock is held by a live process',
  ERR_PEER_DEAD: 'the peer process is dead',
  ERR_CONNECTION_CLOSED: 'socket closed or reset',
  ERR_PROTOCOL: 'malformed frame or message from a peer',
  ERR_MESSAGE_TOO_LARGE: 'payload exceeds the configured maximum',
  ERR_LOSS_DETECTED: 'data was lost and the loss was detected',
  ERR_CORRUPT: 'a value read from shared memory fails a bounds check',
  ERR_INCOMPATIBLE: 'peer configuration incompatible',
  ERR_CAPACITY: 'fixed capacity exhausted',
  ERR_INVALID_STATE: 'call not allowed in the current state',
  ERR_ADDRESS_IN_USE: 'a live listener already owns the socket address',
  ERR_SERVER_NOT_RUNNING: 'nobody listens on the address',
  ERR_PEER_TIMEOUT: 'nothing received from the peer within its liveness timeout',
  ERR_WRONG_THREAD: 'a handle used from another thread',
  // --- rmp (rmp.md §3) ---
  ERR_RMP_INACTIVE: 'drain or read on a reader that was deactivated',
  // --- topic (topic.md §3) ---
  ERR_TOPIC_INVALID: 'topic is not a string, has a lone surrogate or U+0000, or is longer than maxTopicBytes',
  // --- tcpshm-queue (tcpshm-queue.md §3) ---
  ERR_TCPSHM_LOGIN_REJECTED: 'the server rejected the login (status 2)',
  ERR_TCPSHM_SEQ_MISMATCH: 'login sequence numbers do not match (status 1, or inconsistent numbers)',
  ERR_TCPSHM_LOGIN_FAILED: 'connection closed before a complete login response',
  ERR_TCPSHM_LOGIN_TIMEOUT: 'no complete login response within the timeout',
  ERR_TCPSHM_INVALID_LOGIN_RSP: 'login response of the wrong size or type, with an invalid server name or unknown status',
  ERR_TCPSHM_ALREADY_CONNECTED: 'connect() while connecting or open',
  ERR_TCPSHM_CONNECT: 'socket connect failed',
  ERR_TCPSHM_FILE: 'open, ftruncate, mmap or msync of a queue file failed',
  ERR_TCPSHM_FILE_LOCKED: 'file or ring role held by another process',
  ERR_TCPSHM_PTCP_CORRUPT: 'PTCP file failed a sanity check',
  ERR_TCPSHM_LASTSERVER_CORRUPT: '.lastserver content is not a valid name',
  ERR_TCPSHM_NOT_SAME_HOST: 'SHM check nonce mismatch, or shmLocalOnly rejection',
  ERR_TCPSHM_CONFIG_MISMATCH: 'the SHM check found a different ring size or large-message setting',
  ERR_TCPSHM_CHECK_UNSUPPORTED: "shmCheck 'require' and the peer gave no check answer",
  ERR_TCPSHM_RESERVED_MSG_TYPE: 'msg_type 0 (or >= 0x8000 in large-message mode) is reserved',
  ERR_TCPSHM_NO_PENDING_ALLOC: 'push() or pushMore() without alloc()',
  ERR_TCPSHM_NOTHING_TO_POP: 'pop() with no front message',
  ERR_TCPSHM_BAD_FRAME: 'frame header size below 8 or inconsistent fragments',
  ERR_TCPSHM_FRAME_TOO_LARGE: 'padded frame above tcpRecvBufMaxSize or reassembly above maxSize',
  ERR_TCPSHM_ACK_OUT_OF_RANGE: 'ack newer than what was sent',
  ERR_TCPSHM_REMOTE_CLOSE: 'the remote side closed the connection (EOF)',
  ERR_TCPSHM_SOCKET: 'socket read, write or listen error',
  ERR_TCPSHM_CLOSED_BY_APP: 'the application closed the connection',
  ERR_TCPSHM_REPLACED: 'link replaced by a newer login',
  ERR_TCPSHM_EVICTED: 'offline slot released for another name',
  ERR_TCPSHM_BAD_LOGIN: 'malformed or late login frame (server side)',
  ERR_TCPSHM_INVALID_GROUP: 'onNewConnection returned an invalid group',
  ERR_TCPSHM_HANDLER_FAILED: 'a message handler or onNewConnection threw',
  // --- elkodon-events (elkodon-events.md §3.10) ---
  ERR_ELKODON_UNABLE_TO_DELIVER: "block timed out or onBackpressure returned 'fail'; details.peer lists the missed subscribers",
  ERR_ELKODON_AUTO_NOTIFY_DISABLED: 'a parking wait on a service created with autoNotify: false',
  // --- flow-session (flow-session.md §3.7) ---
  ERR_FLOW_SERVER_IDENTITY: 'server credentials or executable do not match its description',
  ERR_FLOW_LOGIN_REJECTED: 'the server rejected the login (details.reason)',
  ERR_FLOW_TOKEN_MISMATCH: 'channel hello or message carries another token',
  ERR_FLOW_CHANNEL_REJECTED: 'the peer rejected the channel open (details.result)',
  ERR_FLOW_CHANNEL_UPGRADED: 'blob API used on a channel upgraded to structured messages',
  ERR_FLOW_CODEC_MISMATCH: 'codec kind, version or schema fingerprint differ between the two sides',
  ERR_FLOW_WRONG_SESSION: 'an OutMessage sent on a session other than its own',
  ERR_FLOW_BAD_MESSAGE: 'message body malformed or over the decoder limits',
  ERR_FLOW_HANDLER_EXISTS: 'a handler for this message type is already registered',
  // --- shmipc (shmipc.md §3.7) ---
  ERR_SHMIPC_HANDSHAKE_REJECTED: 'the peer rejected the handshake (details.reason)',
  ERR_SHMIPC_PEER_NOT_ALLOWED: "the peer's uid/gid is not allowed by the peers policy",
  ERR_SHMIPC_UNSUPPORTED_PEER: 'the peer speaks another control format (e.g. the reference shmipc magic)',
  ERR_SHMIPC_STREAM_CLOSED: 'send, loan or end on a closed or locally ended stream',
  ERR_SHMIPC_NO_SESSION: 'no healthy session to open a stream on',
  ERR_SHMIPC_STREAM_IDS_EXHAUSTED: 'stream ids past 2^32 - 2 on this session',
  ERR_SHMIPC_CHAINED: 'bytes of a loan whose window is more than one slice',
} as const;
export type ShmkitErrorCode = keyof typeof ERROR_CODES;

export interface ShmkitErrorOptions {
  cause?: unknown;
  errno?: number;
  syscall?: string;
  details?: Readonly<Record<string, unknown>>;
}

const BRAND = Symbol.for('@shmkit/error');
const ERRNO_NAMES: Record<number, string> = {
  1: 'EPERM', 2: 'ENOENT', 4: 'EINTR', 9: 'EBADF', 11: 'EAGAIN', 12: 'ENOMEM', 13: 'EACCES', 16: 'EBUSY',
  17: 'EEXIST', 22: 'EINVAL', 23: 'ENFILE', 24: 'EMFILE', 28: 'ENOSPC', 32: 'EPIPE', 35: 'EDEADLK',
  36: 'ENAMETOOLONG', 38: 'ENOSYS', 98: 'EADDRINUSE', 104: 'ECONNRESET', 110: 'ETIMEDOUT',
  111: 'ECONNREFUSED', 130: 'EOWNERDEAD', 131: 'ENOTRECOVERABLE',
};
const ERRNO_CODES: Record<number, ShmkitErrorCode> = {
  17: 'ERR_EXISTS', 2: 'ERR_NOT_FOUND', 13: 'ERR_PERMISSION', 1: 'ERR_PERMISSION', 28: 'ERR_NO_SPACE',
  12: 'ERR_NO_SPACE', 24: 'ERR_LIMIT', 23: 'ERR_LIMIT', 22: 'ERR_INVALID_ARGUMENT', 36: 'ERR_INVALID_NAME',
  110: 'ERR_TIMEOUT', 11: 'ERR_WOULD_BLOCK', 16: 'ERR_BUSY', 32: 'ERR_CONNECTION_CLOSED',
  104: 'ERR_CONNECTION_CLOSED', 98: 'ERR_ADDRESS_IN_USE', 111: 'ERR_SERVER_NOT_RUNNING',
  131: 'ERR_MUTEX_NOT_RECOVERABLE', 35: 'ERR_MUTEX_DEADLOCK',
};

export function errnoName(errno: number): string | undefined { return ERRNO_NAMES[errno]; }
export function errnoToCode(errno: number): ShmkitErrorCode { return ERRNO_CODES[errno] ?? 'ERR_SYSCALL'; }

export class ShmkitError extends Error {
  override readonly name: string = 'ShmkitError';
  readonly code: ShmkitErrorCode;
  readonly errno: number | undefined;
  readonly errnoName: string | undefined;
  readonly syscall: string | undefined;
  readonly details: Readonly<Record<string, unknown>>;
  constructor(code: ShmkitErrorCode, message?: string, options: ShmkitErrorOptions = {}) {
    super(message ?? ERROR_CODES[code], options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.errno = options.errno;
    this.errnoName = options.errno === undefined ? undefined : errnoName(options.errno);
    this.syscall = options.syscall;
    this.details = Object.freeze({ ...options.details });
    Object.defineProperty(this, BRAND, { value: true });
  }
  toJSON() {
    return { name: this.name, code: this.code, message: this.message, errno: this.errno,
      errnoName: this.errnoName, syscall: this.syscall, details: { ...this.details } };
  }
}

/** True for any ShmkitError, also from another copy of shm-core. */
export function isShmkitError(e: unknown, code?: ShmkitErrorCode): e is ShmkitError {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[BRAND] === true &&
    (code === undefined || (e as ShmkitError).code === code);
}

/** Converts a negative shim return (-errno) into a ShmkitError. */
export function syscallError(ret: number, syscall: string, what: string): ShmkitError {
  const errno = -ret;
  return new ShmkitError(errnoToCode(errno), `${what}: ${syscall} failed (${errnoName(errno) ?? errno})`, { errno, syscall });
}
