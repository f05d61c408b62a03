import { describe, expect, it } from 'vitest';
import { gaussianSource, seededUniform } from '../random';
import { encodePq, pqScan, trainPq } from './pq';
import { floatRows } from './rows';
import { encodeSign, hammingScan, popcount32, signCascadeScan, signCodebook, signScan } from './sign';
import { bruteForce, dotScorer, int8Scorer, pqIndex, recall, twoStageSearch } from './two-stage';
import { wasmHammingIndex, wasmPqIndex, wasmSignIndex } from './wasm-index';
import { arenaBytes, SCAN_WASM, WasmArena, wasmScanSupported } from './wasm-scan';
import { topK } from '../topk';
import { quantizeRows } from '../quantize';

function catalog(count: number, dim: number, seed: number): { vectors: Float32Array; bias: Float32Array; queries: Float32Array[] } {
  const normal = gaussianSource(seededUniform(seed));
  const centres = Float32Array.from({ length: 20 * dim }, () => normal());
  const vectors = new Float32Array(count * dim);
  const bias = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    for (let t = 0; t < dim; t++) vectors[i * dim + t] = 0.6 * centres[(i % 20) * dim + t]! + normal();
    bias[i] = 0.5 * normal();
  }
  const queries = Array.from({ length: 5 }, () => Float32Array.from({ length: dim }, () => 0.3 * normal()));
  return { vectors, bias, queries };
}

describe('the WASM scan module', () => {
  it('is valid WebAssembly with SIMD in this runtime', () => {
    expect(WebAssembly.validate(SCAN_WASM)).toBe(true);
    expect(wasmScanSupported()).toBe(true);
  });

  it('PQ: the same scores as the JS scan, to the bit, with and without biases', () => {
    const { vectors, bias, queries } = catalog(1000, 32, 1);
    const book = trainPq(floatRows(vectors, 32), { subspaces: 16, sample: 1000, iterations: 4, seed: 2 });
    const codes = encodePq(book, floatRows(vectors, 32));
    for (const b of [bias, undefined]) {
      const index = wasmPqIndex(book, codes, b);
      for (const query of queries) {
        const expected = pqScan(book, codes, query, new Float32Array(1000), b);
        const out = new Float32Array(1000);
        index.stageOne(query, out);
        expect(Array.from(out)).toEqual(Array.from(expected));
      }
    }
  });

  it('reads the biases live: a bias changed after the index was built is in the next scan', () => {
    const { vectors, bias, queries } = catalog(200, 32, 3);
    const book = trainPq(floatRows(vectors, 32), { subspaces: 8, sample: 200, iterations: 3, seed: 2 });
    const index = wasmPqIndex(book, encodePq(book, floatRows(vectors, 32)), bias);
    const out = new Float32Array(200);
    index.stageOne(queries[0]!, out);
    const before = out[7]!;
    bias[7] = bias[7]! + 10;
    index.stageOne(queries[0]!, out);
    expect(out[7]).toBeCloseTo(before + 10, 4);
  });

  it('sign codes, asymmetric: the same scores as signScan, to the bit', () => {
    const { vectors, bias, queries } = catalog(700, 64, 4);
    const book = signCodebook(64, 256, 5);
    const codes = encodeSign(book, floatRows(vectors, 64));
    const index = wasmSignIndex(book, codes, bias);
    for (const query of queries) {
      const out = new Float32Array(700);
      index.stageOne(query, out);
      expect(Array.from(out)).toEqual(Array.from(signScan(book, codes, query, new Float32Array(700), bias)));
    }
  });

  it('Hamming: the same scores as hammingScan (SIMD popcount against the SWAR count)', () => {
    const { vectors, bias, queries } = catalog(700, 64, 6);
    const book = signCodebook(64, 512, 7);
    const codes = encodeSign(book, floatRows(vectors, 64));
    const index = wasmHammingIndex(book, codes, bias);
    for (const query of queries) {
      const out = new Float32Array(700);
      index.stageOne(query, out);
      expect(Array.from(out)).toEqual(Array.from(hammingScan(book, codes, query, new Float32Array(700), bias)));
    }
  });

  it('the cascade keeps the same items as signCascadeScan and scores them alike', () => {
    const { vectors, queries } = catalog(2000, 64, 8);
    const book = signCodebook(64, 512, 9);
    const codes = encodeSign(book, floatRows(vectors, 64));
    const options = { coarseBits: 256, keep: 150 };
    const index = wasmSignIndex(book, codes, undefined, options);
    for (const query of queries) {
      const out = new Float32Array(2000);
      index.stageOne(query, out);
      const expected = signCascadeScan(book, codes, query, new Float32Array(2000), options);
      const kept = (scores: Float32Array) => Array.from(scores, (s, i) => (Number.isFinite(s) ? i : -1)).filter((i) => i >= 0);
      expect(kept(out)).toEqual(kept(expected));
      expect(kept(out).length).toBeGreaterThanOrEqual(150);
      expect(kept(out).length).toBeLessThan(2000);
      for (const i of kept(out)) expect(out[i]).toBeCloseTo(expected[i]!, 4);
    }
  });

  it('refuses layouts it cannot read: widths not a multiple of 4, coarse bits not a multiple of 128', () => {
    const { vectors } = catalog(50, 32, 10);
    const book = trainPq(floatRows(vectors, 32), { subspaces: 2, sample: 50, iterations: 2, seed: 1 });
    expect(() => wasmPqIndex(book, encodePq(book, floatRows(vectors, 32)))).toThrow(/multiple of 4/);
    const sign = signCodebook(32, 256, 1);
    expect(() => wasmSignIndex(sign, encodeSign(sign, floatRows(vectors, 32)), undefined, { coarseBits: 96, keep: 10 })).toThrow(/multiple of 128/);
  });

  it('two-stage search with the WASM index and int8 rows read for the candidates finds the brute force top-10', () => {
    const { vectors, bias, queries } = catalog(3000, 32, 11);
    const rows = Array.from({ length: 3000 }, (_, i) => vectors.subarray(i * 32, (i + 1) * 32));
    const { codes: int8, scales } = quantizeRows(rows, 32);
    const read = (items: readonly number[], codes: Int8Array, out: Float32Array) =>
      items.forEach((item, c) => {
        codes.set(int8.subarray(item * 32, (item + 1) * 32), c * 32);
        out[c] = scales[item]!;
      });
    const book = trainPq(floatRows(vectors, 32), { subspaces: 16, sample: 3000, iterations: 6, seed: 2 });
    const codes = encodePq(book, floatRows(vectors, 32));
    const wasm = wasmPqIndex(book, codes, bias);
    const js = pqIndex(book, codes, bias);
    for (const query of queries) {
      const exact = int8Scorer(read, 32, query, bias);
      const truth = bruteForce(3000, exact, 10);
      const found = twoStageSearch(wasm, query, exact, { k: 10, candidates: 300 });
      expect(recall(truth.items, found.items)).toBe(1);
      expect(found.items).toEqual(twoStageSearch(js, query, exact, { k: 10, candidates: 300 }).items);
      // int8 rows agree with the float scorer to the quantisation's precision.
      const floats = new Float64Array(1);
      dotScorer(vectors, 32, query, bias)([found.items[0]!], floats);
      expect(found.scores[0]).toBeCloseTo(floats[0]!, 1);
    }
  });
});

describe('the WASM Hamming scan with keep', () => {
  it('scores the nearest items by distance as hammingScan does, ties at the threshold included, and no others', () => {
    const { vectors, queries } = catalog(3000, 64, 12);
    const book = signCodebook(64, 512, 13);
    const codes = encodeSign(book, floatRows(vectors, 64));
    const index = wasmHammingIndex(book, codes, undefined, 100);
    for (const query of queries) {
      const out = new Float32Array(3000);
      index.stageOne(query, out);
      const full = hammingScan(book, codes, query, new Float32Array(3000));
      const kept = Array.from(out, (s, i) => (Number.isFinite(s) ? i : -1)).filter((i) => i >= 0);
      expect(kept.length).toBeGreaterThanOrEqual(100);
      expect(kept.length).toBeLessThan(3000);
      for (const i of kept) expect(out[i]).toBe(full[i]);
      // Every item left out is at least as far as every item kept (the histogram's cut).
      const q = encodeSign(book, { count: 1, dim: 64, row: (_, target) => target.set(query) }).codes;
      const distance = (i: number) => {
        let d = 0;
        for (let b = 0; b < 64; b++) d += popcount32(codes.codes[i * 64 + b]! ^ q[b]!);
        return d;
      };
      const farthestKept = Math.max(...kept.map(distance));
      const keptSet = new Set(kept);
      for (let i = 0; i < 3000; i += 7) if (!keptSet.has(i)) expect(distance(i)).toBeGreaterThanOrEqual(farthestKept);
    }
  });
});

describe('the unrolled Hamming kernels (wasm-hamming.ts)', () => {
  it('give the distances and histogram of the generic loop for 1 to 4 chunks, at any stride', () => {
    const uniform = seededUniform(21);
    const n = 1001;
    const stride = 80; // wider than the chunks read: the rest of each row is not counted
    const arena = new WasmArena(arenaBytes(n * stride, n * 2, n * 2, 641 * 4, 641 * 4, 64) + 64);
    const codesAt = arena.alloc(n * stride);
    arena.u8(codesAt, n * stride).set(Uint8Array.from({ length: n * stride }, () => Math.floor(uniform() * 256)));
    const [genericDist, unrolledDist, genericHist, unrolledHist, queryAt] = [n * 2, n * 2, 641 * 4, 641 * 4, 64].map((b) => arena.alloc(b)) as [
      number,
      number,
      number,
      number,
      number,
    ];
    arena.u8(queryAt, 64).set(Uint8Array.from({ length: 64 }, () => Math.floor(uniform() * 256)));
    for (const chunks of [1, 2, 3, 4, 5]) {
      arena.i32(genericHist, 641).fill(0);
      arena.i32(unrolledHist, 641).fill(0);
      arena.kernels.hamming(codesAt, stride, chunks, queryAt, n, genericDist, genericHist);
      arena.hamming(codesAt, stride, chunks, queryAt, n, unrolledDist, unrolledHist);
      const expected = Array.from({ length: n }, (_, i) => {
        let d = 0;
        for (let b = 0; b < 16 * chunks; b++) d += popcount32(arena.u8(codesAt + i * stride + b, 1)[0]! ^ arena.u8(queryAt + b, 1)[0]!);
        return d;
      });
      expect(Array.from(arena.u16(unrolledDist, n))).toEqual(expected);
      expect(Array.from(arena.u16(genericDist, n))).toEqual(expected);
      expect(Array.from(arena.i32(unrolledHist, 641))).toEqual(Array.from(arena.i32(genericHist, 641)));
      expect(arena.i32(unrolledHist, 641).reduce((a, b) => a + b, 0)).toBe(n);
    }
  });
});

describe('the collect kernel (wasm-hamming.ts)', () => {
  it('lists, in order, every item whose distance is at most the cut, for counts that are not a multiple of 8', () => {
    const uniform = seededUniform(23);
    const arena = new WasmArena(arenaBytes(1003 * 2, 1003 * 4) + 64);
    const [distAt, outAt] = [1003 * 2, 1003 * 4].map((b) => arena.alloc(b)) as [number, number];
    const dist = arena.u16(distAt, 1003);
    dist.set(Array.from({ length: 1003 }, () => 200 + Math.floor(uniform() * 100)));
    for (const n of [0, 1, 7, 8, 9, 1003]) {
      for (const cut of [0, 205, 250, 299, 400]) {
        const expected = Array.from(dist.subarray(0, n).keys()).filter((i) => dist[i]! <= cut);
        const m = arena.kernels.collect(distAt, n, cut, outAt);
        expect(Array.from(arena.i32(outAt, m))).toEqual(expected);
      }
    }
  });
});

describe("the WASM Hamming index's select (the kept items alone, no heap over every item)", () => {
  it('returns what the candidate heap over its stage one returns, ties and exclusions included', () => {
    const { vectors, bias, queries } = catalog(3000, 64, 14);
    const book = signCodebook(64, 512, 15);
    const codes = encodeSign(book, floatRows(vectors, 64));
    const excluded = (i: number) => i % 5 === 0;
    for (const [keep, withBias] of [
      [100, false],
      [400, true],
      [3000, false],
    ] as const) {
      const index = wasmHammingIndex(book, codes, withBias ? bias : undefined, keep);
      expect(index.select).toBeDefined();
      for (const query of queries) {
        for (const n of [10, 50, 250, 600]) {
          const out = new Float32Array(3000);
          index.stageOne(query, out);
          expect(index.select!(query, n)).toEqual(topK(out, n));
          expect(index.select!(query, n, excluded)).toEqual(topK(out, n, excluded));
        }
      }
    }
    // More items tied at the threshold than the collect kernel's room (4 × keep): the same, by the JS pass.
    const same = encodeSign(book, floatRows(new Float32Array(3000 * 64).fill(0.5), 64));
    const tied = wasmHammingIndex(book, same, undefined, 100);
    const out = new Float32Array(3000);
    tied.stageOne(queries[0]!, out);
    expect(tied.select!(queries[0]!, 50)).toEqual(topK(out, 50));
    expect(tied.select!(queries[0]!, 50)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    // Without keep there is nothing to skip: the index scores every item and has no select.
    expect(wasmHammingIndex(book, codes).select).toBeUndefined();
  });
});
