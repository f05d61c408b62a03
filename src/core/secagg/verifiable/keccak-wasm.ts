/**
 * Keccak-p[1600, 12] (TurboSHAKE128's permutation) as a small hand-assembled WebAssembly module on 64-bit lanes
 * (i64.rotl and i64.xor where keccak.ts needs two 32-bit halves and shifts): the verifiable mode hashes ≈ 5 MB per
 * report on each aggregator at 57,344 (its share twice, the helper's expansion, the 128 wraparound vectors) and the
 * device ≈ 33 MB at the app's length. Two functions, each keeping the 25 lanes in locals across blocks:
 *
 *   absorb(state, data, blocks):  for each 168-byte block at data: lanes 0–20 ^= the block; permute.
 *   squeeze(state, out, blocks):  for each block: permute first (but before the first), then lanes 0–20 → out.
 *
 * state is 200 bytes (lane i = x + 5y at 8i, little-endian, the same bytes as keccak.ts's 50 words); the round
 * constants sit at ROUND_CONSTANTS_AT. The same permutation as keccak.ts, tested against it
 * (keccak-wasm.test.ts); turboshake.ts falls back to keccak.ts where WebAssembly is missing.
 */
import { BLOCK, BR_IF, END, get, I32, I32_ADD, i32c, I32_EQZ, I32_LT_U, IF, LOOP, set, uleb } from '../../index/wasm-asm';
import { kernelModule } from './wasm-module';

const I64 = 0x7e;
const I64_XOR = 0x85;
const I64_AND = 0x83;
const I64_ROTL = 0x89;
const I32_NE = 0x47;
const i64c = (v: number) => [0x42, ...sleb64(v)];
const i64Load = (offset: number) => [0x29, 3, ...uleb(offset)];
const i64Store = (offset: number) => [0x37, 3, ...uleb(offset)];

/** Signed LEB128 of a small integer (−64 … 63 in one byte, enough here). */
function sleb64(v: number): number[] {
  if (v < -64 || v > 63) throw new RangeError('only one-byte constants');
  return [v & 0x7f];
}

/** Keccak's round constants of rounds 12–23 (TurboSHAKE's 12). */
const ROUND_CONSTANTS = [
  0x000000008000808bn,
  0x800000000000008bn,
  0x8000000000008089n,
  0x8000000000008003n,
  0x8000000000008002n,
  0x8000000000000080n,
  0x000000000000800an,
  0x800000008000000an,
  0x8000000080008081n,
  0x8000000000008080n,
  0x0000000080000001n,
  0x8000000080008008n,
];
/** ρ's rotation of lane x + 5y, by [x][y]. */
const RHO = [
  [0, 36, 3, 41, 18],
  [1, 44, 10, 45, 2],
  [62, 6, 43, 15, 61],
  [28, 55, 25, 21, 56],
  [27, 20, 39, 8, 14],
];

// locals: 0–2 the parameters (i32), then a0–a24, b0–b24, c0–c4, d (i64), then round, b (i32)
const A = (i: number) => 3 + i;
const B = (i: number) => 28 + i;
const C = (x: number) => 53 + x;
const D = 58;
const ROUND = 59;
const COUNT = 60;
const STATE = 0;
const PTR = 1;
const BLOCKS = 2;
export const ROUND_CONSTANTS_AT = 0;
const LANES = 21;

/** The 12 rounds on the lanes in locals. */
function permutation(): number[] {
  const round: number[] = [];
  for (let x = 0; x < 5; x++) round.push(...get(A(x)), ...[5, 10, 15, 20].flatMap((o) => [...get(A(x + o)), I64_XOR]), ...set(C(x)));
  for (let x = 0; x < 5; x++) {
    round.push(...get(C((x + 4) % 5)), ...get(C((x + 1) % 5)), ...i64c(1), I64_ROTL, I64_XOR, ...set(D));
    for (let y = 0; y < 5; y++) round.push(...get(A(x + 5 * y)), ...get(D), I64_XOR, ...set(A(x + 5 * y)));
  }
  for (let x = 0; x < 5; x++)
    for (let y = 0; y < 5; y++) {
      const to = y + 5 * ((2 * x + 3 * y) % 5);
      const r = RHO[x]![y]!;
      round.push(...get(A(x + 5 * y)), ...(r === 0 ? [] : [...i64c(r), I64_ROTL]), ...set(B(to)));
    }
  for (let y = 0; y < 5; y++)
    for (let x = 0; x < 5; x++) {
      const at = (i: number) => B(((x + i) % 5) + 5 * y);
      round.push(...get(at(0)), ...get(at(1)), ...i64c(-1), I64_XOR, ...get(at(2)), I64_AND, I64_XOR, ...set(A(x + 5 * y)));
    }
  round.push(...get(A(0)), ...get(ROUND), ...i64Load(ROUND_CONSTANTS_AT), I64_XOR, ...set(A(0)));
  // for (round = 0; round < 96; round += 8)
  return [
    ...i32c(0),
    ...set(ROUND),
    ...LOOP,
    ...round,
    ...get(ROUND),
    ...i32c(8),
    I32_ADD,
    ...set(ROUND),
    ...get(ROUND),
    ...i32c(8 * ROUND_CONSTANTS.length),
    I32_LT_U,
    ...BR_IF(0),
    ...END,
  ];
}

const loadLanes = () => Array.from({ length: 25 }, (_, i) => [...get(STATE), ...i64Load(8 * i), ...set(A(i))]).flat();
const storeLanes = () => Array.from({ length: 25 }, (_, i) => [...get(STATE), ...get(A(i)), ...i64Store(8 * i)]).flat();
const advance = () => [...get(PTR), ...i32c(168), I32_ADD, ...set(PTR)];

/** The lanes loaded from the state, `body` for each of the blocks (none when blocks is 0), the lanes stored back. */
const overBlocks = (body: number[]) => [...loadLanes(), ...BLOCK, ...get(BLOCKS), I32_EQZ, ...BR_IF(0), ...LOOP, ...body, ...END, ...END, ...storeLanes()];

function absorbBody(): number[] {
  const xorBlock = Array.from({ length: LANES }, (_, i) => [...get(A(i)), ...get(PTR), ...i64Load(8 * i), I64_XOR, ...set(A(i))]).flat();
  const countDown = [...get(BLOCKS), ...i32c(1), 0x6b /* i32.sub */, ...set(BLOCKS), ...get(BLOCKS), ...i32c(0), I32_NE, ...BR_IF(0)];
  return overBlocks([...xorBlock, ...permutation(), ...advance(), ...countDown]);
}

function squeezeBody(): number[] {
  const outBlock = Array.from({ length: LANES }, (_, i) => [...get(PTR), ...get(A(i)), ...i64Store(8 * i)]).flat();
  const next = [...get(COUNT), ...i32c(1), I32_ADD, ...set(COUNT), ...get(COUNT), ...get(BLOCKS), I32_LT_U, ...BR_IF(0)];
  return overBlocks([...get(COUNT), ...IF, ...permutation(), ...END, ...outBlock, ...advance(), ...next]);
}

const LOCALS = [
  [56, I64],
  [2, I32],
] as const;

export const KECCAK_WASM: Uint8Array<ArrayBuffer> = kernelModule([
  { name: 'absorb', params: 3, locals: LOCALS, code: absorbBody() },
  { name: 'squeeze', params: 3, locals: LOCALS, code: squeezeBody() },
]);

interface Kernels {
  absorb(state: number, data: number, blocks: number): void;
  squeeze(state: number, out: number, blocks: number): void;
}

/** Where the state is copied in the module's memory, and where data starts. */
const STATE_AT = 128;
/** 168 zero bytes: absorbing them is the bare permutation. */
const ZERO_AT = 336;
const DATA_AT = 512;
/** Bytes of data a call of the module takes (whole blocks: 384 of them, in the module's 1-page memory ... 2 pages). */
const CHUNK = 168 * 384;

/** The module's one instance (per thread), with a memory of 2 pages: long inputs and outputs go through it in chunks. */
export class KeccakWasm {
  private readonly memory = new WebAssembly.Memory({ initial: Math.ceil((DATA_AT + CHUNK) / 65536) });
  private readonly kernels: Kernels;

  constructor() {
    this.kernels = new WebAssembly.Instance(new WebAssembly.Module(KECCAK_WASM), { env: { memory: this.memory } }).exports as unknown as Kernels;
    const view = new DataView(this.memory.buffer);
    ROUND_CONSTANTS.forEach((rc, r) => view.setBigUint64(ROUND_CONSTANTS_AT + 8 * r, rc, true));
  }

  /** For each whole block of `data` (a multiple of 168 bytes): the state's first 42 words ^= it, then permute. */
  absorb(state: Uint32Array, data: Uint8Array): void {
    const words = this.stateIn(state);
    for (let at = 0; at < data.length; at += CHUNK) {
      const part = data.subarray(at, Math.min(at + CHUNK, data.length));
      new Uint8Array(this.memory.buffer).set(part, DATA_AT);
      this.kernels.absorb(STATE_AT, DATA_AT, part.length / 168);
    }
    state.set(words);
  }

  /** The bare permutation of the state. */
  permute(state: Uint32Array): void {
    const words = this.stateIn(state);
    this.kernels.absorb(STATE_AT, ZERO_AT, 1);
    state.set(words);
  }

  /** `blocks` blocks of output into out (168 bytes each), the state permuted before each but the first. */
  squeeze(state: Uint32Array, out: Uint8Array, blocks: number): void {
    const words = this.stateIn(state);
    for (let done = 0; done < blocks;) {
      const n = Math.min(CHUNK / 168, blocks - done);
      if (done > 0) this.kernels.absorb(STATE_AT, ZERO_AT, 1); // the permutation between this chunk and the last
      this.kernels.squeeze(STATE_AT, DATA_AT, n);
      out.set(new Uint8Array(this.memory.buffer, DATA_AT, 168 * n), 168 * done);
      done += n;
    }
    state.set(words);
  }

  /** The state copied into the module's memory (its view there, to copy back). */
  private stateIn(state: Uint32Array): Uint32Array {
    const words = new Uint32Array(this.memory.buffer, STATE_AT, 50);
    words.set(state);
    return words;
  }
}

let instance: KeccakWasm | null | undefined;

/** The module's instance, or null where this runtime has no WebAssembly (keccak.ts then). */
export function keccakWasm(): KeccakWasm | null {
  if (instance === undefined) {
    try {
      instance = typeof WebAssembly === 'object' ? new KeccakWasm() : null;
    } catch {
      instance = null;
    }
  }
  return instance;
}
