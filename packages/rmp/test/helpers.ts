import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { uniqueName, until, type Child } from '@shmkit/testkit';
import { RmpChannel, type RmpCreateOptions } from '../src/index.js';
import { RING } from '../src/layout.js';

export const fixture = (f: string) => fileURLToPath(new URL(`./fixtures/${f}`, import.meta.url));

const made = new Set<string>();
/** A fresh channel (ring 1024 B, 3 slots unless given); removed by cleanup(). */
export function fresh(label: string, opts: RmpCreateOptions & { initialPosition?: bigint } = {}): { name: string; ch: RmpChannel } {
  const name = uniqueName(label);
  made.add(name);
  const ch = RmpChannel.create(name, { ringSize: 1024, maxReaders: 3, ...opts });
  return { name, ch };
}
export function track(name: string): string { made.add(name); return name; }
export function cleanup(): void { for (const n of made) RmpChannel.unlink(n); made.clear(); }

export function channelId(ch: RmpChannel): bigint { return ch._core.ringSeg.dataView().getBigUint64(RING.channelId, true); }

export function pattern(len: number, k: number): Uint8Array {
  const p = new Uint8Array(len);
  for (let j = 0; j < len; j++) p[j] = (k * 31 + j) & 255;
  return p;
}
export function isPattern(p: Uint8Array, len: number, k: number): boolean {
  if (p.length !== len) return false;
  for (let j = 0; j < len; j++) if (p[j] !== ((k * 31 + j) & 255)) return false;
  return true;
}
export function collect(r: { drain(s: (p: Uint8Array, seq: number) => void, max?: number): number }, max?: number): Array<{ seq: number; payload: Uint8Array }> {
  const out: Array<{ seq: number; payload: Uint8Array }> = [];
  r.drain((p, seq) => out.push({ seq, payload: p.slice() }), max);
  return out;
}

/** SIGCONT a child paused at a test point, once it has really stopped (its SIGSTOP is self-sent). */
export async function resume(k: Child): Promise<void> {
  const state = () => { try { const st = readFileSync(`/proc/${k.proc.pid}/stat`, 'utf8'); return st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3); } catch { return '?'; } };
  await until(() => state() === 'T' || state() === 't', 10_000, 'child stopped');
  k.kill('SIGCONT');
}
