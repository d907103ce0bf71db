/**
 * `@shmkit/topic/introspect` (spec 5.9): the read-only view `shmkit inspect/top` use. A topic channel is an
 * rmp channel under the package token `topic`, so this reuses rmp's decoding (`@shmkit/rmp/internal`) and adds
 * the shared `generation` counter (ext[0] of the reader-info segment) to the summary. Maps read-only, never
 * locks, never claims a slot; a problem reading the counter becomes a warning.
 */
import { Segment, type CounterReader, type InspectResult, type InstanceRef, type Introspector } from '@shmkit/shm-core';
import { layout, makeIntrospector } from '@shmkit/rmp/internal';

const base = makeIntrospector('topic');

/** The generation counter of a topic channel, read from a read-only mapping of its reader-info segment. */
function readGeneration(name: string): bigint {
  const seg = Segment.open({ package: 'topic', name, part: 'readers', kind: layout.KIND_READERS, layoutMajor: layout.LAYOUT_MAJOR, readonly: true });
  try { return Atomics.load(new BigUint64Array(seg.buffer, layout.READERS.ext, 8), 0); } finally { seg.close(); }
}

export const introspector: Introspector = {
  package: 'topic',
  partPattern: base.partPattern,
  async inspect(ref: InstanceRef, opts: { raw: boolean } = { raw: false }): Promise<InspectResult> {
    const res = await base.inspect(ref, opts);
    try { res.summary.generation = readGeneration(ref.name); } catch (e) {
      res.summary.generation = null;
      res.warnings.push(`generation counter unreadable: ${e instanceof Error ? e.message : String(e)}`);
    }
    return res;
  },
  openCounters(ref: InstanceRef): CounterReader | null { return base.openCounters(ref); },
};
