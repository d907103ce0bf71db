import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { leftovers, uniqueName } from '@shmkit/testkit';
import { RobustMutex, Segment } from '../src/index.js';

describe('RobustMutex and worker threads (§3.8, §8 row 22)', () => {
  it('a worker thread that exits holding the mutex hands the next locker recovered, then acquired', async () => {
    const name = uniqueName('mworker');
    let m!: RobustMutex; // the creator's handle, from init
    const seg = Segment.create({ package: 'testkit', name, size: 4096, layoutMajor: 1, init: (s) => { m = RobustMutex.init(s, 64); } });
    try {
      // The worker runs the CJS build (workers do not get the TS loader); the mutex is process-shared,
      // so a second copy of shm-core in the worker meets the same pthread mutex.
      const lib = fileURLToPath(new URL('../dist/index.cjs', import.meta.url));
      expect(existsSync(lib), 'run pnpm build first').toBe(true);
      const w = new Worker(`
        const { parentPort, workerData: { lib, name, offset } } = require('node:worker_threads');
        const { RobustMutex, Segment } = require(lib);
        const seg = Segment.open({ package: 'testkit', name, layoutMajor: 1 });
        parentPort.postMessage(RobustMutex.attach(seg, offset).lock());
        // The thread ends holding the lock (its mapping stays until the process exits).`,
      { eval: true, workerData: { lib, name, offset: 64 } });
      const got = await new Promise<unknown>((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
      expect(got).toBe('acquired');
      expect(m.tryLock()).toBe('busy'); // held by the live worker thread
      expect(await new Promise((resolve) => w.once('exit', resolve))).toBe(0);
      expect(m.lock()).toBe('recovered');
      m.unlock();
      expect(m.lock()).toBe('acquired');
      m.unlock();
    } finally { seg.unlink(); seg.close(); }
    expect(leftovers(name)).toEqual([]);
  });
});
