// shmkit benchmark harness: process-per-role scenarios, warm-up, runs, median and p99.
// Usage: node benchmarks/run.mjs [--quick]
import { fork, spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Segment, WakeHandle, ffiNoop, currentCpu } from '@shmkit/shm-core';

const here = dirname(fileURLToPath(import.meta.url));
const quick = process.argv.includes('--quick');
const RUNS = quick ? 3 : 7;
const results = [];
const scenarios = [];
const children = new Set();
process.on('exit', () => { for (const c of children) c.kill('SIGKILL'); });

function spawnRole(name, args) {
  const c = spawn(process.execPath, [join(here, 'roles.mjs'), name, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(c); c.on('exit', () => children.delete(c));
  return c;
}
const firstLine = (c) => new Promise((res, rej) => {
  let buf = ''; const t = setTimeout(() => rej(new Error('role did not start')), 20_000);
  c.stdout.on('data', (d) => { buf += d; const i = buf.indexOf('\n'); if (i >= 0) { clearTimeout(t); res(buf.slice(0, i)); } });
});
const stats = (xs) => { const s = [...xs].sort((a, b) => a - b); const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))]; return { median: q(0.5), p99: q(0.99), min: s[0] }; };

function record(id, sizeBytes, unit, samples, extra = {}) {
  const st = stats(samples);
  const r = { id, sizeBytes, unit, median: st.median, p99: st.p99, min: st.min, runs: samples.length, waitMode: extra.waitMode ?? 'n/a', placement: extra.placement ?? 'unpinned (2 vCPUs, scheduler-placed)', node: process.version, ...extra };
  results.push(r);
  console.log(`SHMKIT-BENCH ${JSON.stringify(r)}`);
}
function progress(i, n, label) {
  const w = 24, f = Math.round((i / n) * w);
  process.stderr.write(`\r[${'#'.repeat(f)}${'.'.repeat(w - f)}] ${i}/${n} ${label.padEnd(28)}`);
}

// core.ffi-noop: ns per empty FFI call.
scenarios.push(['core.ffi-noop', async () => {
  const N = quick ? 200_000 : 2_000_000; const samples = [];
  for (let r = 0; r < RUNS + 1; r++) { const t = process.hrtime.bigint(); for (let i = 0; i < N; i++) ffiNoop(); const ns = Number(process.hrtime.bigint() - t) / N; if (r) samples.push(ns); }
  record('core.ffi-noop', 0, 'ns/call', samples);
}]);
// core.segment-open-close: ns to open (shm_open, mmap, one view, header checks) and close a segment.
scenarios.push(['core.segment-open-close', async () => {
  const name = `bench-view-${process.pid}`;
  const seg = Segment.create({ package: 'benchmarks', name, layoutMajor: 1, size: 65536 });
  try {
    const N = quick ? 1000 : 5000; const samples = [];
    for (let r = 0; r < RUNS + 1; r++) {
      const t = process.hrtime.bigint();
      for (let i = 0; i < N; i++) { const s = Segment.open({ package: 'benchmarks', name, layoutMajor: 1 }); s.close(); }
      const ns = Number(process.hrtime.bigint() - t) / N; if (r) samples.push(ns);
    }
    record('core.segment-open-close', 65536, 'ns/op', samples);
  } finally { seg.unlink(); seg.close(); }
}]);
// core.spin-rtt: round trip through one shm word between two processes, both spinning.
scenarios.push(['core.spin-rtt', async () => {
  const name = `bench-spin-${process.pid}`;
  const seg = Segment.create({ package: 'benchmarks', name, layoutMajor: 1, size: 4096 });
  const c = spawnRole('spin-echo', [name]);
  try {
    const w = seg.int32(64, 4);
    const end = Date.now() + 20_000;
    while (Atomics.load(w, 3) === 0) { if (Date.now() > end) throw new Error('echo did not start'); await new Promise((r) => setTimeout(r, 5)); }
    const N = quick ? 20_000 : 200_000; const samples = []; let v = 0;
    for (let r = 0; r < RUNS + 1; r++) {
      const t = process.hrtime.bigint();
      for (let i = 0; i < N; i++) {
        v += 1; Atomics.store(w, 1, v); v += 1;
        let k = 0; while (Atomics.load(w, 1) !== v) { if (++k > 1e9) throw new Error('echo stalled'); }
      }
      const us = Number(process.hrtime.bigint() - t) / N / 1000; if (r) samples.push(us);
    }
    record('core.spin-rtt', 4, 'us/rtt', samples, { waitMode: 'spin', cpu: currentCpu() });
    Atomics.store(w, 2, 1);
    await new Promise((r) => c.on('exit', r));
  } finally { c.kill('SIGKILL'); seg.unlink(); seg.close(); }
}]);
// core.wake-fifo: a parked process woken through a named FIFO watched by libuv; half the
// block-mode round trip is one wake-up (cross vCPU when the scheduler places them apart).
scenarios.push(['core.wake-fifo', async () => {
  const name = `bench-wake-${process.pid}`;
  const N = quick ? 300 : 3000;
  const mine = WakeHandle.createFifo('benchmarks', name, 'a');
  const c = spawnRole('fifo-echo', [name, String(N * (RUNS + 1))]);
  try {
    await firstLine(c);
    const peer = WakeHandle.fifoSignaller('benchmarks', name, 'b');
    const samples = [];
    for (let r = 0; r < RUNS + 1; r++) {
      const t = process.hrtime.bigint();
      for (let i = 0; i < N; i++) { peer.signal(); if (!(await mine.wait({ timeoutMs: 10_000 }))) throw new Error('wake lost'); }
      const us = Number(process.hrtime.bigint() - t) / N / 2000; if (r) samples.push(us);
    }
    peer.close();
    record('core.wake-fifo', 1, 'us/wake', samples, { waitMode: 'block (FIFO + uv_poll)' });
  } finally { c.kill('SIGKILL'); mine.close(); rmSync(`/dev/shm/shmkit.benchmarks.${name}.b`, { force: true }); }
}]);
// Baselines: node:net over UDS and TCP loopback, child_process IPC, ping-pong at 64 B and 64 KiB.
async function netRtt(kind, size) {
  const path = join(os.tmpdir(), `shmkit-bench-${process.pid}.sock`);
  rmSync(path, { force: true });
  const c = spawnRole('net-echo', [kind === 'uds' ? path : 'tcp']);
  try {
    const port = (await firstLine(c)).split(' ')[1];
    const sock = kind === 'uds' ? net.connect(path) : net.connect(Number(port), '127.0.0.1');
    sock.setNoDelay(true);
    await new Promise((r) => sock.once('connect', r));
    const msg = Buffer.alloc(size, 7);
    const N = quick ? (size > 1024 ? 300 : 2000) : (size > 1024 ? 2000 : 20000);
    const samples = [];
    for (let r = 0; r < RUNS + 1; r++) {
      const t = process.hrtime.bigint();
      for (let i = 0; i < N; i++) {
        await new Promise((res) => { let got = 0; const on = (d) => { got += d.length; if (got >= size) { sock.off('data', on); res(); } }; sock.on('data', on); sock.write(msg); });
      }
      const us = Number(process.hrtime.bigint() - t) / N / 1000; if (r) samples.push(us);
    }
    sock.destroy();
    record(`baseline.net-${kind}-rtt`, size, 'us/rtt', samples, { waitMode: 'block (libuv)' });
  } finally { c.kill('SIGKILL'); rmSync(path, { force: true }); }
}
async function ipcRtt(size) {
  const c = fork(join(here, 'roles.mjs'), ['ipc-echo'], { serialization: 'advanced', stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  children.add(c);
  try {
    const msg = Buffer.alloc(size, 7);
    const N = quick ? (size > 1024 ? 300 : 2000) : (size > 1024 ? 2000 : 10000);
    const samples = [];
    for (let r = 0; r < RUNS + 1; r++) {
      const t = process.hrtime.bigint();
      for (let i = 0; i < N; i++) await new Promise((res) => { c.once('message', res); c.send(msg); });
      const us = Number(process.hrtime.bigint() - t) / N / 1000; if (r) samples.push(us);
    }
    record('baseline.ipc-advanced-rtt', size, 'us/rtt', samples, { waitMode: 'block (libuv)' });
  } finally { c.kill('SIGKILL'); }
}
for (const size of [64, 65536]) {
  scenarios.push([`baseline.net-uds ${size}B`, () => netRtt('uds', size)]);
  scenarios.push([`baseline.net-tcp ${size}B`, () => netRtt('tcp', size)]);
  scenarios.push([`baseline.ipc ${size}B`, () => ipcRtt(size)]);
}

const started = Date.now();
for (let i = 0; i < scenarios.length; i++) { progress(i, scenarios.length, scenarios[i][0]); await scenarios[i][1](); }
progress(scenarios.length, scenarios.length, `done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
process.stderr.write('\n');

const outDir = join(here, 'results'); mkdirSync(outDir, { recursive: true });
const stamp = new Date().toISOString();
writeFileSync(join(outDir, quick ? 'latest-quick.json' : 'latest.json'), JSON.stringify({ stamp, quick, host: { cpus: os.cpus().length, model: os.cpus()[0]?.model }, results }, null, 2));
const spin = results.find((r) => r.id === 'core.spin-rtt');
const rows = results.map((r) => `| \`${r.id}\` | ${r.sizeBytes} | ${r.median.toFixed(3)} | ${r.p99.toFixed(3)} | ${r.unit} | ${r.waitMode} | ${r.placement} | ${spin && r.unit === 'us/rtt' ? (r.median / spin.median).toFixed(1) + '×' : ''} |`);
const md = `# shmkit benchmarks\n\nGenerated by \`pnpm bench${quick ? ':quick' : ''}\` on ${stamp} (${os.cpus().length} vCPUs, ${os.cpus()[0]?.model}, Node ${process.version}); ${RUNS} runs per cell after one warm-up run.\n\n| scenario | bytes | median | p99 | unit | wait mode | placement | vs core.spin-rtt |\n|---|---|---|---|---|---|---|---|\n${rows.join('\n')}\n\n![RTT vs payload](benchmarks.svg)\n\nNot measured yet: wake-up latency through eventfd and futex, same-vCPU vs cross-vCPU pinned placement, and the zeromq baseline.\n`;
const docs = join(here, '..', 'docs'); mkdirSync(docs, { recursive: true });
writeFileSync(join(docs, 'benchmarks.md'), md);
// SVG: RTT (log scale) per payload size for each RTT series.
const series = [...new Set(results.filter((r) => r.unit === 'us/rtt').map((r) => r.id))];
const W = 640, H = 320, x0 = 80, y0 = 20, pw = 520, ph = 240; const ly = (v) => y0 + ph - ((Math.log10(v) + 1) / 4) * ph; // 0.1 µs .. 1000 µs
const sizes = [4, 64, 65536]; const lx = (s) => x0 + (sizes.indexOf(sizes.reduce((a, b) => (Math.abs(b - s) < Math.abs(a - s) ? b : a))) / (sizes.length - 1)) * pw;
const colors = ['#d62728', '#1f77b4', '#2ca02c', '#9467bd', '#ff7f0e'];
const paths = series.map((id, i) => { const pts = results.filter((r) => r.id === id).map((r) => `${lx(r.sizeBytes).toFixed(1)},${ly(r.median).toFixed(1)}`); return `<polyline fill="none" stroke="${colors[i % 5]}" stroke-width="2" points="${pts.join(' ')}"/>${pts.map((p) => `<circle cx="${p.split(',')[0]}" cy="${p.split(',')[1]}" r="3" fill="${colors[i % 5]}"/>`).join('')}<text x="${x0 + 10}" y="${y0 + 14 + i * 14}" font-size="11" fill="${colors[i % 5]}">${id}</text>`; });
const axis = [0.1, 1, 10, 100, 1000].map((v) => `<text x="${x0 - 6}" y="${ly(v) + 4}" font-size="10" text-anchor="end">${v} µs</text><line x1="${x0}" x2="${x0 + pw}" y1="${ly(v)}" y2="${ly(v)}" stroke="#eee"/>`).join('') + sizes.map((s) => `<text x="${lx(s)}" y="${y0 + ph + 16}" font-size="10" text-anchor="middle">${s} B</text>`).join('');
writeFileSync(join(docs, 'benchmarks.svg'), `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>${axis}${paths.join('')}</svg>\n`);
