// The rings are the reference's objects byte for byte (§4.10, §4.11): `/<sender>_<receiver>.shm` of size Q + 256,
// no header, indices at Q+0 / Q+128; role locks are OFD locks on bytes 0 / 1; sizes are never changed.
import { readFileSync, statSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { uniqueName } from '@shmkit/testkit';
import { lockRole, openRingSegment, ringObjectName } from '../src/internal/shm-pair.js';
import { RingProducer } from '../src/internal/shm-ring.js';
import { removeTcpshmState } from '../src/index.js';
import { isTcpshmError } from '../src/index.js';

const Q = 4096;
const cleanup: Array<() => void> = [];
afterEach(() => { while (cleanup.length) cleanup.pop()!(); });

describe('in-place rings (§4.10)', () => {
  for (const naming of ['reference', 'shmkit'] as const) {
    it(`${naming} naming: header-less object, reference offsets, role locks, no resize`, async () => {
      const a = uniqueName('ipa').replace(/_/g, '-'), b = uniqueName('ipb').replace(/_/g, '-');
      const o = { shmNaming: naming, shmQueueSize: Q, shmMode: 0o600 };
      const r = openRingSegment(o, a, b);
      cleanup.push(() => r.seg.close());
      expect(r.created).toBe(true);
      const path = `/dev/shm${ringObjectName(naming, a, b)}`;
      expect(path).toBe(naming === 'reference' ? `/dev/shm/${a}_${b}.shm` : `/dev/shm/shmkit.tcpshm-queue.${a}_${b}.shm`);
      expect(statSync(path).size).toBe(Q + 256);
      const p = new RingProducer(r.seg.uint8(0, Q + 256), `${a}_${b}`);
      const off = p.allocAt(100, 7);
      p.bytes.fill(0xee, off, off + 100); p.push();
      const raw = readFileSync(path);
      expect(raw.readUInt16LE(0)).toBe(108);         // header at byte 0: no shmkit header in front
      expect(raw.readUInt16LE(2)).toBe(7);
      expect(raw.readUInt32LE(4)).toBe(0);
      expect(raw[8]).toBe(0xee);
      expect(raw.readUInt32LE(Q)).toBe(2);           // write_idx at Q+0
      expect(raw.readUInt32LE(Q + 128)).toBe(0);     // read_idx at Q+128
      // A second mapping (another open file description) sees the same bytes and conflicts on the role locks.
      const again = openRingSegment(o, a, b);
      cleanup.push(() => again.seg.close());
      expect(again.created).toBe(false);
      lockRole(r.seg, 'producer', 'x');
      let err: unknown;
      try { lockRole(again.seg, 'producer', 'x'); } catch (e) { err = e; }
      expect(isTcpshmError(err) && err.code).toBe('ERR_TCPSHM_FILE_LOCKED');
      lockRole(again.seg, 'consumer', 'x');
      // Another Q is a layout mismatch; the object keeps its size.
      err = undefined;
      try { openRingSegment({ ...o, shmQueueSize: Q * 2 }, a, b); } catch (e) { err = e; }
      expect(isTcpshmError(err) && err.code).toBe('ERR_LAYOUT_MISMATCH');
      expect(statSync(path).size).toBe(Q + 256);
      // removeTcpshmState refuses while a role is held, and removes the object once it is not.
      err = undefined;
      try { await removeTcpshmState({ ptcpDir: '/nonexistent-tcpshm-dir', localName: a, remoteName: b, role: 'server', shmNaming: naming }); } catch (e) { err = e; }
      expect(isTcpshmError(err) && err.code).toBe('ERR_TCPSHM_FILE_LOCKED');
      r.seg.close(); again.seg.close();
      const { removed } = await removeTcpshmState({ ptcpDir: '/nonexistent-tcpshm-dir', localName: a, remoteName: b, role: 'server', shmNaming: naming });
      expect(removed).toContain(ringObjectName(naming, a, b));
      expect(() => statSync(path)).toThrow();
    });
  }
});

describe('.lastserver lock survives the replacement (§4.9)', () => {
  it('the renamed-in file is locked before it carries the name; a second opener gets ERR_TCPSHM_FILE_LOCKED', async () => {
    const { LastServerFile } = await import('../src/internal/storage.js');
    const { tempDir } = await import('./util.js');
    const t = tempDir('ls');
    cleanup.push(() => t.cleanup());
    const path = `${t.dir}/c.lastserver`;
    const f = LastServerFile.open(path, 16, 0o600, false);
    f.write('srv1');
    f.write('srv2');
    let err: unknown;
    try { LastServerFile.open(path, 16, 0o600, false).close(); } catch (e) { err = e; }
    expect(isTcpshmError(err) && err.code).toBe('ERR_TCPSHM_FILE_LOCKED');
    expect(new TextDecoder().decode(f.read().subarray(0, 4))).toBe('srv2');
    f.close();
    const g = LastServerFile.open(path, 16, 0o600, false);
    expect(new TextDecoder().decode(g.read().subarray(0, 4))).toBe('srv2');
    expect(statSync(path).size).toBe(16);
    g.close();
  });
});
