// Segment.create under test points (§5.3, §8 tests 9, 13 and 14): a creator paused or SIGKILLed at
// shm-core.create.beforeReady / beforeLink never exposes its object under the final name.
import { afterEach, describe, expect, it } from 'vitest';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { killAll, leftovers, spawnChild, uniqueName } from '@shmkit/testkit';
import { isShmkitError, listSegments, Segment, SHM_DIR } from '../src/index.js';
import type { P } from './fixtures/create-peer.js';

const peer = new URL('./fixtures/create-peer.ts', import.meta.url);
afterEach(() => killAll());

const finalFile = (name: string) => `shmkit.testkit.${name}`;
/** Temporary objects `<final>~<pid>-<hex8>` of one creator. */
const tempsOf = (name: string, pid: number) => readdirSync(SHM_DIR).filter((f) => f.startsWith(`${finalFile(name)}~${pid}-`));
const openCode = (name: string) => {
  try { Segment.open({ package: 'testkit', name, layoutMajor: 1 }).close(); return 'opened'; } catch (e) { return isShmkitError(e) ? e.code : String(e); }
};

describe('Segment.create test points', () => {
  it('paused at beforeReady: only the 0600 temp exists and open says ERR_NOT_FOUND; published with mode 0640 (§8 test 9)', async () => {
    const name = uniqueName('cpready');
    try {
      const c = await spawnChild<P>(peer, { args: [name, '640'], points: [{ name: 'shm-core.create.beforeReady', action: 'pause' }] });
      await c.atPoint('shm-core.create.beforeReady');
      const temps = tempsOf(name, c.pid);
      expect(temps.length).toBe(1);
      expect(statSync(`${SHM_DIR}/${temps[0]}`).mode & 0o777).toBe(0o600);
      expect(leftovers(name)).toEqual(temps);
      expect(openCode(name)).toBe('ERR_NOT_FOUND');
      c.resume();
      const { ino } = await c.next('created');
      const st = statSync(`${SHM_DIR}/${finalFile(name)}`);
      expect(st.mode & 0o777).toBe(0o640);
      expect(st.ino).toBe(ino);
      expect(tempsOf(name, c.pid)).toEqual([]);
      c.send({ type: 'close' });
      await c.exited();
    } finally { Segment.unlink('testkit', name); }
    expect(leftovers(name)).toEqual([]);
  });

  it('paused at beforeLink: open throws ERR_NOT_FOUND; after resume open sees everything init wrote (§8 test 13)', async () => {
    const name = uniqueName('cplink');
    try {
      const c = await spawnChild<P>(peer, { args: [name, '600'], points: [{ name: 'shm-core.create.beforeLink', action: 'pause' }] });
      await c.atPoint('shm-core.create.beforeLink');
      expect(tempsOf(name, c.pid).length).toBe(1);
      expect(openCode(name)).toBe('ERR_NOT_FOUND');
      c.resume();
      const { ino } = await c.next('created');
      const seg = Segment.open({ package: 'testkit', name, layoutMajor: 1 });
      try {
        expect(seg.header!.state).toBe('ready');
        expect(seg.header!.creator.pid).toBe(c.pid);
        expect(Array.from(seg.i32.subarray(16, 32))).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
        expect(statSync(seg.path!).ino).toBe(ino);
      } finally { seg.close(); }
      c.send({ type: 'close' });
      await c.exited();
    } finally { Segment.unlink('testkit', name); }
    expect(leftovers(name)).toEqual([]);
  });

  it.each(['shm-core.create.beforeReady', 'shm-core.create.beforeLink'])('creator SIGKILLed at %s: no final object, a dead temp is listed; openOrCreate creates (§8 test 14)', async (point) => {
    const name = uniqueName('cpkill');
    let temps: string[] = [];
    try {
      const c = await spawnChild<P>(peer, { args: [name, '600', 'openOrCreate'], points: [{ name: point, action: 'kill' }] });
      expect(await c.killed).toMatchObject({ name: point, signal: 'SIGKILL' });
      temps = tempsOf(name, c.pid);
      expect(temps.length).toBe(1);
      expect(openCode(name)).toBe('ERR_NOT_FOUND');
      const listed = listSegments({ package: 'testkit', users: true }).filter((o) => o.fileName.startsWith(finalFile(name)));
      expect(listed.map((o) => o.fileName)).toEqual(temps);
      const [t] = listed;
      // `initialized` is stored between the two points.
      expect(t).toMatchObject({ kind: 'temp', state: point.endsWith('beforeReady') ? 'pending' : 'ready', users: [] });
      expect(t!.parsed).toMatchObject({ package: 'testkit', name, temp: { pid: c.pid } });
      expect(t!.creator).toMatchObject({ identity: { pid: c.pid }, liveness: 'dead' });
      const { segment, created } = Segment.openOrCreate({ package: 'testkit', name, size: 4096, layoutMajor: 1 });
      try {
        expect(created).toBe(true);
        expect(segment.header!.creator.pid).toBe(process.pid);
      } finally { segment.close(); }
      // The temp is removable: its creator is dead and nobody maps or holds it.
      rmSync(`${SHM_DIR}/${temps[0]}`);
      temps = [];
    } finally {
      for (const f of temps) rmSync(`${SHM_DIR}/${f}`, { force: true });
      Segment.unlink('testkit', name);
    }
    expect(leftovers(name)).toEqual([]);
  });
});
