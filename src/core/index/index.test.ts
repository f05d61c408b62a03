import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gaussianSource, seededUniform } from '../random';
import { decodePq, encodePq, pqScan, trainPq, updatePqCodes } from './pq';
import { floatRows, int8Rows } from './rows';
import { decodeSignRotated, encodeSign, hammingScan, popcount32, rotate, signCascadeScan, signCodebook, signScan } from './sign';
import { bruteForce, dotScorer, heldInt8Scorer, int8Scorer, pqIndex, recall, rescore, signIndex, twoStageSearch, type CodeIndex } from './two-stage';
import { quantizeRows } from '../quantize';

/** Clustered vectors (a mixture of 40 Gaussians), as model item vectors are: taste has a few directions. */
function catalog(count: number, dim: number, seed: number): { vectors: Float32Array; bias: Float32Array } {
  const normal = gaussianSource(seededUniform(seed));
  const centres = Float32Array.from({ length: 40 * dim }, () => normal());
  const vectors = new Float32Array(count * dim);
  const bias = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const c = i % 40;
    for (let t = 0; t < dim; t++) vectors[i * dim + t] = 0.6 * centres[c * dim + t]! + normal();
    bias[i] = 0.5 * normal();
  }
  return { vectors, bias };
}

function users(count: number, dim: number, seed: number): Float32Array[] {
  const normal = gaussianSource(seededUniform(seed));
  return Array.from({ length: count }, () => Float32Array.from({ length: dim }, () => normal() * 0.3));
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let sum = 0;
  for (let t = 0; t < a.length; t++) sum += a[t]! * b[t]!;
  return sum;
};

describe('sign codes', () => {
  it('rotate keeps dot products (the rotation is orthonormal, padding included)', () => {
    const book = signCodebook(32, 128, 7);
    const [a, b] = users(2, 32, 3);
    expect(dot(rotate(book, a!), rotate(book, b!))).toBeCloseTo(dot(a!, b!), 4);
  });

  it('the scan equals the float query against the decoded bits, plus the bias', () => {
    const { vectors, bias } = catalog(300, 32, 1);
    const book = signCodebook(32, 64, 2);
    const codes = encodeSign(book, floatRows(vectors, 32));
    const [user] = users(1, 32, 5);
    const scores = signScan(book, codes, user!, new Float32Array(300), bias);
    const rotatedUser = rotate(book, user!);
    for (const item of [0, 17, 299]) {
      expect(scores[item]).toBeCloseTo(dot(rotatedUser, decodeSignRotated(book, codes, item)) + bias[item]!, 4);
    }
  });

  it('the cascade scores the items its coarse pass keeps as signScan does, and no others', () => {
    const { vectors, bias } = catalog(500, 32, 6);
    const book = signCodebook(32, 128, 4);
    const codes = encodeSign(book, floatRows(vectors, 32));
    const [user] = users(1, 32, 7);
    const full = signScan(book, codes, user!, new Float32Array(500), bias);
    // Keeping everything is the plain asymmetric scan.
    expect(signCascadeScan(book, codes, user!, new Float32Array(500), { coarseBits: 64, keep: 500 }, bias)).toEqual(full);
    const some = signCascadeScan(book, codes, user!, new Float32Array(500), { coarseBits: 32, keep: 50 }, bias);
    const kept = [...some.keys()].filter((i) => Number.isFinite(some[i]!));
    expect(kept.length).toBeGreaterThanOrEqual(50);
    expect(kept.length).toBeLessThan(500);
    for (const i of kept) expect(some[i]).toBe(full[i]);
    // Those kept are the nearest by the coarse Hamming distance: none left out is nearer than one kept.
    const rotated = rotate(book, user!);
    const coarse = (i: number) => {
      let d = 0;
      for (let j = 0; j < 32; j++) d += Number(rotated[j]! >= 0) !== ((codes.codes[i * 16 + (j >> 3)]! >> (j & 7)) & 1) ? 1 : 0;
      return d;
    };
    const worstKept = Math.max(...kept.map(coarse));
    for (let i = 0; i < 500; i++) if (!Number.isFinite(some[i]!)) expect(coarse(i)).toBeGreaterThan(worstKept);
  });

  it('the Hamming scan counts differing bits (popcount32 against a bit-by-bit count)', () => {
    for (const x of [0, 1, 0xffffffff, 0x80000001, 0x12345678, 0xdeadbeef]) {
      let naive = 0;
      for (let b = 0; b < 32; b++) naive += (x >>> b) & 1;
      expect(popcount32(x)).toBe(naive);
    }
    const { vectors } = catalog(50, 32, 4);
    const book = signCodebook(32, 64, 9);
    const codes = encodeSign(book, floatRows(vectors, 32));
    // An item's own vector as the query: Hamming distance 0, the estimate is |v|².
    const self = hammingScan(book, codes, vectors.subarray(0, 32), new Float32Array(50));
    expect(self[0]).toBeCloseTo(dot(vectors.subarray(0, 32), vectors.subarray(0, 32)), 2);
  });
});

describe('product quantisation', () => {
  const { vectors, bias } = catalog(2000, 32, 11);
  const book = trainPq(floatRows(vectors, 32), { subspaces: 8, centroids: 64, sample: 1000, iterations: 6, seed: 3 });
  const codes = encodePq(book, floatRows(vectors, 32));

  it('codes round-trip: decoding then encoding again gives the same codes', () => {
    const decoded = new Float32Array(2000 * 32);
    for (let i = 0; i < 2000; i++) decodePq(book, codes, i, decoded.subarray(i * 32, (i + 1) * 32));
    expect(encodePq(book, floatRows(decoded, 32))).toEqual(codes);
  });

  it('decoding is close to the vector (k-means learned something)', () => {
    let error = 0;
    let energy = 0;
    for (let i = 0; i < 2000; i++) {
      const decoded = decodePq(book, codes, i);
      for (let t = 0; t < 32; t++) {
        error += (decoded[t]! - vectors[i * 32 + t]!) ** 2;
        energy += vectors[i * 32 + t]! ** 2;
      }
    }
    expect(error / energy).toBeLessThan(0.35);
  });

  it('re-coding changed rows in place gives the codes a full encode would', () => {
    const moved = Float32Array.from(vectors);
    for (const item of [3, 1500]) for (let t = 0; t < 32; t++) moved[item * 32 + t] = -moved[item * 32 + t]!;
    const updated = Uint8Array.from(codes);
    updatePqCodes(book, updated, floatRows(moved, 32), [3, 1500]);
    expect(updated).toEqual(encodePq(book, floatRows(moved, 32)));
    expect(updated).not.toEqual(codes);
  });

  it('the scan equals query · decoded vector + bias', () => {
    const [user] = users(1, 32, 13);
    const scores = pqScan(book, codes, user!, new Float32Array(2000), bias);
    for (const item of [0, 999, 1999]) expect(scores[item]).toBeCloseTo(dot(user!, decodePq(book, codes, item)) + bias[item]!, 4);
  });

  it('encodes int8 rows (the stored form) like their decoded floats', () => {
    const rows = Array.from({ length: 100 }, (_, i) => vectors.subarray(i * 32, (i + 1) * 32));
    const { codes: int8, scales } = quantizeRows(rows, 32);
    const decoded = new Float32Array(100 * 32);
    int8Rows(int8, scales, 32).row(5, decoded.subarray(0, 32));
    expect(encodePq(book, int8Rows(int8, scales, 32), 5, 6)).toEqual(encodePq(book, floatRows(decoded.subarray(0, 32), 32)));
  });
});

describe('two-stage search', () => {
  const count = 20_000;
  const dim = 32;
  const { vectors, bias } = catalog(count, dim, 21);
  const rows = floatRows(vectors, dim);
  const signBook = signCodebook(dim, 128, 5);
  const pqBook = trainPq(rows, { subspaces: 8, sample: 4000, iterations: 8, seed: 1 });
  const indices: CodeIndex[] = [pqIndex(pqBook, encodePq(pqBook, rows), bias), signIndex(signBook, encodeSign(signBook, rows), bias)];
  const queries = users(40, dim, 22);

  for (const index of indices) {
    it(`${index.kind}: 300 candidates hold the exact top-10 at recall ≥ 0.95 (seeded, 20,000 items)`, () => {
      let total = 0;
      for (const user of queries) {
        const exact = dotScorer(vectors, dim, user, bias);
        const truth = bruteForce(count, exact, 10).items;
        const found = twoStageSearch(index, user, exact, { k: 10, candidates: 300 });
        total += recall(truth, found.candidates);
        // Whatever stage one kept, stage two orders it exactly: the returned top-10 is the exact top-10
        // whenever the candidates hold it.
        if (truth.every((item) => found.candidates.includes(item))) expect(found.items).toEqual(truth);
      }
      expect(total / queries.length).toBeGreaterThanOrEqual(0.95);
    });
  }

  it('excluded items never come back, from either stage', () => {
    const user = queries[0]!;
    const exact = dotScorer(vectors, dim, user, bias);
    const banned = new Set(bruteForce(count, exact, 5).items);
    const found = twoStageSearch(indices[0]!, user, exact, { k: 10, candidates: 100, exclude: (i) => banned.has(i) });
    expect(found.items.some((item) => banned.has(item))).toBe(false);
    expect(found.items).toEqual(bruteForce(count, exact, 10, (i) => banned.has(i)).items);
  });
});

describe('int8Scorer', () => {
  it('asks for the rows in ascending item order, once, and scores each item at its own place', () => {
    const dim = 8;
    const { vectors } = catalog(50, dim, 31);
    const rows = Array.from({ length: 50 }, (_, i) => vectors.subarray(i * dim, (i + 1) * dim));
    const { codes: int8, scales } = quantizeRows(rows, dim);
    const asked: number[][] = [];
    const read = (items: readonly number[], codes: Int8Array, out: Float32Array) => {
      asked.push([...items]);
      items.forEach((item, c) => {
        codes.set(int8.subarray(item * dim, (item + 1) * dim), c * dim);
        out[c] = scales[item]!;
      });
    };
    const [query] = users(1, dim, 32);
    const exact = int8Scorer(read, dim, query!);
    const items = [41, 3, 17, 3, 49, 0];
    const scores = new Float64Array(items.length);
    exact(items, scores);
    expect(asked).toEqual([[0, 3, 3, 17, 41, 49]]);
    items.forEach((item, c) => {
      let sum = 0;
      for (let t = 0; t < dim; t++) sum += query![t]! * int8[item * dim + t]! * scales[item]!;
      expect(scores[c]).toBeCloseTo(sum, 5);
    });
  });
});

describe('heldInt8Scorer', () => {
  it("scores rows held in the rows file's layout where they lie: int8Scorer's scores to the bit, biases included", () => {
    // 515 and 13 dimensions: the unrolled loop's remainder, and scales at offsets that are not multiples of 4.
    for (const dim of [16, 515, 13]) {
      const n = 60;
      const { vectors } = catalog(n, dim, 41);
      const rows = Array.from({ length: n }, (_, i) => vectors.subarray(i * dim, (i + 1) * dim));
      const { codes: int8, scales } = quantizeRows(rows, dim);
      const record = 4 + dim;
      // One byte of padding before the file: its copy need not start on an aligned offset either.
      const buffer = new Uint8Array(1 + n * record);
      const bytes = buffer.subarray(1);
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (let i = 0; i < n; i++) {
        view.setFloat32(i * record, scales[i]!, true);
        bytes.set(new Uint8Array(int8.buffer, int8.byteOffset + i * dim, dim), i * record + 4);
      }
      const read = (items: readonly number[], codes: Int8Array, out: Float32Array) =>
        items.forEach((item, c) => {
          codes.set(int8.subarray(item * dim, (item + 1) * dim), c * dim);
          out[c] = scales[item]!;
        });
      const [query] = users(1, dim, 42);
      const bias = Float32Array.from({ length: n }, (_, i) => 0.01 * (i % 7));
      const items = [41, 3, 17, 3, 59, 0];
      for (const b of [undefined, bias]) {
        const expected = new Float64Array(items.length);
        int8Scorer(read, dim, query!, b)(items, expected);
        const inPlace = new Float64Array(items.length);
        heldInt8Scorer({ bytes, record }, dim, query!, b)(items, inPlace);
        expect(Array.from(inPlace)).toEqual(Array.from(expected));
      }
      expect(() => heldInt8Scorer({ bytes, record }, dim, query!)([n], new Float64Array(1))).toThrow(/outside/);
      expect(() => heldInt8Scorer({ bytes, record: record + 1 }, dim, query!)).toThrow(/bytes for/);
    }
  });
});

describe('two-stage search (properties)', () => {
  it('with candidates ≥ items it is the brute force, ties included; rescored scores equal the brute force scores', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 0, max: 1000 }),
        fc.boolean(),
        (count, k, seed, coarse) => {
          const dim = 8;
          const normal = gaussianSource(seededUniform(seed));
          // Coarse values make ties, which both paths must break the same way (lower index first).
          const value = () => (coarse ? Math.round(normal()) : normal());
          const vectors = Float32Array.from({ length: count * dim }, value);
          const bias = Float32Array.from({ length: count }, value);
          const user = Float32Array.from({ length: dim }, value);
          const book = signCodebook(dim, 8, seed);
          const index = signIndex(book, encodeSign(book, floatRows(vectors, dim)), bias);
          const exact = dotScorer(vectors, dim, user, bias);
          const truth = bruteForce(count, exact, k);
          const found = twoStageSearch(index, user, exact, { k, candidates: count });
          expect(found.items).toEqual(truth.items);
          expect(found.scores).toEqual(truth.scores);
          // Stage two's score of any candidate is the brute force's score of that item.
          const some = rescore(found.candidates, exact, count);
          const all = new Float64Array(count);
          exact(
            Array.from({ length: count }, (_, i) => i),
            all,
          );
          some.items.forEach((item, position) => expect(some.scores[position]).toBe(all[item]));
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('the table scan', () => {
  it('reads codes as words or as bytes to the same bit (aligned or not, any width)', async () => {
    const { scanTables } = await import('./scan');
    const uniform = seededUniform(8);
    for (const width of [3, 4, 8, 12]) {
      const count = 37;
      const backing = new Uint8Array(count * width + 1);
      for (let i = 0; i < backing.length; i++) backing[i] = Math.floor(uniform() * 256);
      const aligned = backing.subarray(0, count * width);
      const unaligned = Uint8Array.from(aligned);
      const shifted = new Uint8Array(unaligned.length + 1);
      shifted.set(unaligned, 1);
      const tables = Float32Array.from({ length: width * 256 }, () => uniform() - 0.5);
      const scale = Float32Array.from({ length: count }, () => uniform());
      const bias = Float32Array.from({ length: count }, () => uniform());
      const expected = new Float32Array(count);
      for (let i = 0; i < count; i++) {
        const sums = [0, 0, 0, 0];
        for (let b = 0; b < width; b++) sums[b % 4]! += tables[b * 256 + aligned[i * width + b]!]!;
        expected[i] = Math.fround(scale[i]! * Math.fround(Math.fround(sums[0]! + sums[1]!) + Math.fround(sums[2]! + sums[3]!))) + bias[i]!;
      }
      const fast = scanTables(aligned, width, tables, new Float32Array(count), scale, bias);
      const slow = scanTables(shifted.subarray(1), width, tables, new Float32Array(count), scale, bias);
      expect(fast).toEqual(slow);
      fast.forEach((value, i) => expect(value).toBeCloseTo(expected[i]!, 5));
    }
  });
});
