// topic's test points (spec 5.9) through shm-core's testPoint protocol (testkit spawnChild plans).
import { afterEach, describe, expect, it } from 'vitest';
import { killAll, spawnChild } from '@shmkit/testkit';
import type { P } from './fixtures/points-peer.js';
import { cleanup, enc, fresh } from './helpers.js';

const peer = new URL('./fixtures/points-peer.ts', import.meta.url);
afterEach(() => { killAll(); cleanup(); });

describe('test points (shm-core testPoint)', () => {
  it('topic.subscribe.afterBump (kill): the counter was bumped, the slot is held active by the dead child', async () => {
    const { name, ch } = fresh('tpbump');
    const c = await spawnChild<P>(peer, { args: [name, 'subscribe'], points: [{ name: 'topic.subscribe.afterBump', action: 'kill' }] });
    const k = await c.killed;
    expect(k).toMatchObject({ name: 'topic.subscribe.afterBump', hit: 1, signal: 'SIGKILL' });
    expect(ch.stats().generation).toBe(1);
    expect(ch._rmp.stats().readers).toEqual([expect.objectContaining({ pid: c.pid, active: true })]);
  });

  it('topic.pump.beforeDrain (pause): a message published while the pump is held is delivered after resume', async () => {
    const { name, ch } = fresh('tpdrain');
    const c = await spawnChild<P>(peer, { args: [name, 'subscribe'], points: [{ name: 'topic.pump.beforeDrain', action: 'pause' }] });
    await c.atPoint('topic.pump.beforeDrain');
    ch.publish('/p', enc('held'));
    c.resume();
    expect((await c.next('got')).text).toBe('held');
    c.send({ type: 'close' });
    await c.exited();
  });

  it('topic.publish.afterStamp (kill): the stamp was loaded, nothing was written', async () => {
    const { name, ch } = fresh('tpstamp');
    const F0 = ch._rmp.stats().freePos;
    const c = await spawnChild<P>(peer, { args: [name, 'publish'], points: [{ name: 'topic.publish.afterStamp', action: 'kill' }] });
    expect(await c.killed).toMatchObject({ name: 'topic.publish.afterStamp', signal: 'SIGKILL' });
    expect(ch._rmp.stats()).toMatchObject({ freePos: F0, writerDeaths: 0n });
  });
});
