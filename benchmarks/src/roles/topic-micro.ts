// Single-process topic micro-benchmarks (topic.md §9 topic.sweep / topic.filter): publish one message,
// then dispatch it synchronously (_drainNow) to the subscriptions of the same handle; ns per message
// for each of 20 batches (topic.filter*: the dispatch alone, see run()). Raw rmp write + drain of the same payload size is op 'sweep-rmp'.
//   op 'sweep'     : 1 subscription on /channel/foo/bar, matching, handler with a view (copy: false)
//   op 'sweep-rmp' : raw rmp write() + drain() of `size` B (the floor topic is compared with)
//   op 'skip'      : subscription on /wanted, messages on /unwanted: skipped without copying the payload
//   op 'copy'      : subscription on /wanted, messages on /wanted, default copy (a fresh Uint8Array)
//   op 'subs'      : params.subs subscriptions /s/<i>; params.match true: messages on /s/0, else /none
import { RmpChannel, type RmpReader, type RmpWriter } from '@shmkit/rmp';
import { TopicChannel } from '@shmkit/topic';
import { defineRole, type RoleContext } from '../api.js';
import { BATCHES, timeBatches } from '../lib/micro.js';

let ctx: RoleContext;
let tc: TopicChannel | undefined;
let rc: RmpChannel | undefined, rw: RmpWriter | undefined, rr: RmpReader | undefined;
let got = 0, sink = 0, pubTopic = '';
const RING = 4 << 20;

defineRole({
  async setup(c) {
    ctx = c;
    const op = String(c.params.op), ringSize = RING;
    if (op === 'sweep-rmp' || op === 'rmp-write') {
      rc = RmpChannel.create(c.name, { ringSize, maxReaders: 2 });
      rw = rc.createWriter({ backpressure: { policy: 'overwrite' } });
      if (op === 'sweep-rmp') rr = rc.createReader({ wait: { mode: 'spin' } });
      return;
    }
    tc = TopicChannel.create(c.name, { ringSize, maxReaders: 2, backpressure: { policy: 'overwrite' } });
    const view = (m: { payload: Uint8Array }) => { got++; sink += m.payload[m.payload.length - 1] ?? 0; };
    switch (op) {
      case 'sweep': tc.subscribe('/channel/foo/bar', view, { copy: false }); pubTopic = '/channel/foo/bar'; break;
      case 'skip': tc.subscribe('/wanted', view, { copy: false }); pubTopic = '/unwanted'; break;
      case 'copy': tc.subscribe('/wanted', view); pubTopic = '/wanted'; break;
      case 'subs': {
        const k = Number(c.params.subs);
        for (let i = 0; i < k; i++) tc.subscribe(`/s/${i}`, view, { copy: false });
        pubTopic = c.params.match ? '/s/0' : '/none';
        break;
      }
      // topic.publish: no subscription anywhere (no reader): the publish path alone.
      case 'publish': case 'publisher': case 'coalesce': pubTopic = '/channel/foo/bar'; break;
      default: throw new Error(`unknown topic micro op ${op}`);
    }
  },
  async run(n, warmup) {
    const payload = new Uint8Array(ctx.size);
    for (let j = 0; j < payload.length; j++) payload[j] = j & 255;
    let f: (k: number) => void;
    let out: Float64Array | undefined;
    const before = got;
    if (rw) {
      const w = rw, r = rr;
      const take = (p: Uint8Array) => { got++; sink += p[p.length - 1] ?? 0; };
      f = ctx.params.op === 'rmp-write' ? (k) => { for (let i = 0; i < k; i++) w.write(payload); }
        : (k) => { for (let i = 0; i < k; i++) { w.write(payload); if (r!.drain(take, 1) !== 1) throw new Error('message not read back'); } };
    } else if (ctx.params.op === 'publish') {
      const t = tc!, topic = pubTopic;
      f = (k) => { for (let i = 0; i < k; i++) t.publish(topic, payload); };
    } else if (ctx.params.op === 'publisher' || ctx.params.op === 'coalesce') {
      const p = tc!.publisher(pubTopic, { coalesce: ctx.params.op === 'coalesce' });
      f = (k) => { for (let i = 0; i < k; i++) p.publish(payload); p.flush(); };
    } else if (ctx.params.op === 'sweep') {
      const t = tc!, topic = pubTopic;
      f = (k) => { for (let i = 0; i < k; i++) { t.publish(topic, payload); t._drainNow(); } };
    } else {
      // topic.filter*: only the dispatch is timed. The ring is filled (untimed) with up to `fill` messages,
      // then one _drainNow() dispatches them all, as the pump does (one drainWith per batch); otherwise the
      // publisher's own copy of every payload into the ring and rmp's per-drain-call setup would dominate.
      const t = tc!, topic = pubTopic, fill = Math.max(1, Math.min(1024, Math.floor((RING * 0.9) / (ctx.size + 64))));
      let ns = 0n;
      f = (k) => {
        for (let left = k; left > 0;) {
          const m = Math.min(fill, left);
          for (let i = 0; i < m; i++) t.publish(topic, payload);
          const t0 = process.hrtime.bigint();
          t._drainNow();
          ns += process.hrtime.bigint() - t0;
          left -= m;
        }
      };
      f(warmup);
      out = new Float64Array(BATCHES);
      const per = Math.max(1, Math.floor(n / BATCHES));
      for (let b = 0; b < BATCHES; b++) { ns = 0n; f(per); out[b] = Number(ns) / per; }
    }
    out ??= timeBatches(f, n, warmup);
    const delivered = got - before, sent = warmup + Math.max(1, Math.floor(n / BATCHES)) * BATCHES;
    const op = ctx.params.op;
    if (op === 'rmp-write') return out;
    if (op === 'publish' || op === 'publisher' || op === 'coalesce') {
      if (tc!.stats().published < sent) throw new Error(`${tc!.stats().published} published for ${sent}`);
      return out;
    }
    const expectAll = op === 'sweep' || op === 'sweep-rmp' || op === 'copy' || (op === 'subs' && ctx.params.match);
    if (delivered !== (expectAll ? sent : 0)) throw new Error(`${delivered} deliveries for ${sent} messages`);
    if (op === 'skip' && tc!.stats().payloadBytesCopied !== 0) throw new Error('non-matching payloads were copied');
    if (op === 'copy' && tc!.stats().payloadBytesCopied < sent * ctx.size) throw new Error('matching payloads were not copied');
    return out;
  },
  async teardown() {
    if (tc) { tc.close(); TopicChannel.unlink(ctx.name); }
    if (rc) { rr?.close(); rw?.close(); rc.close(); RmpChannel.unlink(ctx.name); }
    if (sink < 0) throw new Error('unreachable');
  },
});
