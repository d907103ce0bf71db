#!/usr/bin/env node
// rmp.throughput (spec 9): 1 writer process → 1 reader process through a 4 MiB ring, per payload size,
// write API (write / writeMany(64)) and reader wait mode. Self-contained; needs `pnpm build` first.
//   node bench/throughput.mjs [--quick] [--sizes 8,64] [--modes spin,hybrid,block] [--seconds 2]
// Prints one JSON object per cell (and `SHMKIT-BENCH {json}` lines), then a JSON summary array.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { RmpChannel } from '../dist/index.js';

const self = fileURLToPath(import.meta.url);

if (process.argv[2] === '--reader') {
  const [, , , name, count, mode] = process.argv;
  const n = Number(count);
  const ch = await RmpChannel.open(name, { waitInitMs: 5000 });
  const r = ch.createReader({ wait: { mode }, publishLagBytes: ch.ringSize / 8 });
  console.log('ready');
  let got = 0, bad = 0, first = 0n, last = 0n, sum = 0;
  let expect = -1;
  const sink = (p, seq) => {
    if (got === 0) { first = process.hrtime.bigint(); expect = seq; }
    if (seq !== expect) bad++;
    expect = seq + 1;
    for (let i = 0; i < p.length; i += 64) sum = (sum + p[i]) | 0; // touch the payload
    got++;
  };
  while (got < n) {
    if (r.drain(sink, 4096) === 0) {
      if (r.expired) { bad++; r.resync(); }
      await r.waitForData({ timeoutMs: 10_000 });
    }
  }
  last = process.hrtime.bigint();
  console.log(`done ${JSON.stringify({ got, bad, first: String(first), last: String(last), sum, overruns: r.stats.overruns, parks: r.stats.parks })}`);
  ch.close();
  process.exit(0);
}

const arg = (k, d) => { const i = process.argv.indexOf(k); return i > 0 ? process.argv[i + 1] : d; };
const quick = process.argv.includes('--quick');
const sizes = (arg('--sizes', quick ? '64,65536' : '8,64,512,4096,65536')).split(',').map(Number);
const modes = (arg('--modes', quick ? 'hybrid' : 'spin,hybrid,block')).split(',');
const apis = quick ? ['write'] : ['write', 'writeMany64'];
const seconds = Number(arg('--seconds', quick ? '0.5' : '2'));

function child(name, count, mode) {
  const p = spawn(process.execPath, [self, '--reader', name, String(count), mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = [];
  const waiters = [];
  createInterface({ input: p.stdout }).on('line', (l) => { lines.push(l); for (const w of waiters.splice(0)) w(); });
  const line = (pre) => new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error(`reader: no ${pre}`)), 120_000);
    const check = () => { const l = lines.find((x) => x.startsWith(pre)); if (l) { clearTimeout(t); res(l); } else waiters.push(check); };
    check();
  });
  return { p, line };
}

const results = [];
for (const size of sizes) for (const api of apis) for (const mode of modes) {
  // message count: about `seconds` of a rough rate estimate, capped at 1 M and at 2 GiB of payload
  const count = Math.max(1000, Math.min(1_000_000, Math.floor((seconds * 2e9) / Math.max(size * 4, 400)), Math.floor(2 ** 31 / size)));
  const name = `bench-tp-${process.pid}-${size}-${api}-${mode}`;
  const ch = RmpChannel.create(name, { ringSize: 4 * 1024 * 1024, maxReaders: 2 });
  try {
    const rd = child(name, count, mode);
    await rd.line('ready');
    const w = ch.createWriter({ backpressure: { policy: 'wait', timeoutMs: 5000, onTimeout: 'throw' } });
    const payload = new Uint8Array(size).fill(7);
    const batch = Array.from({ length: 64 }, () => payload);
    const t0 = process.hrtime.bigint();
    if (api === 'write') for (let i = 0; i < count; i++) w.write(payload);
    else for (let i = 0; i < count; i += 64) w.writeMany(i + 64 <= count ? batch : batch.slice(0, count - i));
    const t1 = process.hrtime.bigint();
    const done = JSON.parse((await rd.line('done')).slice(5));
    const drainS = Number(BigInt(done.last) - BigInt(done.first)) / 1e9;
    const e2eS = Number(BigInt(done.last) - t0) / 1e9;
    const cell = {
      id: 'rmp.throughput', size, api, mode, placement: 'unpinned', messages: count, received: done.got, seqErrors: done.bad,
      overruns: done.overruns, readerParks: done.parks,
      drainMsgPerSec: Math.round(done.got / drainS), e2eMsgPerSec: Math.round(done.got / e2eS),
      e2eMBps: Math.round((done.got * size) / e2eS / 1e6), writerSec: Number(t1 - t0) / 1e9,
      backpressureEvents: w.stats.backpressureEvents,
    };
    results.push(cell);
    console.log(`SHMKIT-BENCH ${JSON.stringify(cell)}`);
    await new Promise((r) => rd.p.once('exit', r));
  } finally { ch.close(); RmpChannel.unlink(name); }
}
console.log(JSON.stringify(results, null, 2));
