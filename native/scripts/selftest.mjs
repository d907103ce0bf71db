// Compiles test/selftest.c with every src/*.c except the N-API entry and runs it.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cc = process.env.CC || 'cc';
const src = readdirSync(join(root, 'src')).filter((f) => f.endsWith('.c') && f !== 'napi_entry.c').map((f) => join(root, 'src', f));
mkdirSync(join(root, 'build'), { recursive: true });
const exe = join(root, 'build', 'selftest');
const flags = ['-O1', '-g', '-std=gnu11', '-Wall', '-Wextra', '-D_GNU_SOURCE', '-pthread'];
if (process.env.SHMKIT_NATIVE_WERROR === '1') flags.push('-Werror');
const c = spawnSync(cc, [...flags, '-o', exe, join(root, 'test', 'selftest.c'), ...src, '-lrt'], { stdio: 'inherit' });
if (c.status !== 0) process.exit(1);
const r = spawnSync(exe, [], { stdio: 'inherit' });
process.exit(r.status ?? 1);
