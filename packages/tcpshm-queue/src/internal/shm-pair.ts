// Opens the two rings of one (local, remote) pair (§5.9 open steps 1–4).
// Interim mapping (see storage.ts): shm-core on this branch has no openOrCreateInPlace yet, so each ring is a
// shm-core Segment named `/shmkit.tcpshm-queue.<sender>_<receiver>.<part>` whose ring bytes (Q + 256, the exact
// reference layout) start after the 64-byte common header. Role locks are pid lock files in ptcpDir.
import { join } from 'node:path';
import { Segment, WakeHandle, isShmkitError } from '@shmkit/shm-core';
import { TcpshmError } from '../errors.js';
import type { Resolved } from '../options.js';
import { PidLock, ensureDir } from './storage.js';
import { RingConsumer, RingProducer, RING_TRAILER } from './shm-ring.js';

export interface PairRings { producer: RingProducer; consumer: RingConsumer; created: boolean }

const HDR = 64;
export function ringPart(o: Pick<Resolved, 'shmNaming'>): string { return o.shmNaming === 'shmkit' ? 'shm' : 'refshm'; }

export function openRingSegment(o: Resolved, sender: string, receiver: string): { seg: Segment; created: boolean } {
  const name = `${sender}_${receiver}`;
  const size = HDR + o.shmQueueSize + RING_TRAILER;
  const part = ringPart(o);
  for (let round = 0; round < 8; round++) {
    try {
      return { seg: Segment.open({ package: 'tcpshm-queue', name, part, layoutMajor: 1, size }), created: false };
    } catch (e) {
      if (isShmkitError(e, 'ERR_LAYOUT_MISMATCH')) {
        throw new TcpshmError('ERR_LAYOUT_MISMATCH', `ring ${name} has another size (shmQueueSize differs); it was not resized`, { cause: e, details: { ...(e.details as object), ring: name } });
      }
      if (!isShmkitError(e, 'ERR_NOT_FOUND')) throw e;
    }
    try {
      return { seg: Segment.create({ package: 'tcpshm-queue', name, part, layoutMajor: 1, size, mode: o.shmMode }), created: true };
    } catch (e) { if (!isShmkitError(e, 'ERR_EXISTS')) throw e; }
  }
  throw new TcpshmError('ERR_BUSY', `ring ${name}: open/create contended`);
}

export function openPairRings(o: Resolved, local: string, remote: string, point?: (p: string) => void): PairRings {
  ensureDir(o.ptcpDir, o.dirMode);
  const opened: Array<{ seg: Segment; lock: PidLock }> = [];
  const release = () => { for (const x of opened) { x.seg.close(); x.lock.release(); } };
  try {
    const open = (sender: string, receiver: string, role: 'producer' | 'consumer') => {
      const lock = PidLock.acquire(join(o.ptcpDir, `${sender}_${receiver}.${ringPart(o)}.${role}`), role, o.fileMode);
      try {
        const r = openRingSegment(o, sender, receiver);
        opened.push({ seg: r.seg, lock });
        return r;
      } catch (e) { lock.release(); throw e; }
    };
    const out = open(local, remote, 'producer');
    const inn = open(remote, local, 'consumer');
    const outBytes = out.seg.uint8(HDR, o.shmQueueSize + RING_TRAILER);
    const inBytes = inn.seg.uint8(HDR, o.shmQueueSize + RING_TRAILER);
    const outSeg = opened[0]!, inSeg = opened[1]!;
    const producer = new RingProducer(outBytes, `${local}_${remote}`, { point, close: () => { outSeg.seg.close(); outSeg.lock.release(); } });
    const consumer = new RingConsumer(inBytes, `${remote}_${local}`, { point, close: () => { inSeg.seg.close(); inSeg.lock.release(); } });
    return { producer, consumer, created: out.created || inn.created };
  } catch (e) { release(); throw e; }
}

/** Wake channel names (§4.11): the consumer of ring <sender>_<receiver> waits on `.data`. */
export function createDataChannel(sender: string, receiver: string): WakeHandle | undefined {
  try { return WakeHandle.createFifo('tcpshm-queue', `${sender}_${receiver}`, 'data'); } catch { return undefined; }
}
export function dataSignaller(sender: string, receiver: string): WakeHandle {
  return WakeHandle.fifoSignaller('tcpshm-queue', `${sender}_${receiver}`, 'data');
}
