import { describe, expect, it, afterEach } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { echoCheck } from './echo-check.js';
import { tempDir } from './util.js';

let t: { dir: string; cleanup(): void } | undefined;
afterEach(() => { t?.cleanup(); t = undefined; });
const logOf = (entries: Array<[number, number]>) => {
  t ??= tempDir('check');
  const b = Buffer.alloc(entries.length * 8);
  entries.forEach(([f, k], i) => { b.writeUInt32LE(f, i * 8); b.writeUInt32LE(k, i * 8 + 4); });
  const p = join(t.dir, `log${Math.random()}`); writeFileSync(p, b); return p;
};

describe('echo check harness', () => {
  it('accepts in-order logs and replays explained by a crash window', () => {
    expect(echoCheck(logOf([[0, 2], [2, 1], [2, 1], [3, 4]]), 7, new Map([[2, 1]]))).toEqual({ entries: 4, replays: 1 });
  });
  it('rejects a gap, an unexplained duplicate, a reordering and a short log', () => {
    expect(() => echoCheck(logOf([[0, 2], [3, 1]]), 4, new Map())).toThrow(/expected 2/);
    expect(() => echoCheck(logOf([[0, 2], [2, 1], [2, 1]]), 3, new Map())).toThrow(/failed/);
    expect(() => echoCheck(logOf([[2, 1], [0, 2]]), 3, new Map())).toThrow(/failed/);
    expect(() => echoCheck(logOf([[0, 2]]), 3, new Map())).toThrow(/stopped at 2/);
  });
});
