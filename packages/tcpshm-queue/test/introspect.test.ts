import { describe, expect, it, afterEach } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspectFile } from '../src/introspect.js';
import { PtcpQueue, memoryStore } from '../src/internal/ptcp-queue.js';
import { tempDir } from './util.js';

let t: { dir: string; cleanup(): void } | undefined;
afterEach(() => { t?.cleanup(); t = undefined; });

describe('inspect (§3.9)', () => {
  it('decodes a PTCP file and flags a corrupt one; decodes .lastserver', () => {
    t = tempDir('insp');
    const bytes = new Uint8Array(84);
    const q = new PtcpQueue(memoryStore(bytes), { little: true, compaction: 'crash-safe', durability: 'none', maxMessageSize: 65535 });
    q.open();
    const off = q.allocAt(4, 1); bytes.fill(9, off, off + 4); q.commit();
    writeFileSync(join(t.dir, 'a_b.ptcp'), bytes);
    const r = inspectFile(join(t.dir, 'a_b.ptcp'));
    expect(r.summary).toMatchObject({ kind: 'ptcp', verdict: 'ok' });
    expect(r.sections[0]!.fields).toMatchObject({ writeIdx: 2, readIdx: 0, seqStart: 0, seqEnd: 1 });
    bytes[0] = 0; bytes[1] = 0;
    writeFileSync(join(t.dir, 'c_d.ptcp'), bytes);
    const bad = inspectFile(join(t.dir, 'c_d.ptcp'));
    expect(bad.summary['verdict']).toBe('corrupt');
    expect(bad.warnings[0]).toMatch(/Ptcp file corrupt/);
    const ls = new Uint8Array(16); ls.set(new TextEncoder().encode('srv'));
    writeFileSync(join(t.dir, 'c.lastserver'), ls);
    expect(inspectFile(join(t.dir, 'c.lastserver')).summary).toMatchObject({ kind: 'lastserver', lastServer: 'srv', verdict: 'ok' });
  });
});
