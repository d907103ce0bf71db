// rmp.throughput / rmp.vs-sockets / rmp.fanout: one writer process, one or more reader processes.
// Role 'writer' (first) creates the channel; every other role is a reader; the last reader measures
// end-to-end throughput: from the writer's start of the measured part to its own last message.
// Params: ringMiB (4), api ('write' | 'writeMany', writeMany batches of 64), bpWaitMs (backpressure wait, then overwrite).
import { RmpChannel, type RmpReader, type RmpWriter, type WaitMode } from '@shmkit/rmp';
import { defineRole, type RoleContext } from '../api.js';
import { BATCH, Stamp, getSeq, payloadPool, putSeq, wantSeq } from '../lib/stream.js';

let ctx: RoleContext;
let ch: RmpChannel | undefined, w: RmpWriter | undefined, r: RmpReader | undefined, stamp: Stamp | undefined;
let runNo = 0;
const MiB = 1 << 20;

defineRole({
  async setup(c) {
    ctx = c;
    const ringSize = Number(c.params.ringMiB ?? 4) * MiB;
    if (c.role === 'writer') {
      ch = RmpChannel.create(c.name, { ringSize, maxReaders: 8, notifier: 'fd' });
      stamp = Stamp.create(c.name);
      // rmp.bp-transfer: wait bpWaitMs for slow readers, then overwrite (the reader then fails the cell).
      const bp = c.params.bpWaitMs;
      w = ch.createWriter({ backpressure: typeof bp === 'number' ? { policy: 'wait', timeoutMs: bp, onTimeout: 'overwrite' } : { policy: 'wait', timeoutMs: 5_000, onTimeout: 'throw' } });
      return { ringSize };
    }
    ch = await RmpChannel.open(c.name, { waitInitMs: 5_000 });
    stamp = Stamp.open(c.name);
    const mode = (c.mode === 'n/a' ? 'hybrid' : c.mode) as WaitMode;
    r = ch.createReader({ wait: { mode }, publishLagBytes: ringSize / 8 });
  },
  async run(n, warmup) {
    runNo++;
    const size = ctx.size, total = n + warmup;
    if (w) {
      await stamp!.awaitReaders(runNo, ctx.scenario.roles.length - 1);
      const pool = payloadPool(size), writer = w;
      if (ctx.params.api === 'write') {
        for (let i = 0; i < total; i++) {
          if (i === warmup) stamp!.set(runNo);
          const b = pool[i & (BATCH - 1)]!; putSeq(b, i); writer.write(b);
        }
      } else {
        let i = 0;
        while (i < total) {
          if (i <= warmup && warmup < i + BATCH) stamp!.set(runNo);
          const k = Math.min(BATCH, total - i);
          for (let j = 0; j < k; j++) putSeq(pool[j]!, i + j);
          writer.writeMany(k === BATCH ? pool : pool.slice(0, k));
          i += k;
        }
      }
      if (warmup >= total) stamp!.set(runNo);
      return;
    }
    const reader = r!;
    stamp!.ready();
    const local = new Uint8Array(size);
    let got = 0, bad = 0, badAt = -1;
    const sink = (p: Uint8Array) => {
      if (p.length !== size || getSeq(p) !== wantSeq(size, got)) { if (bad++ === 0) badAt = got; }
      local.set(p); // touch every byte
      got++;
    };
    const deadline = Date.now() + 120_000;
    while (got < total) {
      if (reader.drain(sink, 4096) === 0) {
        if (reader.expired) throw new Error(`reader overrun after ${got} messages`);
        await reader.waitForData({ timeoutMs: 1_000 });
        if (Date.now() > deadline) throw new Error(`stalled after ${got} of ${total} messages`);
      }
    }
    const end = process.hrtime.bigint();
    if (bad) throw new Error(`${bad} messages with a wrong length or sequence number (first at ${badAt})`);
    if (ctx.role !== ctx.scenario.roles[ctx.scenario.roles.length - 1]!.name) return;
    return { ops: n, bytes: n * size, elapsedNs: Number(end - stamp!.get(runNo)) };
  },
  async teardown() {
    r?.close(); w?.close();
    if (ctx.role === 'writer') RmpChannel.unlink(ctx.name);
    ch?.close(); stamp?.close();
  },
});
