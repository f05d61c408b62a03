/**
 * Shared randomness: the noise of exported deltas, the trainers' and PCA's seeded draws, the
 * evaluation splits, the index codes. Noise in production uses the platform CSPRNG
 * (crypto.getRandomValues, in browsers, workers and Node 20); tests and benchmarks inject a seeded
 * generator so a run can be replayed. A seeded generator must never be used for a real export:
 * whoever knows the seed can subtract the noise.
 */

/** Uniform numbers in [0, 1) with 53 random bits. */
export type Uniform = () => number;

const TWO_POW_53 = 9_007_199_254_740_992;

/** Two 32-bit words → one double with 53 random bits (26 from the first, 27 from the second). */
function toUnit(a: number, b: number): number {
  return ((a >>> 6) * 2 ** 27 + (b >>> 5)) / TWO_POW_53;
}

/** crypto.getRandomValues, drawn in blocks (one call per 8,192 numbers instead of one per number). */
export function cryptoUniform(): Uniform {
  const block = new Uint32Array(16_384); // 64 KiB: the most one getRandomValues call may fill
  let next = block.length;
  return () => {
    if (next >= block.length) {
      globalThis.crypto.getRandomValues(block);
      next = 0;
    }
    const value = toUnit(block[next]!, block[next + 1]!);
    next += 2;
    return value;
  };
}

/**
 * A seeded generator (sfc32, seeded through splitmix32): fast, passes PractRand to large sizes,
 * and identical on every JS engine because it uses only 32-bit integer operations. For tests only.
 */
export function seededUniform(seed: number): Uniform {
  let s = seed >>> 0;
  const splitmix = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  const next32 = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  };
  for (let i = 0; i < 12; i++) next32(); // discard the first outputs, weakly mixed for small seeds
  return () => toUnit(next32(), next32());
}

/**
 * Standard normal samples by the Box–Muller transform; both outputs of each pair are used.
 * 1 − u keeps the logarithm's argument in (0, 1], so there is never a log(0).
 */
export function gaussianSource(uniform: Uniform): () => number {
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const value = spare;
      spare = null;
      return value;
    }
    const radius = Math.sqrt(-2 * Math.log(1 - uniform()));
    const angle = 2 * Math.PI * uniform();
    spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  };
}

/** Fisher–Yates shuffle in place, drawing from `uniform`. */
export function shuffleInPlace(values: Int32Array, uniform: Uniform): void {
  for (let i = values.length - 1; i > 0; i--) {
    const j = Math.floor(uniform() * (i + 1));
    const t = values[i]!;
    values[i] = values[j]!;
    values[j] = t;
  }
}
