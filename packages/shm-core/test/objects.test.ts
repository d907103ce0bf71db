import { afterEach, describe, expect, it } from 'vitest';
import { closeSync, existsSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { killAll, leftovers, spawnChild, uniqueName, until } from '@shmkit/testkit';
import {
  fullFence, isShmkitError, linkObject, listObjectNames, randomNonce64, Segment, SHM_DIR, unlinkObject, watchObjects,
} from '../src/index.js';
import type { P as PeerP } from './fixtures/objects-peer.js';

afterEach(() => killAll());

/** Matcher of a ShmkitError with this code (and details.reason). */
const err = (code: string, reason?: string) =>
  expect.objectContaining(reason === undefined ? { code } : { code, details: expect.objectContaining({ reason }) });
const file = (name: string) => `${SHM_DIR}/${name}`;
/** A plain 64-byte object in SHM_DIR (no header: these utilities work on names only). */
function plant(name: string, content = 'x'): void { writeFileSync(file(name), content.padEnd(64, '.'), { mode: 0o600, flag: 'wx' }); }
const inoOf = (name: string) => statSync(file(name)).ino;

describe('fullFence and randomNonce64 (§3.16)', () => {
  it('fullFence is the shim fence; nonces are non-zero 64-bit values that use the whole range', () => {
    expect(fullFence()).toBeUndefined();
    const seen = new Set<bigint>();
    let high = 0;
    for (let i = 0; i < 2000; i++) {
      const n = randomNonce64();
      expect(typeof n).toBe('bigint');
      expect(n > 0n && n < 1n << 64n).toBe(true);
      if (n >= 1n << 63n) high++;
      seen.add(n);
    }
    expect(seen.size).toBe(2000);
    // Above 2^53 (not a double in disguise) and with the top bit in about half of them.
    expect(high).toBeGreaterThan(800);
    expect(high).toBeLessThan(1200);
  });
});

describe('object-name utilities (§3.16)', () => {
  it('linkObject gives an object a second name; ERR_EXISTS and ERR_NOT_FOUND with both names in details', () => {
    const base = `shmkit.testkit.${uniqueName('link')}`;
    plant(`${base}.a`, 'first');
    try {
      linkObject(`${base}.a`, `${base}.b`);
      expect(inoOf(`${base}.b`)).toBe(inoOf(`${base}.a`));
      expect(readFileSync(file(`${base}.b`), 'utf8')).toMatch(/^first/);
      // A leading '/' (object-name form) is accepted.
      linkObject(`/${base}.a`, `/${base}.c`);
      expect(inoOf(`${base}.c`)).toBe(inoOf(`${base}.a`));
      let e: unknown;
      try { linkObject(`${base}.a`, `${base}.b`); } catch (x) { e = x; }
      expect(isShmkitError(e, 'ERR_EXISTS')).toBe(true);
      expect(e).toMatchObject({ errnoName: 'EEXIST', syscall: 'link', details: { existingFileName: `${base}.a`, newFileName: `${base}.b` } });
      expect(() => linkObject(`${base}.missing`, `${base}.d`)).toThrow(err('ERR_NOT_FOUND'));
      expect(existsSync(file(`${base}.d`))).toBe(false);
    } finally { for (const p of ['a', 'b', 'c', 'd']) rmSync(file(`${base}.${p}`), { force: true }); }
    expect(leftovers(base)).toEqual([]);
  });

  it('unlinkObject removes a name only while it refers to the expected inode; false when absent or re-created', () => {
    const name = `shmkit.testkit.${uniqueName('unlink')}.obj`;
    plant(name);
    const oldIno = inoOf(name);
    const keep = openSync(file(name), 'r'); // keeps the old inode alive, so the successor's cannot equal it
    try {
      expect(unlinkObject(name)).toBe(true);
      expect(existsSync(file(name))).toBe(false);
      expect(unlinkObject(name)).toBe(false);
      expect(unlinkObject(name, oldIno)).toBe(false);
      plant(name, 'successor');
      const newIno = inoOf(name);
      expect(newIno).not.toBe(oldIno);
      expect(unlinkObject(name, oldIno)).toBe(false);       // someone re-created it: left alone
      expect(readFileSync(file(name), 'utf8')).toMatch(/^successor/);
      expect(unlinkObject(`/${name}`, BigInt(newIno) as unknown as number)).toBe(true);
      expect(existsSync(file(name))).toBe(false);
    } finally { closeSync(keep); rmSync(file(name), { force: true }); }
  });

  it('unlinkObject of a live segment: openers that already have it keep it, new opens fail', () => {
    const name = uniqueName('unlinkseg');
    const seg = Segment.create({ package: 'testkit', name, size: 4096, layoutMajor: 1 });
    try {
      const fileName = seg.objectName!.slice(1);
      expect(unlinkObject(fileName, inoOf(fileName))).toBe(true);
      Atomics.store(seg.i32, seg.dataOffset / 4, 7);
      expect(Atomics.load(seg.i32, seg.dataOffset / 4)).toBe(7);
      expect(() => Segment.open({ package: 'testkit', name, layoutMajor: 1 })).toThrow(err('ERR_NOT_FOUND'));
    } finally { seg.close(); }
    expect(leftovers(name)).toEqual([]);
  });

  it('listObjectNames returns the sorted names with a prefix, temporary names included, and not a longer sibling', () => {
    const user = uniqueName('list');
    const names = [`shmkit.testkit.${user}.b`, `shmkit.testkit.${user}.a`, `shmkit.testkit.${user}.c~123-0badf00d`, `shmkit.testkit.${user}2.a`];
    for (const n of names) plant(n);
    try {
      expect(listObjectNames(`shmkit.testkit.${user}.`)).toEqual([names[1], names[0], names[2]]);
      expect(listObjectNames(`/shmkit.testkit.${user}`)).toEqual([names[1], names[0], names[2], names[3]]);
      expect(listObjectNames(`shmkit.testkit.${user}.zzz`)).toEqual([]);
      expect(listObjectNames('shmkit.')).toEqual(expect.arrayContaining(names));
      expect(listObjectNames('shmkit.test')).toEqual(expect.arrayContaining(names)); // inside the token: no token check
    } finally { for (const n of names) rmSync(file(n), { force: true }); }
  });

  it('watchObjects reports objects another process creates and removes; nothing after close()', async () => {
    const user = uniqueName('watch');
    const prefix = `shmkit.testkit.${user}.`;
    const events: string[] = [];
    const w = watchObjects(prefix, (f) => events.push(f));
    const other: string[] = [];
    const w2 = watchObjects(`shmkit.testkit.${user}-other.`, (f) => other.push(f));
    try {
      const child = await spawnChild<PeerP>(new URL('./fixtures/objects-peer.ts', import.meta.url), { args: [user] });
      await child.next('created');
      await until(() => events.includes(`${prefix}seg`), 10_000, 'watch event of the created segment');
      // The segment was built under a temp name and linked: both names were reported, nothing else.
      expect(events.every((f) => f === `${prefix}seg` || /^.*\.seg~\d+-[0-9a-f]{8}$/.test(f))).toBe(true);
      expect(events.some((f) => f.includes('~'))).toBe(true);
      expect(other).toEqual([]);
      const before = events.length;
      expect((await child.request({ type: 'remove' }, 'removed')).ok).toBe(true);
      await child.exited();
      await until(() => events.length > before, 10_000, 'watch event of the removed segment');
      expect(events.slice(before)).toContain(`${prefix}seg`);
      // After close no event arrives: a second watcher sees the next object, the closed one does not.
      w.close();
      const count = events.length;
      const seen: string[] = [];
      const w3 = watchObjects(prefix, (f) => seen.push(f));
      try {
        plant(`${prefix}late`);
        await until(() => seen.includes(`${prefix}late`), 10_000, 'watch event of the late object');
        await new Promise((r) => setImmediate(r));
        expect(events.length).toBe(count);
      } finally { w3.close(); rmSync(file(`${prefix}late`), { force: true }); }
    } finally { w.close(); w2[Symbol.dispose](); }
    expect(leftovers(user)).toEqual([]);
  });

  it('bad names and prefixes are ERR_INVALID_NAME before any fs call: nothing outside the namespace is touched', () => {
    const user = uniqueName('bad');
    const victim = `shmkit.testkit.${user}.victim`;
    plant(victim);
    try {
      const rows: Array<[unknown, string]> = [
        ['', 'empty'], ['/', 'empty'], [`shmkit.testkit.${user}/../${user}.victim`, 'bad-char'], [`../${victim}`, 'bad-char'],
        [`shmkit.testkit.${user}.a b`, 'bad-char'], [`shmkit.testkit.${user}\0`, 'bad-char'], [`shmkit.testkit.é`, 'bad-char'],
        [`shmkit.testkit.${user}..x`, 'bad-char'], [`shmkit.testkit.${user}.`, 'bad-char'], [`shmkit.testkit.${user}~x`, 'bad-char'],
        ['shmkit.testkit.-a', 'bad-first-char'], ['shmkit.testkit..a', 'bad-first-char'], ['shmkit.testkit.', 'empty'],
        [`shmkit.nosuchpkg.${user}`, 'unknown-package'], [`other.testkit.${user}`, 'unknown-package'], ['shmkit', 'unknown-package'],
        [`shmkit.testkit.${'a'.repeat(250)}`, 'too-long'], [42, 'bad-char'], [undefined, 'bad-char'],
      ];
      for (const [bad, reason] of rows) {
        const r = err('ERR_INVALID_NAME', reason);
        expect(() => unlinkObject(bad as string), String(bad)).toThrow(r);
        expect(() => linkObject(victim, bad as string), String(bad)).toThrow(r);
        expect(() => linkObject(bad as string, `${victim}2`), String(bad)).toThrow(r);
      }
      expect(existsSync(file(victim))).toBe(true);
      expect(existsSync(file(`${victim}2`))).toBe(false);
      for (const [bad, reason] of [['', 'empty'], ['shm', 'unknown-package'], ['shmkit.testkit/x', 'bad-char'],
        ['/dev/shm/shmkit.', 'bad-char'], ['shmkit.nope.', 'unknown-package'], ['x'.repeat(300), 'too-long']] as const) {
        expect(() => listObjectNames(bad), bad).toThrow(err('ERR_INVALID_NAME', reason));
        expect(() => watchObjects(bad, () => {}), bad).toThrow(err('ERR_INVALID_NAME', reason));
      }
      expect(() => watchObjects('shmkit.testkit.', undefined as never)).toThrow(err('ERR_INVALID_ARGUMENT'));
      for (const ino of [-1, 1.5, Number.NaN, '3']) {
        expect(() => unlinkObject(victim, ino as number)).toThrow(err('ERR_INVALID_ARGUMENT'));
      }
      expect(existsSync(file(victim))).toBe(true);
    } finally { rmSync(file(victim), { force: true }); }
  });
});
