import { describe, expect, it } from 'vitest';
import { isShmkitError, objectName, objectPath, parseObjectName, PACKAGES, validateName, type PackageToken } from '../src/index.js';

function codeOf(f: () => unknown): string | undefined {
  try { f(); } catch (e) { return isShmkitError(e) ? `${e.code}:${String(e.details.reason)}` : 'other'; }
  return undefined;
}

// Seeded so a failure reproduces; stands in for the fast-check property of spec §8 row 8.
function rng(seed: number) { return () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32); }
const pick = (r: () => number, chars: string, n: number) => Array.from({ length: n }, () => chars[Math.floor(r() * chars.length)]).join('');

describe('object names', () => {
  it('parseObjectName inverts objectName for random valid names and parts', () => {
    const r = rng(42);
    const tokens = Object.keys(PACKAGES) as PackageToken[];
    // A package's part grammar is specific (a fixed set of parts); names may themselves contain dots.
    const partRe = /ring|readers|(?:seg|wake)\.[0-9]+/;
    const parts = ['ring', 'readers', 'seg', 'wake'];
    for (let i = 0; i < 2000; i++) {
      const pkg = tokens[Math.floor(r() * tokens.length)]!;
      const name = pick(r, 'ABCxyz0189', 1) + pick(r, 'abcXYZ019_-', Math.floor(r() * 30)) + (r() < 0.3 ? '.v' + pick(r, '0123', 2) : '');
      const p = parts[Math.floor(r() * parts.length)]!;
      const part = r() < 0.3 ? undefined : p.length > 4 || p === 'ring' ? p : `${p}.${Math.floor(r() * 99)}`;
      const full = objectName(pkg, name, part);
      const parsed = parseObjectName(full, () => partRe);
      expect(parsed).toMatchObject({ package: pkg, packageToken: pkg, name, part, temp: undefined });
    }
  });

  it('recognises temporary names and foreign files', () => {
    expect(parseObjectName('shmkit.rmp.orders.ring~1234-deadbeef', () => /ring|readers/)).toEqual({
      package: 'rmp', packageToken: 'rmp', name: 'orders', part: 'ring', temp: { pid: 1234, tag: 'deadbeef' },
    });
    expect(parseObjectName('other.rmp.x')).toBeUndefined();
    expect(parseObjectName('shmkit.rmp')).toBeUndefined();
    expect(parseObjectName('shmkit.future-pkg.svc.data.3')).toMatchObject({ package: undefined, packageToken: 'future-pkg', name: 'svc.data', part: '3' });
    expect(parseObjectName('shmkit.rmp.a.b', () => null)).toMatchObject({ name: 'a.b', part: undefined });
  });

  it('rejects bad names with ERR_INVALID_NAME and a reason', () => {
    expect(codeOf(() => validateName(''))).toBe('ERR_INVALID_NAME:grammar');
    expect(codeOf(() => validateName('a/b'))).toBe('ERR_INVALID_NAME:grammar');
    expect(codeOf(() => objectName('rmp', 'ok', 'Bad'))).toBe('ERR_INVALID_NAME:part-grammar');
    expect(codeOf(() => objectName('rmp', 'ok', 'a'.repeat(65)))).toBe('ERR_INVALID_NAME:part-too-long');
    expect(codeOf(() => objectPath('a/b'))).toBe('ERR_INVALID_NAME:not-an-object-name');
    expect(objectPath('/shmkit.rmp.orders.ring')).toBe('/dev/shm/shmkit.rmp.orders.ring');
  });
});
