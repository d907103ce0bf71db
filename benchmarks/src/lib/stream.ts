// Helpers of the one-way stream roles (rmp/topic throughput, fan-out and the socket comparisons):
// payload pattern, sequence checks and the writer's start stamp shared through a small segment,
// so that the measuring reader can report end-to-end time (writer's first write → its last message).
import { Segment } from '@shmkit/shm-core';

export const BATCH = 64;
/** A pool of BATCH payloads with a pattern in every byte; bytes 0..3 carry the sequence number. */
export function payloadPool(size: number): Uint8Array[] {
  return Array.from({ length: BATCH }, (_, k) => {
    const b = new Uint8Array(size);
    for (let j = 0; j < size; j++) b[j] = (k * 31 + j * 7) & 255;
    return b;
  });
}
export function putSeq(b: Uint8Array, seq: number): void {
  if (b.length >= 4) { b[0] = seq & 255; b[1] = (seq >>> 8) & 255; b[2] = (seq >>> 16) & 255; b[3] = (seq >>> 24) & 255; } else if (b.length > 0) b[0] = seq & 255;
}
export function getSeq(b: Uint8Array): number {
  if (b.length >= 4) return (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
  return b.length > 0 ? b[0]! : -1;
}
/** The sequence number `getSeq` must return for message `i`. */
export function wantSeq(size: number, i: number): number { return size >= 4 ? i >>> 0 : size > 0 ? i & 255 : -1; }

/** Start stamp (process.hrtime ns, CLOCK_MONOTONIC is system-wide) shared by writer and measuring reader. */
export class Stamp {
  private constructor(readonly seg: Segment, private readonly owner: boolean) {}
  static create(name: string): Stamp { return new Stamp(Segment.create({ package: 'benchmarks', name: `${name}-stamp`, layoutMajor: 1, size: 4096 }), true); }
  static open(name: string): Stamp { return new Stamp(Segment.open({ package: 'benchmarks', name: `${name}-stamp`, layoutMajor: 1 }), false); }
  /** Past any header: i64 word 256 = ns of the writer's start of the measured part, word 257 = run counter. */
  set(run: number): void {
    const w = this.seg.i64;
    Atomics.store(w, 256, process.hrtime.bigint()); Atomics.store(w, 257, BigInt(run));
  }
  get(run: number): bigint {
    const w = this.seg.i64;
    if (Atomics.load(w, 257) !== BigInt(run)) throw new Error('writer start stamp missing');
    return Atomics.load(w, 256);
  }
  /** Reader: announce that this run's receive loop is about to start (word 258 counts readers × runs). */
  ready(): void { Atomics.add(this.seg.i64, 258, 1n); }
  /** Writer: wait (1-ms polls, bounded) until every reader has started this run, so that end-to-end
   *  time covers the transfer and not the runner's message to the reader process. */
  async awaitReaders(run: number, readers: number, timeoutMs = 30_000): Promise<void> {
    const want = BigInt(run * readers), end = Date.now() + timeoutMs;
    while (Atomics.load(this.seg.i64, 258) < want) {
      if (Date.now() > end) throw new Error('readers did not start');
      await new Promise((res) => setTimeout(res, 1));
    }
  }
  close(): void { if (this.owner) this.seg.unlink(); this.seg.close(); }
}
