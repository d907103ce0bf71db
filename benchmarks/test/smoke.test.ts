import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const runner = new URL('../dist/run.js', import.meta.url).pathname;
const out = mkdtempSync(join(os.tmpdir(), 'shmkit-bench-smoke-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));
const shmObjects = () => new Set(readdirSync('/dev/shm').filter((f) => f.startsWith('shmkit.benchmarks.')));

async function bench(args: string[]) {
  const before = shmObjects();
  const r = await run(process.execPath, [runner, ...args, '--out', out], { maxBuffer: 1 << 24 }).catch((e: { code: number; stdout: string; stderr: string }) => e);
  const lines = r.stdout.trim().split('\n');
  const leaked = [...shmObjects()].filter((f) => !before.has(f));
  return { code: (r as { code?: number }).code ?? 0, lines, stderr: r.stderr, leaked };
}

describe('runner smoke', () => {
  it('quick core.ffi-noop: one SHMKIT-BENCH line per cell, the DONE line, valid JSON, no shm object left', async () => {
    const r = await bench(['--quick', '--filter', 'core.ffi*', '--no-baselines']);
    expect(r.code, r.stderr).toBe(0);
    const cells = r.lines.filter((l) => l.startsWith('SHMKIT-BENCH {')).map((l) => JSON.parse(l.slice(13)));
    expect(cells.map((c) => [c.scenario, c.status])).toEqual([['core.ffi-noop', 'ok']]);
    expect(r.lines.at(-1)).toMatch(/^SHMKIT-BENCH-DONE \{/);
    expect(r.lines).toHaveLength(2);
    const done = JSON.parse(r.lines.at(-1)!.slice('SHMKIT-BENCH-DONE '.length));
    expect(done).toMatchObject({ cells: 1, ok: 1, failed: 0, skipped: 0 });
    const json = JSON.parse(readFileSync(done.json, 'utf8'));
    expect(json).toMatchObject({ schemaVersion: 1, quick: true });
    expect(json.machine.vcpus).toBeGreaterThan(0);
    expect(json.cells[0].runs[0].n).toBe(20);
    expect(r.leaked).toEqual([]);
  });
  it('baselines net-uds and net-tcp (and zeromq when it loads) give ok pingpong cells', async () => {
    const r = await bench(['--filter', 'core.pingpong', '--size', '64', '--placement', 'unpinned', '--mode', 'hybrid', '--runs', '1', '--iterations', '200', '--no-write-docs']);
    expect(r.code, r.stderr).toBe(0);
    const cells = r.lines.filter((l) => l.startsWith('SHMKIT-BENCH {')).map((l) => JSON.parse(l.slice(13)));
    const by = Object.fromEntries(cells.map((c) => [c.impl, c]));
    expect(by['net-uds'].status).toBe('ok');
    expect(by['net-tcp'].status).toBe('ok');
    expect(by['cp-ipc'].status).toBe('ok');
    expect(['ok', 'skipped']).toContain(by.zeromq.status);
    if (by.zeromq.status === 'skipped') expect(by.zeromq.reason).toBe('zeromq-unavailable');
    expect(by['shm-core'].status).toBe('ok');
    expect(Object.keys(by['shm-core'].ratio_p50).sort()).toEqual(cells.filter((c) => c.impl !== 'shm-core' && c.status === 'ok').map((c) => c.impl).sort());
    expect(r.leaked).toEqual([]);
  });
  it('a filter matching nothing exits 2; an unknown flag exits 2 with usage', async () => {
    const a = await bench(['--filter', 'nothing.*']);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/no scenario matches/);
    const b = await bench(['--bogus']);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/usage:/);
  });
});
