import { describe, expect, it, vi } from 'vitest';
import { uniqueName } from '@shmkit/testkit';
import { isShmkitError, isValidName, objectName, objectPath, parseObjectName, PACKAGES, Segment, validateName, validatePart, type PackageToken } from '../src/index.js';
import { native } from '../src/native.js';

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

  it('rejects bad names with ERR_INVALID_NAME and the §5.1 reason', () => {
    expect(codeOf(() => validateName(''))).toBe('ERR_INVALID_NAME:empty');
    expect(codeOf(() => validateName('a'.repeat(101)))).toBe('ERR_INVALID_NAME:too-long');
    expect(codeOf(() => validateName('a/b'))).toBe('ERR_INVALID_NAME:bad-char');
    expect(codeOf(() => validateName('a..b'))).toBe('ERR_INVALID_NAME:bad-char');
    expect(codeOf(() => validateName(42 as unknown as string))).toBe('ERR_INVALID_NAME:bad-char');
    expect(codeOf(() => objectName('rmp', 'ok', 'Bad'))).toBe('ERR_INVALID_NAME:bad-part');
    expect(codeOf(() => objectName('rmp', 'ok', 'a'.repeat(65)))).toBe('ERR_INVALID_NAME:bad-part');
    expect(codeOf(() => objectName('nope' as PackageToken, 'ok'))).toBe('ERR_INVALID_NAME:unknown-package');
    expect(codeOf(() => objectPath('a/b'))).toBe('ERR_INVALID_NAME:bad-char');
    expect(codeOf(() => objectPath('/'))).toBe('ERR_INVALID_NAME:empty');
    expect(objectPath('/shmkit.rmp.orders.ring')).toBe('/dev/shm/shmkit.rmp.orders.ring');
    expect(validateName('a'.repeat(100))).toBeUndefined();
  });

  // §7 rows 1-3 (§8 test 7): every listed input, with its reason.
  it.each([
    ['', 'empty'], ['a'.repeat(101), 'too-long'], ['a/b', 'bad-char'], ['.a', 'bad-first-char'], ['-a', 'bad-first-char'],
    ['_a', 'bad-first-char'], ['a b', 'bad-char'], ['a\0b', 'bad-char'], ['é', 'bad-char'], ['a\n', 'bad-char'], [' a', 'bad-char'],
  ])('user name %j → %s', (name, reason) => {
    expect(codeOf(() => validateName(name))).toBe(`ERR_INVALID_NAME:${reason}`);
    expect(codeOf(() => objectName('rmp', name))).toBe(`ERR_INVALID_NAME:${reason}`);
  });
  it.each(['Ring', 'wake..3', '.x', '', 'a'.repeat(65), 'x.', 'a b'])('part %j → bad-part', (part) => {
    expect(codeOf(() => validatePart(part))).toBe('ERR_INVALID_NAME:bad-part');
    expect(codeOf(() => objectName('rmp', 'ok', part))).toBe('ERR_INVALID_NAME:bad-part');
  });

  it('no native call is made before a bad name is rejected (§5.1 step 2: spy on the native table)', () => {
    const table = native() as unknown as Record<string, unknown>;
    const spies = Object.keys(table).filter((k) => typeof table[k] === 'function').map((k) => vi.spyOn(table as Record<string, () => unknown>, k));
    try {
      expect(spies.length).toBeGreaterThan(20);
      const bad: Array<[string, () => unknown]> = [
        ['create', () => Segment.create({ package: 'testkit', name: 'a b', size: 4096, layoutMajor: 1 })],
        ['open', () => Segment.open({ package: 'testkit', name: '.a', layoutMajor: 1 })],
        ['openOrCreate', () => Segment.openOrCreate({ package: 'testkit', name: 'é', size: 4096, layoutMajor: 1 })],
        ['part', () => Segment.create({ package: 'testkit', name: 'ok', part: 'wake..3', size: 4096, layoutMajor: 1 })],
        ['package', () => Segment.open({ package: 'nope' as PackageToken, name: 'ok', layoutMajor: 1 })],
      ];
      for (const [what, f] of bad) expect(codeOf(f), what).toMatch(/^ERR_INVALID_NAME:/);
      for (const s of spies) expect(s, 'a native call before validation').not.toHaveBeenCalled();
      // The spies do see calls: a valid name reaches the shim.
      expect(codeOf(() => Segment.open({ package: 'testkit', name: uniqueName('absent'), layoutMajor: 1 }))).toBe('ERR_NOT_FOUND:undefined');
      expect(spies.some((s) => s.mock.calls.length > 0)).toBe(true);
    } finally { for (const s of spies) s.mockRestore(); }
  });

  it('invalid user names never parse as a valid name (§8 test 8, seeded property)', () => {
    const r = rng(7);
    const tokens = Object.keys(PACKAGES) as PackageToken[];
    const alphabet = 'aZ9._-/ \0\né~';
    let invalid = 0;
    for (let i = 0; i < 3000; i++) {
      const name = pick(r, alphabet, Math.floor(r() * 12));
      if (isValidName(name)) continue;
      invalid++;
      const pkg = tokens[Math.floor(r() * tokens.length)]!;
      expect(codeOf(() => objectName(pkg, name))).toMatch(/^ERR_INVALID_NAME:(empty|bad-char|bad-first-char)$/);
      // Neither for a package without parts nor for one with a fixed part grammar.
      expect(parseObjectName(`shmkit.${pkg}.${name}`, () => null)).toBeUndefined();
      expect(parseObjectName(`shmkit.${pkg}.${name}.ring`, () => /ring|readers/)).toBeUndefined();
    }
    expect(invalid).toBeGreaterThan(1000);
  });
});
