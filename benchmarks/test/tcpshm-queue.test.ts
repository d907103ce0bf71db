// The tcpshm-queue echo roles run real server/client processes over TCP and SHM and leave nothing behind.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const runner = new URL('../dist/run.js', import.meta.url).pathname;
const out = mkdtempSync(join(os.tmpdir(), 'shmkit-bench-tcpshm-test-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));
const leftovers = () => new Set([
  ...readdirSync('/dev/shm').filter((f) => f.startsWith('shmkit.tcpshm-queue.bench-') || f.startsWith('shmkit.tcpshm-queue.srv-')).map((f) => `/dev/shm/${f}`),
  ...readdirSync(os.tmpdir()).filter((f) => f.startsWith('shmkit-bench-tcpshm-') && !f.includes('-test-')).map((f) => join(os.tmpdir(), f)),
]);

describe('tcpshm-queue echo scenarios', () => {
  it('echo-tcp and echo-shm (block, no spinning) give ok cells with ratios to net-uds and remove their state', { timeout: 120_000 }, async () => {
    const before = leftovers();
    const r = await run(process.execPath, [runner, '--filter', 'tcpshm-queue.echo-tcp', '--filter', 'tcpshm-queue.echo-shm', '--size', '36',
      '--placement', 'unpinned', '--mode', 'block', '--runs', '2', '--iterations', '100', '--no-write-docs', '--out', out], { maxBuffer: 1 << 24 });
    const cells = r.stdout.trim().split('\n').filter((l) => l.startsWith('SHMKIT-BENCH {')).map((l) => JSON.parse(l.slice(13)));
    const ours = cells.filter((c) => c.impl === 'tcpshm-queue');
    expect(ours.map((c) => [c.scenario, c.mode, c.size, c.status])).toEqual([
      ['tcpshm-queue.echo-tcp', 'n/a', 36, 'ok'], ['tcpshm-queue.echo-shm', 'block', 36, 'ok']]);
    for (const c of ours) expect(Object.keys(c.ratio_p50).sort()).toEqual(cells.filter((b) => b.scenario === c.scenario && b.impl !== 'tcpshm-queue' && b.status === 'ok').map((b) => b.impl).sort());
    expect(ours.every((c) => c.ratio_p50['net-uds'] > 0)).toBe(true);
    expect([...leftovers()].filter((f) => !before.has(f))).toEqual([]);
  });
});
