import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { anc, decodeRecord, encodeRecord, matches, type Matching, type TopicMessage } from '../src/index.js';
import { cleanup, dec, enc, fresh, rng, settle } from './helpers.js';

afterEach(cleanup);

// spec 5.3 truth table: R, hd, W, pd, segment, prefix
const TABLE: Array<[string, 0 | 1, string, 0 | 1, 0 | 1, 0 | 1]> = [
  ['/', 0, '/', 0, 1, 1], ['/', 0, '/', 1, 1, 1], ['/', 0, '/a/b1', 0, 0, 0], ['/', 0, '/a', 0, 0, 0],
  ['/a/b1', 0, '/', 0, 0, 0], ['/a/b1', 0, '/', 1, 1, 1], ['/a/b1', 0, '/a/b1', 0, 1, 1], ['/a/b1', 0, '/a', 1, 1, 1],
  ['/a', 1, '/', 0, 0, 0], ['/a', 1, '/', 1, 1, 1], ['/a', 1, '/a/b1', 0, 1, 1], ['/a', 1, '/a', 0, 1, 1],
  ['/a/b2', 0, '/', 0, 0, 0], ['/a/b2', 0, '/', 1, 1, 1], ['/a/b2', 0, '/a/b1', 0, 0, 0], ['/a/b2', 0, '/a', 1, 1, 1],
  ['/a', 1, '/ab', 0, 0, 1], ['/ab', 0, '/a', 1, 0, 1], ['', 1, '/x/y', 0, 1, 1], ['/x/y', 0, '', 1, 1, 1],
  ['/a/', 1, '/a/b', 0, 1, 1], ['/a', 1, '/a/', 0, 1, 1], ['a', 1, 'a/b', 0, 1, 1], ['/a/b', 1, '/a', 0, 0, 0],
  ['/a/b', 0, '/a/b/', 1, 0, 0],
];

describe('1: truth table of 5.3 (T: TopicMessage.Match)', () => {
  it('the pure rule gives every row in both modes', () => {
    for (const [R, hd, W, pd, seg, pre] of TABLE) {
      expect(matches(R, hd === 1, W, pd === 1, 'segment'), `${R} ${hd} ${W} ${pd} segment`).toBe(seg === 1);
      expect(matches(R, hd === 1, W, pd === 1, 'prefix'), `${R} ${hd} ${W} ${pd} prefix`).toBe(pre === 1);
    }
  });
  it('real subscriptions and publishes on one channel give every row in both modes', async () => {
    const { ch } = fresh('truth');
    for (const mode of ['segment', 'prefix'] as const) {
      for (const [R, hd, W, pd, seg, pre] of TABLE) {
        const got: TopicMessage[] = [];
        const sub = ch.subscribe(R, (m) => got.push(m), { descendants: hd === 1, matching: mode });
        ch.publish(W, enc(`${R}|${W}`), { postToDescendants: pd === 1 });
        await settle(ch);
        expect(got.length, `${R} hd=${hd} ${W} pd=${pd} ${mode}`).toBe((mode === 'segment' ? seg : pre));
        if (got.length) expect(got[0]).toMatchObject({ topic: W, postToDescendants: pd === 1 });
        sub.close();
      }
    }
  });
});

/** Brute-force reference: split on '/' (segment), startsWith (prefix). */
function refAnc(a: string, d: string, mode: Matching): boolean {
  if (mode === 'prefix') return d.startsWith(a);
  if (a === '' || a === d) return true;
  const as = a.split('/'), ds = d.split('/');
  const trailing = a.endsWith('/');
  if (trailing) as.pop();
  if (trailing ? ds.length <= as.length : ds.length < as.length) return false;
  for (let i = 0; i < as.length; i++) if (as[i] !== ds[i]) return false;
  return true;
}
function refMatch(r: string, hd: boolean, w: string, pd: boolean, mode: Matching): boolean {
  return r === w || (pd && refAnc(w, r, mode)) || (hd && refAnc(r, w, mode));
}

describe('2: property (fast-check): index-based matcher equals a brute-force reference', () => {
  // topics over the alphabet {'/', 'a', 'ab', 'é'}: '//' and a leading or trailing '/' give empty segments
  const topic = fc.array(fc.constantFrom('/', 'a', 'ab', 'é'), { maxLength: 6 }).map((a) => a.join(''));
  const mode = fc.constantFrom<Matching>('segment', 'prefix');
  it('pure anc and matches equal the reference (20 000 random cases)', () => {
    fc.assert(fc.property(topic, fc.boolean(), topic, fc.boolean(), mode, (r, hd, w, pd, m) => {
      expect(anc(r, w, m), `anc ${r} ${w} ${m}`).toBe(refAnc(r, w, m));
      expect(matches(r, hd, w, pd, m), `${r} ${hd} ${w} ${pd} ${m}`).toBe(refMatch(r, hd, w, pd, m));
    }), { numRuns: 20_000 });
  });
  it('a channel with random subscriptions delivers exactly the reference sets (index, cache, generation filter)', async () => {
    const sub = fc.record({ topic, hd: fc.boolean(), mode });
    const msg = fc.record({ topic, pd: fc.boolean() });
    await fc.assert(fc.asyncProperty(fc.array(sub, { minLength: 1, maxLength: 24 }), fc.array(msg, { minLength: 1, maxLength: 60 }), async (subs, msgs) => {
      const { ch } = fresh('prop');
      try {
        const got = subs.map(() => [] as number[]);
        subs.forEach((s, i) => ch.subscribe(s.topic, (m) => got[i]!.push(m.seq), { descendants: s.hd, matching: s.mode }));
        const seqs = msgs.map((m) => ch.publish(m.topic, enc(m.topic), { postToDescendants: m.pd }));
        await settle(ch);
        // the index works on UTF-8 bytes; the reference on strings (é is two bytes, '/' never inside one)
        subs.forEach((s, i) => expect(got[i], `${JSON.stringify(s.topic)} ${s.hd} ${s.mode}`)
          .toEqual(seqs.filter((_, k) => refMatch(s.topic, s.hd, msgs[k]!.topic, msgs[k]!.pd, s.mode))));
      } finally { ch.close(); }
    }), { numRuns: 40 });
  });
});

describe('3: record format (T: SerializeDeserializeHappyCase)', () => {
  it('golden bytes of the 4.2 example', () => {
    const rec = encodeRecord(7, 0, enc('/a/b1'), Uint8Array.of(1, 2, 3));
    expect(Buffer.from(rec).toString('hex')).toBe('0700000000000000' + '01' + '00' + '0500' + '2f612f6231' + '00000000000000' + '010203');
    expect(rec.length).toBe(27);
  });
  it('decode(encode(x)) = x for random topics and payloads', () => {
    const rand = rng(3);
    for (let i = 0; i < 500; i++) {
      const topic = Array.from({ length: Math.floor(rand() * 20) }, () => ['/', 'x', 'é', '€', '😀'][Math.floor(rand() * 5)]).join('');
      const payload = Uint8Array.from({ length: Math.floor(rand() * 40) }, () => Math.floor(rand() * 256));
      const gen = Math.floor(rand() * 2 ** 53);
      const flags = rand() < 0.5 ? 1 : 0;
      const rec = encodeRecord(gen, flags, enc(topic), payload);
      expect(rec.length % 8 === payload.length % 8).toBe(true);
      const d = decodeRecord(rec)!;
      expect(d).toMatchObject({ generation: gen, version: 1, flags, topic });
      expect([...d.payload]).toEqual([...payload]);
    }
  });
  it('a stamp >= 2^53 decodes clamped to 2^53 - 1', () => {
    const rec = encodeRecord(0, 0, enc('/x'), new Uint8Array(0));
    rec.fill(0xff, 0, 8);
    expect(decodeRecord(rec)!.generation).toBe(Number.MAX_SAFE_INTEGER);
  });
});

describe('8: multi-byte topics match byte-exactly', () => {
  it('é and its decomposed form are different topics; "/é" with descendants gets "/é/x" only', async () => {
    const { ch } = fresh('utf8');
    const got: string[] = [];
    ch.subscribe('/é', (m) => got.push(m.topic), { descendants: true });
    for (const t of ['/é/x', '/e\u0301/x', '/éa', '/é']) ch.publish(t, enc(t));
    await settle(ch);
    expect(got).toEqual(['/é/x', '/é']);
    expect(dec(enc('ok'))).toBe('ok');
  });
});
