import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { killAll, leftovers, spawnFixture, uniqueName } from '@shmkit/testkit';
import { forceTombstoneForTests } from '../src/internal.js';
import { isShmkitError, lockRangeFd, RobustMutex, Segment, SHM_DIR, ShmkitError, WakeHandle } from '../src/index.js';
import { createInterface } from 'node:readline';

const peer = fileURLToPath(new URL('./fixtures/seg-peer.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'shmkit-seg-'));
afterEach(() => killAll());
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function err(fn: () => unknown): ShmkitError {
  try { fn(); } catch (e) { if (isShmkitError(e)) return e; throw e; }
  throw new Error('did not throw');
}
const code = (fn: () => unknown) => err(fn).code;
const T = { package: 'testkit', layoutMajor: 1 } as const;

/** Writes a raw object under SHM_DIR (a foreign or corrupted "segment"). */
function rawObject(name: string, bytes: Uint8Array): string {
  const path = `${SHM_DIR}/shmkit.testkit.${name}`;
  writeFileSync(path, bytes, { mode: 0o600 });
  return path;
}
function headerBytes(size: number, patch: (dv: DataView) => void = () => {}): Uint8Array {
  const b = new Uint8Array(size);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, 0x4b4d4853, true); dv.setUint16(4, 100, true); dv.setUint16(8, 1, true);
  dv.setUint32(12, 0x54494e49, true); dv.setBigUint64(16, BigInt(size), true); dv.setUint32(28, 64, true);
  patch(dv);
  return b;
}

describe('Segment create/open details', () => {
  it('exposes kind, path, fd, typed views and dataOffset; default mode 0600, chosen mode on the published object', () => {
    const name = uniqueName('views');
    const seg = Segment.create({ ...T, name, size: 8192, headerSize: 128, mode: 0o640, kind: 7, layoutMinor: 2 });
    try {
      expect(seg.kind).toBe('shm');
      expect(seg.path).toBe(`${SHM_DIR}/shmkit.testkit.${name}`);
      expect(seg.fd).toBeGreaterThan(2);
      expect(seg.dataOffset).toBe(128);
      expect(seg.bytes.length).toBe(8192);
      expect(seg.i64.length).toBe(1024);
      expect(statSync(seg.path!).mode & 0o777).toBe(0o640);
      const h = seg.header!;
      expect(h).toMatchObject({ package: 'testkit', packageId: 100, kind: 7, layoutMajor: 1, layoutMinor: 2, state: 'ready', totalSize: 8192, headerSize: 128 });
      expect(h.creator.pid).toBe(process.pid);
      expect(h.creator.startTime).toBeGreaterThan(0);
      const other = Segment.open({ ...T, name, kind: 7, minLayoutMinor: 2 });
      expect(other.dataOffset).toBe(128);
      expect(err(() => Segment.open({ ...T, name, kind: 7, minLayoutMinor: 3 })).details).toMatchObject({ field: 'layoutMinor', expected: 3, actual: 2 });
      other.close();
    } finally { seg.unlink(); seg.close(); }
    const plain = Segment.create({ ...T, name, size: 4096 });
    try { expect(statSync(plain.path!).mode & 0o777).toBe(0o600); } finally { plain.unlink(); plain.close(); }
  });

  it('rejects bad sizes, modes and header fields before any object exists (§7)', () => {
    const name = uniqueName('bad');
    for (const size of [0, 63, 100, 2 ** 32, NaN, -64, 4096.5]) {
      expect(code(() => Segment.create({ ...T, name, size }))).toBe('ERR_INVALID_ARGUMENT');
    }
    expect(code(() => Segment.create({ ...T, name, size: 4096, mode: 0o1777 }))).toBe('ERR_INVALID_ARGUMENT');
    expect(code(() => Segment.create({ ...T, name, size: 4096, headerSize: 60 }))).toBe('ERR_INVALID_ARGUMENT');
    expect(code(() => Segment.create({ ...T, name, size: 4096, layoutMajor: 70000 }))).toBe('ERR_INVALID_ARGUMENT');
    expect(leftovers(name)).toEqual([]);
  });

  it('open of corrupted or foreign objects gives the documented codes (§7)', () => {
    const cases: Array<[string, Uint8Array, string, Record<string, unknown>?]> = [
      ['magic', headerBytes(4096, (dv) => dv.setUint32(0, 0x58585858, true)), 'ERR_NOT_SHMKIT'],
      ['init7', headerBytes(4096, (dv) => dv.setUint32(12, 7, true)), 'ERR_HEADER_CORRUPT'],
      ['init0', headerBytes(4096, (dv) => dv.setUint32(12, 0, true)), 'ERR_NOT_INITIALIZED'],
      ['dead', headerBytes(4096, (dv) => dv.setUint32(12, 0x44414544, true)), 'ERR_NOT_FOUND', { reason: 'destroyed' }],
      ['hs12', headerBytes(4096, (dv) => dv.setUint32(28, 12, true)), 'ERR_HEADER_CORRUPT'],
      ['hs70', headerBytes(4096, (dv) => dv.setUint32(28, 70, true)), 'ERR_HEADER_CORRUPT'],
      ['hsbig', headerBytes(4096, (dv) => dv.setUint32(28, 8192, true)), 'ERR_HEADER_CORRUPT'],
      ['total-big', headerBytes(4096, (dv) => dv.setBigUint64(16, 8192n, true)), 'ERR_SEGMENT_TRUNCATED'],
      ['total-small', headerBytes(4096, (dv) => dv.setBigUint64(16, 2048n, true)), 'ERR_LAYOUT_MISMATCH', { field: 'size' }],
      ['pkg', headerBytes(4096, (dv) => dv.setUint16(4, 2, true)), 'ERR_LAYOUT_MISMATCH', { field: 'packageId', expected: 100, actual: 2 }],
      ['major', headerBytes(4096, (dv) => dv.setUint16(8, 2, true)), 'ERR_LAYOUT_MISMATCH', { field: 'layoutMajor' }],
      ['kind', headerBytes(4096, (dv) => dv.setUint16(6, 9, true)), 'ERR_LAYOUT_MISMATCH', { field: 'kind' }],
      ['tiny', new Uint8Array(10), 'ERR_SEGMENT_TRUNCATED'],
    ];
    for (const [label, bytes, expected, details] of cases) {
      const name = uniqueName(`corrupt-${label}`);
      const path = rawObject(name, bytes);
      try {
        const e = err(() => Segment.open({ ...T, name }));
        expect([label, e.code]).toEqual([label, expected]);
        if (details) expect(e.details).toMatchObject(details);
      } finally { rmSync(path, { force: true }); }
    }
    // the caller's size rule and validate() run last
    const name = uniqueName('rule');
    const path = rawObject(name, headerBytes(4096));
    try {
      expect(err(() => Segment.open({ ...T, name, size: { min: 8192 } })).details).toMatchObject({ field: 'size' });
      expect(Segment.open({ ...T, name, size: { min: 1024 } }).close()).toBeUndefined();
      expect(code(() => Segment.open({ ...T, name, validate: () => { throw new ShmkitError('ERR_CORRUPT', 'package check'); } }))).toBe('ERR_CORRUPT');
    } finally { rmSync(path, { force: true }); }
  });

  it('close(): every view throws, subarrays empty, double close fine; ERR_BUSY while a mutex is held (§5.8)', () => {
    const name = uniqueName('close');
    const seg = Segment.create({ ...T, name, size: 4096, init: (s) => { RobustMutex.init(s, 64); } });
    seg.unlink();
    const sub = seg.subarray(128, 16);
    const extra = seg.extraView(256, 64);
    const extraI32 = new Int32Array(extra);
    const m = RobustMutex.attach(seg, 64);
    m.lock();
    expect(code(() => seg.close())).toBe('ERR_BUSY');
    m.unlock();
    seg.close();
    expect(seg.closed).toBe(true);
    expect(seg.fd).toBe(-1);
    expect(() => Atomics.load(seg.i32, 0)).toThrow(TypeError);
    expect(() => Atomics.store(seg.i32, 0, 1)).toThrow(TypeError);
    expect(() => seg.view.getUint32(0)).toThrow(TypeError);
    expect(() => seg.bytes.set([1], 0)).toThrow(TypeError);
    expect(() => new Uint8Array(seg.buffer)).toThrow(TypeError);
    expect(() => Atomics.load(extraI32, 0)).toThrow(TypeError);
    expect(sub.length).toBe(0);
    expect(() => Atomics.load(sub, 0)).toThrow(TypeError);
    expect(() => sub.set([1])).toThrow(TypeError);
    expect(seg.bytes[0]).toBeUndefined();
    expect(code(() => seg.assertUsable())).toBe('ERR_CLOSED');
    expect(code(() => seg.flush())).toBe('ERR_CLOSED');
    seg.close();
  });

  it('a throwing init() leaves nothing behind, not even with one of its mutexes locked', () => {
    const name = uniqueName('initfail');
    const boom = new ShmkitError('ERR_CORRUPT', 'init failed');
    expect(err(() => Segment.create({ ...T, name, size: 4096, init: (s) => { RobustMutex.init(s, 64).lock(); throw boom; } }))).toBe(boom);
    expect(leftovers(name)).toEqual([]);
    expect(code(() => Segment.open({ ...T, name }))).toBe('ERR_NOT_FOUND');
  });

  it('extraView/detachView, punchHole, isStale and unlink only of our own inode (§5.9)', () => {
    const name = uniqueName('stale');
    const seg = Segment.create({ ...T, name, size: 3 * 4096 });
    try {
      const v = seg.extraView(4096, 4096);
      const a = new Int32Array(v);
      Atomics.store(a, 0, 5);
      expect(Atomics.load(seg.i32, 1024)).toBe(5);
      seg.detachView(v);
      expect(() => Atomics.load(a, 0)).toThrow(TypeError);
      expect(Atomics.load(seg.i32, 1024)).toBe(5);
      seg.bytes.fill(9, 4096);
      seg.punchHole(4096, 4096);
      expect(seg.bytes[4096]).toBe(0);
      expect(seg.bytes[8191]).toBe(0);
      expect(seg.bytes[8192]).toBe(9);
      expect(code(() => seg.punchHole(100, 4096))).toBe('ERR_INVALID_ARGUMENT');
      expect(seg.isStale()).toBe(false);
      expect(Segment.unlink('testkit', name)).toBe(true);
      expect(seg.isStale()).toBe(true);
      const again = Segment.create({ ...T, name, size: 4096 });
      try {
        expect(seg.isStale()).toBe(true);
        expect(seg.unlink()).toBe(false); // the name is someone else's object now
        expect(Segment.open({ ...T, name }).close()).toBeUndefined();
        expect(again.unlink()).toBe(true);
        expect(code(() => Segment.open({ ...T, name }))).toBe('ERR_NOT_FOUND');
        expect(again.unlink()).toBe(false);
      } finally { again.close(); }
    } finally { seg.close(); }
    expect(Segment.unlink('testkit', name)).toBe(false);
  });

  it('unlink() marks the object destroyed for late openers that still hold the name', () => {
    const name = uniqueName('dead');
    const seg = Segment.create({ ...T, name, size: 4096 });
    const late = Segment.open({ ...T, name });
    try {
      expect(seg.unlink()).toBe(true);
      expect(late.header!.state).toBe('destroyed');
    } finally { late.close(); seg.close(); }
  });
});

describe('header bytes and fallbacks', () => {
  it('the common header sits at the §4.1 offsets (read with node:fs); the package area keeps what init wrote', () => {
    const name = uniqueName('hdr');
    const seg = Segment.create({ ...T, name, size: 4096, kind: 7, layoutMajor: 3, layoutMinor: 2, headerSize: 128,
      init: (s) => { s.bytes.set([0xa1, 0xa2], 40); s.bytes[63] = 0xa3; } });
    try {
      const b = readFileSync(seg.path!);
      expect(b.subarray(0, 4).toString('latin1')).toBe('SHMK');
      expect([b.readUInt16LE(4), b.readUInt16LE(6), b.readUInt16LE(8), b.readUInt16LE(10)]).toEqual([100, 7, 3, 2]);
      expect(b.readUInt32LE(12)).toBe(0x54494e49);
      expect(b.readBigUInt64LE(16)).toBe(4096n);
      expect(b.readUInt32LE(24)).toBe(process.pid);
      expect(b.readUInt32LE(28)).toBe(128);
      const stat = readFileSync(`/proc/${process.pid}/stat`, 'utf8');
      expect(b.readBigUInt64LE(32)).toBe(BigInt(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!));
      expect([b[40], b[41], b[62], b[63]]).toEqual([0xa1, 0xa2, 0, 0xa3]);
      expect(Array.from(seg.header!.packageBytes.subarray(0, 2))).toEqual([0xa1, 0xa2]);
    } finally { seg.unlink(); seg.close(); }
  });

  it('header: false objects are mapped whole, data at offset 0, no header checks', () => {
    const name = uniqueName('nohdr');
    const seg = Segment.create({ package: 'testkit', layoutMajor: 0, header: false, name, size: 16 });
    try {
      expect(seg.header).toBeUndefined();
      expect(seg.dataOffset).toBe(0);
      expect(readFileSync(seg.path!).length).toBe(16);
      const other = Segment.open({ package: 'testkit', layoutMajor: 0, header: false, name });
      expect(other.size).toBe(16);
      other.close();
      expect(code(() => Segment.open({ package: 'testkit', layoutMajor: 0, header: false, name, size: 8 }))).toBe('ERR_LAYOUT_MISMATCH');
      expect(code(() => Segment.open({ ...T, name }))).toBe('ERR_SEGMENT_TRUNCATED');
    } finally { seg.unlink(); seg.close(); }
  });

  it('tombstone fallback when detaching is unavailable: after close reads give 0, writes go nowhere, nothing faults', () => {
    const seg = Segment.createMemfd({ ...T, name: uniqueName('tomb'), size: 8192 });
    seg.bytes.fill(5);
    forceTombstoneForTests(true);
    try { seg.close(); } finally { forceTombstoneForTests(false); }
    expect(seg.closed).toBe(true);
    expect(seg.bytes[100]).toBe(0);
    Atomics.store(seg.i32, 10, 77);
    expect(Atomics.load(seg.i32, 0)).toBe(0);
    expect(code(() => seg.assertUsable())).toBe('ERR_CLOSED');
  });

  it('with gc(): closed views stay inert; a Segment dropped without close() warns SHMKIT_LEAK', async () => {
    const child = spawnFixture(fileURLToPath(new URL('./fixtures/gc-peer.ts', import.meta.url)));
    expect(await child.waitLine((l) => l.startsWith('closed views'))).toBe('closed views: 3 TypeErrors, bytes[0]=undefined');
    expect(await child.waitLine((l) => l.startsWith('leak') || l.startsWith('no leak warning'))).toMatch(/^leak shmkit segment memfd:shmkit\.testkit\.gc-leaked was not closed$/);
    expect(await child.waitLine((l) => l.startsWith('extra view'))).toBe('extra view detached: true');
    expect(await child.exited).toBe(0);
  });
});

describe('openOrCreate', () => {
  it('opens an existing object, creates a missing one, and keeps its size rule', () => {
    const name = uniqueName('ooc');
    const a = Segment.openOrCreate({ ...T, name, size: 4096, init: (s) => { Atomics.store(s.i32, 16, 77); } });
    const b = Segment.openOrCreate({ ...T, name, size: 4096 });
    try {
      expect(a.created).toBe(true);
      expect(b.created).toBe(false);
      expect(Atomics.load(b.segment.i32, 16)).toBe(77);
      expect(code(() => Segment.openOrCreate({ ...T, name, size: 8192 }))).toBe('ERR_LAYOUT_MISMATCH');
    } finally { a.segment.unlink(); a.segment.close(); b.segment.close(); }
  });

  it('two processes racing openOrCreate 50 times: exactly one creates each round, both map the same inode', async () => {
    const base = uniqueName('race');
    const rounds = 50;
    const kids = [spawnFixture(peer, ['race', base, String(rounds)]), spawnFixture(peer, ['race', base, String(rounds)])];
    const lines: string[][] = [[], []];
    kids.forEach((k, i) => createInterface({ input: k.proc.stdout! }).on('line', (l) => lines[i]!.push(l)));
    try {
      await Promise.all(kids.map((k) => k.waitLine((l) => l === 'done', 60_000)));
      expect(await Promise.all(kids.map((k) => k.exited))).toEqual([0, 0]);
      for (let r = 0; r < rounds; r++) {
        const mine = lines.map((ls) => ls.find((l) => l.startsWith(`round ${r} `))!.split(' '));
        expect(mine.filter((p) => p[2] === 'created').length).toBe(1);
        expect(mine[0]![3]).toBe(mine[1]![3]);
      }
    } finally {
      for (let r = 0; r < rounds; r++) Segment.unlink('testkit', `${base}-${r}`);
    }
    expect(leftovers(base)).toEqual([]);
  });

  it('openOrCreateInPlace: against an object a peer created with plain O_CREAT + ftruncate', async () => {
    const name = uniqueName('inplace');
    const path = `${SHM_DIR}/shmkit.testkit.${name}.ring`;
    const target = { package: 'testkit', name, part: 'ring' } as const;
    const child = spawnFixture(peer, ['plain-create', path, '65536']);
    await child.waitLine((l) => l === 'created');
    expect(await child.exited).toBe(0);
    try {
      const same = Segment.openOrCreateInPlace(target, { size: 65536 });
      expect(same.created).toBe(false);
      expect(same.segment.header).toBeUndefined();
      expect(same.segment.dataOffset).toBe(0);
      same.segment.bytes[100] = 42;
      same.segment.close();
      expect(readFileSync(path)[100]).toBe(42);
      expect(err(() => Segment.openOrCreateInPlace(target, { size: 4096 })).details).toMatchObject({ field: 'size', expected: 4096, actual: 65536 });
      // `lock`: a second in-place opener with lock while the first holds it
      const locked = Segment.openOrCreateInPlace(target, { size: 65536, lock: true });
      try { expect(code(() => Segment.openOrCreateInPlace(target, { size: 65536, lock: true }))).toBe('ERR_LOCK_HELD'); } finally { locked.segment.close(); }
    } finally { rmSync(path, { force: true }); }
    // size 0 → ftruncated and created
    const empty = spawnFixture(peer, ['plain-create', path, '0']);
    await empty.exited;
    try {
      const fresh = Segment.openOrCreateInPlace(target, { size: 8192 });
      expect(fresh.created).toBe(true);
      expect(statSync(path).size).toBe(8192);
      fresh.segment.close();
    } finally { rmSync(path, { force: true }); }
  });

  it('openOrCreateInPlace({ shmName }) with a raw reference name, and rejects bad raw names', async () => {
    const raw = `/shmkit_ref_${process.pid}_${Date.now().toString(36)}.shm`;
    const child = spawnFixture(peer, ['plain-create', SHM_DIR + raw, '4096']);
    await child.exited;
    try {
      const { segment, created } = Segment.openOrCreateInPlace({ shmName: raw }, { size: 4096 });
      expect(created).toBe(false);
      expect(segment.objectName).toBe(raw);
      segment.close();
    } finally { rmSync(SHM_DIR + raw, { force: true }); }
    for (const bad of ['noslash', '/a/b', '/', '/.x', `/${'a'.repeat(252)}`]) {
      expect(code(() => Segment.openOrCreateInPlace({ shmName: bad }, { size: 4096 }))).toBe('ERR_INVALID_NAME');
    }
  });
});

describe('memfd and fromFd (§5.6)', () => {
  it('createMemfd is sealed; a child maps it through fromFd and writes, the parent sees it', async () => {
    const seg = Segment.createMemfd({ ...T, name: uniqueName('memfd'), size: 65536 });
    try {
      expect(seg.kind).toBe('memfd');
      expect(seg.objectName).toBeUndefined();
      expect(seg.path).toBeUndefined();
      expect(seg.unlink()).toBe(false);
      const child = spawnFixture(peer, ['memfd-write', `/proc/${process.pid}/fd/${seg.fd}`, '4242']);
      expect(await child.waitLine((l) => l.startsWith('wrote'))).toBe('wrote 65536');
      expect(Atomics.load(seg.i32, seg.dataOffset / 4)).toBe(4242);
      // a second view in this process through fromFd without ownership
      const again = Segment.fromFd(seg.fd, { ...T, takeOwnership: false });
      expect(again.header!.totalSize).toBe(65536);
      again.close();
      expect(seg.fd).toBeGreaterThan(2); // ours is still open
      // a window at a page-aligned offset: no header checks
      const win = Segment.fromFd(seg.fd, { ...T, takeOwnership: false, offset: 4096, length: 8192 });
      expect(win.size).toBe(8192);
      expect(win.header).toBeUndefined();
      win.close();
      expect(code(() => Segment.fromFd(seg.fd, { ...T, takeOwnership: false, offset: 100 }))).toBe('ERR_INVALID_ARGUMENT');
    } finally { seg.close(); }
  });

  it('fromFd refuses an unsealed memfd, a pipe-like fd and a bad fd (§7)', () => {
    const unsealed = Segment.createMemfd({ ...T, name: uniqueName('unsealed'), size: 4096, seal: false });
    try {
      expect(code(() => Segment.fromFd(unsealed.fd, { ...T, takeOwnership: false }))).toBe('ERR_UNSEALED');
      const ok = Segment.fromFd(unsealed.fd, { ...T, takeOwnership: false, requireSeals: false });
      ok.close();
    } finally { unsealed.close(); }
    const pipe = WakeHandle.createFifo('testkit', uniqueName('pipe'), 'wake'); // a FIFO fd is a pipe
    try { expect(code(() => Segment.fromFd(pipe.fd, { ...T, takeOwnership: false }))).toBe('ERR_INVALID_ARGUMENT'); } finally { pipe.close(); }
    const dev = openSync('/dev/null', 'r');
    try { expect(code(() => Segment.fromFd(dev, { ...T, takeOwnership: false }))).toBe('ERR_INVALID_ARGUMENT'); } finally { closeSync(dev); }
    const e = err(() => Segment.fromFd(-1, T));
    expect([e.code, e.errnoName]).toEqual(['ERR_SYSCALL', 'EBADF']);
  });
});

describe('file-backed segments (§5.7)', () => {
  it('a child writes 1 MiB and is SIGKILLed without flush; the data is in the file', async () => {
    const path = join(dir, 'persist.seg');
    const seg = Segment.createFile(path, { ...T, size: 64 + (1 << 20) + 4096 - 64 });
    expect(seg.kind).toBe('file');
    expect(seg.path).toBe(path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    seg.close();
    const child = spawnFixture(peer, ['write-file', path]);
    await child.waitLine((l) => l === 'written');
    child.kill('SIGKILL');
    await child.exited;
    const again = Segment.openFile(path, T);
    try {
      const data = again.subarray(again.dataOffset, 1 << 20);
      let bad = 0;
      for (let i = 0; i < data.length; i++) if (data[i] !== ((i * 7 + 3) & 0xff)) bad++;
      expect(bad).toBe(0);
      again.flush({ durable: true });
      again.flush({ offset: 5000, length: 10 });
      expect(code(() => again.flush({ offset: 0, length: again.size + 1 }))).toBe('ERR_INVALID_ARGUMENT');
    } finally { again.close(); }
    expect(code(() => Segment.createFile(path, { ...T, size: 4096 }))).toBe('ERR_EXISTS');
    expect(code(() => Segment.openFile(path, { ...T, size: 4096 }))).toBe('ERR_LAYOUT_MISMATCH');
    const ooc = Segment.openOrCreateFile(path, { ...T, size: again.size });
    expect(ooc.created).toBe(false);
    ooc.segment.close();
    expect(code(() => Segment.openFile(join(dir, 'missing'), T))).toBe('ERR_NOT_FOUND');
    const created = Segment.openOrCreateFile(join(dir, 'fresh.seg'), { ...T, size: 4096 });
    expect(created.created).toBe(true);
    expect(created.segment.unlink()).toBe(true);
    created.segment.close();
    rmSync(path);
  });

  it('lock: true makes a second opener fail with ERR_LOCK_HELD while the holder lives', async () => {
    const path = join(dir, 'locked.seg');
    Segment.createFile(path, { ...T, size: 4096 }).close();
    const child = spawnFixture(peer, ['file-lock', path]);
    await child.waitLine((l) => l === 'locked');
    expect(code(() => Segment.openFile(path, { ...T, lock: true }))).toBe('ERR_LOCK_HELD');
    child.kill('SIGKILL');
    await child.exited;
    const mine = Segment.openFile(path, { ...T, lock: true });
    mine.close();
    rmSync(path);
  });
});

describe('byte-range locks (§5.21)', () => {
  it('a child holding byte 0 blocks it for us, byte 1 stays free; SIGKILL frees it', async () => {
    const name = uniqueName('range');
    const seg = Segment.create({ ...T, name, size: 4096 });
    try {
      const child = spawnFixture(peer, ['range-lock', name]);
      await child.waitLine((l) => l === 'locked');
      expect(seg.lockRange(0, 1, 'exclusive')).toBe(false);
      expect(seg.lockRange(0, 1, 'shared')).toBe(false);
      expect(seg.lockRange(1, 1, 'exclusive')).toBe(true);
      expect(seg.lockRange(1, 1, 'unlock')).toBe(true);
      child.kill('SIGKILL');
      await child.exited;
      expect(seg.lockRange(0, 1, 'exclusive')).toBe(true);
      // one description never conflicts with itself
      expect(seg.lockRange(0, 2, 'exclusive')).toBe(true);
      expect(lockRangeFd(seg.fd, 0, 2, 'unlock')).toBe(true);
      for (const [o, l] of [[0, 0], [0, -1], [0, 1.5], [-1, 1], [NaN, 1]] as const) {
        expect(code(() => seg.lockRange(o, l, 'exclusive'))).toBe('ERR_INVALID_ARGUMENT');
      }
      expect(code(() => seg.lockRange(0, 1, 'bogus' as 'shared'))).toBe('ERR_INVALID_ARGUMENT');
      expect(seg.flock('exclusive')).toBe(true);
      expect(seg.flock('unlock')).toBe(true);
    } finally { seg.unlink(); seg.close(); }
  });
});

describe('SIGBUS guard (§5.10)', () => {
  it('a shm segment truncated underneath by another process reads 0 and becomes poisoned', async () => {
    const name = uniqueName('sigbus');
    const seg = Segment.create({ ...T, name, size: 4 * 4096 });
    try {
      seg.bytes.fill(7, 4096);
      const child = spawnFixture(peer, ['truncate', seg.path!, '4096']);
      await child.waitLine((l) => l === 'truncated');
      expect(seg.poisoned).toBe(false);
      expect(seg.bytes[3 * 4096 + 5]).toBe(0);
      expect(seg.poisoned).toBe(true);
      expect(code(() => seg.assertUsable())).toBe('ERR_SEGMENT_TRUNCATED');
      expect(code(() => seg.flush())).toBe('ERR_SEGMENT_TRUNCATED');
      expect(seg.bytes[0]).toBe(0x53); // the first page ('SHMK') was not truncated
    } finally { seg.unlink(); seg.close(); }
  });

  it('a file segment truncated by another process: Atomics read 0, ERR_SEGMENT_TRUNCATED, process alive', async () => {
    const path = join(dir, 'trunc.seg');
    const seg = Segment.createFile(path, { ...T, size: 8 * 4096 });
    try {
      Atomics.store(seg.i32, (6 * 4096) / 4, 99);
      const child = spawnFixture(peer, ['truncate', path, '8192']);
      await child.waitLine((l) => l === 'truncated');
      expect(Atomics.load(seg.i32, (6 * 4096) / 4)).toBe(0);
      expect(seg.poisoned).toBe(true);
      expect(code(() => seg.assertUsable())).toBe('ERR_SEGMENT_TRUNCATED');
      // a fresh opener sees the truncation in the header check
      expect(code(() => Segment.openFile(path, T))).toBe('ERR_SEGMENT_TRUNCATED');
    } finally { seg.close(); rmSync(path); }
  });

  it('without the guard (SHMKIT_NO_SIGBUS_GUARD=1) the same access kills the process with SIGBUS', async () => {
    const path = join(dir, 'unguarded.seg');
    const seg = Segment.createFile(path, { ...T, size: 4 * 4096 });
    seg.close();
    const child = spawnFixture(peer, ['sigbus-unguarded', path], { SHMKIT_NO_SIGBUS_GUARD: '1' });
    expect(await child.exited).toBe('SIGBUS');
    rmSync(path);
  });
});
