// One role of a benchmark scenario, run in its own process: `node roles.mjs <role> <args...>`.
import net from 'node:net';
import { Segment } from '@shmkit/shm-core';

const [role, ...args] = process.argv.slice(2);
const deadline = Date.now() + 120_000;

if (role === 'spin-echo') {
  // Answers every odd value in word 1 with value+1 until told to stop (word 2).
  const seg = Segment.open({ package: 'benchmarks', name: args[0], layoutMajor: 1 });
  const w = seg.int32(64, 4);
  Atomics.store(w, 3, 1); // ready
  let last = 0;
  for (let spins = 0; Atomics.load(w, 2) === 0; spins++) {
    const v = Atomics.load(w, 1);
    if (v !== last && (v & 1) === 1) { Atomics.store(w, 1, v + 1); last = v + 1; }
    if ((spins & 0xfffff) === 0 && Date.now() > deadline) break;
  }
  seg.close();
} else if (role === 'net-echo') {
  // Echoes bytes back on a Unix socket path or a TCP port.
  const server = net.createServer((s) => { s.setNoDelay?.(true); s.on('data', (d) => s.write(d)); s.on('error', () => {}); s.on('close', () => server.close()); });
  const target = args[0];
  const onListen = () => { const a = server.address(); process.stdout.write(`listening ${typeof a === 'string' ? a : a.port}\n`); };
  if (target === 'tcp') server.listen(0, '127.0.0.1', onListen); else server.listen(target, onListen);
  setTimeout(() => process.exit(0), 120_000).unref();
} else if (role === 'ipc-echo') {
  process.on('message', (m) => process.send(m));
  process.on('disconnect', () => process.exit(0));
}

if (role === 'fifo-echo') {
  // Parks on FIFO <name>.b, answers each wake-up on FIFO <name>.a (block mode, no spinning).
  const { WakeHandle } = await import('@shmkit/shm-core');
  const mine = WakeHandle.createFifo('benchmarks', args[0], 'b');
  const peer = WakeHandle.fifoSignaller('benchmarks', args[0], 'a');
  process.stdout.write('ready\n');
  for (let i = 0; i < Number(args[1]) && Date.now() < deadline; i++) {
    if (!(await mine.wait({ timeoutMs: 10_000 }))) break;
    peer.signal();
  }
  mine.close(); peer.close();
}
