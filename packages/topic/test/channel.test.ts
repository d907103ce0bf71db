import { afterEach, describe, expect, it } from 'vitest';
import { linkSync, readdirSync } from 'node:fs';
import { uniqueName, until } from '@shmkit/testkit';
import { RmpChannel } from '@shmkit/rmp';
import { encodeRecord, isShmkitError, TopicChannel, type TopicMessage, type TopicStatus } from '../src/index.js';
import { cleanup, dec, enc, fresh, keep, settle, track } from './helpers.js';

afterEach(cleanup);
const code = (c: string, details?: Record<string, unknown>) => expect.objectContaining(details ? { code: c, details: expect.objectContaining(details) } : { code: c });

describe('generations', () => {
  it('4: a record stamped 5 is dropped by a generation-7 subscription (counted), stamped 7 is delivered (T: SerializeDeserializeGenEarlier)', async () => {
    const { ch } = fresh('gen57');
    // bring the shared counter to 6 so the next subscription gets 7
    for (let i = 0; i < 6; i++) ch.subscribe('/other').close();
    const got: number[] = [];
    const sub = ch.subscribe('/t', (m) => got.push(m.generation));
    expect(sub.generation).toBe(7);
    const raw = ch._rmp.createWriter();
    raw.write(encodeRecord(5, 0, enc('/t'), enc('old')));
    raw.write(encodeRecord(7, 0, enc('/t'), enc('new')));
    await settle(ch);
    expect(got).toEqual([7]);
    expect(sub.stats.droppedOlderGeneration).toBe(1);
    expect(ch.stats().droppedOlderGeneration).toBe(1);
  });
  it('13: sub1; m1; sub2; m2 → sub1 [m1, m2], sub2 [m2] (one process, nothing drained in between)', async () => {
    const { ch } = fresh('gen13');
    const s1 = ch.subscribe('/t'), a: string[] = [], b: string[] = [];
    ch.publish('/t', enc('m1'));
    const s2 = ch.subscribe('/t');
    ch.publish('/t', enc('m2'));
    expect(s2.generation).toBeGreaterThan(s1.generation);
    for await (const m of s1) { a.push(dec(m)); if (a.length === 2) break; }
    for await (const m of s2) { b.push(dec(m)); break; }
    expect(a).toEqual(['m1', 'm2']);
    expect(b).toEqual(['m2']);
    expect(s2.stats.droppedOlderGeneration).toBe(1);
  });
  it('10: scenario (T: Reader.TopicMatch): closed gets nothing, exact and descendant get it, non-matching nothing, a later same-topic subscription does not get the undrained message', async () => {
    const { ch } = fresh('scen');
    const got = { closed: [] as string[], exact: [] as string[], other: [] as string[], desc: [] as string[], late: [] as string[] };
    ch.subscribe('/a/b', (m) => got.closed.push(dec(m))).close();
    ch.subscribe('/a/b', (m) => got.exact.push(dec(m)));
    ch.subscribe('/a/c', (m) => got.other.push(dec(m)));
    ch.subscribe('/a', (m) => got.desc.push(dec(m)), { descendants: true });
    ch.publish('/a/b', enc('data'));
    ch.subscribe('/a/b', (m) => got.late.push(dec(m)));
    await settle(ch);
    expect(got).toEqual({ closed: [], exact: ['data'], other: [], desc: ['data'], late: [] });
  });
  it('15: a subscription created inside a callback gets neither the current nor older undrained messages, but the next', async () => {
    const { ch } = fresh('incb');
    const inner: string[] = [];
    let made = false;
    ch.subscribe('/t', () => { if (!made) { made = true; ch.subscribe('/t', (m) => inner.push(dec(m))); } });
    ch.publish('/t', enc('m1'));
    ch.publish('/t', enc('m2'));     // undrained when the inner subscription is created
    await settle(ch);
    expect(inner).toEqual([]);
    ch.publish('/t', enc('m3'));
    await settle(ch);
    expect(inner).toEqual(['m3']);
  });
});

describe('filtering and records', () => {
  it('5: non-matching topic: not delivered, skippedNoMatch 1, payloadBytesCopied unchanged (T: SerializeDeserializeTopicDoesNotMatch)', async () => {
    const { ch } = fresh('nomatch');
    const got: TopicMessage[] = [];
    ch.subscribe('/a', (m) => got.push(m));
    ch.publish('/b', new Uint8Array(100));
    await settle(ch);
    expect(got).toEqual([]);
    expect(ch.stats()).toMatchObject({ skippedNoMatch: 1, payloadBytesCopied: 0, delivered: 0 });
    ch.publish('/a', new Uint8Array(100));
    await settle(ch);
    expect(ch.stats()).toMatchObject({ skippedNoMatch: 1, payloadBytesCopied: 100, delivered: 1 });
  });
  it('6: empty topic and payload round-trip; empty+descendants gets everything; empty post-to-descendants reaches everyone (T: EmptyAll)', async () => {
    const { ch } = fresh('empty');
    const all: string[] = [], x: string[] = [], e: string[] = [];
    ch.subscribe('', (m) => all.push(m.topic), { descendants: true });
    ch.subscribe('/x/y', (m) => x.push(m.topic));
    ch.subscribe('', (m) => { e.push(`${m.topic}:${m.payload.length}`); });
    ch.publish('', new Uint8Array(0));
    ch.publish('/x/y', enc('1'));
    ch.publish('/q', enc('2'));
    ch.publish('', enc('3'), { postToDescendants: true });
    await settle(ch);
    expect(all).toEqual(['', '/x/y', '/q', '']);
    expect(x).toEqual(['/x/y', '']);
    expect(e).toEqual([':0', ':1']);
  });
  it('7: malformed records are skipped and counted, the next valid one is delivered (T: AssertOnInvalid)', async () => {
    const { ch } = fresh('malformed');
    const got: string[] = [];
    ch.subscribe('', (m) => got.push(dec(m)), { descendants: true });
    const raw = ch._rmp.createWriter();
    const good = encodeRecord(1e9, 0, enc('/t'), enc('ok'));
    raw.write(good.subarray(0, 5));                                        // length 5
    const v2 = good.slice(); v2[8] = 2; raw.write(v2);                     // version 2
    const f2 = good.slice(); f2[9] = 0x02; raw.write(f2);                  // unknown flag
    const tl = good.slice(); tl[10] = 200; raw.write(tl);                  // topicLen beyond the record
    raw.write(encodeRecord(1e9, 0, Uint8Array.of(0x2f, 0xff, 0xfe), enc('bad utf8')));  // invalid UTF-8
    raw.write(good);
    await settle(ch);
    expect(got).toEqual(['ok']);
    expect(ch.stats().malformed).toBe(5);
  });
  it('40: a stamp >= 2^53 is clamped and reaches every subscription; a stamp far above the counter is accepted as is', async () => {
    const { ch } = fresh('bigstamp');
    for (let i = 0; i < 5; i++) ch.subscribe('/other').close();       // counter at 5
    const got: Array<[string, number]> = [];
    ch.subscribe('/s', (m) => got.push([dec(m), m.generation]));
    const huge = encodeRecord(0, 0, enc('/s'), enc('huge'));
    new DataView(huge.buffer).setBigUint64(0, 0xffff_ffff_ffff_fff0n, true);
    const raw = ch._rmp.createWriter();
    raw.write(huge);
    raw.write(encodeRecord(1e12, 0, enc('/s'), enc('far')));
    raw.write(encodeRecord(5, 0, enc('/s'), enc('old')));            // below the subscription's 6: dropped
    await settle(ch);
    expect(got).toEqual([['huge', 2 ** 53 - 1], ['far', 1e12]]);
    expect(ch.stats()).toMatchObject({ malformed: 0, droppedOlderGeneration: 1, generation: 6 });
  });
  it('23: skip without copy: 1 000 non-matching 64 KiB messages copy no payload byte', async () => {
    const { ch } = fresh('skip', { ringSize: 4 * 1024 * 1024 });
    let got = 0;
    ch.subscribe('/wanted', () => { got++; });
    const big = new Uint8Array(64 * 1024);
    const ab0 = process.memoryUsage().arrayBuffers;
    for (let i = 0; i < 1000; i += 50) {
      for (let k = 0; k < 50; k++) ch.publish('/unwanted', big);
      await settle(ch);
    }
    const st = ch.stats();
    expect(st).toMatchObject({ skippedNoMatch: 1000, payloadBytesCopied: 0, delivered: 0, overruns: 0 });
    expect(got).toBe(0);
    expect(process.memoryUsage().arrayBuffers - ab0).toBeLessThan(64 * 1024);
  });
  it('22: a process receives its own publications', async () => {
    const { ch } = fresh('own');
    const sub = ch.subscribe('/me');
    const seq = ch.publish('/me', enc('hi'));
    const r = await sub.next();
    expect(r.value).toMatchObject({ seq, topic: '/me', postToDescendants: false });
  });
});

describe('bad input (section 7)', () => {
  it('8: topic validation: NUL, lone surrogate, non-string, 1025 bytes rejected; 1024 bytes accepted', () => {
    const { ch } = fresh('valid');
    expect(() => ch.publish('/a\u0000b', enc('x'))).toThrow(code('ERR_TOPIC_INVALID', { reason: 'nul' }));
    expect(() => ch.subscribe('/a\ud800')).toThrow(code('ERR_TOPIC_INVALID', { reason: 'surrogate' }));
    expect(() => ch.publisher(42 as unknown as string)).toThrow(code('ERR_TOPIC_INVALID', { reason: 'type' }));
    expect(() => ch.publish('/' + 'x'.repeat(1024), enc('x'))).toThrow(code('ERR_TOPIC_INVALID', { reason: 'length' }));
    expect(() => ch.subscribe('é'.repeat(513))).toThrow(code('ERR_TOPIC_INVALID', { reason: 'length' }));
    expect(typeof ch.publish('x'.repeat(1024), enc('x'))).toBe('number');
    ch.subscribe('é'.repeat(512)).close();
    expect(ch.stats().published).toBe(1);
    const e = (() => { try { ch.publish('\u0000', enc('')); } catch (err) { return err; } })();
    expect(isShmkitError(e, 'ERR_TOPIC_INVALID' as never)).toBe(true);
    expect((e as Error).name).toBe('TopicError');
  });
  it('options out of range and wrong types are ERR_INVALID_ARGUMENT; nothing is created', () => {
    const name = track('t-badopts-x');
    for (const o of [{ maxTopicBytes: 65536 }, { maxTopicBytes: -1 }, { maxBatch: 0 }]) expect(() => TopicChannel.create(name, o)).toThrow(code('ERR_INVALID_ARGUMENT'));
    expect(TopicChannel.unlink(name)).toBe(false);
    const { ch } = fresh('badargs');
    expect(() => ch.subscribe('/a', { highWaterMark: 0 })).toThrow(code('ERR_INVALID_ARGUMENT'));
    expect(() => ch.subscribe('/a', { matching: 'regex' as never })).toThrow(code('ERR_INVALID_ARGUMENT'));
    expect(() => ch.subscribe('/a', { onQueueFull: 'drop' as never })).toThrow(code('ERR_INVALID_ARGUMENT'));
    expect(() => ch.subscribe('/a', 5 as never)).toThrow(code('ERR_INVALID_ARGUMENT'));
    expect(() => ch.publish('/a', [1, 2] as never)).toThrow(code('ERR_INVALID_ARGUMENT'));
    expect(() => ch.subscribe('/a', { signal: AbortSignal.abort() })).toThrow(code('ERR_ABORTED'));
    expect(ch.subscriptionCount).toBe(0);
    expect(ch._rmp.stats().allocHigh).toBe(0); // every call was rejected before a reader was made
  });
  it('21: payload at maxPayload − H succeeds, one byte more is ERR_MESSAGE_TOO_LARGE and writes nothing', () => {
    const { ch } = fresh('size', { ringSize: 1024 });
    const H = 16; // align8(12 + 2) for '/t'
    const max = ch.maxPayload - H;
    ch.publish('/t', new Uint8Array(max));
    const F = ch._rmp.stats().freePos;
    expect(() => ch.publish('/t', new Uint8Array(max + 1))).toThrow(code('ERR_MESSAGE_TOO_LARGE', { size: ch.maxPayload + 1, max: ch.maxPayload }));
    expect(() => ch.publisher('/t').publish(new Uint8Array(max + 1))).toThrow(code('ERR_MESSAGE_TOO_LARGE'));
    expect(ch._rmp.stats().freePos).toBe(F);
  });
  it('calls on a closed channel, publisher or subscription are ERR_CLOSED; close is idempotent', () => {
    const { ch } = fresh('closed');
    const p = ch.publisher('/p');
    const s = ch.subscribe('/p');
    ch.close(); ch.close();
    expect(s.closed).toBe(true);
    expect(() => ch.publish('/p', enc(''))).toThrow(code('ERR_CLOSED'));
    expect(() => ch.subscribe('/p')).toThrow(code('ERR_CLOSED'));
    expect(() => ch.stats()).toThrow(code('ERR_CLOSED'));
    expect(() => p.publish(enc(''))).toThrow(code('ERR_CLOSED'));
    s.close(); p.close();
  });
  it('ERR_CAPACITY at the first subscription when no slot is free; nothing else changes', async () => {
    const { name, ch } = fresh('cap', { maxReaders: 1 });
    ch.subscribe('/a');
    const other = keep(await TopicChannel.open(name));
    const g = other.stats().generation;
    expect(() => other.subscribe('/a')).toThrow(code('ERR_CAPACITY', { maxReaders: 1 }));
    expect(other.stats()).toMatchObject({ generation: g, subscriptions: 0 });
  });
  it('a segment named shmkit.topic.* whose header says package 2 (or the reverse) is ERR_LAYOUT_MISMATCH {field: packageId}', () => {
    const name = track(uniqueName('pkg'));
    const raw = RmpChannel.create(name, { ringSize: 1024, maxReaders: 2 });
    raw.close();
    for (const part of ['ring', 'readers']) linkSync(`/dev/shm/shmkit.rmp.${name}.${part}`, `/dev/shm/shmkit.topic.${name}.${part}`);
    try {
      expect(() => TopicChannel.openSync(name)).toThrow(code('ERR_LAYOUT_MISMATCH', { field: 'packageId' }));
    } finally { RmpChannel.unlink(name); }
    const { name: n2 } = fresh('pkg2');
    for (const part of ['ring', 'readers']) linkSync(`/dev/shm/shmkit.topic.${n2}.${part}`, `/dev/shm/shmkit.rmp.${n2}.${part}`);
    try {
      expect(() => RmpChannel.openSync(n2)).toThrow(code('ERR_LAYOUT_MISMATCH', { field: 'packageId' }));
    } finally { RmpChannel.unlink(n2); }
  });
  it('publish and publisher on a role "reader" handle: ERR_PERMISSION; it can subscribe', async () => {
    const { name, ch } = fresh('role');
    const ro = keep(await TopicChannel.open(name, { role: 'reader' }));
    expect(() => ro.publish('/a', enc('x'))).toThrow(code('ERR_PERMISSION'));
    expect(() => ro.publisher('/a')).toThrow(code('ERR_PERMISSION'));
    const sub = ro.subscribe('/a');
    ch.publish('/a', enc('x'));
    expect(dec((await sub.next()).value)).toBe('x');
  });
});

describe('channel, events', () => {
  it('9: first-subscription once (slot active), last-subscription-closed after the last close (slot inactive, allocated), resubscribe joins at the stream end (T: Reader.FirstLastReader)', async () => {
    const { ch } = fresh('events');
    const ev: string[] = [];
    ch.on('first-subscription', () => ev.push('first'));
    ch.on('last-subscription-closed', () => ev.push('last'));
    const a = ch.subscribe('/a');
    const slot = () => ch._rmp.stats().readers[0]!;
    expect(slot()).toMatchObject({ active: true, pid: process.pid });
    const b = ch.subscribe('/b');
    expect(ev).toEqual(['first']);
    a.close(); expect(ev).toEqual(['first']);
    b.close(); b.close();
    expect(ev).toEqual(['first', 'last']);
    expect(slot()).toMatchObject({ active: false, pid: process.pid });
    ch.publish('/c', enc('old'));
    const got: string[] = [];
    ch.subscribe('/c', (m) => got.push(dec(m)));
    expect(ev).toEqual(['first', 'last', 'first']);
    ch.publish('/c', enc('new'));
    await settle(ch);
    expect(got).toEqual(['new']);
    expect(ch._rmp.stats().allocHigh).toBe(1);
  });
  it('11: two publishes larger than S/2 lap an idle handle: overrun "lapped"; autoResync false waits for resync(); default delivers the next (T: Reader.Expired)', async () => {
    for (const auto of [false, true]) {
      const { ch } = fresh(`lap${auto}`, { ringSize: 1024, autoResync: auto });
      const ov: TopicStatus[] = [];
      ch.on('overrun', (o) => ov.push({ type: 'overrun', ...o }));
      const got: string[] = [];
      const sub = ch.subscribe('/t', (m) => got.push(dec(m).slice(0, 2)));
      ch.publish('/t', new Uint8Array(600).fill(65));
      ch.publish('/t', new Uint8Array(600).fill(66));
      await until(() => ov.length === 1, 5000, 'overrun event');
      expect(ov[0]).toMatchObject({ type: 'overrun', reason: 'lapped' });
      expect(sub.stats.overruns).toBe(1);
      expect(ch.stats().overruns).toBe(1);
      if (!auto) {
        ch.publish('/t', enc('C1'));
        await new Promise((r) => setImmediate(r));
        expect(got).toEqual([]);
        expect(ch.resync().resynced).toBe(true);
      }
      ch.publish('/t', enc('D1'));
      await until(() => got.length === 1, 5000, 'delivery after resync');
      expect(got).toEqual(['D1']);
      ch.close();
    }
  });
  it('12: a handle with publishers only allocates no slot, FIFO, fd watch or timer (T: Reader.RunWithoutReaders)', async () => {
    const before = process.getActiveResourcesInfo().length;
    const { name, ch } = fresh('noreader');
    const p = ch.publisher('/x');
    for (let i = 0; i < 10; i++) { ch.publish('/x', enc('a')); p.publish(enc('b')); }
    expect(ch._rmp.stats()).toMatchObject({ allocHigh: 0 });
    expect(readdirSync('/dev/shm').filter((f) => f.startsWith(`shmkit.topic.${name}.wake`))).toEqual([]);
    expect(process.getActiveResourcesInfo().length).toBeLessThanOrEqual(before);
  });
  it('33: events() yields the same tagged objects as on() listeners, and ends at close', async () => {
    const { ch } = fresh('evit', { ringSize: 1024 });
    const fromOn: TopicStatus[] = [];
    for (const t of ['first-subscription', 'last-subscription-closed', 'overrun'] as const) ch.on(t, (e) => fromOn.push({ type: t, ...e } as TopicStatus));
    const it = ch.events();
    const s = ch.subscribe('/t', () => {});
    ch.publish('/t', new Uint8Array(600)); ch.publish('/t', new Uint8Array(600));
    await until(() => fromOn.length === 2, 5000, 'overrun');
    s.close();
    ch.close();
    const fromIt: TopicStatus[] = [];
    for await (const e of it) fromIt.push(e);
    expect(fromIt.map((e) => e.type)).toEqual(['first-subscription', 'overrun', 'last-subscription-closed']);
    expect(fromIt).toEqual(fromOn);
  });
});

describe('torn reads and latency flavour', () => {
  it('24: torn topic bytes: a matching record overwritten in flight is not delivered; overrun', () => {
    const { ch } = fresh('torn', { ringSize: 128 });
    const got: string[] = [];
    const ov: string[] = [];
    ch.on('overrun', (o) => ov.push(o.reason));
    ch.subscribe('/t', (m) => got.push(dec(m).slice(0, 1)));
    const w = ch._rmp.createWriter({ backpressure: { policy: 'overwrite' } });
    const rec = (c: string, n: number) => encodeRecord(1e9, 0, enc('/t'), enc(c.repeat(n)));
    w.write(rec('A', 16));   // 0..39
    w.write(rec('B', 16));   // 40..79
    w.write(rec('C', 24));   // 80..127
    expect(ch._drainNow(1)).toBe(1);
    expect(got).toEqual(['A']);
    const D = rec('D', 24);
    w.writeWith(D.length, (ring, off) => {
      ring.set(D.subarray(0, 16), off);        // D's first half: B's header and topic are still intact
      ch._drainNow();                          // B inspected (its topic matches) while being overwritten
      ring.set(D.subarray(16), off + 16);
    });
    expect(got).toEqual(['A']);
    expect(ov).toEqual(['lapped']);
    expect(ch.stats().payloadBytesCopied).toBe(32);   // A, and B: matched and copied, then declared lost
    expect(ch.stats().overruns).toBe(1);
  });
  it('38: bursts of 10 time-stamped messages arrive with non-decreasing stamps (no timing assertion)', async () => {
    const { ch } = fresh('lat');
    const stamps: number[] = [];
    ch.subscribe('channel', (m) => stamps.push(new DataView(m.payload.buffer, m.payload.byteOffset).getFloat64(0, true)));
    const b = new Uint8Array(8);
    for (let burst = 0; burst < 20; burst++) {
      for (let i = 0; i < 10; i++) { new DataView(b.buffer).setFloat64(0, performance.now(), true); ch.publish('channel', b); }
      await settle(ch);
    }
    expect(stamps.length).toBe(200);
    for (let i = 1; i < stamps.length; i++) expect(stamps[i]!).toBeGreaterThanOrEqual(stamps[i - 1]!);
  });
});

describe('notifiers', () => {
  it("notifier 'none': the pump polls and still receives, in every wait mode", async () => {
    for (const mode of ['block', 'hybrid', 'spin'] as const) {
      const { ch } = fresh(`none-${mode}`, { notifier: 'none', wait: { mode } });
      const got: string[] = [];
      ch.subscribe('/n', (m) => got.push(dec(m)));
      await new Promise((r) => setTimeout(r, 5));       // lets the pump reach its wait (not needed for correctness)
      ch.publish('/n', enc(mode));
      await until(() => got.length === 1, 5000, `delivery (${mode})`);
      expect(got).toEqual([mode]);
      ch.close();
    }
  });
});
