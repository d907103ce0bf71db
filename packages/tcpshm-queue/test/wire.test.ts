import { describe, expect, it } from 'vitest';
import { decodeLoginRequest, decodeLoginResponse, encodeHeartbeat, encodeLoginRequest, encodeLoginResponse,
  encodeMessage, inRange, loginLayout, newer, type WireConfig } from '../src/internal/wire.js';
import { resolveCommon } from '../src/options.js';
import { nameProblem } from '../src/internal/names.js';
import { isTcpshmError } from '../src/index.js';
import { toHex, vector } from './helpers.js';

const cfg: WireConfig = { nameSize: 16, loginUserDataSize: 1, loginUserDataAlign: 1, loginRspUserDataSize: 1, loginRspUserDataAlign: 1, byteOrder: 'little' };
const L = loginLayout(cfg);
const u1 = new Uint8Array(1);

const V1 = vector(`00: 34 00 01 00 00 00 00 00  08: 00 00 00 00 00 00 00 00
16: 00 00 63 6c 69 65 6e 74  24: 00 00 00 00 00 00 00 00
32: 00 00 00 00 00 00 00 00  40: 00 00 00 00 00 00 00 00
48: 00 00 00 00 00 00 00 00`, 56);
const V2 = vector(`00: 44 00 02 00 00 00 00 00  08: 00 00 00 00 00 00 00 00
16: 00 00 73 65 72 76 65 72  24..71: all 00`, 72);
const V5 = vector(`00: 34 00 01 00 00 00 00 00  08: 02 00 00 00 02 00 00 00
16: 00 00 63 6c 69 65 6e 74  24: 00 00 00 00 00 00 00 00
32: 00 00 73 65 72 76 65 72  40: 00 00 00 00 00 00 00 00
48: 00 00 00 00 00 00 00 00`, 56);
const V6 = vector(`00: 44 00 02 00 02 00 00 00  08: 00 00 00 00 02 00 00 00
16: 00 00 73 65 72 76 65 72  24..71: all 00`, 72);
const V7 = vector(`00: 44 00 02 00 00 00 00 00  08: 00 00 00 00 00 00 00 00
16: 00 02 73 65 72 76 65 72  24: 00 00 00 00 00 00 00 00
32: 00 00 41 6c 72 65 61 64  40: 79 20 6c 6f 67 67 6e 65
48: 64 20 6f 6e 00 00 00 00  56..71: all 00`, 72);
const V9 = vector(`00: 44 00 02 00 05 00 00 00 03 00 00 00 07 00 00 00 00 01`, 72);
V9.set(new TextEncoder().encode('server'), 18);

describe('golden vectors §4.13', () => {
  it('V1 login request, first contact', () => {
    const b = encodeLoginRequest(cfg, L, { clientAck: 0, clientSeqStart: 0, clientSeqEnd: 0, userData: u1, useShm: false, clientName: 'client', lastServerName: '' });
    expect(toHex(b)).toBe(toHex(V1));
    expect(decodeLoginRequest(cfg, L, V1)).toEqual({ clientAck: 0, clientSeqStart: 0, clientSeqEnd: 0, userData: u1, useShm: false, clientName: 'client', lastServerName: '' });
  });
  it('V2 login response status 0', () => {
    const b = encodeLoginResponse(cfg, L, { serverAck: 0, serverSeqStart: 0, serverSeqEnd: 0, userData: u1, status: 0, serverName: 'server', errorMsg: '' });
    expect(toHex(b)).toBe(toHex(V2));
    expect(decodeLoginResponse(cfg, L, V2)).toMatchObject({ status: 0, serverName: 'server', serverAck: 0, errorMsg: '' });
    const stale = V2.slice(); stale[16] = 0x70; // the reference's stale user-data byte decodes fine
    expect(decodeLoginResponse(cfg, L, stale)!.userData[0]).toBe(0x70);
  });
  it('V3 application message and V4 heartbeat', () => {
    const p = new Uint8Array(4); new DataView(p.buffer).setUint32(0, 777, true);
    expect(toHex(encodeMessage(1, p, 1))).toBe('0c0001000100000009030000' + '00000000');
    expect(toHex(encodeHeartbeat(1))).toBe('0800000001000000');
  });
  it('V5 relogin request and V6 response', () => {
    const b = encodeLoginRequest(cfg, L, { clientAck: 0, clientSeqStart: 2, clientSeqEnd: 2, userData: u1, useShm: false, clientName: 'client', lastServerName: 'server' });
    expect(toHex(b)).toBe(toHex(V5));
    const r = encodeLoginResponse(cfg, L, { serverAck: 2, serverSeqStart: 0, serverSeqEnd: 2, userData: u1, status: 0, serverName: 'server', errorMsg: '' });
    expect(toHex(r)).toBe(toHex(V6));
    expect(decodeLoginResponse(cfg, L, V6)).toMatchObject({ serverAck: 2, serverSeqStart: 0, serverSeqEnd: 2 });
  });
  it('V7 rejection "Already loggned on": seq and ack zeroed even if given', () => {
    const r = encodeLoginResponse(cfg, L, { serverAck: 9, serverSeqStart: 9, serverSeqEnd: 9, userData: u1, status: 2, serverName: 'server', errorMsg: 'Already loggned on' });
    expect(toHex(r)).toBe(toHex(V7));
    expect(decodeLoginResponse(cfg, L, V7)).toMatchObject({ status: 2, errorMsg: 'Already loggned on' });
  });
  it('V8 SHM first login = V1 with byte 17 = 1', () => {
    const b = encodeLoginRequest(cfg, L, { clientAck: 0, clientSeqStart: 0, clientSeqEnd: 0, userData: u1, useShm: true, clientName: 'client', lastServerName: '' });
    const v8 = V1.slice(); v8[17] = 1;
    expect(toHex(b)).toBe(toHex(v8));
    const odd = v8.slice(); odd[17] = 7;
    expect(decodeLoginRequest(cfg, L, odd).useShm).toBe(true);
  });
  it('V9 seq mismatch answer', () => {
    const r = encodeLoginResponse(cfg, L, { serverAck: 5, serverSeqStart: 3, serverSeqEnd: 7, userData: u1, status: 1, serverName: 'server', errorMsg: '' });
    expect(toHex(r)).toBe(toHex(V9));
  });
  it('error_msg of 32 bytes without NUL decodes as 32 characters; names get byte K-1 forced to NUL', () => {
    const b = V7.slice(); b.fill(0x41, L.rsp.errorMsg, L.rsp.errorMsg + 32);
    expect(decodeLoginResponse(cfg, L, b)!.errorMsg).toBe('A'.repeat(32));
    const q = V1.slice(); q.fill(0x62, L.req.clientName, L.req.clientName + 16);
    expect(decodeLoginRequest(cfg, L, q).clientName).toBe('b'.repeat(15));
  });
});

describe('login layout formulas §4.4–4.5', () => {
  const lay = (K: number, U: number, a: number) => loginLayout({ ...cfg, nameSize: K, loginUserDataSize: U, loginUserDataAlign: a, loginRspUserDataSize: U, loginRspUserDataAlign: a });
  it('defaults 52/56 and 68/72; U=16/a=8 → 72/72; K=32 → 84/88', () => {
    expect([L.reqSize, L.reqFrame, L.rspSize, L.rspFrame]).toEqual([52, 56, 68, 72]);
    const l = lay(16, 16, 8);
    expect([l.reqSize, l.reqFrame]).toEqual([72, 72]);
    const k = lay(32, 1, 1);
    expect([k.reqSize, k.reqFrame]).toEqual([84, 88]);
  });
  it('round trips for K ∈ {2,16,32,255} and (U,a) ∈ {(1,1),(2,2),(3,1),(16,8)}', () => {
    for (const K of [2, 16, 32, 255]) for (const [U, a] of [[1, 1], [2, 2], [3, 1], [16, 8]] as const) {
      const c = { ...cfg, nameSize: K, loginUserDataSize: U, loginUserDataAlign: a, loginRspUserDataSize: U, loginRspUserDataAlign: a };
      const l = loginLayout(c);
      const body = Math.ceil((9 + U + 2 * K) / Math.max(4, a)) * Math.max(4, a);
      expect(l.reqSize).toBe(8 + body);
      expect(l.reqFrame % 8).toBe(0);
      const ud = new Uint8Array(U).map((_, i) => i + 1);
      const name = 'n'.repeat(Math.min(K - 1, 5));
      const req = { clientAck: 7, clientSeqStart: 3, clientSeqEnd: 9, userData: ud, useShm: true, clientName: name, lastServerName: name };
      expect(decodeLoginRequest(c, l, encodeLoginRequest(c, l, req))).toEqual(req);
      const rsp = { serverAck: 1, serverSeqStart: 2, serverSeqEnd: 3, userData: ud, status: 0, serverName: name, errorMsg: '' };
      expect(decodeLoginResponse(c, l, encodeLoginResponse(c, l, rsp))).toEqual(rsp);
    }
  });
  it('the largest option values still give frames <= 65535', () => {
    expect(() => resolveCommon({ name: 'a', ptcpDir: '/tmp/x', nameSize: 256, loginUserDataSize: 4096 })).not.toThrow();
  });
  it('byteOrder big swaps header and seq fields only', () => {
    const c = { ...cfg, byteOrder: 'big' as const };
    const b = encodeLoginRequest(c, L, { clientAck: 1, clientSeqStart: 2, clientSeqEnd: 3, userData: new Uint8Array([9]), useShm: false, clientName: 'client', lastServerName: '' });
    expect(toHex(b.subarray(0, 17))).toBe('00340001000000010000000200000003' + '09');
    expect(toHex(encodeHeartbeat(1, false))).toBe('0008000000000001');
  });
});

describe('sequence arithmetic §5.1', () => {
  it('newer/inRange agree with a BigInt model near 0, 2^31 and 2^32-1', () => {
    const pts = [0, 1, 2, 2 ** 31 - 2, 2 ** 31 - 1, 2 ** 31, 2 ** 31 + 1, 2 ** 32 - 2, 2 ** 32 - 1];
    const model = (a: number, b: number) => { let d = (BigInt(a) - BigInt(b)) & 0xffffffffn; if (d >= 0x80000000n) d -= 0x100000000n; return d; };
    for (const a of pts) for (const b of pts) {
      expect(newer(a, b)).toBe(model(a, b) > 0n);
      for (const c of pts) expect(inRange(a, b, c)).toBe(model(a, b) >= 0n && model(c, a) >= 0n);
    }
  });
});

describe('names §4.11', () => {
  it('accept/reject table', () => {
    const ok = ['a', 'client', 'A1.b-c', 'x'.repeat(15)];
    const badStrict = ['', '../x', 'a/b', 'a_b', '.x', '-x', 'x'.repeat(16), 'é', 'a\u0001', 'a..b', 'a b'];
    for (const n of ok) expect(nameProblem(n, 16)).toBeUndefined();
    for (const n of badStrict) expect(nameProblem(n, 16)).toBeDefined();
    expect(nameProblem('a_b', 16, 'permissive')).toBeUndefined();
    expect(nameProblem('x'.repeat(100), 256)).toBeUndefined();
    expect(nameProblem('x'.repeat(101), 256)).toBe('too-long');
  });
});

describe('config validation §7', () => {
  const base = { name: 'a', ptcpDir: '/tmp/x' };
  const cases: Array<[string, Record<string, unknown>]> = [
    ['tcpQueueSize', { tcpQueueSize: 100 }], ['shmQueueSize', { shmQueueSize: 64 * 3 }], ['nameSize', { nameSize: 1 }],
    ['loginUserDataAlign', { loginUserDataSize: 3, loginUserDataAlign: 2 }], ['tcpQueueSize', { durability: 'msync', tcpQueueSize: 512 - 8 }],
    ['largeMessages', { largeMessages: { maxSize: 1 << 20 }, maxMessageSize: 1000 }], ['durability', { durability: 'x' }],
  ];
  it.each(cases)('%s', (option, extra) => {
    try { resolveCommon({ ...base, ...extra } as never); expect.unreachable(); } catch (e) {
      expect(isTcpshmError(e, 'ERR_INVALID_ARGUMENT')).toBe(true);
      expect((e as { details: { option: string } }).details.option).toBe(option);
    }
  });
});
