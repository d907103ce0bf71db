// topic.fanout / topic.throughput / topic.transfer: publisher process(es) → subscriber processes on one
// topic ('/channel'); the last subscriber measures end to end (first publisher's start of the measured part
// → its last message). Roles 'writer' or 'writer1', 'writer2', … publish (the first creates the channel);
// every other role subscribes. Subscriptions are callbacks with a view (copy: false) that verify the
// sequence number (per publisher: byte 4 of the payload carries the publisher's index when there are
// several) and copy every byte into a local buffer; sequence numbers count across runs.
// Params: ringMiB (4); bpWaitMs: backpressure wait, then overwrite (the cell fails on an overrun);
// otherwise wait 5 s, then throw.
import { TopicChannel, type Subscription } from '@shmkit/topic';
import { defineRole, type RoleContext } from '../api.js';
import { BATCH, Stamp, getSeq, payloadPool, putSeq, wantSeq } from '../lib/stream.js';

const TOPIC = '/channel';
let ctx: RoleContext;
let tc: TopicChannel | undefined, sub: Subscription | undefined, stamp: Stamp | undefined;
let runNo = 0, sent = 0, got = 0, bad = 0, target = 0, end = 0n, overrun = '';
let reached: (() => void) | undefined;
let writers = 1, readers = 1, me = 0;
const next: number[] = [];

defineRole({
  async setup(c) {
    ctx = c;
    const roles = c.scenario.roles.map((r) => r.name);
    const ws = roles.filter((r) => r.startsWith('writer'));
    writers = ws.length; readers = roles.length - writers; me = ws.indexOf(c.role);
    const ringSize = Number(c.params.ringMiB ?? 4) * (1 << 20);
    if (me >= 0) {
      const bp = c.params.bpWaitMs;
      const backpressure = typeof bp === 'number' ? { policy: 'wait' as const, timeoutMs: bp, onTimeout: 'overwrite' as const } : { policy: 'wait' as const, timeoutMs: 5_000, onTimeout: 'throw' as const };
      if (me === 0) { tc = TopicChannel.create(c.name, { ringSize, maxReaders: 8, backpressure }); stamp = Stamp.create(c.name); }
      else { tc = await TopicChannel.open(c.name, { waitInitMs: 5_000, backpressure }); stamp = Stamp.open(c.name); }
      tc.publisher(TOPIC).close(); // creates the rmp writer now, not inside the first measured publish
      return;
    }
    tc = await TopicChannel.open(c.name, { waitInitMs: 5_000, wait: { mode: c.mode === 'n/a' ? 'hybrid' : (c.mode as 'spin' | 'hybrid' | 'block') } });
    tc.on('overrun', (o) => { overrun ||= `overrun (${o.reason}, ${o.lostBytes} bytes lost) after ${got} messages`; reached?.(); });
    stamp = Stamp.open(c.name);
    const size = c.size, local = new Uint8Array(size);
    for (let k = 0; k < writers; k++) next.push(0);
    sub = tc.subscribe(TOPIC, (m) => {
      const p = m.payload;
      if (writers === 1) { if (p.length !== size || getSeq(p) !== wantSeq(size, got)) bad++; }
      else if (p.length !== size || p[4]! >= writers || getSeq(p) !== next[p[4]!]!++ >>> 0) bad++;
      local.set(p);
      if (++got === target) { end = process.hrtime.bigint(); reached?.(); }
    }, { copy: false });
  },
  async run(n, warmup) {
    runNo++;
    const size = ctx.size, total = n + warmup;
    if (me >= 0) {
      const pool = payloadPool(size), t = tc!;
      if (writers > 1) for (const b of pool) b[4] = me;
      await stamp!.awaitReaders(runNo, readers);
      for (let i = 0; i < total; i++) {
        if (i === warmup && me === 0) stamp!.set(runNo);
        const b = pool[i & (BATCH - 1)]!; putSeq(b, sent++); t.publish(TOPIC, b);
      }
      if (warmup >= total && me === 0) stamp!.set(runNo);
      return;
    }
    target = runNo * total * writers;
    stamp!.ready();
    if (got < target && !overrun) {
      await new Promise<void>((res, rej) => {
        const t = setTimeout(() => rej(new Error(`stalled after ${got} of ${target} messages`)), 120_000);
        reached = () => { clearTimeout(t); res(); };
      });
      reached = undefined;
    }
    if (overrun) throw new Error(overrun);
    if (bad) throw new Error(`${bad} messages with a wrong length or sequence number`);
    if (ctx.role !== ctx.scenario.roles[ctx.scenario.roles.length - 1]!.name) return;
    return { ops: n * writers, bytes: n * writers * size, elapsedNs: Number(end - stamp!.get(runNo)) };
  },
  async teardown() {
    sub?.close(); tc?.close();
    if (me === 0) TopicChannel.unlink(ctx.name);
    stamp?.close();
  },
});
