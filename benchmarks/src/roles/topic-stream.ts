// topic.fanout: one publisher process → subscriber processes on one topic ('/channel'); the last
// subscriber measures end to end (publisher's start of the measured part → its last message).
// Subscriptions are callbacks with a view (copy: false) that verify the sequence number and copy
// every byte into a local buffer; sequence numbers count across runs (the pump may deliver early).
import { TopicChannel, type Subscription } from '@shmkit/topic';
import { defineRole, type RoleContext } from '../api.js';
import { BATCH, Stamp, getSeq, payloadPool, putSeq, wantSeq } from '../lib/stream.js';

const TOPIC = '/channel';
let ctx: RoleContext;
let tc: TopicChannel | undefined, sub: Subscription | undefined, stamp: Stamp | undefined;
let runNo = 0, sent = 0, got = 0, bad = 0, target = 0, end = 0n;
let reached: (() => void) | undefined;

defineRole({
  async setup(c) {
    ctx = c;
    if (c.role === 'writer') {
      tc = TopicChannel.create(c.name, { ringSize: 4 << 20, maxReaders: 8, backpressure: { policy: 'wait', timeoutMs: 5_000, onTimeout: 'throw' } });
      stamp = Stamp.create(c.name);
      return;
    }
    tc = await TopicChannel.open(c.name, { wait: { mode: c.mode === 'n/a' ? 'hybrid' : (c.mode as 'spin' | 'hybrid' | 'block') } });
    stamp = Stamp.open(c.name);
    const size = c.size, local = new Uint8Array(size);
    sub = tc.subscribe(TOPIC, (m) => {
      const p = m.payload;
      if (p.length !== size || getSeq(p) !== wantSeq(size, got)) bad++;
      local.set(p);
      if (++got === target) { end = process.hrtime.bigint(); reached?.(); }
    }, { copy: false });
  },
  async run(n, warmup) {
    runNo++;
    const size = ctx.size, total = n + warmup;
    if (ctx.role === 'writer') {
      const pool = payloadPool(size), t = tc!;
      await stamp!.awaitReaders(runNo, ctx.scenario.roles.length - 1);
      for (let i = 0; i < total; i++) {
        if (i === warmup) stamp!.set(runNo);
        const b = pool[i & (BATCH - 1)]!; putSeq(b, sent++); t.publish(TOPIC, b);
      }
      if (warmup >= total) stamp!.set(runNo);
      return;
    }
    target = runNo * total;
    stamp!.ready();
    if (got < target) {
      await new Promise<void>((res, rej) => {
        const t = setTimeout(() => rej(new Error(`stalled after ${got} of ${target} messages`)), 120_000);
        reached = () => { clearTimeout(t); res(); };
      });
      reached = undefined;
    }
    if (bad) throw new Error(`${bad} messages with a wrong length or sequence number`);
    if (ctx.role !== ctx.scenario.roles[ctx.scenario.roles.length - 1]!.name) return;
    return { ops: n, bytes: n * size, elapsedNs: Number(end - stamp!.get(runNo)) };
  },
  async teardown() {
    sub?.close(); tc?.close();
    if (ctx.role === 'writer') TopicChannel.unlink(ctx.name);
    stamp?.close();
  },
});
