// `pnpm lint` step: @arethetypeswrong/cli on the packed tarball of every publishable (non-private)
// workspace package. Offline: `attw --pack` packs locally. Exits 1 if any package has a problem.
// Profile node16: engines is Node >= 20.19, so node10 resolution (no `exports` subpaths) is out of scope.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const attw = join(root, 'node_modules', '.bin', 'attw');
const dirs = ['native', ...readdirSync(join(root, 'packages')).map((d) => join('packages', d))];
let failed = 0, checked = 0;
for (const d of dirs) {
  const pj = join(root, d, 'package.json');
  if (!existsSync(pj)) continue;
  const pkg = JSON.parse(readFileSync(pj, 'utf8'));
  if (pkg.private) continue;
  checked++;
  const r = spawnSync(attw, ['--pack', join(root, d), '--format', 'ascii', '--profile', 'node16'], { encoding: 'utf8' });
  const ok = r.status === 0;
  if (!ok) failed++;
  process.stdout.write(`attw ${pkg.name}: ${ok ? 'ok' : 'PROBLEMS'}\n`);
  if (!ok) process.stdout.write(r.stdout + r.stderr);
}
process.stdout.write(`attw: ${checked} packages checked, ${failed} with problems\n`);
process.exit(failed ? 1 : 0);
