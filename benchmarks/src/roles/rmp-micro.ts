// Single-process rmp micro-benchmarks: ns per message for each of 20 batches.
//   op 'write'      : write() of `size` B, no reader (lock + copy + commit, per call)
//   op 'writeMany'  : writeMany(64) of `size` B, no reader (cost per message)
//   op 'sweep'      : write one, then drain one with a reader in the same process (params.ringMiB)
//   params.readers  : that many extra active readers that never read (rmp.write-slots)
import { RmpChannel, type RmpReader, type RmpWriter } from '@shmkit/rmp';
import { defineRole, type RoleContext } from '../api.js';
import { BATCH, payloadPool, putSeq } from '../lib/stream.js';
import { timeBatches } from '../lib/micro.js';

let ctx: RoleContext;
let ch: RmpChannel | undefined, w: RmpWriter | undefined, r: RmpReader | undefined;
let sink = 0;
const idleReaders: RmpReader[] = [];

defineRole({
  async setup(c) {
    ctx = c;
    const idle = Number(c.params.readers ?? 0);
    ch = RmpChannel.create(c.name, { ringSize: Number(c.params.ringMiB ?? 4) << 20, maxReaders: idle + 2, notifier: 'none' });
    w = ch.createWriter({ backpressure: { policy: 'overwrite' } });
    if (c.params.op === 'sweep') r = ch.createReader({ wait: { mode: 'spin' } });
    // rmp.write-slots: active readers that never read, all at one position (the writer laps them).
    for (let i = 0; i < idle; i++) idleReaders.push(ch.createReader({ wait: { mode: 'spin' } }));
  },
  async run(n, warmup) {
    const pool = payloadPool(ctx.size), writer = w!;
    const take = (p: Uint8Array) => { sink += p[0]!; };
    let seq = 0;
    let f: (k: number) => void;
    switch (ctx.params.op) {
      case 'write': f = (k) => { for (let i = 0; i < k; i++) { const b = pool[i & (BATCH - 1)]!; putSeq(b, seq++); writer.write(b); } }; break;
      case 'writeMany': f = (k) => { for (let i = 0; i < k; i += BATCH) { for (const b of pool) putSeq(b, seq++); writer.writeMany(pool); } }; break;
      case 'sweep': f = (k) => {
        const rd = r!;
        for (let i = 0; i < k; i++) { const b = pool[i & (BATCH - 1)]!; putSeq(b, seq++); writer.write(b); if (rd.drain(take, 1) !== 1) throw new Error('message not read back'); }
      }; break;
      default: throw new Error(`unknown rmp micro op ${String(ctx.params.op)}`);
    }
    return timeBatches(f, n, warmup, BATCH);
  },
  async teardown() { for (const x of idleReaders) x.close(); r?.close(); w?.close(); RmpChannel.unlink(ctx.name); ch?.close(); if (sink < 0) throw new Error('unreachable'); },
});
