// CPU placement (testkit-and-benchmarks.md §5.5): taskset when available, recorded with every figure.
import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import os from 'node:os';
import { delimiter, join } from 'node:path';
import type { Placement, RoleSpec } from './api.js';

export interface CpuPlacement { taskset: string | null; cpus: number[]; canPin: boolean; canCross: boolean }

function findOnPath(cmd: string): string | null {
  for (const d of (process.env.PATH ?? '').split(delimiter)) {
    if (!d) continue;
    const p = join(d, cmd);
    try { accessSync(p, constants.X_OK); return p; } catch { /* next */ }
  }
  return null;
}
/** Parses `taskset -p` output ("... current affinity mask: 3") into a CPU list. */
export function parseMask(out: string): number[] {
  const m = /mask:\s*([0-9a-f,]+)/i.exec(out);
  if (!m) return [];
  let mask = BigInt('0x' + m[1]!.replace(/,/g, ''));
  const cpus: number[] = [];
  for (let i = 0; mask > 0n; i++, mask >>= 1n) if (mask & 1n) cpus.push(i);
  return cpus;
}
let cached: CpuPlacement | undefined;
export function cpuPlacement(): CpuPlacement {
  if (cached) return cached;
  const taskset = findOnPath('taskset');
  let cpus: number[] = [];
  if (taskset) { try { cpus = parseMask(execFileSync(taskset, ['-p', String(process.pid)], { encoding: 'utf8' })); } catch { cpus = []; } }
  if (cpus.length === 0) cpus = Array.from({ length: os.availableParallelism() }, (_, i) => i);
  const canPin = taskset !== null && cpus.length >= 1;
  cached = { taskset, cpus, canPin, canCross: canPin && cpus.length >= 2 };
  return cached;
}
/** Why a placement cannot be applied here, or null when it can. */
export function placementUnavailable(p: Placement, cp: CpuPlacement = cpuPlacement()): 'no-taskset' | 'one-cpu' | null {
  if (p === 'unpinned') return null;
  if (!cp.canPin) return 'no-taskset';
  if (p === 'cross' && !cp.canCross) return 'one-cpu';
  return null;
}
/** CPUs for each role: same = all on cpus[0]; cross = A on cpus[0], B on cpus[1], others round-robin. */
export function roleCpus(p: Placement, roles: RoleSpec[], cp: CpuPlacement = cpuPlacement()): Record<string, number[] | null> {
  const out: Record<string, number[] | null> = {};
  let rr = 0;
  for (const r of roles) {
    if (p === 'unpinned') out[r.name] = null;
    else if (p === 'same') out[r.name] = [cp.cpus[0]!];
    else if (r.cpu === 'A') out[r.name] = [cp.cpus[0]!];
    else if (r.cpu === 'B') out[r.name] = [cp.cpus[1 % cp.cpus.length]!];
    else out[r.name] = [cp.cpus[rr++ % cp.cpus.length]!];
  }
  return out;
}
export function cpuOfB(p: Placement, cp: CpuPlacement = cpuPlacement()): number[] | null {
  if (p === 'unpinned') return null;
  return p === 'same' ? [cp.cpus[0]!] : [cp.cpus[1 % cp.cpus.length]!];
}
