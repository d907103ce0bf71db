import { readFileSync, existsSync } from 'node:fs';

/** The echo check of spec §8: nothing lost, nothing duplicated beyond the crash windows, order kept. */
export function echoCheck(logPath: string, total: number, allowed: Map<number, number>): { entries: number; replays: number } {
  const log = existsSync(logPath) ? readFileSync(logPath) : Buffer.alloc(0);
  let expected = 0, prev = -1, replays = 0;
  const left = new Map(allowed);
  for (let off = 0; off + 8 <= log.length; off += 8) {
    const first = log.readUInt32LE(off), k = log.readUInt32LE(off + 4);
    if (first === expected) { prev = first; expected += k; continue; }
    if (first === prev && (left.get(first) ?? 0) > 0) { left.set(first, left.get(first)! - 1); replays++; continue; }
    throw new Error(`echo check failed at entry ${off / 8}: got ${first} (k ${k}), expected ${expected}, previous ${prev}, allowed ${JSON.stringify([...allowed])}`);
  }
  if (expected < total) throw new Error(`echo check: stopped at ${expected} of ${total}`);
  return { entries: log.length / 8, replays };
}
