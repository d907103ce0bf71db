import { ShmkitError } from './errors.js';

/** Package tokens used in object names, with the u16 package id stored in headers. */
export const PACKAGE_IDS = {
  core: 1, rmp: 2, topic: 3, tcpshm: 4, elkodon: 5, flow: 6, shmipc: 7, testkit: 8, bench: 9,
} as const;
export type PackageToken = keyof typeof PACKAGE_IDS;

const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const PART = /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/;

export function isValidName(name: unknown): name is string {
  return typeof name === 'string' && USER_NAME.test(name) && !name.includes('..');
}

/** `/shmkit.<package>.<name>[.<part>]`, validated before any syscall. */
export function objectName(pkg: PackageToken, name: string, part?: string): string {
  if (!Object.hasOwn(PACKAGE_IDS, pkg)) throw new ShmkitError('ERR_INVALID_NAME', `unknown package token: ${String(pkg)}`);
  if (!isValidName(name)) throw new ShmkitError('ERR_INVALID_NAME', `invalid name: ${JSON.stringify(name)}`, { details: { name } });
  if (part !== undefined && !PART.test(part)) throw new ShmkitError('ERR_INVALID_NAME', `invalid part: ${JSON.stringify(part)}`, { details: { part } });
  return `/shmkit.${pkg}.${name}${part === undefined ? '' : `.${part}`}`;
}
