import { ERROR_CODES, ShmkitError, type ShmkitErrorCode, type ShmkitErrorOptions } from '@shmkit/shm-core';

/** rmp's own code (package prefix ERR_RMP_, spec §3); its text lives in shm-core's shared table. */
export const RMP_ERROR_CODES = {
  ERR_RMP_INACTIVE: ERROR_CODES.ERR_RMP_INACTIVE,
} as const;
export type RmpOwnCode = keyof typeof RMP_ERROR_CODES;
/** Every code rmp throws: shm-core's table, which includes ERR_RMP_INACTIVE. */
export type RmpErrorCode = ShmkitErrorCode;

/** Every error rmp throws. Structured fields are in `details`. */
export class RmpError extends ShmkitError {
  override readonly name: string = 'RmpError';
  constructor(code: RmpErrorCode, message: string, options: ShmkitErrorOptions = {}) {
    super(code, message, options);
  }
}

export function rmpError(code: RmpErrorCode, message: string, details?: Record<string, unknown>, cause?: unknown): RmpError {
  return new RmpError(code, message, { details, cause });
}
