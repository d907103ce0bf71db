// topic.burst (Toroni's method, topic.md §9) with raw rmp in the same run: W publisher processes
// ('writer1', …) and R subscriber processes ('reader1', …) on topic 'channel', 8-B payloads.
//   params.kind 'latency': each writer sends bursts of 10 messages carrying a monotonic ns stamp (float64),
//     one publishMany / writeMany per burst (one lock, one notification), 1 ms apart; readers record
//     `now − stamp` per message; the last reader returns the latencies.
//   params.kind 'drain': each writer publishes n messages (bytes 0..3 seq, byte 4 writer) one call each;
//     readers check per-writer order; the last reader returns its drain throughput (first → last message).
//   params.via 'topic' | 'rmp'.
import { RmpChannel, type RmpReader, type RmpWriter, type WaitMode } from '@shmkit/rmp';
import { TopicChannel, type TopicPublisher } from '@shmkit/topic';
import { defineRole, type RoleContext } from '../api.js';
import { Stamp } from '../lib/stream.js';

const BURST = 10, TOPIC = 'channel';
let ctx: RoleContext, stamp: Stamp | undefined;
let tc: TopicChannel | undefined, pub: TopicPublisher | undefined;
let rc: RmpChannel | undefined, rw: RmpWriter | undefined, rr: RmpReader | undefined;
let onMsg: ((p: Uint8Array) => void) | undefined;
let writers = 1, readers = 1, me = -1, runNo = 0, seq = 0;

defineRole({
  async setup(c) {
    ctx = c;
    const roles = c.scenario.roles.map((r) => r.name);
    const ws = roles.filter((r) => r.startsWith('writer'));
    writers = ws.length; readers = roles.length - writers; me = ws.indexOf(c.role);
    const topic = c.params.via !== 'rmp';
    const backpressure = { policy: 'wait' as const, timeoutMs: 5_000, onTimeout: 'throw' as const };
    if (me === 0) stamp = Stamp.create(c.name); else stamp = Stamp.open(c.name);
    if (me >= 0) {
      if (topic) { tc = me === 0 ? TopicChannel.create(c.name, { ringSize: 4 << 20, maxReaders: 8, backpressure }) : await TopicChannel.open(c.name, { waitInitMs: 5_000, backpressure }); pub = tc.publisher(TOPIC); }
      else { rc = me === 0 ? RmpChannel.create(c.name, { ringSize: 4 << 20, maxReaders: 8 }) : await RmpChannel.open(c.name, { waitInitMs: 5_000 }); rw = rc.createWriter({ backpressure }); }
      return;
    }
    const mode = (c.mode === 'n/a' ? 'hybrid' : c.mode) as WaitMode;
    if (topic) {
      tc = await TopicChannel.open(c.name, { waitInitMs: 5_000, wait: { mode } });
      tc.subscribe(TOPIC, (m) => onMsg?.(m.payload), { copy: false });
    } else {
      rc = await RmpChannel.open(c.name, { waitInitMs: 5_000 });
      rr = rc.createReader({ wait: { mode }, publishLagBytes: 0 });
    }
  },
  async run(n, warmup) {
    runNo++;
    const latency = ctx.params.kind === 'latency';
    const bursts = Math.ceil((n + warmup) / BURST / writers);
    const perWriter = latency ? bursts * BURST : n + warmup, total = perWriter * writers;
    if (me >= 0) {
      await stamp!.awaitReaders(runNo, readers);
      if (latency) {
        const msgs = Array.from({ length: BURST }, () => new Uint8Array(8));
        const views = msgs.map((m) => new DataView(m.buffer));
        for (let b = 0; b < bursts; b++) {
          for (let k = 0; k < BURST; k++) views[k]!.setFloat64(0, Number(process.hrtime.bigint()), true);
          if (pub) pub.publishMany(msgs); else rw!.writeMany(msgs);
          await new Promise((res) => setTimeout(res, 1));
        }
      } else {
        const b = new Uint8Array(8);
        b[4] = me;
        for (let i = 0; i < perWriter; i++) {
          const s = seq++;
          b[0] = s & 255; b[1] = (s >>> 8) & 255; b[2] = (s >>> 16) & 255; b[3] = s >>> 24;
          if (pub) pub.publish(b); else rw!.write(b);
        }
      }
      return;
    }
    const lat = latency ? new Float64Array(total) : undefined;
    const next = new Array<number>(writers).fill((runNo - 1) * perWriter);
    let got = 0, bad = 0, first = 0n, last = 0n;
    const take = latency
      ? (p: Uint8Array) => { if (got < total) lat![got] = Number(process.hrtime.bigint()) - new DataView(p.buffer, p.byteOffset, 8).getFloat64(0, true); got++; }
      : (p: Uint8Array) => {
        const t = process.hrtime.bigint();
        if (got === 0) first = t;
        last = t;
        const w = p[4]!, s = (p[0]! | (p[1]! << 8) | (p[2]! << 16) | (p[3]! << 24)) >>> 0;
        if (p.length !== 8 || w >= writers || s !== next[w]!++ >>> 0) bad++;
        got++;
      };
    stamp!.ready();
    const deadline = Date.now() + 120_000;
    if (rr) {
      const reader = rr;
      while (got < total) {
        if (reader.drain(take) === 0) {
          if (reader.expired) throw new Error('reader overrun');
          await reader.waitForData({ timeoutMs: 1_000 });
          if (Date.now() > deadline) throw new Error(`stalled after ${got} of ${total} messages`);
        }
      }
    } else {
      let overrun = false;
      const off = tc!.on('overrun', () => { overrun = true; });
      await new Promise<void>((res, rej) => {
        const t = setTimeout(() => rej(new Error(`stalled after ${got} of ${total} messages`)), 120_000);
        const check = setInterval(() => { if (overrun) { clearTimeout(t); clearInterval(check); rej(new Error('reader overrun')); } }, 50);
        onMsg = (p) => { take(p); if (got === total) { clearTimeout(t); clearInterval(check); res(); } };
      });
      onMsg = undefined; off();
    }
    if (got !== total) throw new Error(`${got} messages for ${total}`);
    if (bad) throw new Error(`${bad} messages out of per-writer order`);
    if (ctx.role !== ctx.scenario.roles[ctx.scenario.roles.length - 1]!.name) return;
    if (latency) return lat!.subarray(total - n);
    return { ops: got, bytes: got * 8, elapsedNs: Math.max(1, Number(last - first)) };
  },
  async teardown() {
    pub?.close(); tc?.close();
    rr?.close(); rw?.close(); rc?.close();
    if (me === 0) { if (tc) TopicChannel.unlink(ctx.name); if (rc) RmpChannel.unlink(ctx.name); }
    stamp?.close();
  },
});
