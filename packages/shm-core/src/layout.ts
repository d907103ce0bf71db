// Struct layout builder (§3.6): named fields at checked offsets, bound once to a segment as atomic accessors.
import { ShmkitError } from './errors.js';
import { RobustMutex } from './mutex.js';
import { native } from './native.js';
import type { Segment } from './segment.js';
import { Doorbell, DOORBELL_SIZE } from './wake.js';

export type ScalarType = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'u64' | 'i64' | 'f64';
type IntType = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32';
export interface FieldSpec {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  type: ScalarType | 'bytes' | 'mutex' | 'doorbell' | Layout<any>;
  /** Explicit offset (checked); default: next naturally aligned offset. */
  offset?: number;
  /** Array length, default 1. */
  count?: number;
  /** bytes: byte length; mutex: slot length (default 64, must be ≥ the native mutex size). */
  length?: number;
  /** Shown by describe() and `shmkit inspect --raw`. */
  doc?: string;
}
export interface LayoutField { name: string; offset: number; size: number; type: string; count: number; doc?: string }

/** Accessor for 8/16/32-bit integer fields (Atomics on the matching typed array). */
export interface IntField {
  readonly index: number;
  readonly array: Int32Array | Uint32Array | Int16Array | Uint16Array | Int8Array | Uint8Array;
  load(): number; store(v: number): void;
  add(d: number): number; sub(d: number): number;
  and(v: number): number; or(v: number): number; xor(v: number): number;
  exchange(v: number): number;
  cas(expected: number, replacement: number): number;
}
/** Accessor for u64/i64 fields (BigUint64Array/BigInt64Array). */
export interface BigField {
  readonly index: number; readonly array: BigInt64Array | BigUint64Array;
  load(): bigint; loadNumber(): number;
  store(v: bigint | number): void;
  add(d: bigint | number): bigint; exchange(v: bigint | number): bigint;
  cas(expected: bigint | number, replacement: bigint | number): bigint;
}
/** f64 fields are NOT atomic (DataView); use only for values written once before publication. */
export interface F64Field { get(): number; set(v: number): void }
export interface BytesField { readonly offset: number; readonly length: number; readonly bytes: Uint8Array }
export interface FieldArray<E> { readonly length: number; at(i: number): E }
export type ReadonlyIntField = Pick<IntField, 'index' | 'array' | 'load'>;
export type ReadonlyBigField = Pick<BigField, 'index' | 'array' | 'load' | 'loadNumber'>;
export interface ReadonlyMutex { ownerTid(): number }
export type ReadonlyDoorbell = Pick<Doorbell, 'state' | 'signals' | 'waiterPid' | 'wakeId'>;

type Elem<S extends FieldSpec> =
  S['type'] extends 'u64' | 'i64' ? BigField :
  S['type'] extends 'f64' ? F64Field :
  S['type'] extends IntType ? IntField :
  S['type'] extends 'bytes' ? BytesField :
  S['type'] extends 'mutex' ? RobustMutex :
  S['type'] extends 'doorbell' ? Doorbell :
  S['type'] extends Layout<infer G> ? Bound<G> : never;
type ElemRO<S extends FieldSpec> =
  S['type'] extends 'u64' | 'i64' ? ReadonlyBigField :
  S['type'] extends 'f64' ? Pick<F64Field, 'get'> :
  S['type'] extends IntType ? ReadonlyIntField :
  S['type'] extends 'bytes' ? BytesField :
  S['type'] extends 'mutex' ? ReadonlyMutex :
  S['type'] extends 'doorbell' ? ReadonlyDoorbell :
  S['type'] extends Layout<infer G> ? BoundReadonly<G> : never;
type Many<S extends FieldSpec, E> = S extends { count: infer C } ? (C extends 1 ? E : FieldArray<E>) : E;
export type Bound<F extends Record<string, FieldSpec>> = { readonly [K in keyof F]: Many<F[K], Elem<F[K]>> };
export type BoundReadonly<F extends Record<string, FieldSpec>> = { readonly [K in keyof F]: Many<F[K], ElemRO<F[K]>> };

export interface Layout<F extends Record<string, FieldSpec>> {
  readonly name: string; readonly size: number; readonly align: number;
  readonly fields: ReadonlyArray<LayoutField>;
  offsetOf(field: keyof F & string): number;
  /** Accessors bound to seg at base (base must be aligned to `align`). Create once, keep. */
  bind(seg: Segment, base: number): Bound<F>;
  bindReadonly(seg: Segment, base: number): BoundReadonly<F>;
  /** Snapshot of every field with atomic loads (for inspect); bigint for 64-bit fields. */
  decode(seg: Segment, base: number): Record<string, unknown>;
  /** Markdown table: offset | size | type | field | doc. */
  describe(): string;
}

const SCALAR: Record<ScalarType, { size: number; Array: new (b: ArrayBuffer, offset: number, length: number) => ArrayLike<number | bigint> }> = {
  u8: { size: 1, Array: Uint8Array }, i8: { size: 1, Array: Int8Array },
  u16: { size: 2, Array: Uint16Array }, i16: { size: 2, Array: Int16Array },
  u32: { size: 4, Array: Uint32Array }, i32: { size: 4, Array: Int32Array },
  u64: { size: 8, Array: BigUint64Array }, i64: { size: 8, Array: BigInt64Array },
  f64: { size: 8, Array: Float64Array },
};
const isLayout = (t: FieldSpec['type']): t is Layout<Record<string, FieldSpec>> => typeof t === 'object' && t !== null && typeof (t as Layout<never>).bind === 'function';
const bad = (msg: string, details: Record<string, unknown>) => new ShmkitError('ERR_INVALID_ARGUMENT', msg, { details });

type IntArray = IntField['array'];
class IntAccessor implements IntField {
  constructor(readonly array: IntArray, readonly index: number) {}
  load(): number { return Atomics.load(this.array, this.index); }
  store(v: number): void { Atomics.store(this.array, this.index, v); }
  add(d: number): number { return Atomics.add(this.array, this.index, d); }
  sub(d: number): number { return Atomics.sub(this.array, this.index, d); }
  and(v: number): number { return Atomics.and(this.array, this.index, v); }
  or(v: number): number { return Atomics.or(this.array, this.index, v); }
  xor(v: number): number { return Atomics.xor(this.array, this.index, v); }
  exchange(v: number): number { return Atomics.exchange(this.array, this.index, v); }
  cas(expected: number, replacement: number): number { return Atomics.compareExchange(this.array, this.index, expected, replacement); }
}
const big = (v: bigint | number): bigint => (typeof v === 'bigint' ? v : BigInt(v));
class BigAccessor implements BigField {
  constructor(readonly array: BigInt64Array | BigUint64Array, readonly index: number) {}
  load(): bigint { return Atomics.load(this.array, this.index); }
  loadNumber(): number {
    const v = Atomics.load(this.array, this.index);
    if (v > 9007199254740991n || v < -9007199254740991n) {
      throw new ShmkitError('ERR_CORRUPT', `64-bit field holds ${v}, beyond 2^53 - 1`, { details: { detail: 'loadNumber', value: v.toString() } });
    }
    return Number(v);
  }
  store(v: bigint | number): void { Atomics.store(this.array, this.index, big(v)); }
  add(d: bigint | number): bigint { return Atomics.add(this.array, this.index, big(d)); }
  exchange(v: bigint | number): bigint { return Atomics.exchange(this.array, this.index, big(v)); }
  cas(expected: bigint | number, replacement: bigint | number): bigint { return Atomics.compareExchange(this.array, this.index, big(expected), big(replacement)); }
}
class F64Accessor implements F64Field {
  constructor(private readonly dv: DataView, private readonly offset: number) {}
  get(): number { return this.dv.getFloat64(this.offset, true); }
  set(v: number): void { this.dv.setFloat64(this.offset, v, true); }
}
class ArrayAccessor<E> implements FieldArray<E> {
  readonly #cache: Array<E | undefined>;
  constructor(readonly length: number, private readonly make: (i: number) => E) { this.#cache = new Array<E | undefined>(length); }
  at(i: number): E {
    if (!(i >= 0 && i < this.length && Number.isInteger(i))) throw bad(`index ${i} outside [0, ${this.length})`, { index: i });
    return (this.#cache[i] ??= this.make(i));
  }
}
/** Lock word of a glibc robust mutex: owner tid in the low 30 bits (diagnostic, read-only). */
const ownerOf = (u32: Uint32Array, index: number): number => Atomics.load(u32, index) & 0x3fffffff;

interface Placed { name: string; spec: FieldSpec; offset: number; elem: number; align: number; count: number; type: string }

/** Defines a fixed layout; every definition error is ERR_INVALID_ARGUMENT naming the field. */
export function defineLayout<const F extends Record<string, FieldSpec>>(name: string, fields: F, opts: { size?: number; align?: number } = {}): Layout<F> {
  if (typeof name !== 'string' || name.length === 0) throw bad('layout name must be a non-empty string', { name });
  const placed: Placed[] = [];
  let cursor = 0;
  let maxAlign = 1;
  for (const [field, spec] of Object.entries(fields)) {
    const where = `${name}.${field}`;
    if (spec === null || typeof spec !== 'object') throw bad(`${where}: field spec must be an object`, { field });
    const count = spec.count ?? 1;
    if (!Number.isInteger(count) || count < 1) throw bad(`${where}: count must be an integer >= 1, got ${count}`, { field, count });
    let elem: number, align: number, type: string;
    const t = spec.type;
    if (isLayout(t)) { elem = t.size; align = t.align; type = t.name; }
    else if (t === 'bytes') {
      if (!Number.isInteger(spec.length) || spec.length! < 1) throw bad(`${where}: bytes need an integer length >= 1`, { field, length: spec.length });
      elem = spec.length!; align = 1; type = 'bytes';
    } else if (t === 'mutex') {
      elem = spec.length ?? 64; align = 8; type = 'mutex';
      if (!Number.isInteger(elem) || elem < 8 || elem % 8 !== 0) throw bad(`${where}: mutex slot length must be a multiple of 8, got ${elem}`, { field, length: elem });
    } else if (t === 'doorbell') { elem = DOORBELL_SIZE; align = 16; type = 'doorbell'; }
    else if (typeof t === 'string' && Object.hasOwn(SCALAR, t)) { elem = SCALAR[t].size; align = elem; type = t; }
    else throw bad(`${where}: unknown field type ${String(t)}`, { field, type: String(t) });
    let offset: number;
    if (spec.offset !== undefined) {
      offset = spec.offset;
      if (!Number.isInteger(offset) || offset < 0) throw bad(`${where}: offset must be an integer >= 0, got ${offset}`, { field, offset });
      if (offset % align !== 0) throw bad(`${where}: offset ${offset} is not ${align}-aligned`, { field, offset, align });
    } else offset = Math.ceil(cursor / align) * align;
    cursor = Math.max(cursor, offset + elem * count);
    maxAlign = Math.max(maxAlign, align);
    placed.push({ name: field, spec, offset, elem, align, count, type });
  }
  const byOffset = [...placed].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < byOffset.length; i++) {
    const prev = byOffset[i - 1]!, cur = byOffset[i]!;
    if (cur.offset < prev.offset + prev.elem * prev.count) {
      throw bad(`${name}.${cur.name}: overlaps ${prev.name} ([${prev.offset}, ${prev.offset + prev.elem * prev.count}))`, { field: cur.name, overlaps: prev.name });
    }
  }
  const align = opts.align ?? maxAlign;
  if (!Number.isInteger(align) || align < 1 || (align & (align - 1)) !== 0) throw bad(`${name}: align must be a power of two, got ${align}`, { align });
  const size = opts.size ?? Math.ceil(cursor / align) * align;
  if (!Number.isInteger(size) || size < 0) throw bad(`${name}: size must be an integer >= 0, got ${size}`, { size });
  if (size % align !== 0) throw bad(`${name}: size ${size} is not a multiple of align ${align}`, { size, align });
  for (const p of placed) {
    if (p.offset + p.elem * p.count > size) throw bad(`${name}.${p.name}: ends at ${p.offset + p.elem * p.count}, beyond size ${size}`, { field: p.name, size });
  }
  const offsets = new Map(placed.map((p) => [p.name, p.offset]));
  const fieldsOut: LayoutField[] = placed.map((p) => ({ name: p.name, offset: p.offset, size: p.elem * p.count, type: p.type, count: p.count, ...(p.spec.doc === undefined ? {} : { doc: p.spec.doc }) }));

  const checkBase = (seg: Segment, base: number) => {
    seg.assertUsable();
    if (!Number.isInteger(base) || base < 0 || base % align !== 0 || base + size > seg.size) {
      throw bad(`${name}: cannot bind at ${base} (align ${align}, size ${size}) in a segment of ${seg.size} bytes`, { base, size, segmentSize: seg.size });
    }
  };
  const arrays = (seg: Segment) => {
    const cache = new Map<string, ArrayLike<number | bigint>>();
    return (t: ScalarType) => {
      let a = cache.get(t);
      if (!a) { const { Array: A, size: n } = SCALAR[t]; a = new A(seg.buffer, 0, Math.floor(seg.size / n)); cache.set(t, a); }
      return a;
    };
  };
  const bindAt = (seg: Segment, base: number, readonly: boolean, arr: ReturnType<typeof arrays>): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const p of placed) {
      const one = (i: number): unknown => {
        const at = base + p.offset + i * p.elem;
        const t = p.spec.type;
        if (isLayout(t)) return readonly ? t.bindReadonly(seg, at) : t.bind(seg, at);
        switch (t) {
          case 'bytes': return Object.freeze({ offset: at, length: p.elem, bytes: seg.subarray(at, p.elem) });
          case 'mutex': {
            if (p.elem < native().mutexSize()) throw new ShmkitError('ERR_UNSUPPORTED_PLATFORM', `${name}.${p.name}: mutex slot of ${p.elem} bytes is smaller than pthread_mutex_t (${native().mutexSize()})`);
            if (readonly) { const u32 = arr('u32') as Uint32Array; return { ownerTid: () => ownerOf(u32, at / 4) }; }
            return RobustMutex.attach(seg, at);
          }
          case 'doorbell': return Doorbell.at(seg, at);
          case 'f64': return new F64Accessor(seg.view, at);
          case 'u64': case 'i64': return new BigAccessor(arr(t) as BigInt64Array, at / 8);
          default: return new IntAccessor(arr(t as ScalarType) as IntArray, at / SCALAR[t as ScalarType].size);
        }
      };
      out[p.name] = p.count === 1 ? one(0) : new ArrayAccessor(p.count, one);
    }
    return Object.freeze(out);
  };
  const decodeAt = (seg: Segment, base: number, arr: ReturnType<typeof arrays>): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const p of placed) {
      const one = (i: number): unknown => {
        const at = base + p.offset + i * p.elem;
        const t = p.spec.type;
        if (isLayout(t)) return t.decode(seg, at);
        switch (t) {
          case 'bytes': return seg.bytes.slice(at, at + p.elem);
          case 'mutex': return { ownerTid: ownerOf(arr('u32') as Uint32Array, at / 4) };
          case 'doorbell': { const i32 = arr('i32') as Int32Array, k = at / 4; return { state: Atomics.load(i32, k), signals: Atomics.load(i32, k + 1) >>> 0, waiterPid: Atomics.load(i32, k + 2) >>> 0, wakeId: Atomics.load(i32, k + 3) >>> 0 }; }
          case 'f64': return seg.view.getFloat64(at, true);
          case 'u64': case 'i64': return Atomics.load(arr(t) as BigInt64Array, at / 8);
          default: return Atomics.load(arr(t as ScalarType) as IntArray, at / SCALAR[t as ScalarType].size);
        }
      };
      out[p.name] = p.count === 1 ? one(0) : Array.from({ length: p.count }, (_, i) => one(i));
    }
    return out;
  };

  const layout: Layout<F> = {
    name, size, align, fields: Object.freeze(fieldsOut),
    offsetOf(field) {
      const o = offsets.get(field);
      if (o === undefined) throw bad(`${name}: no field ${String(field)}`, { field });
      return o;
    },
    bind(seg, base) { checkBase(seg, base); return bindAt(seg, base, false, arrays(seg)) as Bound<F>; },
    bindReadonly(seg, base) { checkBase(seg, base); return bindAt(seg, base, true, arrays(seg)) as BoundReadonly<F>; },
    decode(seg, base) { checkBase(seg, base); return decodeAt(seg, base, arrays(seg)); },
    describe() {
      const rows = fieldsOut.map((f) => `| ${f.offset} | ${f.size} | ${f.count > 1 ? `${f.type}[${f.count}]` : f.type} | \`${f.name}\` | ${f.doc ?? ''} |`);
      return ['| offset | size | type | field | doc |', '|---|---|---|---|---|', ...rows].join('\n');
    },
  };
  return Object.freeze(layout);
}
