import { afterEach, describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { until } from '@shmkit/testkit';
import { decodeRecord, encodeRecord, TopicChannel, type TopicMessage } from '../src/index.js';
import { cleanup, dec, enc, fresh, keep, settle } from './helpers.js';

afterEach(cleanup);
const code = (c: string) => expect.objectContaining({ code: c });

describe('coalescing and bound publishers', () => {
  it('17: three coalesced publish() calls in one tick: nothing written synchronously, one flush, staged 3 (T: AsyncWriter.PostEnqueuesWhenToldTo)', async () => {
    const { ch } = fresh('coal');
    const got: string[] = [];
    ch.subscribe('/px', (m) => got.push(dec(m)));
    const pub = ch.publisher('/px', { coalesce: true });
    const core = ch._rmp._core;
    const F0 = core.freePos(), locks0 = core.lockCalls;
    for (const s of ['a', 'b', 'c']) expect(pub.publish(enc(s))).toBeUndefined();
    expect(pub.staged).toBe(3);
    expect(core.freePos()).toBe(F0);
    await Promise.resolve();
    expect(pub.staged).toBe(0);
    expect(core.lockCalls - locks0).toBe(1);                  // one lock for the whole tick
    expect(Number(core.freePos() - F0)).toBe(3 * (8 + 16 + 8)); // three records (H 16, payload 1 → 8)
    await settle(ch);
    expect(got).toEqual(['a', 'b', 'c']);
    expect(ch.stats().published).toBe(3);
  });
  it('19: flush() with nothing staged writes nothing; order kept across staged, publishMany and publishAsync of one publisher (T: MPSCMessageQueue.DrainEmpty)', async () => {
    const { ch } = fresh('order');
    const got: string[] = [];
    ch.subscribe('/o', (m) => got.push(dec(m)));
    const pub = ch.publisher('/o', { coalesce: true });
    const F0 = ch._rmp._core.freePos();
    expect(pub.flush()).toBe(0);
    expect(ch._rmp._core.freePos()).toBe(F0);
    pub.publish(enc('a')); pub.publish(enc('b'));
    expect(pub.publishMany([enc('c'), enc('d')])).toBe(2);
    pub.publish(enc('e'));
    await pub.publishAsync(enc('f'));
    pub.publish(enc('g'));
    expect(pub.flush()).toBe(1);
    await settle(ch);
    expect(got).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
    pub.close(); pub.close();
    expect(() => pub.publish(enc('x'))).toThrow(code('ERR_CLOSED'));
  });
  it('20: 25 publishers interleave 200 messages each: every subscription gets 5 000 in per-publisher order; order kept across an await (T: SerialWorkQueue.CountManyProducers)', async () => {
    const { ch } = fresh('many', { ringSize: 1024 * 1024 });
    const pubs = Array.from({ length: 25 }, (_, i) => ch.publisher(`/p/${i}`, { coalesce: i % 2 === 0 }));
    const subs = [[], []] as Array<Array<[number, number]>>;
    for (const list of subs) ch.subscribe('/p', (m) => list.push([Number(m.topic.slice(3)), new DataView(m.payload.buffer, m.payload.byteOffset).getUint32(0, true)]), { descendants: true });
    const b = new Uint8Array(4);
    for (let k = 0; k < 200; k++) {
      for (let i = 0; i < 25; i++) { new DataView(b.buffer).setUint32(0, k, true); pubs[i]!.publish(b); }
      if (k === 100) await Promise.resolve();
    }
    for (const p of pubs) p.flush();
    await settle(ch);
    for (const list of subs) {
      expect(list.length).toBe(5000);
      const next = new Array(25).fill(0);
      for (const [i, k] of list) { expect(k).toBe(next[i]); next[i]++; }
    }
    expect(ch.stats().overruns).toBe(0);
  });
  it('19: a publish issued during a flush (from the error listener of a failed auto-flush) lands in the next flush; unwritten entries are dropped and counted', async () => {
    const { name, ch } = fresh('flush19', { ringSize: 1024, backpressure: { policy: 'wait', timeoutMs: 1, onTimeout: 'throw' } });
    const slow = keep(await TopicChannel.open(name));
    const stuck = slow.subscribe('/f');                    // its reader cannot move during the synchronous flush
    const pub = ch.publisher('/f', { coalesce: true });
    const errs: Array<{ code: string; details: Record<string, unknown> }> = [];
    let stagedInListener = -1;
    const F0 = ch._rmp.stats().freePos;
    let F1 = 0n;
    ch.on('error', (e) => {
      errs.push(e.error as never);
      expect(e.publisher).toBe(pub);
      F1 = ch._rmp.stats().freePos;
      pub.publish(enc('again'));                           // during the flush: staged for the next one
      stagedInListener = pub.staged;
      stuck.close();                                       // no active reader any more: the next flush cannot block
    });
    for (let i = 0; i < 20; i++) pub.publish(enc(`m${i}`.padEnd(100, '.')));
    expect(pub.staged).toBe(20);
    await until(() => pub.staged === 0 && errs.length === 1 && ch._rmp.stats().freePos !== F1, 10_000, 'second flush');
    expect(stagedInListener).toBe(1);
    const d = errs[0]!;
    expect(d.code).toBe('ERR_WOULD_BLOCK');
    const written = d.details.written as number;
    expect(written).toBeGreaterThan(0);
    expect(d.details.notWritten).toBe(20 - written);
    expect(Number(F1 - F0)).toBe(written * 128);           // 8 + align8(16 + 100) per record
    expect(Number(ch._rmp.stats().freePos - F1)).toBe(8 + 24);  // exactly 'again', the dropped ones are gone
    expect(ch.stats().published).toBe(written + 1);
  });

  it('tryPublish writes when nothing blocks and returns true', async () => {
    const { ch } = fresh('try');
    const s = ch.subscribe('/t');
    expect(ch.tryPublish('/t', enc('x'))).toBe(true);
    expect(dec((await s.next()).value)).toBe('x');
    expect(await ch.publishAsync('/t', enc('y'), { postToDescendants: true })).toBeGreaterThan(0);
    expect((await s.next()).value).toMatchObject({ postToDescendants: true });
  });

  it('every publish path writes its record in place, byte for byte as encodeRecord (stamp, flags, topic, pad, payload)', async () => {
    const { ch } = fresh('inplace');
    const raw = ch._rmp.createReader();
    const gen = () => ch.stats().generation;
    const want: Uint8Array[] = [];
    const big = new Uint8Array(300).map((_, i) => i & 255); // > 64 B: the set() branch of the copy
    const t = enc('/in/é');
    ch.publish('/in/é', enc('p')); want.push(encodeRecord(gen(), 0, t, enc('p')));
    expect(ch.tryPublish('/in/é', big, { postToDescendants: true })).toBe(true); want.push(encodeRecord(gen(), 1, t, big));
    await ch.publishAsync('/in/é', enc('async')); want.push(encodeRecord(gen(), 0, t, enc('async')));
    const pub = ch.publisher('/in/é', { postToDescendants: true });
    expect(pub.publishMany([enc(''), big, enc('m')])).toBe(3);
    for (const p of [enc(''), big, enc('m')]) want.push(encodeRecord(gen(), 1, t, p));
    await pub.publishAsync(enc('pa')); want.push(encodeRecord(gen(), 1, t, enc('pa')));
    const co = ch.publisher('/in/é', { coalesce: true });
    co.publish(enc('c1')); want.push(encodeRecord(gen(), 0, t, enc('c1')));
    const bump = ch.subscribe('/other'); // generation + 1 between two staged messages
    co.publish(big); want.push(encodeRecord(gen(), 0, t, big));
    expect(co.flush()).toBe(2);
    const got: Uint8Array[] = [];
    raw.drain((p) => { got.push(p.slice()); });
    expect(got.map((g) => [...g])).toEqual(want.map((w) => [...w]));
    expect(decodeRecord(got[8]!)!.generation).toBe(decodeRecord(got[7]!)!.generation + 1);
    expect(ch._rmp.stats().abandonedBytes).toBe(0n);
    bump.close(); raw.close();
  });

  it('tryPublish under backpressure returns false and writes nothing (the fill is not called)', () => {
    const { ch } = fresh('trybp', { ringSize: 4096 });
    const raw = ch._rmp.createReader(); // active, never drains
    let n = 0;
    while (ch.tryPublish('/t', new Uint8Array(200))) if (++n > 100) throw new Error('never blocked');
    const before = ch._rmp.stats();
    expect(ch.tryPublish('/t', new Uint8Array(200))).toBe(false);
    const after = ch._rmp.stats();
    expect(after.freePos).toBe(before.freePos);
    expect(after.reserveEnd).toBe(before.reserveEnd);
    expect(after.abandonedBytes).toBe(0n);
    expect(ch.stats().published).toBe(n);
    raw.close();
  });
});

describe('iterators and callbacks', () => {
  it('25: iterator order; break closes the subscription and fires last-subscription-closed', async () => {
    const { ch } = fresh('iter');
    let last = 0;
    ch.on('last-subscription-closed', () => { last++; });
    const sub = ch.subscribe('/i');
    for (let i = 0; i < 5; i++) ch.publish('/i', enc(`m${i}`));
    const got: string[] = [];
    for await (const m of sub) { got.push(dec(m)); if (got.length === 3) break; }
    expect(got).toEqual(['m0', 'm1', 'm2']);
    expect(sub.closed).toBe(true);
    expect(last).toBe(1);
    expect(await sub.next()).toEqual({ done: true, value: undefined });
  });
  it('26: abort with next() pending rejects ERR_ABORTED and closes; a second abort or close is a no-op', async () => {
    const { ch } = fresh('abort');
    const ac = new AbortController();
    const sub = ch.subscribe('/a', { signal: ac.signal });
    const p = sub.next();
    ac.abort();
    await expect(p).rejects.toSatisfy((e: { code?: string }) => e.code === 'ERR_ABORTED');
    expect(sub.closed).toBe(true);
    expect(ch.subscriptionCount).toBe(0);
    ac.abort(); sub.close();
    expect(await sub.next()).toEqual({ done: true, value: undefined });
    // abort between messages: the next next() rejects once
    const ac2 = new AbortController();
    const s2 = ch.subscribe('/a', { signal: ac2.signal });
    ac2.abort();
    await expect(s2.next()).rejects.toSatisfy((e: { code?: string }) => e.code === 'ERR_ABORTED');
    expect(await s2.next()).toEqual({ done: true, value: undefined });
    // a callback subscription is simply closed
    const ac3 = new AbortController();
    const s3 = ch.subscribe('/a', () => {}, { signal: ac3.signal });
    ac3.abort();
    expect(s3.closed).toBe(true);
  });
  it('27: copy:false gives a reused, 8-byte aligned view overwritten by the next message; copy:true gives independent copies', async () => {
    const { ch } = fresh('copy');
    const views: Uint8Array[] = [], copies: Uint8Array[] = [];
    const aligned: boolean[] = [];
    ch.subscribe('/c', (m) => { views.push(m.payload); aligned.push(m.payload.byteOffset % 8 === 0); }, { copy: false });
    ch.subscribe('/c', (m) => copies.push(m.payload));
    ch.publish('/c', Uint8Array.of(1, 1, 1, 1));
    ch.publish('/c', Uint8Array.of(2, 2, 2, 2));
    await settle(ch);
    expect([...views[0]!]).toEqual([2, 2, 2, 2]); // overwritten after the call
    expect(views[0]!.buffer).toBe(views[1]!.buffer);
    expect(aligned).toEqual([true, true]);
    expect(copies.map((c) => [...c])).toEqual([[1, 1, 1, 1], [2, 2, 2, 2]]);
    expect(copies[0]!.buffer).not.toBe(copies[1]!.buffer);
  });
  it('27b: without a copy:false candidate the payload is copied out of the ring once; every copying candidate still gets its own array', async () => {
    const { ch } = fresh('copy1');
    const a: Uint8Array[] = [], b: Uint8Array[] = [];
    ch.subscribe('/c', (m) => { a.push(m.payload); m.payload[0] = 99; }); // mutates its own copy
    const it = ch.subscribe('/c')[Symbol.asyncIterator]();
    ch.subscribe('/c', (m) => b.push(m.payload));
    const before = ch.stats().payloadBytesCopied;
    ch.publish('/c', Uint8Array.of(5, 6, 7, 8, 9));
    await settle(ch);
    expect(ch.stats().payloadBytesCopied - before).toBe(5);
    const m = await it.next();
    expect([...(m.value as TopicMessage).payload]).toEqual([5, 6, 7, 8, 9]);
    expect([...b[0]!]).toEqual([5, 6, 7, 8, 9]);
    expect([...a[0]!]).toEqual([99, 6, 7, 8, 9]);
    const bufs = new Set([a[0]!.buffer, b[0]!.buffer, (m.value as TopicMessage).payload.buffer]);
    expect(bufs.size).toBe(3);
    await it.return!();
  });
  it('28: a throwing callback goes to onError, else the error event; other subscriptions still receive the message', async () => {
    const { ch } = fresh('throw');
    const seen: unknown[] = [], events: unknown[] = [], others: string[] = [];
    ch.subscribe('/e', () => { throw new Error('boom1'); }, { onError: (e, m) => seen.push([(e as Error).message, m.topic]) });
    ch.subscribe('/e', () => { throw new Error('boom2'); });
    ch.subscribe('/e', (m) => others.push(dec(m)));
    ch.on('error', (e) => events.push([(e.error as Error).message, e.subscription?.topic]));
    ch.publish('/e', enc('x'));
    await settle(ch);
    expect(seen).toEqual([['boom1', '/e']]);
    expect(events).toEqual([['boom2', '/e']]);
    expect(others).toEqual(['x']);
  });
  it('29 (in process): highWaterMark 10 with pause stops draining at 10 queued; after consumption everything arrives, no overrun', async () => {
    const { ch } = fresh('pause');
    const sub = ch.subscribe('/p', { highWaterMark: 10 });
    for (let i = 0; i < 50; i++) ch.publish('/p', enc(String(i)));
    await until(() => sub._queued === 10, 5000, 'queue filled');
    for (let k = 0; k < 5; k++) await new Promise((r) => setImmediate(r));
    expect(sub._queued).toBe(10);                          // paused: not beyond the limit
    expect(ch.stats().delivered).toBe(10);
    const got: string[] = [];
    for await (const m of sub) { got.push(dec(m)); if (got.length === 50) break; }
    expect(got).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
    expect(ch.stats().overruns).toBe(0);
  });
  it('30: drop-oldest keeps the newest highWaterMark messages; queueDrops exact', async () => {
    const { ch } = fresh('drop');
    const sub = ch.subscribe('/d', { highWaterMark: 5, onQueueFull: 'drop-oldest' });
    for (let i = 0; i < 12; i++) ch.publish('/d', enc(String(i)));
    await settle(ch);
    expect(sub.stats.queueDrops).toBe(7);
    const got: string[] = [];
    for await (const m of sub) { got.push(dec(m)); if (got.length === 5) break; }
    expect(got).toEqual(['7', '8', '9', '10', '11']);
  });
  it('31: throwOnOverrun: the iterator yields what was queued, then rejects ERR_LOSS_DETECTED; a sibling continues after the auto-resync', async () => {
    const { ch } = fresh('tovr', { ringSize: 1024 });
    const strict = ch.subscribe('/t', { throwOnOverrun: true });
    const sibling: string[] = [];
    ch.subscribe('/t', (m) => sibling.push(dec(m).slice(0, 2)));
    const cbErr: unknown[] = [];
    const strictCb = ch.subscribe('/t', () => {}, { throwOnOverrun: true, onError: (e) => cbErr.push((e as { code: string }).code) });
    ch.publish('/t', enc('m1'));
    await settle(ch);
    ch.publish('/t', new Uint8Array(600)); ch.publish('/t', new Uint8Array(600));
    await until(() => ch.stats().overruns === 1, 5000, 'overrun');
    ch.publish('/t', enc('m3'));
    await until(() => sibling.length === 2, 5000, 'sibling');
    expect(sibling).toEqual(['m1', 'm3']);
    expect(cbErr).toEqual(['ERR_LOSS_DETECTED']);
    expect(strictCb.closed).toBe(true);
    expect(dec((await strict.next()).value)).toBe('m1');
    await expect(strict.next()).rejects.toSatisfy((e: { code?: string; details?: { reason?: string } }) => e.code === 'ERR_LOSS_DETECTED' && e.details?.reason === 'lapped');
    expect(await strict.next()).toEqual({ done: true, value: undefined });
  });
  it('32: channel close() ends all iterators with done and frees slot, FIFO and watchers', async () => {
    const before = process.getActiveResourcesInfo().length;
    const { name, ch } = fresh('close');
    const a = ch.subscribe('/a'), b = ch.subscribe('/b');
    const pa = a.next();
    ch.publish('/b', enc('queued'));
    await settle(ch);
    expect(process.getActiveResourcesInfo().length).toBeGreaterThan(before);
    ch.close();
    expect(await pa).toEqual({ done: true, value: undefined });
    const rest: TopicMessage[] = [];
    for await (const m of b) rest.push(m);
    expect(rest).toEqual([]);
    expect(readdirSync('/dev/shm').filter((f) => f.startsWith(`shmkit.topic.${name}.wake`))).toEqual([]);
    await until(() => process.getActiveResourcesInfo().length <= before, 5000, 'watchers released');
  });
});

describe('pause bookkeeping', () => {
  it('closing the full pause-mode iterator restarts the pump for the others', async () => {
    const { ch } = fresh('pause2');
    const full = ch.subscribe('/p', { highWaterMark: 2 });
    const got: string[] = [];
    ch.subscribe('/p', (m) => got.push(dec(m)));
    for (let i = 0; i < 6; i++) ch.publish('/p', enc(String(i)));
    await until(() => full._queued === 2, 5000, 'full');
    for (let k = 0; k < 3; k++) await new Promise((r) => setImmediate(r));
    expect(got).toEqual(['0', '1']);
    full.close();
    await until(() => got.length === 6, 5000, 'rest delivered');
  });
});

describe('re-entrancy', () => {
  it('a callback that closes the channel mid-drain: later records are not delivered, slot and FIFO are freed', async () => {
    const before = process.getActiveResourcesInfo().length;
    const { name, ch } = fresh('reenter');
    const got: string[] = [];
    const it = ch.subscribe('/r');
    ch.subscribe('/r', (m) => { got.push(dec(m)); if (got.length === 2) ch.close(); });
    for (let i = 0; i < 5; i++) ch.publish('/r', enc(String(i)));
    await until(() => got.length === 2, 5000, 'two delivered');
    for (let k = 0; k < 3; k++) await new Promise((r) => setImmediate(r));
    expect(got).toEqual(['0', '1']);
    expect(await it.next()).toEqual({ done: true, value: undefined });
    expect(readdirSync('/dev/shm').filter((f) => f.startsWith(`shmkit.topic.${name}.wake`))).toEqual([]);
    await until(() => process.getActiveResourcesInfo().length <= before, 5000, 'watchers released');
  });
  it('a callback that publishes: the message is delivered later in order', async () => {
    const { ch } = fresh('repub');
    const got: string[] = [];
    ch.subscribe('/q', (m) => { got.push(dec(m)); if (dec(m) === 'a') ch.publish('/q', enc('c')); });
    ch.publish('/q', enc('a')); ch.publish('/q', enc('b'));
    await until(() => got.length === 3, 5000, 'three');
    expect(got).toEqual(['a', 'b', 'c']);
  });
});
