/**
 * A WebAssembly assembler of the few pieces wasm-scan.ts needs: LEB128 numbers, sections and names, and the
 * opcodes of its two functions as byte arrays to spread into a body (the binary format's encodings, by
 * their text-format names).
 */

export const I32 = 0x7f;
export const F64 = 0x7c;
export const V128 = 0x7b;

/** Unsigned LEB128. */
export function uleb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

/** Signed LEB128 (i32). */
function sleb(value: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    if ((value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

export const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
export const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
export const name = (text: string): number[] => vec([...new TextEncoder().encode(text)].map((b) => [b]));

// Instructions.
export const get = (i: number) => [0x20, i];
export const set = (i: number) => [0x21, i];
export const tee = (i: number) => [0x22, i];
export const i32c = (v: number) => [0x41, ...sleb(v)];
export const f64c = (v: number) => {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setFloat64(0, v, true);
  return [0x44, ...bytes];
};
export const f32c = (v: number) => {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setFloat32(0, v, true);
  return [0x43, ...bytes];
};
const mem = (op: number, align: number, offset = 0) => [op, align, ...uleb(offset)];
const simd = (op: number, ...immediates: number[]) => [0xfd, ...uleb(op), ...immediates];
export const I32_ADD = 0x6a;
export const I32_MUL = 0x6c;
export const I32_AND = 0x71;
export const I32_SHL = 0x74;
export const I32_SHR_U = 0x76;
export const I32_EQZ = 0x45;
export const I32_LT_U = 0x49;
export const I32_LE_U = 0x4d;
export const I32_GT_U = 0x4b;
export const F64_ADD = 0xa0;
export const F64_MUL = 0xa2;
export const F64_PROMOTE_F32 = 0xbb;
export const F32_DEMOTE_F64 = 0xb6;
export const BLOCK = [0x02, 0x40];
export const LOOP = [0x03, 0x40];
export const IF = [0x04, 0x40];
export const IF_F64 = [0x04, F64];
export const ELSE = [0x05];
export const END = [0x0b];
export const BR_IF = (depth: number) => [0x0d, depth];
export const BR = (depth: number) => [0x0c, depth];
export const I32_LOAD = (offset = 0) => mem(0x28, 2, offset);
export const I32_LOAD16_U = mem(0x2f, 1);
export const I32_STORE = mem(0x36, 2);
export const I32_STORE16 = mem(0x3b, 1);
export const F32_LOAD = (offset = 0) => mem(0x2a, 2, offset);
export const F32_STORE = mem(0x38, 2);
export const V128_LOAD = simd(0x00, 0, 0);
/** v128.load at a constant offset from the address on the stack. */
export const V128_LOAD_AT = (offset: number) => simd(0x00, 0, ...uleb(offset));
export const V128_CONST_ZERO = simd(0x0c, ...new Array<number>(16).fill(0));
export const V128_XOR = simd(0x51);
export const I8X16_POPCNT = simd(0x62);
export const I8X16_ADD = simd(0x6e);
export const I16X8_EXTADD_U = simd(0x7d);
export const I32X4_EXTADD_U = simd(0x7f);
export const I32X4_LANE = (lane: number) => simd(0x1b, lane);
export const I8X16_SHUFFLE = (lanes: number[]) => simd(0x0d, ...lanes);
export const I32X4_ADD = simd(0xae);
export const I16X8_SPLAT = simd(0x10);
export const I16X8_LE_U = simd(0x34);
export const V128_ANY_TRUE = simd(0x53);
/** a ← a + step (i32 locals). */
export const bump = (local: number, step: number[]) => [...get(local), ...step, I32_ADD, ...set(local)];
/** The address base + (index << shift), of i32 locals: an element of an array (shift 1: u16, 2: i32 or f32). */
export const element = (base: number, index: number, shift: number) => [...get(base), ...get(index), ...i32c(shift), I32_SHL, I32_ADD];
/** hist[d] += 1 for an i32 histogram at local `hist`, local `d` the bin; local `h` is clobbered. */
export const countInto = (hist: number, d: number, h: number) => [
  ...element(hist, d, 2),
  ...tee(h),
  ...get(h),
  ...I32_LOAD(),
  ...i32c(1),
  I32_ADD,
  ...I32_STORE,
];
/** The start of a `block { loop { … } }` over i = 0 … n−1: skipped at once when n is 0. */
export const forEachBelow = (n: number) => [...BLOCK, ...get(n), I32_EQZ, ...BR_IF(0), ...LOOP];
/** The end of a `block { loop { … } }` over i = 0 … n−1: i += 1, again while i < n. */
export const nextWhileBelow = (i: number, n: number) => [...bump(i, i32c(1)), ...get(i), ...get(n), I32_LT_U, ...BR_IF(0), ...END, ...END];
