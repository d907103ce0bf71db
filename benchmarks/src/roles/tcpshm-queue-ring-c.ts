// tcpshm-queue.echo-shm-c: the echo method of tcpshm-queue.md §9 run by a native C program of our own
// (benchmarks/native/tcpshm-ring-echo.c) over the same ring layout (§4.10), built with `cc` at run time and
// cached by source hash. The two role processes only start, feed and stop the C processes, which inherit
// their CPU placement; the C client writes its per-message RTTs to a file that the client role returns.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { defineRole, type RoleContext } from '../api.js';

const here = dirname(fileURLToPath(import.meta.url));
/** dist/roles/ → benchmarks/native/ */
const SOURCE = resolve(here, '..', '..', 'native', 'tcpshm-ring-echo.c');
const Q = 1 << 20;

let ctx: RoleContext, bin = '', server: ChildProcess | undefined, c2s = '', s2c = '', outFile = '';

/** Compiles the program once per source version (atomic rename into the cache). */
function build(): string {
  if (spawnSync('cc', ['--version'], { stdio: 'ignore' }).status !== 0) {
    throw new Error('skipped: no C compiler (`cc`) on this machine; the native ring echo is built at run time');
  }
  const src = readFileSync(SOURCE);
  const dir = join(os.tmpdir(), 'shmkit-bench-native');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `tcpshm-ring-echo-${createHash('sha256').update(src).digest('hex').slice(0, 12)}`);
  if (!existsSync(out)) {
    const tmp = `${out}.${process.pid}`;
    execFileSync('cc', ['-O2', '-std=gnu11', '-o', tmp, SOURCE, '-lrt'], { stdio: ['ignore', 'ignore', 'inherit'] });
    renameSync(tmp, out);
  }
  return out;
}

/** Waits for the C server's "ready" line, bounded by a deadline. */
function ready(p: ChildProcess, ms: number): Promise<void> {
  return new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error('C ring server not ready in time')), ms);
    p.once('exit', (code) => { clearTimeout(t); rej(new Error(`C ring server exited (${code})`)); });
    createInterface({ input: p.stdout! }).on('line', (l) => { if (l === 'ready') { clearTimeout(t); res(); } });
  });
}

defineRole({
  async setup(c) {
    ctx = c;
    bin = build();
    // shmkit-prefixed names with the cell name in them: the runner's leak check sees them.
    c2s = `/shmkit.tcpshm-queue.${c.name}c_${c.name}s.shm`;
    s2c = `/shmkit.tcpshm-queue.${c.name}s_${c.name}c.shm`;
    if (c.role === 'server') {
      server = spawn(bin, ['server', c2s, s2c, String(Q)], { stdio: ['ignore', 'pipe', 'inherit'] });
      await ready(server, 10_000);
    }
    return {};
  },

  async run(n, warmup) {
    if (ctx.role === 'server') return; // the C server echoes until teardown
    outFile = join(os.tmpdir(), `shmkit-bench-ring-c-${process.pid}.f64`);
    const code = await new Promise<number | null>((res, rej) => {
      const p = spawn(bin, ['client', c2s, s2c, String(Q), String(ctx.size), String(n), String(warmup), outFile], { stdio: ['ignore', 'ignore', 'inherit'] });
      const t = setTimeout(() => { p.kill('SIGKILL'); rej(new Error('C ring client timed out')); }, 60_000 + n / 10);
      p.once('exit', (cd) => { clearTimeout(t); res(cd); });
      p.once('error', (e) => { clearTimeout(t); rej(e); });
    });
    if (code !== 0) throw new Error(`C ring client exited with ${code}`);
    const b = readFileSync(outFile);
    rmSync(outFile, { force: true });
    return new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
  },

  async teardown() {
    if (server && server.exitCode === null) {
      const exited = new Promise((res) => server!.once('exit', res));
      server.kill('SIGTERM');
      await exited;
    }
    if (ctx.role === 'server') for (const n of [c2s, s2c]) rmSync(`/dev/shm${n}`, { force: true });
    if (outFile) rmSync(outFile, { force: true });
  },
});
