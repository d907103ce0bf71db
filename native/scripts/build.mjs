// Compiles build/libshmkit.so with the system C compiler; dependency-free.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'build', 'libshmkit.so');
if (process.platform !== 'linux') { console.log('[native] skipped: shmkit needs Linux'); process.exit(0); }
const cc = process.env.CC || 'cc';
const version = spawnSync(cc, ['--version'], { encoding: 'utf8' });
if (version.error || version.status !== 0) {
  if (existsSync(out)) { console.log('[native] no compiler, keeping existing build/libshmkit.so'); process.exit(0); }
  console.error('[native] no C compiler found; install gcc or clang, or set CC'); process.exit(1);
}
const flags = ['-O2', '-g', '-fPIC', '-shared', '-std=gnu11', '-Wall', '-Wextra', '-fvisibility=hidden', '-D_GNU_SOURCE', '-pthread'];
if (process.env.SHMKIT_NATIVE_DEBUG === '1') flags.splice(0, 1, '-O0', '-g3');
if (process.env.SHMKIT_NATIVE_WERROR === '1') flags.push('-Werror');
const srcDir = join(root, 'src');
const files = readdirSync(srcDir).filter((f) => /\.[ch]$/.test(f)).sort();
const hash = createHash('sha256').update(version.stdout.split('\n')[0]).update(flags.join(' '));
for (const f of files) hash.update(f).update(readFileSync(join(srcDir, f)));
const stamp = hash.digest('hex');
const stampFile = join(root, 'build', '.stamp');
if (existsSync(out) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) {
  console.log('[native] up to date'); process.exit(0);
}
mkdirSync(join(root, 'build'), { recursive: true });
const tmp = `${out}.tmp-${process.pid}`;
const cfiles = files.filter((f) => f.endsWith('.c')).map((f) => join(srcDir, f));
const r = spawnSync(cc, [...flags, '-o', tmp, ...cfiles, '-lrt'], { encoding: 'utf8' });
if (r.status !== 0) { console.error(r.stdout + r.stderr); rmSync(tmp, { force: true }); process.exit(1); }
if (r.stderr) process.stderr.write(r.stderr);
renameSync(tmp, out);
writeFileSync(stampFile, stamp);
console.log('[native] built build/libshmkit.so');
