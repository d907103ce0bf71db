// Baseline cp-ipc (§5.7): child_process IPC with advanced serialization; this role starts the echo itself.
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineRole, type RoleContext } from '../api.js';

let ctx: RoleContext, child: ChildProcess | undefined;
const echoMain = join(dirname(fileURLToPath(import.meta.url)), '..', 'cp-echo.js');

defineRole({
  async setup(c) {
    ctx = c;
    const node = [process.execPath, echoMain];
    const cmd = c.cpuB ? ['taskset', '-c', c.cpuB.join(','), ...node] : node;
    child = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
    await new Promise<void>((res, rej) => { child!.once('spawn', res); child!.once('error', rej); });
  },
  async run(n, warmup) {
    const c = child!, size = ctx.size, total = n + warmup;
    const payload = Buffer.allocUnsafe(size);
    const lat = new Float64Array(n);
    let done: ((m: { seq: number; payload: Uint8Array }) => void) | null = null;
    let fail: ((e: Error) => void) | null = null;
    const onMsg = (m: { seq: number; payload: Uint8Array }) => done?.(m);
    const onExit = () => fail?.(new Error('echo exited'));
    c.on('message', onMsg); c.once('exit', onExit);
    try {
      for (let i = 1; i <= total; i++) {
        const b = i & 0xff;
        payload.fill(b);
        const t = process.hrtime.bigint();
        const m = await new Promise<{ seq: number; payload: Uint8Array }>((res, rej) => { done = res; fail = rej; c.send({ seq: i, payload }); });
        const p = m.payload;
        if (m.seq !== i || p.length !== size || (size > 0 && (p[0] !== b || p[size - 1] !== b))) throw new Error(`echo mismatch at ${i}`);
        if ((i & 1023) === 0) for (let k = 0; k < size; k++) if (p[k] !== b) throw new Error(`payload byte ${k} wrong at ${i}`);
        const dt = Number(process.hrtime.bigint() - t);
        if (i > warmup) lat[i - warmup - 1] = dt;
      }
    } finally { c.off('message', onMsg); c.off('exit', onExit); }
    return lat;
  },
  async teardown() {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((res) => c.once('exit', () => res()));
    c.disconnect();
    const t = setTimeout(() => c.kill('SIGKILL'), 5_000);
    await exited; clearTimeout(t);
  },
});
