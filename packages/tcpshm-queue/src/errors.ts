import { ERROR_CODES, ShmkitError, isShmkitError, type ShmkitErrorCode } from '@shmkit/shm-core';

/** This package's own codes (spec §3.8): the ERR_TCPSHM_* rows of shm-core's central ERROR_CODES table. */
export type TcpshmOwnCode = Extract<ShmkitErrorCode, `ERR_TCPSHM_${string}`>;
export type TcpshmErrorCode = ShmkitErrorCode;
export const TCPSHM_ERROR_CODES: Readonly<Record<TcpshmOwnCode, string>> = Object.freeze(Object.fromEntries(
  Object.entries(ERROR_CODES).filter(([k]) => k.startsWith('ERR_TCPSHM_'))) as Record<TcpshmOwnCode, string>);

export interface TcpshmErrorOptions {
  cause?: unknown; errno?: number; syscall?: string;
  reasonText?: string; details?: Readonly<Record<string, unknown>>;
}

/** Every failure of this package (spec §3.8): a ShmkitError with a stable code and the reference reason text. */
export class TcpshmError extends ShmkitError {
  override readonly name: string = 'TcpshmError';
  readonly reasonText: string | undefined;
  constructor(code: TcpshmErrorCode, message?: string, options: TcpshmErrorOptions = {}) {
    super(code, message ?? ERROR_CODES[code],
      { cause: options.cause, errno: options.errno, syscall: options.syscall, details: options.details });
    this.reasonText = options.reasonText;
  }
  get tcpshmCode(): TcpshmErrorCode { return this.code; }
}

export function isTcpshmError(e: unknown, code?: TcpshmErrorCode): e is TcpshmError {
  return isShmkitError(e) && (code === undefined || e.code === code);
}

export function tcpshmError(code: TcpshmErrorCode, message: string, reasonText?: string,
  details?: Record<string, unknown>, cause?: unknown): TcpshmError {
  return new TcpshmError(code, message, { reasonText, details, cause });
}
