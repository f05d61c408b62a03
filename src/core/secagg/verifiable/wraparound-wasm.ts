/**
 * The aggregators' wraparound dot products (pine-wraparound.ts) in a small hand-assembled WebAssembly module: ⟨Z_k,
 * v⟩ for a share v of Field128 elements (four 32-bit limbs each) and the {−1, 0, +1} trits of Z_k, two checks at
 * once, on 64-bit SIMD lanes (limbs 0–1 and 2–3 of an entry in one v128 each) without multiplications: a trit
 * picks a mask pair (nz, m) and the entry adds (x & nz) ^ m to the sums, i.e. x for +1, 0 for 0, and ~x = −x − 1
 * for −1 (the caller adds back the count of −1s). The pairs come from a table by the whole trit byte (256 × 4 pairs,
 * 32 KB), so that an entry's masks are two loads at constant offsets from the byte's row. The JavaScript loop it replaces (limbDots4, float64
 * limbs) was ≈ 70 % of an aggregator's prepareInit at 57,344 after stop 37's WebAssembly Keccak (profiled).
 *
 *   dots2(words, a, b, bytes, out):  for the 4·bytes entries at words (16 bytes each, the encoding's layout) and the
 *     trit bytes at a and b (4 entries a byte, bits 2j of byte ⌊i/4⌋): out (four i64 per check, a's then b's) =
 *     per limb l, Σ_i masked(limb_l(i)) as above, wrapping in 64 bits (exact: |sum| < 2^53 for ≤ 2^21 entries).
 *
 * Tested against the float64 loop (pine-wraparound.test.ts).
 */
import { BLOCK, BR_IF, END, get, I32, I32_ADD, i32c, I32_EQZ, I32_SHL, LOOP, set, uleb, V128, V128_LOAD_AT, V128_XOR } from '../../index/wasm-asm';
import { kernelModule } from './wasm-module';

const simd = (op: number) => [0xfd, ...uleb(op)];
const V128_AND = simd(0x4e);
const I64X2_EXTEND_LOW_U = simd(0xc9);
const I64X2_EXTEND_HIGH_U = simd(0xca);
const I64X2_ADD = simd(0xce);
const V128_STORE_AT = (offset: number) => [0xfd, ...uleb(0x0b), 4, ...uleb(offset)];
const I32_LOAD8_U = [0x2d, 0, 0];
const I32_NE = 0x47;

/**
 * The mask table: for each byte, for each of its 4 trits (2-bit codes t: 00 → −1, 01 and 10 → 0, 11 → +1), nz
 * then m, 16 bytes each: row n at 128·n, trit j at 32·j in it.
 */
export const MASKS_AT = 0;
const MASKS_BYTES = 256 * 128;
/** Where the caller's data may start (16-byte aligned). */
export const DATA_AT = MASKS_BYTES;

// locals: the parameters, then the end of a, the mask rows of a's and b's byte, then v128s
const WORDS = 0;
const A = 1;
const B = 2;
const BYTES = 3;
const OUT = 4;
const A_END = 5;
const ROW_A = 6;
const ROW_B = 7;
const V = 8;
const LO = 9;
const HI = 10;
const ACC = [11, 12, 13, 14]; // a's limbs 0–1, 2–3; b's limbs 0–1, 2–3

/** sums[acc] += (x & nz) ^ m for the v128 local x, with the mask pair of trit j of the byte whose row is at `row`. */
const term = (x: number, acc: number, row: number, j: number) => [
  ...get(acc),
  ...get(x),
  ...get(row),
  ...V128_LOAD_AT(32 * j),
  ...V128_AND,
  ...get(row),
  ...V128_LOAD_AT(32 * j + 16),
  ...V128_XOR,
  ...I64X2_ADD,
  ...set(acc),
];

/** Field128: one entry in LO (limbs 0–1) and HI (limbs 2–3), both masked by trit j. */
const addMasked = (row: number, j: number, acc01: number, acc23: number): number[] => [...term(LO, acc01, row, j), ...term(HI, acc23, row, j)];

/** The row of the byte at the address in `from`: MASKS_AT + 128·byte. */
const rowOf = (from: number, to: number) => [...get(from), ...I32_LOAD8_U, ...i32c(7), I32_SHL, ...i32c(MASKS_AT), I32_ADD, ...set(to)];

/**
 * The loop over the trit bytes; `wordsPerEntry` 4 (Field128: a v128 per entry, limbs 0–1 in LO and 2–3 in HI, each
 * masked by the entry's trit) or 2 (Field64: a v128 holds two entries, LO the first's limbs 0–1 and HI the
 * second's, each masked by its own trit, both into the limbs 0–1 accumulator; limbs 2–3 stay 0).
 */
function dots2Body(wordsPerEntry: 2 | 4): number[] {
  const load = (at: number) => [
    ...get(WORDS),
    ...V128_LOAD_AT(at),
    ...set(V),
    ...get(V),
    ...I64X2_EXTEND_LOW_U,
    ...set(LO),
    ...get(V),
    ...I64X2_EXTEND_HIGH_U,
    ...set(HI),
  ];
  const entries: number[] = [];
  if (wordsPerEntry === 4)
    for (let j = 0; j < 4; j++) entries.push(...load(16 * j), ...addMasked(ROW_A, j, ACC[0]!, ACC[1]!), ...addMasked(ROW_B, j, ACC[2]!, ACC[3]!));
  else
    for (let m = 0; m < 2; m++)
      entries.push(
        ...load(16 * m),
        ...term(LO, ACC[0]!, ROW_A, 2 * m),
        ...term(HI, ACC[0]!, ROW_A, 2 * m + 1),
        ...term(LO, ACC[2]!, ROW_B, 2 * m),
        ...term(HI, ACC[2]!, ROW_B, 2 * m + 1),
      );
  const step = (local: number, by: number) => [...get(local), ...i32c(by), I32_ADD, ...set(local)];
  const store = ACC.flatMap((acc, i) => [...get(OUT), ...get(acc), ...V128_STORE_AT(16 * i)]);
  return [
    ...get(A),
    ...get(BYTES),
    I32_ADD,
    ...set(A_END),
    ...BLOCK,
    ...get(BYTES),
    I32_EQZ,
    ...BR_IF(0),
    ...LOOP,
    ...rowOf(A, ROW_A),
    ...rowOf(B, ROW_B),
    ...entries,
    ...step(WORDS, 16 * wordsPerEntry),
    ...step(A, 1),
    ...step(B, 1),
    ...get(A),
    ...get(A_END),
    I32_NE,
    ...BR_IF(0),
    ...END,
    ...END,
    ...store,
  ];
}

export const WRAPAROUND_WASM: Uint8Array<ArrayBuffer> = kernelModule(
  (
    [
      ['dots2', 4],
      ['dots2_64', 2],
    ] as const
  ).map(([name, wordsPerEntry]) => ({
    name,
    params: 5,
    locals: [
      [3, I32],
      [7, V128],
    ],
    code: dots2Body(wordsPerEntry),
  })),
);

/**
 * A share's limbs in the module's memory, and the dot products with pairs of trit vectors. One instance per thread
 * (wraparoundKernel), its memory grown to the longest share loaded: the mask table is built once.
 */
export class WraparoundWasm {
  private readonly memory = new WebAssembly.Memory({ initial: 1 });
  private readonly dots2: Record<2 | 4, (words: number, a: number, b: number, bytes: number, out: number) => void>;
  private wordsPerEntry: 2 | 4 = 4;
  private wholeBytes = 0;
  private aAt = 0;
  private bAt = 0;
  private outAt = 0;

  constructor() {
    const instance = new WebAssembly.Instance(module(), { env: { memory: this.memory } });
    type Dots2 = WraparoundWasm['dots2'][4];
    this.dots2 = { 4: instance.exports.dots2 as Dots2, 2: instance.exports.dots2_64 as Dots2 };
    this.grow(DATA_AT);
    const masks = new Uint32Array(this.memory.buffer, MASKS_AT, MASKS_BYTES / 4);
    for (let n = 0; n < 256; n++)
      for (let j = 0; j < 4; j++) {
        const t = (n >> (2 * j)) & 3;
        const at = 32 * n + 8 * j; // in words
        if (t === 0)
          masks.fill(0xffffffff, at, at + 8); // −1: nz all ones, m all ones
        else if (t === 3) masks.fill(0xffffffff, at, at + 4); // +1: nz all ones, m 0
      }
  }

  private grow(bytes: number): void {
    const need = bytes - this.memory.buffer.byteLength;
    if (need > 0) this.memory.grow(Math.ceil(need / 65536));
  }

  /**
   * `words`: the share's first wordsPerEntry·length words (its encoding: 4 an entry for Field128, 2 for Field64);
   * only its first ⌊length/4⌋·4 entries are summed here.
   */
  load(words: Uint32Array, length: number, wordsPerEntry: 2 | 4 = 4): this {
    this.wordsPerEntry = wordsPerEntry;
    this.wholeBytes = length >> 2;
    this.aAt = DATA_AT + 16 * wordsPerEntry * this.wholeBytes;
    this.bAt = this.aAt + Math.ceil(this.wholeBytes / 16) * 16;
    this.outAt = this.bAt + Math.ceil(this.wholeBytes / 16) * 16;
    this.grow(this.outAt + 64);
    new Uint32Array(this.memory.buffer, DATA_AT, 4 * wordsPerEntry * this.wholeBytes).set(words.subarray(0, 4 * wordsPerEntry * this.wholeBytes));
    return this;
  }

  /**
   * Per check a and b, the four limbs' masked sums (BigInt64: exact) over the whole bytes; add back the −1s' count
   * to each of the entry's limbs (limbs 2–3 are 0 for Field64).
   */
  sums(a: Uint8Array, b: Uint8Array): BigInt64Array {
    const heap = new Uint8Array(this.memory.buffer);
    heap.set(a.subarray(0, this.wholeBytes), this.aAt);
    heap.set(b.subarray(0, this.wholeBytes), this.bAt);
    this.dots2[this.wordsPerEntry](DATA_AT, this.aAt, this.bAt, this.wholeBytes, this.outAt);
    return new BigInt64Array(this.memory.buffer.slice(this.outAt, this.outAt + 64));
  }
}

let kernel: WraparoundWasm | undefined;

/** This thread's instance (wraparoundWasmSupported() first). */
export function wraparoundKernel(): WraparoundWasm {
  kernel ??= new WraparoundWasm();
  return kernel;
}

let compiled: WebAssembly.Module | null | undefined;

function module(): WebAssembly.Module {
  if (!compiled) throw new Error('the wraparound module is not available');
  return compiled;
}

/** Whether the module runs here (WebAssembly with SIMD: every current browser and Node ≥ 16.4). */
export function wraparoundWasmSupported(): boolean {
  if (compiled === undefined) {
    try {
      compiled = typeof WebAssembly === 'object' && WebAssembly.validate(WRAPAROUND_WASM) ? new WebAssembly.Module(WRAPAROUND_WASM) : null;
    } catch {
      compiled = null;
    }
  }
  return compiled !== null;
}
