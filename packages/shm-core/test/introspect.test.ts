import { afterEach, describe, expect, it } from 'vitest';
import { rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { killAll, leftovers, spawnFixture, uniqueName } from '@shmkit/testkit';
import { listSegments, readHeader, Segment, SHM_DIR, WakeHandle, type ObjectInfo } from '../src/index.js';

const peer = fileURLToPath(new URL('./fixtures/introspect-peer.ts', import.meta.url));
afterEach(() => killAll());

const mine = (marker: string, list: ObjectInfo[]) => list.filter((o) => o.fileName.includes(marker));

describe('listSegments (§5.20)', () => {
  it('finds a segment with its decoded header; creator alive, then dead after SIGKILL; users lists the mapper', async () => {
    const name = uniqueName('ls');
    const child = spawnFixture(peer, ['create', name]);
    await child.waitLine((l) => l.startsWith('ready'));
    try {
      const [o] = mine(name, listSegments({ package: 'testkit', users: true }));
      expect(o).toMatchObject({ fileName: `shmkit.testkit.${name}`, path: `${SHM_DIR}/shmkit.testkit.${name}`, kind: 'segment', state: 'ready', size: 4096, mode: 0o600, uid: process.getuid!() });
      expect(o!.parsed).toMatchObject({ package: 'testkit', name, part: undefined });
      expect(o!.header).toMatchObject({ package: 'testkit', layoutMajor: 1, totalSize: 4096, headerSize: 64 });
      expect(o!.creator!.identity.pid).toBe(child.proc.pid);
      expect(o!.creator!.liveness).toBe('alive');
      expect(o!.users).toContain(child.proc.pid);
      expect(mine(name, listSegments({ package: 'rmp' }))).toEqual([]);
      child.kill('SIGKILL');
      await child.exited;
      const [after] = mine(name, listSegments({ users: true }));
      expect(after!.creator!.liveness).toBe('dead');
      expect(after!.users).toEqual([]);
    } finally { Segment.unlink('testkit', name); }
  });

  it('classifies foreign, corrupt, short, temp and FIFO objects without opening the FIFO', () => {
    const name = uniqueName('kinds');
    const junk = `${SHM_DIR}/shmkit.testkit.${name}-junk`;
    const corrupt = `${SHM_DIR}/shmkit.testkit.${name}-corrupt`;
    const short = `${SHM_DIR}/shmkit.testkit.${name}-short`;
    const temp = `${SHM_DIR}/shmkit.testkit.${name}-t~999999-deadbeef`;
    writeFileSync(junk, Buffer.alloc(128, 1), { mode: 0o600 });
    const bad = Buffer.alloc(64);
    bad.writeUInt32LE(0x4b4d4853, 0); bad.writeUInt16LE(100, 4); bad.writeInt32LE(7, 12); bad.writeUInt32LE(64, 28); bad.writeBigUInt64LE(64n, 16);
    writeFileSync(corrupt, bad, { mode: 0o600 });
    writeFileSync(short, Buffer.alloc(10), { mode: 0o600 });
    const building = Buffer.from(bad); building.writeInt32LE(0, 12); // header written, `initialized` still 0
    writeFileSync(temp, building, { mode: 0o600 });
    const fifo = WakeHandle.createFifo('testkit', name, 'wake');
    const seg = Segment.create({ package: 'testkit', name: `${name}-dead`, layoutMajor: 1, size: 4096 });
    seg.unlink(); // stores DEAD in `initialized`; readHeader(fd) below still sees the object
    try {
      const list = mine(name, listSegments());
      const by = (suffix: string) => list.find((o) => o.fileName === `shmkit.testkit.${name}${suffix}`);
      expect(by('-junk')).toMatchObject({ kind: 'segment', state: 'foreign', headerError: 'ERR_NOT_SHMKIT' });
      expect(by('-corrupt')).toMatchObject({ kind: 'segment', state: 'corrupt', headerError: 'ERR_HEADER_CORRUPT' });
      expect(by('-short')).toMatchObject({ kind: 'segment', state: 'foreign', headerError: 'ERR_SEGMENT_TRUNCATED' });
      const t = by('-t~999999-deadbeef')!;
      expect(t.kind).toBe('temp');
      expect(t.parsed.temp).toEqual({ pid: 999999, tag: 'deadbeef' });
      expect(t.state).toBe('pending');
      expect(by('.wake')).toMatchObject({ kind: 'fifo', state: 'n/a' });
      expect(by('.wake')!.header).toBeUndefined();
      expect(readHeader(`${SHM_DIR}/shmkit.testkit.${name}.wake`).error).toBe('ERR_INVALID_ARGUMENT');
      expect(readHeader(junk).error).toBe('ERR_NOT_SHMKIT');
      expect(readHeader(`${SHM_DIR}/shmkit.testkit.${name}-missing`).error).toBe('ERR_NOT_FOUND');
      expect(readHeader(seg.fd).header!.state).toBe('destroyed');
      // sorted by package, name, part
      const names = list.map((o) => o.parsed.name);
      expect([...names].sort()).toEqual(names);
      expect(list[0]!.parsed).toMatchObject({ name, part: 'wake' });
    } finally {
      for (const p of [junk, corrupt, short, temp]) rmSync(p, { force: true });
      fifo.close();
      seg.close();
    }
    expect(leftovers(name)).toEqual([]);
  });

  it('lock objects: alive while a process holds the flock, dead after SIGKILL', async () => {
    const name = uniqueName('lk');
    const child = spawnFixture(peer, ['lock', name]);
    await child.waitLine((l) => l.startsWith('ready'));
    try {
      const [held] = mine(name, listSegments());
      expect(held).toMatchObject({ kind: 'lock', lock: 'alive', state: 'ready' });
      expect(held!.parsed.part).toBe('lock');
      child.kill('SIGKILL');
      await child.exited;
      expect(mine(name, listSegments())[0]).toMatchObject({ kind: 'lock', lock: 'dead' });
    } finally { Segment.unlink('testkit', name, 'lock'); }
  });

  it('includeMemfd finds a child\'s memfd segment through /proc and reads its header', async () => {
    const name = uniqueName('mfd');
    const child = spawnFixture(peer, ['memfd', name]);
    await child.waitLine((l) => l.startsWith('ready'));
    expect(mine(name, listSegments())).toEqual([]);
    const found = mine(name, listSegments({ includeMemfd: true, users: true }));
    expect(found.length).toBe(1);
    expect(found[0]).toMatchObject({ kind: 'memfd', fileName: `shmkit.testkit.${name}`, state: 'ready', size: 8192 });
    expect(found[0]!.path).toMatch(new RegExp(`^/proc/${child.proc.pid}/fd/\\d+$`));
    expect(found[0]!.header!.layoutMajor).toBe(2);
    expect(found[0]!.users).toContain(child.proc.pid);
    child.kill('SIGKILL');
    await child.exited;
  });

  it('a temp that died before ftruncate (under 64 bytes) is a pending temp whose creator is the pid in its name', () => {
    const name = uniqueName('tmp0');
    const temp = `${SHM_DIR}/shmkit.testkit.${name}~999999-0badcafe`;
    const mineTemp = `${SHM_DIR}/shmkit.testkit.${name}-b~${process.pid}-00c0ffee`;
    writeFileSync(temp, Buffer.alloc(0), { mode: 0o600 });
    writeFileSync(mineTemp, Buffer.alloc(8), { mode: 0o600 });
    try {
      const [dead, alive] = mine(name, listSegments({ package: 'testkit' }));
      expect(dead).toMatchObject({ kind: 'temp', state: 'pending', size: 0, creator: { identity: { pid: 999999 }, liveness: 'dead' } });
      expect(dead!.headerError).toBeUndefined();
      expect(alive).toMatchObject({ kind: 'temp', state: 'pending', creator: { identity: { pid: process.pid }, liveness: 'alive' } });
    } finally { rmSync(temp, { force: true }); rmSync(mineTemp, { force: true }); }
    expect(leftovers(name)).toEqual([]);
  });
});
