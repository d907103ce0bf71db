// Single-process micro-benchmarks of shm-core: returns ns per operation for each of 20 batches.
import { Segment, ffiNoop, futexWake } from '@shmkit/shm-core';
import { defineRole, type RoleContext } from '../api.js';
import { timeBatches } from '../lib/micro.js';

let seg: Segment | undefined;
let ctx: RoleContext;
let sink = 0;

function op(name: string): (k: number) => void {
  switch (name) {
    case 'ffi-noop': return (k) => { for (let i = 0; i < k; i++) ffiNoop(); };
    case 'segment-open-close': return (k) => {
      for (let i = 0; i < k; i++) { const s = Segment.open({ package: 'benchmarks', name: ctx.name, layoutMajor: 1 }); s.close(); }
    };
    case 'view': return (k) => {
      // A typed-array view over the mapped segment, as protocol code makes one per attach.
      const s = seg!;
      for (let i = 0; i < k; i++) sink += s.int32((i & 63) * 64, 16).length;
    };
    case 'futex-wake': return (k) => {
      // shk_futex_wake on a segment word nobody waits on: one FFI call plus one syscall.
      const s = seg!;
      for (let i = 0; i < k; i++) sink += futexWake(s, 128, 1);
    };
    case 'atomics': return (k) => {
      // Atomics.load + Atomics.add on a segment view (the per-message cost of shared indices).
      const w = seg!.int32(0, 16);
      for (let i = 0; i < k; i++) sink += Atomics.add(w, 1, 1) + Atomics.load(w, 2);
    };
    default: throw new Error(`unknown micro op ${name}`);
  }
}

defineRole({
  async setup(c) {
    ctx = c;
    if (c.params.op !== 'ffi-noop') seg = Segment.create({ package: 'benchmarks', name: c.name, layoutMajor: 1, size: 65536 });
  },
  async run(n, warmup) {
    return timeBatches(op(String(ctx.params.op)), n, warmup);
  },
  async teardown() { if (seg) { seg.unlink(); seg.close(); } if (sink < 0) throw new Error('unreachable'); },
});
