import { ShmkitError, type ShmkitErrorCode, type ShmkitErrorOptions } from '@shmkit/shm-core';

/** topic's own code (package prefix ERR_TOPIC_); every other code comes from shm-core's table (via rmp). */
export const TOPIC_ERROR_CODES = {
  ERR_TOPIC_INVALID: "topic rejected (details.reason: 'type' | 'surrogate' | 'nul' | 'length')",
} as const;
export type TopicOwnCode = keyof typeof TOPIC_ERROR_CODES;
export type TopicErrorCode = ShmkitErrorCode | TopicOwnCode | 'ERR_RMP_INACTIVE';

/** Every error topic throws itself. Structured fields are in `details`. */
export class TopicError extends ShmkitError {
  override readonly name: string = 'TopicError';
  constructor(code: TopicErrorCode, message: string, options: ShmkitErrorOptions = {}) {
    // shm-core's code type is the closed table of shared codes; ERR_TOPIC_INVALID is topic's own
    // (spec §3) and is not in that table, hence the one cast.
    super(code as ShmkitErrorCode, message, options);
  }
}

export function topicError(code: TopicErrorCode, message: string, details?: Record<string, unknown>, cause?: unknown): TopicError {
  return new TopicError(code, message, { details, cause });
}
