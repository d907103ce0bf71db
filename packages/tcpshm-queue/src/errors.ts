import { ShmkitError, isShmkitError, type ShmkitErrorCode } from '@shmkit/shm-core';

/** The ERR_TCPSHM_* codes of spec §3.8 (to join shm-core's table once it carries package codes). */
export const TCPSHM_ERROR_CODES = {
  ERR_TCPSHM_LOGIN_REJECTED: 'login rejected by the server (status 2)',
  ERR_TCPSHM_SEQ_MISMATCH: 'sequence numbers of the two sides do not match',
  ERR_TCPSHM_LOGIN_FAILED: 'connection closed before a complete login response',
  ERR_TCPSHM_LOGIN_TIMEOUT: 'no complete login response in time',
  ERR_TCPSHM_INVALID_LOGIN_RSP: 'invalid login response',
  ERR_TCPSHM_ALREADY_CONNECTED: 'connect() while connecting or open',
  ERR_TCPSHM_CONNECT: 'socket connect failed',
  ERR_TCPSHM_FILE: 'open/ftruncate/mmap/msync of a state file failed',
  ERR_TCPSHM_FILE_LOCKED: 'state file or ring role held by another process',
  ERR_TCPSHM_PTCP_CORRUPT: 'PTCP file fails the sanity check',
  ERR_TCPSHM_LASTSERVER_CORRUPT: '.lastserver content is not a valid name',
  ERR_TCPSHM_NOT_SAME_HOST: 'SHM peer not on the same host',
  ERR_TCPSHM_CONFIG_MISMATCH: 'SHM check found a different ring size or large-message setting',
  ERR_TCPSHM_CHECK_UNSUPPORTED: 'SHM check required but not answered',
  ERR_TCPSHM_RESERVED_MSG_TYPE: 'msg_type 0 (or >= 0x8000 in large-message mode) is reserved',
  ERR_TCPSHM_NO_PENDING_ALLOC: 'push() without alloc()',
  ERR_TCPSHM_NOTHING_TO_POP: 'pop() with no front message',
  ERR_TCPSHM_BAD_FRAME: 'frame header size < 8 or inconsistent fragments',
  ERR_TCPSHM_FRAME_TOO_LARGE: 'frame larger than the receive buffer cap',
  ERR_TCPSHM_ACK_OUT_OF_RANGE: 'ack newer than what was sent',
  ERR_TCPSHM_REMOTE_CLOSE: 'the peer closed the connection',
  ERR_TCPSHM_SOCKET: 'socket read/write/listen error',
  ERR_TCPSHM_CLOSED_BY_APP: 'link closed by conn.close()',
  ERR_TCPSHM_REPLACED: 'link replaced by a newer login',
  ERR_TCPSHM_EVICTED: 'offline slot released for another name',
  ERR_TCPSHM_BAD_LOGIN: 'malformed or late login frame',
  ERR_TCPSHM_INVALID_GROUP: 'onNewConnection returned an invalid group',
  ERR_TCPSHM_HANDLER_FAILED: 'a handler threw',
} as const;
export type TcpshmOwnCode = keyof typeof TCPSHM_ERROR_CODES;
export type TcpshmErrorCode = TcpshmOwnCode | ShmkitErrorCode;

export interface TcpshmErrorOptions {
  cause?: unknown; errno?: number; syscall?: string;
  reasonText?: string; details?: Readonly<Record<string, unknown>>;
}

/** Every failure of this package (spec §3.8): a ShmkitError with a stable code and the reference reason text. */
export class TcpshmError extends ShmkitError {
  override readonly name: string = 'TcpshmError';
  declare readonly code: ShmkitErrorCode;
  readonly reasonText: string | undefined;
  constructor(code: TcpshmErrorCode, message?: string, options: TcpshmErrorOptions = {}) {
    // shm-core's code type is closed until package codes join its table: one cast, here only.
    super(code as ShmkitErrorCode,
      message ?? (TCPSHM_ERROR_CODES as Record<string, string>)[code] ?? code,
      { cause: options.cause, errno: options.errno, syscall: options.syscall, details: options.details });
    this.reasonText = options.reasonText;
  }
  get tcpshmCode(): TcpshmErrorCode { return this.code as TcpshmErrorCode; }
}

export function isTcpshmError(e: unknown, code?: TcpshmErrorCode): e is TcpshmError {
  return isShmkitError(e) && (code === undefined || (e as { code: string }).code === code);
}

export function tcpshmError(code: TcpshmErrorCode, message: string, reasonText?: string,
  details?: Record<string, unknown>, cause?: unknown): TcpshmError {
  return new TcpshmError(code, message, { reasonText, details, cause });
}
