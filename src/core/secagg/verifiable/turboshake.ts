/**
 * TurboSHAKE128 (RFC 9861): the sponge of rate 168 bytes, on keccak-wasm.ts's WebAssembly permutation (whole
 * blocks absorbed and squeezed inside the module; ≈ 5× keccak.ts's speed, stop 37), or on keccak.ts's unrolled
 * JavaScript one where WebAssembly is missing. The same bytes as @noble/hashes' `turboshake128` either way
 * (turboshake.test.ts); used for every XOF of the verifiable mode's norm check (field128.ts, pine-wraparound.ts).
 */
import { keccakP12 } from './keccak';
import { keccakWasm, type KeccakWasm } from './keccak-wasm';

const RATE = 168;
const RATE_WORDS = RATE / 4;
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

export class TurboShake128 {
  private readonly state = new Uint32Array(50);
  private readonly bytes = new Uint8Array(this.state.buffer);
  /** Bytes absorbed into the current block, or squeezed from it once squeezing. */
  private pos = 0;
  private squeezing = false;

  /** D: the domain separation byte, 0x01–0x7f; `wasm` null: keccak.ts's permutation (the tests of both paths). */
  constructor(
    private readonly domain: number,
    private readonly wasm: KeccakWasm | null = keccakWasm(),
  ) {
    if (!(Number.isInteger(domain) && domain >= 1 && domain <= 0x7f)) throw new RangeError('the domain byte must be in 0x01–0x7f');
    // the state's bytes are read through its 32-bit words' memory: little-endian only (every browser and Node target)
    if (!LITTLE_ENDIAN) throw new Error('TurboShake128 needs a little-endian platform');
  }

  update(data: Uint8Array): this {
    if (this.squeezing) throw new Error('update after xof');
    const state = this.state;
    const bytes = this.bytes;
    let at = 0;
    while (at < data.length) {
      if (this.pos === 0 && data.length - at >= RATE && this.wasm) {
        const whole = RATE * Math.floor((data.length - at) / RATE);
        this.wasm.absorb(state, data.subarray(at, at + whole));
        at += whole;
        continue;
      }
      if (this.pos === 0 && data.length - at >= RATE && (data.byteOffset + at) % 4 === 0) {
        // whole blocks, aligned: 42 words each
        const words = new Uint32Array(data.buffer, data.byteOffset + at, (((data.length - at) / RATE) | 0) * RATE_WORDS);
        for (let w = 0; w < words.length; w += RATE_WORDS) {
          for (let i = 0; i < RATE_WORDS; i++) state[i]! ^= words[w + i]!;
          keccakP12(state);
        }
        at += 4 * words.length;
        continue;
      }
      const take = Math.min(RATE - this.pos, data.length - at);
      for (let i = 0; i < take; i++) bytes[this.pos + i]! ^= data[at + i]!;
      this.pos += take;
      at += take;
      if (this.pos === RATE) {
        this.permute();
        this.pos = 0;
      }
    }
    return this;
  }

  /** The next `length` bytes of the output (may be called again for more). */
  xof(length: number): Uint8Array {
    const bytes = this.bytes;
    if (!this.squeezing) {
      bytes[this.pos]! ^= this.domain;
      bytes[RATE - 1]! ^= 0x80;
      this.permute();
      this.squeezing = true;
      this.pos = 0;
    }
    const out = new Uint8Array(length);
    const state = this.state;
    let at = 0;
    while (at < length) {
      if (this.pos === RATE) {
        this.permute();
        this.pos = 0;
      }
      if (this.pos === 0 && length - at > RATE && this.wasm) {
        // whole blocks but the last (read whole or not), the state permuted between them
        const blocks = Math.floor((length - at - 1) / RATE);
        this.wasm.squeeze(state, out.subarray(at, at + RATE * blocks), blocks);
        at += RATE * blocks;
        this.pos = RATE;
        continue;
      }
      if (this.pos === 0 && length - at > RATE && at % 4 === 0) {
        // whole blocks: 42 words each, into an aligned view of out (every block but the last is read whole)
        const words = new Uint32Array(out.buffer, at, (((length - at - 1) / RATE) | 0) * RATE_WORDS);
        for (let w = 0; w < words.length; w += RATE_WORDS) {
          if (w > 0) keccakP12(state);
          for (let i = 0; i < RATE_WORDS; i++) words[w + i] = state[i]!;
        }
        at += 4 * words.length;
        this.pos = RATE;
        continue;
      }
      const take = Math.min(RATE - this.pos, length - at);
      out.set(bytes.subarray(this.pos, this.pos + take), at);
      this.pos += take;
      at += take;
    }
    return out;
  }

  private permute(): void {
    if (this.wasm) this.wasm.permute(this.state);
    else keccakP12(this.state);
  }
}

/** TurboSHAKE128(data, D, dkLen) in one call. */
export function turboshake128(data: Uint8Array, opts: { D: number; dkLen: number }): Uint8Array {
  return new TurboShake128(opts.D).update(data).xof(opts.dkLen);
}
