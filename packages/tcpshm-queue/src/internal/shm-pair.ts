// Opens the two rings of one (local, remote) pair (§5.9 open steps 1–4). Each ring is mapped in place, with no
// common header, exactly as the reference does (§4.10): `/<sender>_<receiver>.shm` ('reference' naming) or
// `/shmkit.tcpshm-queue.<sender>_<receiver>.shm` ('shmkit'), size exactly Q + 256, never resized. Role locks are
// OFD write locks on byte 0 (producer) / byte 1 (consumer) of the object, held while the ring is mapped.
import { Segment, WakeHandle, isShmkitError } from '@shmkit/shm-core';
import type { InPlaceTarget } from '@shmkit/shm-core';
import { TcpshmError } from '../errors.js';
import type { Resolved } from '../options.js';
import { RingConsumer, RingProducer, RING_TRAILER } from './shm-ring.js';

export interface PairRings { producer: RingProducer; consumer: RingConsumer; created: boolean }

/** The shm object name of ring <sender>_<receiver> (with the leading '/'). */
export function ringObjectName(naming: 'reference' | 'shmkit', sender: string, receiver: string): string {
  return naming === 'shmkit' ? `/shmkit.tcpshm-queue.${sender}_${receiver}.shm` : `/${sender}_${receiver}.shm`;
}

function ringTarget(naming: 'reference' | 'shmkit', sender: string, receiver: string): InPlaceTarget {
  return naming === 'shmkit'
    ? { package: 'tcpshm-queue', name: `${sender}_${receiver}`, part: 'shm' }
    : { shmName: ringObjectName('reference', sender, receiver) };
}

/** Maps ring <sender>_<receiver> in place (created zero-filled when absent). */
export function openRingSegment(o: Pick<Resolved, 'shmNaming' | 'shmQueueSize' | 'shmMode'>, sender: string, receiver: string): { seg: Segment; created: boolean } {
  const name = `${sender}_${receiver}`;
  const size = o.shmQueueSize + RING_TRAILER;
  try {
    const r = Segment.openOrCreateInPlace(ringTarget(o.shmNaming, sender, receiver), { size, mode: o.shmMode });
    return { seg: r.segment, created: r.created };
  } catch (e) {
    if (isShmkitError(e, 'ERR_LAYOUT_MISMATCH')) {
      throw new TcpshmError('ERR_LAYOUT_MISMATCH', `ring ${name} has another size (shmQueueSize differs); it was not resized`, { cause: e, details: { ...(e.details as object), ring: name } });
    }
    throw e;
  }
}

/** Takes the role lock of a mapped ring (§4.10): byte 0 for the producer, byte 1 for the consumer. */
export function lockRole(seg: Segment, role: 'producer' | 'consumer', ring: string): void {
  if (!seg.lockRange(role === 'producer' ? 0 : 1, 1, 'exclusive', { nonBlocking: true })) {
    throw new TcpshmError('ERR_TCPSHM_FILE_LOCKED', `ring ${ring} already has a ${role}`, { details: { path: seg.path, role, ring } });
  }
}

/** Reads one byte of every page once, so that the first lap of the hot path takes no page fault (a fault per
 *  4 KiB page, i.e. every 32 two-block records, costs several µs on a VM). Read-only: the contents are untouched. */
function prefault(b: Uint8Array): void {
  let x = 0;
  for (let off = 0; off < b.byteLength; off += 4096) x |= b[off]!;
  if (x === 0x100) throw new Error('unreachable');
}

export function openPairRings(o: Resolved, local: string, remote: string, point?: (p: string) => void): PairRings {
  const opened: Segment[] = [];
  try {
    const open = (sender: string, receiver: string, role: 'producer' | 'consumer') => {
      const r = openRingSegment(o, sender, receiver);
      opened.push(r.seg);
      lockRole(r.seg, role, `${sender}_${receiver}`);
      return r;
    };
    const out = open(local, remote, 'producer');
    const inn = open(remote, local, 'consumer');
    const outBytes = out.seg.uint8(0, o.shmQueueSize + RING_TRAILER);
    const inBytes = inn.seg.uint8(0, o.shmQueueSize + RING_TRAILER);
    prefault(outBytes); prefault(inBytes);
    const producer = new RingProducer(outBytes, `${local}_${remote}`, { point, close: () => out.seg.close() });
    const consumer = new RingConsumer(inBytes, `${remote}_${local}`, { point, close: () => inn.seg.close() });
    return { producer, consumer, created: out.created || inn.created };
  } catch (e) { for (const s of opened) s.close(); throw e; }
}

/** Wake channel names (§4.11): the consumer of ring <sender>_<receiver> waits on `.data`. */
export function createDataChannel(sender: string, receiver: string): WakeHandle | undefined {
  try { return WakeHandle.createFifo('tcpshm-queue', `${sender}_${receiver}`, 'data'); } catch { return undefined; }
}
export function dataSignaller(sender: string, receiver: string): WakeHandle {
  return WakeHandle.fifoSignaller('tcpshm-queue', `${sender}_${receiver}`, 'data');
}
/** The producer of ring <sender>_<receiver> waits for space on `.space` (§4.11); the consumer signals it. */
export function createSpaceChannel(sender: string, receiver: string): WakeHandle | undefined {
  try { return WakeHandle.createFifo('tcpshm-queue', `${sender}_${receiver}`, 'space'); } catch { return undefined; }
}
export function spaceSignaller(sender: string, receiver: string): WakeHandle {
  return WakeHandle.fifoSignaller('tcpshm-queue', `${sender}_${receiver}`, 'space');
}
