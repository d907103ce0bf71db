import { describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { uniqueName } from '@shmkit/testkit';
import { isShmkitError, isValidName, objectName, objectPath, parseObjectName, PACKAGES, Segment, validateName, validatePart, type PackageToken } from '../src/index.js';
import { native } from '../src/native.js';

function codeOf(f: () => unknown): string | undefined {
  try { f(); } catch (e) { return isShmkitError(e) ? `${e.code}:${String(e.details.reason)}` : 'other'; }
  return undefined;
}

const chars = (alphabet: string, minLength: number, maxLength: number) =>
  fc.array(fc.constantFrom(...alphabet), { minLength, maxLength }).map((a) => a.join(''));
const tokens = Object.keys(PACKAGES) as PackageToken[];

describe('object names', () => {
  it('parseObjectName inverts objectName for random valid names and parts (§8 test 8)', () => {
    // A package's part grammar is specific (a fixed set of parts); names may themselves contain dots.
    const partRe = /ring|readers|(?:seg|wake)\.[0-9]+/;
    const name = fc.tuple(chars('ABCxyz0189', 1, 1), chars('abcXYZ019_-', 0, 60), fc.option(chars('0123', 1, 3), { nil: undefined }))
      .map(([first, rest, version]) => first + rest + (version === undefined ? '' : `.v${version}`))
      .filter((n) => n.length <= 100);
    const part = fc.option(fc.oneof(fc.constantFrom('ring', 'readers'), fc.tuple(fc.constantFrom('seg', 'wake'), fc.nat(999)).map(([p, n]) => `${p}.${n}`)), { nil: undefined });
    fc.assert(fc.property(fc.constantFrom(...tokens), name, part, (pkg, n, pt) => {
      const parsed = parseObjectName(objectName(pkg, n, pt), () => partRe);
      expect(parsed).toMatchObject({ package: pkg, packageToken: pkg, name: n, part: pt, temp: undefined });
    }), { numRuns: 2000 });
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

  it('invalid user names never parse as a valid name (§8 test 8)', () => {
    const invalidName = chars('aZ9._-/ \0\né~', 0, 12).filter((n) => !isValidName(n));
    fc.assert(fc.property(fc.constantFrom(...tokens), invalidName, (pkg, name) => {
      expect(codeOf(() => objectName(pkg, name))).toMatch(/^ERR_INVALID_NAME:(empty|bad-char|bad-first-char)$/);
      // Neither for a package without parts nor for one with a fixed part grammar.
      expect(parseObjectName(`shmkit.${pkg}.${name}`, () => null)).toBeUndefined();
      expect(parseObjectName(`shmkit.${pkg}.${name}.ring`, () => /ring|readers/)).toBeUndefined();
    }), { numRuns: 2000 });
  });

});
