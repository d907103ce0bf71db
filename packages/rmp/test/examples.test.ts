import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ex = (f: string) => fileURLToPath(new URL(`../examples/${f}`, import.meta.url));

// The README's examples (spec 3.4) run as is with `node example.mjs` against the built package.
describe('examples', () => {
  it('broadcast.mjs prints three messages in order', async () => {
    const { stdout } = await run(process.execPath, [ex('broadcast.mjs')], { timeout: 20_000 });
    expect(stdout).toBe('0 hello 0\n1 hello 1\n2 hello 2\n');
  });
  it('listen-block.mjs receives 1000 messages and exits', async () => {
    const { stdout } = await run(process.execPath, [ex('listen-block.mjs')], { timeout: 20_000 });
    expect(stdout).toBe('');
  });
  it('zero-copy.mjs commits the validated price', async () => {
    const { stdout } = await run(process.execPath, [ex('zero-copy.mjs')], { timeout: 20_000 });
    expect(stdout).toBe('42.5\n');
  });
  it('backpressure.mjs laps its own reader, reports the loss and resyncs', async () => {
    const { stdout } = await run(process.execPath, [ex('backpressure.mjs')], { timeout: 20_000 });
    expect(stdout).toMatch(/^lost \d+ bytes, (\d+|unknown) messages\nafter resync 1000 1\n$/);
  });
});
