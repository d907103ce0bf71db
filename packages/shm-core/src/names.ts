import { ShmkitError } from './errors.js';

/** Package tokens used in object names, with the u16 package id stored in headers. */
export const PACKAGES = {
  'shm-core': 1, rmp: 2, topic: 3, 'elkodon-events': 4, 'tcpshm-queue': 5, 'flow-session': 6, shmipc: 7,
  testkit: 100, benchmarks: 101,
} as const;
export type PackageToken = keyof typeof PACKAGES;

export const USER_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
export const PART_RE = /^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)*$/;

export function isValidName(name: unknown): name is string {
  return typeof name === 'string' && USER_NAME_RE.test(name) && !name.includes('..');
}

export const SHM_DIR = '/dev/shm' as const;
const MAX_FILE_NAME = 255;
const TEMP_RE = /^(.*)~(\d+)-([0-9a-f]{8})$/;

/** `details.reason` of ERR_INVALID_NAME (shm-core.md §5.1). */
export type NameRejectReason = 'empty' | 'too-long' | 'bad-char' | 'bad-first-char' | 'bad-part' | 'unknown-package';

function invalid(name: unknown, reason: NameRejectReason, why: string): never {
  throw new ShmkitError('ERR_INVALID_NAME', `invalid name ${JSON.stringify(String(name))}: ${why}`, { details: { name, reason } });
}

const NAME_FIRST_RE = /^[A-Za-z0-9]/;
const NAME_CHARS_RE = /^[A-Za-z0-9._-]*$/;

/** Throws ERR_INVALID_NAME (details: {name, reason}) before any syscall. */
export function validateName(name: string): void {
  if (typeof name !== 'string') invalid(name, 'bad-char', `a name is a string, got ${typeof name}`);
  if (USER_NAME_RE.test(name) && !name.includes('..')) return; // isValidName, without narrowing name to never below
  if (name.length === 0) invalid(name, 'empty', 'empty');
  if (name.length > 100) invalid(name, 'too-long', `${name.length} characters, at most 100`);
  if (!NAME_FIRST_RE.test(name)) {
    // A first character that is allowed nowhere is a bad character, not only a bad start.
    invalid(name, NAME_CHARS_RE.test(name[0]!) ? 'bad-first-char' : 'bad-char', 'must start with a letter or digit');
  }
  invalid(name, 'bad-char', NAME_CHARS_RE.test(name) ? 'contains ".."' : 'only letters, digits, ".", "_" and "-"');
}

/** Throws ERR_INVALID_NAME (reason 'bad-part') unless `part` follows PART_RE and is at most 64 characters. */
export function validatePart(part: string): void {
  if (typeof part !== 'string') invalid(part, 'bad-part', `a part is a string, got ${typeof part}`);
  if (part.length > 64) invalid(part, 'bad-part', `part of ${part.length} characters, at most 64`);
  if (!PART_RE.test(part)) invalid(part, 'bad-part', 'part grammar is [a-z0-9][a-z0-9_-]* tokens joined by single dots');
}

/** `/shmkit.<package>.<name>[.<part>]`, validated before any syscall. */
export function objectName(pkg: PackageToken, name: string, part?: string): string {
  if (typeof pkg !== 'string' || !Object.hasOwn(PACKAGES, pkg)) invalid(pkg, 'unknown-package', 'not a package token of the §3.4 table');
  validateName(name);
  if (part !== undefined) validatePart(part);
  const full = `/shmkit.${pkg}.${name}${part === undefined ? '' : `.${part}`}`;
  if (full.length - 1 > MAX_FILE_NAME) invalid(full, 'too-long', `object name longer than ${MAX_FILE_NAME} bytes`);
  return full;
}

/** '/shmkit.rmp.orders.ring' → '/dev/shm/shmkit.rmp.orders.ring'. */
export function objectPath(objName: string): string {
  if (typeof objName !== 'string') invalid(objName, 'bad-char', `an object name is a string, got ${typeof objName}`);
  const bare = objName.startsWith('/') ? objName.slice(1) : objName;
  if (bare.length === 0) invalid(objName, 'empty', 'empty object name');
  if (bare.includes('/')) invalid(objName, 'bad-char', 'an object name has no "/" after the first character');
  return `${SHM_DIR}/${bare}`;
}

export interface ParsedObjectName {
  package: PackageToken | undefined; packageToken: string; name: string; part: string | undefined;
  /** Set for temporary names '<...>~<pid>-<hex8>' left while an object is being built. */
  temp: { pid: number; tag: string } | undefined;
}

/**
 * Parses 'shmkit.<pkg>.<rest>' (leading '/' optional); undefined if not shmkit-named.
 * `partPattern(pkg)` is the package's part grammar: null means the package never uses parts; undefined
 * (package unknown) takes the last dot-separated token as the part, for display only.
 */
export function parseObjectName(fileName: string, partPattern?: (pkg: string) => RegExp | null | undefined): ParsedObjectName | undefined {
  let s = fileName.startsWith('/') ? fileName.slice(1) : fileName;
  if (!s.startsWith('shmkit.') || s.length > MAX_FILE_NAME) return undefined;
  let temp: ParsedObjectName['temp'];
  const t = TEMP_RE.exec(s);
  if (t) { s = t[1]!; temp = { pid: Number(t[2]), tag: t[3]! }; }
  const afterPrefix = s.slice('shmkit.'.length);
  const dot = afterPrefix.indexOf('.');
  if (dot <= 0) return undefined;
  const packageToken = afterPrefix.slice(0, dot);
  const rest = afterPrefix.slice(dot + 1);
  const pkg = Object.hasOwn(PACKAGES, packageToken) ? (packageToken as PackageToken) : undefined;
  const pattern = partPattern?.(packageToken);
  const result = (name: string, part: string | undefined): ParsedObjectName | undefined =>
    (isValidName(name) ? { package: pkg, packageToken, name, part, temp } : undefined);
  if (pattern === null) return result(rest, undefined);
  if (pattern === undefined) {
    const last = rest.lastIndexOf('.');
    if (last > 0 && PART_RE.test(rest.slice(last + 1))) return result(rest.slice(0, last), rest.slice(last + 1));
    return result(rest, undefined);
  }
  const anchored = new RegExp(`^(?:${pattern.source})$`, pattern.flags.replace(/[gy]/g, ''));
  // Shortest suffix '.<part>' that matches the grammar and leaves a valid user name in front.
  for (let i = rest.lastIndexOf('.'); i > 0; i = rest.lastIndexOf('.', i - 1)) {
    const part = rest.slice(i + 1);
    if (anchored.test(part) && isValidName(rest.slice(0, i))) return result(rest.slice(0, i), part);
  }
  return result(rest, undefined);
}
