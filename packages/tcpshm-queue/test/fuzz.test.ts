import { afterEach, describe, expect, it } from 'vitest';
import { until } from '@shmkit/testkit';
import { TcpshmServer, type TcpshmError } from '../src/index.js';
import { encodeLoginRequest, encodeMessage, loginLayout } from '../src/internal/wire.js';
import { resolveCommon } from '../src/options.js';
import { rawPeer, tempDir } from './util.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => { for (const c of cleanups.reverse()) await c(); cleanups.length = 0; });
const cfg = resolveCommon({ name: 'x', ptcpDir: '/tmp' });
const L = loginLayout(cfg);
const login = (name: string) => encodeLoginRequest(cfg, L, { clientAck: 0, clientSeqStart: 0, clientSeqEnd: 0, userData: new Uint8Array(1), useShm: false, clientName: name, lastServerName: '' });

async function server() {
  const t = tempDir('fuzz');
  const received: number[] = [];
  const reasons: TcpshmError[] = [];
  const s = new TcpshmServer({ name: 'server', ptcpDir: t.dir, heartbeatIntervalMs: 200, connectionTimeoutMs: 2000, tcpRecvBufMaxSize: 4096, tcpRecvBufInitSize: 256,
    onMessage: (m, c) => { received.push(m.type === 0 ? -1 : new DataView(m.payload.buffer, m.payload.byteOffset).getUint32(0, true)); c.pop(); } });
  s.on('disconnect', (_c, r) => reasons.push(r));
  const { port } = await s.listen({ port: 0, host: '127.0.0.1' });
  cleanups.push(async () => { await s.close(); t.cleanup(); });
  return { s, port, received, reasons };
}

const frame = (v: number, type = 1) => { const p = new Uint8Array(4 + (v % 13)); new DataView(p.buffer).setUint32(0, v, true); return encodeMessage(type, p, 0); };
const hdr = (size: number, type: number, ack: number) => { const b = Buffer.alloc(8); b.writeUInt16LE(size, 0); b.writeUInt16LE(type, 2); b.writeUInt32LE(ack, 4); return b; };

describe('receive parser fuzz (§8.1 13, 14)', () => {
  const bads: Array<[string, Buffer, string, string]> = [
    ['size 0', hdr(0, 1, 0), 'ERR_TCPSHM_BAD_FRAME', 'Invalid msg size'],
    ['size 5', hdr(5, 1, 0), 'ERR_TCPSHM_BAD_FRAME', 'Invalid msg size'],
    ['oversize', hdr(65000, 1, 0), 'ERR_TCPSHM_FRAME_TOO_LARGE', 'Msg size larger than recv buf max size'],
    ['ack beyond the sent range', hdr(8, 0, 5), 'ERR_TCPSHM_ACK_OUT_OF_RANGE', 'Invalid ack'],
  ];
  it.each(bads)('valid frames in random chunks, then %s: exactly the valid prefix, then the documented reason', async (_n, bad, code, text) => {
    const { port, received, reasons } = await server();
    let seed = bad.readUInt16LE(0) + 7;
    const rnd = (n: number) => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return (seed >>> 8) % n; };
    const p = await rawPeer(port);
    p.sock.write(login(`fz${code.length}${bad[0]}`));
    await p.waitBytes(72);
    const count = 50 + rnd(100);
    const parts: Uint8Array[] = [];
    for (let i = 0; i < count; i++) { parts.push(frame(i)); if (rnd(5) === 0) parts.push(hdr(8, 0, 0)); }
    parts.push(bad, Buffer.alloc(64, 0x55));
    const stream = Buffer.concat(parts);
    for (let off = 0; off < stream.length;) {
      const n = 1 + rnd(40);
      p.sock.write(stream.subarray(off, off + n)); off += n;
      if (rnd(8) === 0) await new Promise((r) => setTimeout(r, 1));
    }
    await until(() => reasons.length > 0, 5000, 'link end');
    expect(reasons[0]!.code).toBe(code);
    expect(reasons[0]!.reasonText).toBe(text);
    expect(received).toEqual([...Array(count).keys()]);
    await until(() => p.closed(), 2000, 'socket closed');
  });
  it('type 0 with size 8 is a heartbeat; with size 12 it is a message counted in typeZeroMessages', async () => {
    const { s, port, received } = await server();
    const p = await rawPeer(port);
    p.sock.write(login('tz'));
    await p.waitBytes(72);
    p.sock.write(Buffer.concat([hdr(8, 0, 0), frame(0, 0).subarray(0, 16), frame(7)]));
    await until(() => received.length === 2, 3000);
    expect(received).toEqual([-1, 7]);
    const st = s.connection('tz')!.stats();
    expect(st.typeZeroMessages).toBe(1);
    expect(st.heartbeatsReceived).toBeGreaterThanOrEqual(1);
    p.sock.destroy();
  });
  it('a silent peer is closed with "Timeout"', async () => {
    const { port, reasons } = await server();
    const p = await rawPeer(port);
    p.sock.write(login('silent'));
    await until(() => reasons.length > 0, 5000, 'timeout');
    expect(reasons[0]!.code).toBe('ERR_PEER_TIMEOUT');
    expect(reasons[0]!.reasonText).toBe('Timeout');
  });
});
