import { fileURLToPath } from 'node:url';
import { spawnChild, uniqueName, until, type ChildHandle, type PointAction } from '@shmkit/testkit';
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

/** A fixture child (testkit `spawnChild`) armed at one shm-core test point (spec §5.10). */
export function spawnAt(file: string, args: string[], point: string, action: PointAction = 'kill', hit = 1): Promise<ChildHandle> {
  return spawnChild(fixture(file), { args, points: [{ name: point, hit, action }], timeoutMs: 60_000 });
}
/** The first stdout line of a spawnChild child that starts with `prefix` (deadline-bounded). */
export async function outLine(k: ChildHandle, prefix: string, ms = 30_000): Promise<string> {
  let found: string | undefined;
  await until(() => (found = k.output.stdout().split('\n').find((l) => l.startsWith(prefix))) !== undefined, ms, `stdout line ${prefix}`);
  return found!;
}
