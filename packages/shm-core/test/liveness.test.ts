import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { killAll, spawnChild, spawnFixture, uniqueName, until } from '@shmkit/testkit';
import { isShmkitError, lockRangeFd, objectName, objectPath, parseProcStat, processInfo, processLiveness, selfIdentity, watchProcessExit } from '../src/index.js';
import type { P as RangeP } from './fixtures/range-holder.js';
import type { P as StepsP } from './fixtures/point-steps.js';

const steps = new URL('./fixtures/point-steps.ts', import.meta.url);
afterEach(() => killAll());

/** A child that stays alive (waits for a message it never gets) until the test kills it. */
async function idleChild() {
  const c = await spawnChild<StepsP>(steps, { args: ['idle'] });
  await c.ready;
  return c;
}
const startTimeOf = (pid: number) => parseProcStat(readFileSync(`/proc/${pid}/stat`, 'latin1')).startTime;

describe('process liveness', () => {
  it('self is alive, with a pid namespace; a wrong start time (pid reused) is dead; another namespace is unknown', () => {
    const me = selfIdentity();
    expect(me.pid).toBe(process.pid);
    expect(me.startTime).toBe(startTimeOf(process.pid));
    expect(typeof me.pidNs).toBe('number');
    expect(processLiveness(me)).toBe('alive');
    expect(processLiveness({ pid: me.pid })).toBe('alive');
    expect(processLiveness({ pid: me.pid, startTime: me.startTime + 1 })).toBe('dead');
    expect(processLiveness({ pid: me.pid, startTime: me.startTime, pidNs: me.pidNs! + 1 })).toBe('unknown');
  });

  it('a SIGKILLed child is dead', async () => {
    const c = await idleChild();
    const id = { pid: c.pid, startTime: startTimeOf(c.pid) };
    expect(processLiveness(id)).toBe('alive');
    await c.kill('SIGKILL');
    expect(processLiveness(id)).toBe('dead');
  });

  it('a zombie (exited, not reaped) is dead', async () => {
    // The inner shell prints its pid and kills itself; its parent exec'd into sleep, which never reaps it.
    const sh = spawn('/bin/sh', ['-c', 'sh -c \'echo $$; kill -9 $$\' & exec sleep 30'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const line = await new Promise<string>((resolve) => createInterface({ input: sh.stdout }).once('line', resolve));
      const pid = Number(line);
      await until(() => parseProcStat(readFileSync(`/proc/${pid}/stat`, 'latin1')).state === 'Z', 5000, 'zombie');
      expect(processLiveness({ pid })).toBe('dead');
      expect(processLiveness({ pid, startTime: startTimeOf(pid) })).toBe('dead');
    } finally { sh.kill('SIGKILL'); }
  });

  it('parseProcStat: comm with spaces and parentheses, state Z, malformed lines', () => {
    const tail = Array.from({ length: 49 }, (_, i) => String(i + 4)).join(' '); // fields 4..52
    const s = parseProcStat(`4242 (a) (b c)) Z ${tail}`);
    expect(s).toEqual({ pid: 4242, comm: 'a) (b c)', state: 'Z', ppid: 4, startTime: 22 });
    expect(parseProcStat(`7 (x y) S ${tail}\n`).comm).toBe('x y');
    for (const bad of ['', 'garbage', '12 (x) S 1 2', `x (c) S ${tail}`]) {
      expect(() => parseProcStat(bad)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    }
    expect(() => processLiveness({ pid: 0 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    expect(() => processLiveness({ pid: -1 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    expect(() => processLiveness({ pid: 1.5 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
  });

  it('processInfo of a child gives its exe, argv, cwd and uid; undefined once it is gone', async () => {
    const c = await idleChild();
    const info = processInfo(c.pid)!;
    expect(info.exePath).toBe(realpathSync(process.execPath));
    expect(info.cmdline).toContain('idle');
    expect(info.cwd).toBe(process.cwd());
    expect(info.uid).toBe(process.getuid!());
    expect(info.startTime).toBe(startTimeOf(c.pid));
    await c.kill();
    expect(processInfo(c.pid)).toBeUndefined();
  });

  it('watchProcessExit resolves when the child is SIGKILLed, at once for a dead or reused identity, and aborts', async () => {
    const c = await idleChild();
    const id = { pid: c.pid, startTime: startTimeOf(c.pid) };
    let settled = false;
    const p = watchProcessExit(id).then(() => { settled = true; });
    const ac = new AbortController();
    const aborted = watchProcessExit(id, { signal: ac.signal });
    ac.abort();
    await expect(aborted).rejects.toSatisfy((e) => isShmkitError(e, 'ERR_ABORTED'));
    expect(settled).toBe(false);
    process.kill(c.pid, 'SIGKILL');
    await p;
    expect(settled).toBe(true);
    await c.exited({ expect: 'SIGKILL' });
    await watchProcessExit(id); // already dead
    await watchProcessExit({ pid: process.pid, startTime: selfIdentity().startTime + 1 }); // pid reused
    expect(() => watchProcessExit({ pid: 1, startTime: -1 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
  });

  it('a pending watchProcessExit survives garbage collection (fixture with gc exposed)', async () => {
    const c = spawnFixture(fileURLToPath(new URL('./fixtures/exit-watch-gc.ts', import.meta.url)));
    expect(await c.waitLine((l) => l === 'resolved' || l === 'timeout')).toBe('resolved');
    expect(await c.exited).toBe(0);
  });
});

describe('lockRangeFd (OFD byte-range locks)', () => {
  it('byte 0 held by a child: ours is refused on byte 0, free on byte 1, free on byte 0 once the child is SIGKILLed', async () => {
    const path = objectPath(objectName('testkit', uniqueName('range'), 'roles'));
    writeFileSync(path, Buffer.alloc(64), { mode: 0o600 });
    const fd = openSync(path, 'r+');
    try {
      const c = await spawnChild<RangeP>(new URL('./fixtures/range-holder.ts', import.meta.url), { args: [path] });
      expect((await c.next('locked')).ok).toBe(true);
      expect(lockRangeFd(fd, 0, 1, 'exclusive')).toBe(false);
      expect(lockRangeFd(fd, 0, 1, 'shared')).toBe(false);
      expect(lockRangeFd(fd, 1, 1, 'exclusive')).toBe(true);
      // Another fd of ours opened and closed does not drop our byte-1 lock (OFD, not classic fcntl).
      closeSync(openSync(path, 'r'));
      await c.kill('SIGKILL');
      expect(lockRangeFd(fd, 0, 1, 'exclusive')).toBe(true);
      expect(lockRangeFd(fd, 0, 2, 'unlock')).toBe(true);
      for (const [off, len] of [[0, 0], [-1, 1], [0, 1.5], [0, -2], [Number.NaN, 1]] as const) {
        expect(() => lockRangeFd(fd, off, len, 'exclusive')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
      }
    } finally { closeSync(fd); rmSync(path, { force: true }); }
  });
});
