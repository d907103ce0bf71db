// `@shmkit/tcpshm-queue/introspect` (spec §3.9): shm-core's Introspector contract (§3.14). Everything here is
// read-only: files are read, shared objects are mapped read-only and decoded from a private copy, no lock is taken.
import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { Segment, SHM_DIR } from '@shmkit/shm-core';
import type { CounterReader, InspectResult, InstanceRef, Introspector } from '@shmkit/shm-core';
export type { ObjectInfo, InstanceRef, InspectResult, CounterSnapshot, CounterReader, Introspector } from '@shmkit/shm-core';
import { PtcpQueue } from './internal/ptcp-queue.js';
import { RingConsumer, RING_TRAILER } from './internal/shm-ring.js';
import { nameProblem } from './internal/names.js';

function ringSection(title: string, bytes: Uint8Array): { fields: Record<string, unknown>; warnings: string[] } {
  const copy = bytes.slice();
  const Q = copy.byteLength - RING_TRAILER, N = Q / 64;
  const ix = new Uint32Array(copy.buffer, Q, 64);
  const fields: Record<string, unknown> = { queueSize: Q, blocks: N, writeIdx: ix[0], readIdxCache: ix[1], readIdx: ix[32],
    producerParked: ix[16], consumerParked: ix[48], depthBlocks: ((ix[0]! - ix[32]!) >>> 0) };
  const warnings: string[] = [];
  try { fields['records'] = new RingConsumer(copy, title).validate(); fields['verdict'] = 'ok'; }
  catch (e) { fields['verdict'] = 'corrupt'; warnings.push(`${title}: ${(e as Error).message}`); }
  return { fields, warnings };
}

/** Decodes a PTCP file, a `.lastserver` file or a ring object's bytes (shmkit inspect --file). */
export function inspectFile(path: string, opts: { byteOrder?: 'little' | 'big'; nameSize?: number } = {}): InspectResult {
  const b = new Uint8Array(readFileSync(path));
  const warnings: string[] = [];
  if (path.endsWith('.lastserver')) {
    let end = b.indexOf(0); if (end < 0) end = b.length;
    const name = new TextDecoder().decode(b.subarray(0, end));
    const bad = name !== '' && nameProblem(name, opts.nameSize ?? b.length) !== undefined;
    if (bad) warnings.push(`${basename(path)} does not hold a valid name`);
    return { summary: { kind: 'lastserver', lastServer: name, nameSize: b.length, verdict: bad ? 'corrupt' : 'ok' }, sections: [], warnings };
  }
  if (path.endsWith('.ptcp')) {
    const B = b.length - 20;
    const ix = new Uint32Array(b.buffer, B, 5);
    const fields: Record<string, unknown> = { tcpQueueSize: B, writeIdx: ix[0], readIdx: ix[1], sendIdx: ix[2], readSeq: ix[3], myAck: ix[4],
      journal: (ix[2]! & 0x80000000) !== 0 };
    let verdict = 'ok';
    try {
      const q = new PtcpQueue({ bytes: b, written() {}, flush() {} }, { little: (opts.byteOrder ?? 'little') === 'little', compaction: 'crash-safe', durability: 'none', maxMessageSize: 65535, path });
      const r = q.open();
      Object.assign(fields, { seqStart: r.start, seqEnd: r.end, unacked: q.queued });
    } catch (e) { verdict = 'corrupt'; warnings.push((e as Error).message); }
    return { summary: { kind: 'ptcp', verdict, size: statSync(path).size }, sections: [{ title: 'PTCP indices', fields }], warnings };
  }
  // A ring object: the reference layout, header-less (§4.10).
  const s = ringSection(basename(path), b);
  return { summary: { kind: 'ring', verdict: String(s.fields['verdict']) }, sections: [{ title: 'ring', fields: s.fields }], warnings: s.warnings };
}

/** Maps the shmkit-named ring `/shmkit.tcpshm-queue.<name>.shm` read-only at its current size (no header). */
function openRingReadonly(name: string): Segment {
  const size = statSync(`${SHM_DIR}/shmkit.tcpshm-queue.${name}.shm`).size;
  return Segment.openOrCreateInPlace({ package: 'tcpshm-queue', name, part: 'shm' }, { size, readonly: true }).segment;
}

export const introspector = {
  package: 'tcpshm-queue',
  partPattern: /^(shm|data|space)$/,
  async inspect(ref: InstanceRef, _opts: { raw: boolean }): Promise<InspectResult> {
    const sections: InspectResult['sections'] = [];
    const warnings: string[] = [];
    for (const obj of ref.objects) {
      const part = obj.fileName.split('.').pop()!;
      if (part !== 'shm') continue;
      const name = obj.fileName.replace(/^\/?shmkit\.tcpshm-queue\./, '').replace(/\.[a-z]+$/, '');
      let seg: Segment | undefined;
      try {
        seg = openRingReadonly(name);
        const s = ringSection(name, seg.uint8(0, seg.size));
        sections.push({ title: `ring ${name}`, fields: s.fields }); warnings.push(...s.warnings);
      } catch (e) { warnings.push(`${obj.fileName}: ${(e as Error).message}`); } finally { seg?.close(); }
    }
    return { summary: { rings: sections.length }, sections, warnings };
  },
  openCounters(ref: InstanceRef): CounterReader | null {
    const obj = ref.objects.find((o) => /\.shm$/.test(o.fileName));
    if (!obj) return null;
    const name = obj.fileName.replace(/^\/?shmkit\.tcpshm-queue\./, '').replace(/\.[a-z]+$/, '');
    const seg = openRingReadonly(name);
    const Q = seg.size - RING_TRAILER;
    const ix = new Uint32Array(seg.buffer, Q, 64);
    return {
      read: () => { const w = Atomics.load(ix, 0), r = Atomics.load(ix, 32); return { at: process.hrtime.bigint(), bytes: 64n * BigInt(w), depth: (w - r) >>> 0, capacity: Q / 64 }; },
      close: () => seg.close(),
    };
  },
} satisfies Introspector;
