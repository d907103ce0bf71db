import { afterEach, describe, expect, it } from 'vitest';
import { closeSync, existsSync, openSync, readdirSync, readSync, rmSync, statSync } from 'node:fs';
import { killAll, spawnChild, uniqueName, type ChildHandle } from '@shmkit/testkit';
import { isShmkitError, NodeLock, objectName, objectPath, parseObjectName, processLiveness, selfIdentity, SHM_DIR } from '../src/index.js';
import type { P } from './fixtures/lock-holder.js';

const holder = new URL('./fixtures/lock-holder.ts', import.meta.url);
afterEach(() => killAll());

const lockPath = (name: string) => objectPath(objectName('testkit', name, 'lock'));
const tempsOf = (name: string) => readdirSync(SHM_DIR).filter((f) => f.startsWith(`shmkit.testkit.${name}.lock~`));
async function spawnHolder(name: string, opts: Parameters<typeof spawnChild>[1] = {}): Promise<ChildHandle<P>> {
  const c = await spawnChild<P>(holder, { ...opts, args: ['testkit', name] });
  await c.ready;
  return c;
}

describe('NodeLock', () => {
  it('acquire publishes a 64-byte locked object with the §4.3 header; release unlinks it', () => {
    const name = uniqueName('nl');
    const lock = NodeLock.acquire('testkit', name);
    try {
      expect(lock.objectName).toBe(`/shmkit.testkit.${name}.lock`);
      expect(lock.identity).toEqual(selfIdentity());
      const st = statSync(lockPath(name));
      expect(st.size).toBe(64);
      expect(st.mode & 0o777).toBe(0o600);
      const b = Buffer.alloc(64);
      const fd = openSync(lockPath(name), 'r');
      try { readSync(fd, b, 0, 64, 0); } finally { closeSync(fd); }
      expect(b.subarray(0, 4).toString('latin1')).toBe('SHMK');
      expect(b.readUInt16LE(4)).toBe(100);        // packageId of testkit
      expect(b.readUInt16LE(6)).toBe(0xffff);     // kind: NodeLock
      expect(b.readUInt16LE(8)).toBe(1);          // layoutMajor
      expect(b.readInt32LE(12)).toBe(0x54494e49); // initialized: INIT
      expect(b.readBigUInt64LE(16)).toBe(64n);
      expect(b.readUInt32LE(24)).toBe(process.pid);
      expect(b.readUInt32LE(28)).toBe(64);
      expect(Number(b.readBigUInt64LE(32))).toBe(selfIdentity().startTime);
      expect(NodeLock.check('testkit', name)).toBe('alive');
      expect(NodeLock.isAlive(lockPath(name))).toBe(true);
      expect(tempsOf(name)).toEqual([]);
    } finally { lock.release(); }
    expect(NodeLock.check('testkit', name)).toBe('absent');
    expect(existsSync(lockPath(name))).toBe(false);
    lock.release(); // idempotent
  });

  it('a second acquire while a live child holds it is ERR_LOCK_HELD {pid}; a killed holder is dead and the survivor takes over', async () => {
    const name = uniqueName('nl');
    const c = await spawnHolder(name);
    const got = await c.request({ type: 'acquire' }, 'acquired');
    expect(got.pid).toBe(c.pid);
    expect(NodeLock.check('testkit', name)).toBe('alive');
    let err: unknown;
    try { NodeLock.acquire('testkit', name).release(); } catch (e) { err = e; }
    expect(isShmkitError(err, 'ERR_LOCK_HELD')).toBe(true);
    expect((err as { details: { pid: number } }).details.pid).toBe(c.pid);
    expect(tempsOf(name)).toEqual([]); // the loser removed its temp

    await c.kill('SIGKILL');
    // The holder is gone: the object is still there, nobody holds it; its pid identity is dead too.
    expect(NodeLock.check('testkit', name)).toBe('dead');
    expect(processLiveness({ pid: got.pid, startTime: got.startTime })).toBe('dead');
    const inoBefore = statSync(lockPath(name)).ino;
    const lock = NodeLock.acquire('testkit', name);
    try {
      expect(statSync(lockPath(name)).ino).not.toBe(inoBefore); // the dead inode was replaced
      expect(NodeLock.check('testkit', name)).toBe('alive');
      expect(tempsOf(name)).toEqual([]);
      // And now a child is the one refused.
      const c2 = await spawnHolder(name);
      const refused = await c2.request({ type: 'acquire' }, 'refused');
      expect(refused).toMatchObject({ code: 'ERR_LOCK_HELD', details: { pid: process.pid } });
      c2.send({ type: 'exit' });
      await c2.exited();
    } finally { lock.release(); }
    expect(NodeLock.check('testkit', name)).toBe('absent');
  });

  it('a holder that opens and closes other fds of its lock file keeps the lock', async () => {
    const name = uniqueName('nl');
    const c = await spawnHolder(name);
    await c.request({ type: 'acquire' }, 'acquired');
    await c.request({ type: 'reopen' }, 'reopened');
    expect(NodeLock.check('testkit', name)).toBe('alive');
    // Our own extra fds of the file do not matter either.
    closeSync(openSync(lockPath(name), 'r'));
    expect(NodeLock.check('testkit', name)).toBe('alive');
    await c.request({ type: 'release' }, 'released');
    expect(NodeLock.check('testkit', name)).toBe('absent');
    c.send({ type: 'exit' });
    await c.exited();
  });

  it('holder killed at shm-core.nodelock.afterTempLocked: no final object, a temp that is never alive', async () => {
    const name = uniqueName('nl');
    const c = await spawnHolder(name, { points: [{ name: 'shm-core.nodelock.afterTempLocked', action: 'kill' }] });
    c.send({ type: 'acquire' });
    const k = await c.killed;
    expect(k).toMatchObject({ name: 'shm-core.nodelock.afterTempLocked', signal: 'SIGKILL' });
    expect(NodeLock.check('testkit', name)).toBe('absent');
    const temps = tempsOf(name);
    expect(temps).toHaveLength(1);
    try {
      const parsed = parseObjectName(temps[0]!, () => /lock/);
      expect(parsed).toMatchObject({ package: 'testkit', name, part: 'lock', temp: { pid: c.pid } });
      expect(NodeLock.checkPath(`${SHM_DIR}/${temps[0]}`)).toBe('dead');
      // The name is free for the next acquirer.
      NodeLock.acquire('testkit', name).release();
    } finally { for (const t of temps) rmSync(`${SHM_DIR}/${t}`, { force: true }); }
  });

  it('paused at shm-core.nodelock.afterTempLocked: only the locked temp exists; resumed, the lock appears already held', async () => {
    const name = uniqueName('nl');
    const c = await spawnHolder(name, { points: [{ name: 'shm-core.nodelock.afterTempLocked', action: 'pause' }] });
    c.send({ type: 'acquire' });
    await c.atPoint('shm-core.nodelock.afterTempLocked');
    expect(NodeLock.check('testkit', name)).toBe('absent');
    const temps = tempsOf(name);
    expect(temps).toHaveLength(1);
    expect(NodeLock.checkPath(`${SHM_DIR}/${temps[0]}`)).toBe('alive'); // locked before it is linked
    c.resume();
    await c.next('acquired');
    expect(NodeLock.check('testkit', name)).toBe('alive');
    expect(tempsOf(name)).toEqual([]);
    await c.request({ type: 'release' }, 'released');
    c.send({ type: 'exit' });
    await c.exited();
  });

  it('a failure inside acquire (handler throwing at the point) leaves nothing behind', async () => {
    const name = uniqueName('nl');
    const c = await spawnHolder(name, { env: { SHMKIT_TEST_POINTS: '1' } });
    const r = await c.request({ type: 'throw-at-point' }, 'refused');
    expect(r.code).toBe('thrown');
    expect(r.details['message']).toContain('shm-core.nodelock.afterTempLocked');
    expect(NodeLock.check('testkit', name)).toBe('absent');
    expect(tempsOf(name)).toEqual([]);
    c.send({ type: 'exit' });
    await c.exited();
  });

  it('4 processes racing acquire 50 times: exactly one winner per round', async () => {
    const name = uniqueName('race');
    const racers = await Promise.all([0, 1, 2, 3].map(() => spawnHolder(name)));
    try {
      for (let round = 0; round < 50; round++) {
        for (const r of racers) r.send({ type: 'race' });
        const results = await Promise.all(racers.map(async (r) => ({ r, ...(await r.next('raced')) })));
        const winners = results.filter((x) => x.won);
        expect(winners, `round ${round}`).toHaveLength(1);
        for (const l of results.filter((x) => !x.won)) expect(l.code).toBe('ERR_LOCK_HELD');
        await winners[0]!.r.request({ type: 'release' }, 'released');
        expect(NodeLock.check('testkit', name)).toBe('absent');
      }
    } finally {
      for (const r of racers) await r.kill();
      rmSync(lockPath(name), { force: true }); // only left if a round failed with a winner holding it
    }
    expect(tempsOf(name)).toEqual([]);
  }, 120_000);

  it('a NodeLock collected without release() warns SHMKIT_LEAK and stays held until its process exits', async () => {
    const name = uniqueName('nl-leak');
    const c = await spawnHolder(name);
    try {
      const r = await c.request({ type: 'leak' }, 'leaked');
      expect(r.code).toBe('SHMKIT_LEAK');
      expect(r.warning).toContain(`/shmkit.testkit.${name}.lock was not released`);
      expect(NodeLock.check('testkit', name)).toBe('alive');
      await c.kill('SIGKILL');
      expect(NodeLock.check('testkit', name)).toBe('dead');
    } finally { rmSync(lockPath(name), { force: true }); }
  });

  it('bad input: a part that is not a lock part, invalid names, unknown package', () => {
    expect(() => NodeLock.acquire('testkit', uniqueName('nl'), 'ring')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_NAME' }));
    expect(() => NodeLock.acquire('testkit', 'a/b')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_NAME' }));
    expect(() => NodeLock.check('nope' as 'testkit', 'x')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_NAME' }));
    expect(() => NodeLock.checkPath('')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    const name = uniqueName('nl');
    const l = NodeLock.acquire('testkit', name, 'node.7.lock');
    try { expect(NodeLock.check('testkit', name, 'node.7.lock')).toBe('alive'); } finally { l.release(); }
  });
});
