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

/** `/shmkit.<package>.<name>[.<part>]`, validated before any syscall. */
export function objectName(pkg: PackageToken, name: string, part?: string): string {
  if (!Object.hasOwn(PACKAGES, pkg)) throw new ShmkitError('ERR_INVALID_NAME', `unknown package token: ${String(pkg)}`);
  if (!isValidName(name)) throw new ShmkitError('ERR_INVALID_NAME', `invalid name: ${JSON.stringify(name)}`, { details: { name } });
  if (part !== undefined && (part.length > 64 || !PART_RE.test(part))) throw new ShmkitError('ERR_INVALID_NAME', `invalid part: ${JSON.stringify(part)}`, { details: { part } });
  return `/shmkit.${pkg}.${name}${part === undefined ? '' : `.${part}`}`;
}
