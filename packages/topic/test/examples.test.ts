import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// The README / spec 3.1 examples, run as is with `node` against the built package (pnpm build first).
const dir = fileURLToPath(new URL('../examples/', import.meta.url));
const run = (f: string) => new Promise<string>((resolve, reject) =>
  execFile(process.execPath, [f], { cwd: dir, timeout: 30_000 }, (err, out) => (err ? reject(err) : resolve(out))));
const built = existsSync(fileURLToPath(new URL('../dist/index.js', import.meta.url)));

describe.skipIf(!built)('runnable examples', () => {
  it('iterate.mjs: two orders, not the other segment', async () => {
    expect((await run('iterate.mjs')).trim().split('\n')).toEqual(['0 /orders/eu order 1', '2 /orders/us order 2']);
  });
  it('callbacks.mjs: post-to-descendants reaches both cars', async () => {
    expect((await run('callbacks.mjs')).trim().split('\n')).toEqual(['car 7 got /cars true', 'car 8 got /cars', 'car 7 got /cars/7 false']);
  });
  it('overrun.mjs: events, overrun, abort', async () => {
    const out = (await run('overrun.mjs')).trim().split('\n');
    expect(out[0]).toBe('reader active');
    expect(out[1]).toMatch(/^lost \d+ bytes/);
    expect(out.slice(-2)).toEqual(['reader idle', 'ERR_ABORTED']);
  });
  it('coalesce.mjs: 100 staged messages arrive', async () => {
    expect((await run('coalesce.mjs')).trim()).toBe('100');
  });
});
