import { TcpshmError } from '../errors.js';

const STRICT = /^[A-Za-z0-9][A-Za-z0-9.-]*$/;
const PERMISSIVE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Why a name is invalid under §4.11, or undefined if it is valid. */
export function nameProblem(name: unknown, nameSize: number, rule: 'strict' | 'permissive' = 'strict'): string | undefined {
  if (typeof name !== 'string') return 'not-a-string';
  if (name.length === 0) return 'empty';
  if (name.length > Math.min(nameSize - 1, 100)) return 'too-long';
  if (!(rule === 'strict' ? STRICT : PERMISSIVE).test(name)) return 'grammar';
  if (name.includes('..')) return 'grammar';
  return undefined;
}

export function validateLocalName(name: unknown, nameSize: number, rule: 'strict' | 'permissive'): asserts name is string {
  const p = nameProblem(name, nameSize, rule);
  if (p !== undefined) {
    throw new TcpshmError('ERR_INVALID_NAME', `invalid name ${JSON.stringify(name)}: ${p}`, { details: { name, reason: p } });
  }
}

/** fnv1a32 of the ASCII name (default group choice). */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i) & 0xff; h = Math.imul(h, 0x01000193) >>> 0; }
  return h >>> 0;
}
