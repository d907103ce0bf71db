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

describe('2: property: index-based matcher equals a brute-force reference', () => {
  const parts = ['/', 'a', 'ab', 'é', ''];
  const gen = (rand: () => number) => { let s = ''; const n = Math.floor(rand() * 6); for (let i = 0; i < n; i++) s += parts[Math.floor(rand() * parts.length)]; return s; };
  it('pure anc equals the reference on 20 000 random pairs', () => {
    const rand = rng(7);
    for (let i = 0; i < 20_000; i++) {
      const a = gen(rand), d = gen(rand);
      for (const m of ['segment', 'prefix'] as const) expect(anc(a, d, m), `${a} ${d} ${m}`).toBe(refAnc(a, d, m));
    }
  });
  it('a channel with 24 random subscriptions delivers exactly the reference sets (5 seeds)', async () => {
    for (let seed = 1; seed <= 5; seed++) {
      const rand = rng(seed);
      const { ch } = fresh('prop');
      const subs = Array.from({ length: 24 }, () => ({ topic: gen(rand), hd: rand() < 0.5, mode: (rand() < 0.5 ? 'segment' : 'prefix') as Matching, got: [] as number[] }));
      for (const s of subs) ch.subscribe(s.topic, (m) => s.got.push(m.seq), { descendants: s.hd, matching: s.mode });
      const msgs = Array.from({ length: 60 }, () => ({ topic: gen(rand), pd: rand() < 0.3, seq: -1 }));
      for (const m of msgs) m.seq = ch.publish(m.topic, enc(m.topic), { postToDescendants: m.pd });
      await settle(ch);
      // the index works on UTF-8 bytes; the reference on strings (é is two bytes, '/' never inside one)
      for (const s of subs) expect(s.got, `seed ${seed} ${JSON.stringify(s.topic)} ${s.hd} ${s.mode}`).toEqual(msgs.filter((m) => refMatch(s.topic, s.hd, m.topic, m.pd, s.mode)).map((m) => m.seq));
      ch.close();
    }
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
