import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { until, uniqueName } from '@shmkit/testkit';
import { TopicChannel, type TopicChannelOptions, type TopicMessage } from '../src/index.js';

export const fixture = (f: string) => fileURLToPath(new URL(`./fixtures/${f}`, import.meta.url));

const made = new Set<string>();
const open = new Set<TopicChannel>();
/** A fresh channel (ring 64 KiB, 4 slots unless given); removed by cleanup(). */
export function fresh(label: string, opts: TopicChannelOptions = {}): { name: string; ch: TopicChannel } {
  const name = uniqueName(label);
  made.add(name);
  const ch = TopicChannel.create(name, { ringSize: 64 * 1024, maxReaders: 4, ...opts });
  open.add(ch);
  return { name, ch };
}
export function keep(ch: TopicChannel): TopicChannel { open.add(ch); return ch; }
export function track(name: string): string { made.add(name); return name; }
export function cleanup(): void {
  for (const c of open) c.close();
  open.clear();
  for (const n of made) TopicChannel.unlink(n);
  made.clear();
}

/** Resolves once this handle's reader has consumed everything written so far. */
export async function settle(ch: TopicChannel, what = 'reader caught up'): Promise<void> {
  const rmp = ch._rmp;
  const r = ch._reader;
  if (r === undefined) return;
  await until(() => {
    const s = rmp.stats();
    const me = s.readers.find((x) => x.slot === r.slot)!;
    return !me.active || me.position === s.freePos;
  }, 10_000, what);
}

export const enc = (s: string) => new TextEncoder().encode(s);
export const dec = (m: TopicMessage | Uint8Array) => new TextDecoder().decode(m instanceof Uint8Array ? m : m.payload);

/** Deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Loopback multicast self-check: does a 0-byte datagram to group:port reach a member joined on 127.0.0.1? */
export async function multicastWorks(group: string, port: number): Promise<boolean> {
  const r = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  const s = dgram.createSocket('udp4');
  try {
    return await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), 500);
      r.on('message', () => { clearTimeout(t); resolve(true); });
      r.on('error', () => { clearTimeout(t); resolve(false); });
      r.bind(port, () => {
        try { r.addMembership(group, '127.0.0.1'); } catch { clearTimeout(t); resolve(false); return; }
        s.bind(0, () => {
          try { s.setMulticastInterface('127.0.0.1'); s.setMulticastLoopback(true); s.send(Buffer.alloc(0), port, group); } catch { clearTimeout(t); resolve(false); }
        });
      });
    });
  } finally { r.close(); s.close(); }
}
