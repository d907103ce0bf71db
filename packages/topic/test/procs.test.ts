import { afterEach, describe, expect, it } from 'vitest';
import { killAll, spawnFixture, type Child } from '@shmkit/testkit';
import { matches } from '../src/index.js';
import { cleanup, enc, fixture, fresh } from './helpers.js';

afterEach(() => { killAll(); cleanup(); });
const tp = (point: string, action: 'kill' | 'pause' = 'kill', skip = 0) =>
  ({ SHMKIT_RMP_TESTPOINT: point, SHMKIT_RMP_TESTPOINT_ACTION: action, SHMKIT_RMP_TESTPOINT_SKIP: String(skip) });
const line = (c: Child, prefix: string) => c.waitLine((l) => l.startsWith(prefix));
type Got = Record<string, Array<[number, string, string]>>;
const doneOf = async (c: Child) => JSON.parse((await line(c, 'done')).slice(5)) as { got: Got; overruns: number; backpressure: number };
const sub = (name: string, subs: unknown[], opts: unknown = {}, env: NodeJS.ProcessEnv = {}) => spawnFixture(fixture('sub.ts'), [name, JSON.stringify(subs), JSON.stringify(opts)], env);
const pub = (name: string, msgs: unknown, opts: unknown = {}, env: NodeJS.ProcessEnv = {}) => spawnFixture(fixture('pub.ts'), [name, JSON.stringify(msgs), JSON.stringify(opts)], env);

describe('across processes', () => {
  it('subscriber processes SIGKILLed: the publisher is unaffected (one dead-reader skip) and a healthy subscriber gets everything', async () => {
    const { name, ch } = fresh('kill', { ringSize: 16 * 1024, backpressure: { policy: 'wait', timeoutMs: 5000, onTimeout: 'throw' } });
    const victims = [sub(name, [{ id: 'v', topic: '/x' }]), sub(name, [{ id: 'v', topic: '', descendants: true }])];
    const healthy = sub(name, [{ id: 'h', topic: '/x' }]);
    await Promise.all([...victims, healthy].map((c) => line(c, 'ready')));
    for (const v of victims) { v.kill('SIGKILL'); await v.exited; }
    for (let i = 0; i < 400; i++) ch.publish('/x', enc(String(i).padEnd(200, '.')));  // 5x the ring
    ch.publish('/ctl', enc(JSON.stringify({ cmd: 'done' })));
    const d = await doneOf(healthy);
    expect(d.got.h!.map((x) => x[2])).toEqual(Array.from({ length: 400 }, (_, i) => String(i)));
    expect(d.overruns).toBe(0);
    expect(Number(ch._rmp.stats().deadReaderSkips)).toBeGreaterThanOrEqual(1);
    expect(ch.stats().published).toBe(401);
  });

  it('14: different generations across processes: sub2 created while m1 is undrained gets only m2; sub1 gets both', async () => {
    const { name, ch } = fresh('gen14');
    const a = sub(name, [{ id: 's1', topic: '/t' }], {}, tp('topic.pump.beforeDrain', 'pause', 1));
    await line(a, 'ready');
    ch.publish('/ctl', enc(JSON.stringify({ cmd: 'sub', sub: { id: 's2', topic: '/t' } })));
    ch.publish('/t', enc('m1'));
    await line(a, 'TESTPOINT');       // A stopped before draining either record
    a.kill('SIGCONT');
    await line(a, 'sub s2');
    ch.publish('/t', enc('m2'));
    ch.publish('/ctl', enc(JSON.stringify({ cmd: 'done' })));
    const d = await doneOf(a);
    expect(d.got.s1!.map((x) => x[2])).toEqual(['m1', 'm2']);
    expect(d.got.s2!.map((x) => x[2])).toEqual(['m2']);
  });

  it('16: a coalescing publisher stamps at publish(): a subscription created after publish() but before the flush does not get it', async () => {
    const { name, ch } = fresh('gen16');
    const a = sub(name, [{ id: 'before', topic: '/t' }]);
    await line(a, 'ready');
    const p = pub(name, [{ topic: '/t', text: 'm1', coalesce: true }, { topic: '/t', text: 'm2' }], {}, tp('topic.publish.afterStamp', 'pause'));
    await line(p, 'TESTPOINT');       // m1 stamped and staged, nothing written
    ch.publish('/ctl', enc(JSON.stringify({ cmd: 'sub', sub: { id: 'after', topic: '/t' } })));
    await line(a, 'sub after');
    p.kill('SIGCONT');
    await line(p, 'done');
    ch.publish('/ctl', enc(JSON.stringify({ cmd: 'done' })));
    const d = await doneOf(a);
    expect(d.got.before!.map((x) => x[2])).toEqual(['m1', 'm2']);
    expect(d.got.after!.map((x) => x[2])).toEqual(['m2']);
  });

  it('34: hierarchy across processes: 3 publishers, 3 subscribers with exact, descendant and prefix-mode subscriptions get exactly their sets in one order', async () => {
    const { name, ch } = fresh('hier', { ringSize: 256 * 1024 });
    const specs = [
      { id: 'exact', topic: '/a/b' }, { id: 'seg', topic: '/a', descendants: true }, { id: 'pre', topic: '/a', descendants: true, matching: 'prefix' },
      { id: 'abc', topic: '/a/b/c' }, { id: 'ab', topic: '/ab' },
    ] as const;
    const subs = [0, 1, 2].map(() => sub(name, [...specs]));
    await Promise.all(subs.map((c) => line(c, 'ready')));
    const topics = ['/a', '/a/b', '/a/b/c', '/ab'];
    const all: Array<{ topic: string; text: string; pd: boolean }> = [];
    const pubs = [0, 1, 2].map((p) => {
      const msgs = Array.from({ length: 40 }, (_, k) => ({ topic: topics[k % 4]!, text: `${p}-${k}`, pd: Math.floor(k / 4) % 2 === 1 }));
      all.push(...msgs);
      return pub(name, msgs);
    });
    await Promise.all(pubs.map((c) => line(c, 'done')));
    ch.publish('/ctl', enc(JSON.stringify({ cmd: 'done' })));
    const results = await Promise.all(subs.map(doneOf));
    for (const s of specs) {
      const want = all.filter((m) => matches(s.topic, 'descendants' in s, m.topic, m.pd, 'matching' in s ? 'prefix' : 'segment')).map((m) => m.text).sort();
      const lists = results.map((r) => r.got[s.id]!);
      expect([...lists[0]!.map((x) => x[2])].sort(), s.id).toEqual(want);
      for (const l of lists) {
        expect(l.map((x) => x[2]), `${s.id} same order everywhere`).toEqual(lists[0]!.map((x) => x[2]));
        for (let i = 1; i < l.length; i++) expect(l[i]![0]).toBeGreaterThan(l[i - 1]![0]);
      }
    }
    expect(results.every((r) => r.overruns === 0)).toBe(true);
  });

  it('28: a throwing callback without onError or error listeners kills the child with the uncaught error', async () => {
    const { name, ch } = fresh('uncaught');
    const c = sub(name, [{ id: 'bad', topic: '/t' }], { throwIn: 'bad' });
    await line(c, 'ready');
    ch.publish('/t', enc('x'));
    expect(await c.exited).toBe(1);
  });

  it('29: highWaterMark 10 with pause: the publisher process sees backpressure, then everything arrives with no overrun', async () => {
    const { name } = fresh('hwm', { ringSize: 4096 });
    // an iterator with a small queue that is consumed as fast as the loop goes, in a 4 KiB ring: the
    // publisher (wait 5 s, throw) runs into the paused pump and waits instead of overwriting
    const s = sub(name, [{ id: 'it', topic: '/w', iterator: true, highWaterMark: 10 }], { count: 600 });
    await line(s, 'ready');
    const p = pub(name, { topic: '/w', n: 600, size: 200, id: 1 }, { wait: 5000, onTimeout: 'throw' });
    const pd = JSON.parse((await line(p, 'done')).slice(5)) as { errors: number; backpressure: number };
    const d = await doneOf(s);
    expect(pd.errors).toBe(0);
    expect(pd.backpressure).toBeGreaterThan(0);
    expect(d.got.it!.map((x) => x[2])).toEqual(Array.from({ length: 600 }, (_, i) => `1:${i}`));
    expect(d.overruns).toBe(0);
  });
});
