import { ShmkitError, type ShmkitErrorCode, type ShmkitErrorOptions } from '@shmkit/shm-core';

/** rmp's own code (package prefix ERR_RMP_); every other code comes from shm-core's table. */
export const RMP_ERROR_CODES = {
  ERR_RMP_INACTIVE: 'drain/read on a reader that was deactivate()d',
} as const;
export type RmpOwnCode = keyof typeof RMP_ERROR_CODES;
export type RmpErrorCode = ShmkitErrorCode | RmpOwnCode;

/** Every error rmp throws. Structured fields are in `details`. */
export class RmpError extends ShmkitError {
  override readonly name: string = 'RmpError';
  constructor(code: RmpErrorCode, message: string, options: ShmkitErrorOptions = {}) {
    // shm-core's code type is the closed table of shared codes; ERR_RMP_INACTIVE is rmp's own
    // (spec §3) and is not in that table yet, hence the one cast.
    super(code as ShmkitErrorCode, message, options);
  }
}

export function rmpError(code: RmpErrorCode, message: string, details?: Record<string, unknown>, cause?: unknown): RmpError {
  return new RmpError(code, message, { details, cause });
}
