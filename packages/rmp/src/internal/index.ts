/**
 * `@shmkit/rmp/internal`: what layered packages (`@shmkit/topic`) need beyond the public API.
 * Not part of rmp's public promise.
 */
import type { RmpChannel } from '../channel.js';
import { READERS } from '../layout.js';

export { RmpChannel } from '../channel.js';
export type { RmpInternalOptions } from '../channel.js';
export { makeIntrospector } from '../introspect.js';
export type { RmpInstanceRef, RmpInspectResult, RmpCounterSnapshot } from '../introspect.js';
export * as layout from '../layout.js';

/** The eight u64 `ext` words of the reader-info segment (offset 192); topic uses ext[0] as its
 *  generation counter. Access with Atomics only. */
export function extWords(ch: RmpChannel): BigUint64Array {
  const seg = ch._core.readersSeg;
  return new BigUint64Array(seg.buffer, READERS.ext, 8);
}
