import { describe, expect, it } from 'vitest';
import { gaussianSource, seededUniform } from '../core/random';
import { encodeIndexFile, textSignBits } from '../core/index/codes-file';
import { int8Rows } from '../core/index/rows';
import { encodeSign, signCodebook } from '../core/index/sign';
import { bruteForce, int8Scorer, recall, twoStageSearch } from '../core/index/two-stage';
import { quantizeRows } from '../core/quantize';
import { memoryDirectory, VectorStore } from '../storage/opfs-vectors';
import { ScaleSearch, TEXT_CANDIDATES, TEXT_CANDIDATES_HELD, textIndexFrom } from './scale-index';
import { clusteredSearch as clusteredSearchFixture } from './testing/clustered-search';

const unit = (v: Float32Array) => {
  const norm = Math.hypot(...v) || 1;
  return v.map((x) => x / norm);
};

/** The shared fixture with this file's seeds and its own unit length (Math.hypot), as before. */
async function clusteredSearch({ n, dim, clusters, spread, seed }: { n: number; dim: number; clusters: number; spread: number; seed: number }) {
  const normal = gaussianSource(seededUniform(seed));
  return { normal, ...(await clusteredSearchFixture({ n, dim, clusters, spread, normal, unit })) };
}

describe('ScaleSearch', () => {
  it('a query over the stored text index and OPFS rows finds the exact top-10 of the cosine', async () => {
    const n = 4000;
    const dim = 64;
    const { normal, centres, codes, scales, store, index, search } = await clusteredSearch({ n, dim, clusters: 30, spread: 0.8, seed: 3 });
    expect(index.kind).toBe('hamming');
    let total = 0;
    for (let q = 0; q < 10; q++) {
      const query = unit(centres[q]!.map((x) => x + 0.8 * normal()));
      const truth = bruteForce(
        n,
        int8Scorer((items, c, s) => store.readRows(items, c, s), dim, query),
        10,
      );
      const found = search.query(query, 10);
      total += recall(truth.items, found.items);
      expect(found.scores[0]).toBeCloseTo(truth.scores[0]!, 6);
    }
    expect(total / 10).toBeGreaterThanOrEqual(0.95);
    expect(search.feedPool(new Float32Array(32), 100)).toBeUndefined();
    // Rows held in memory (the engine's, read before) are scored from there: the same result, no read of them.
    const query = unit(centres[3]!.map((x) => x + 0.8 * normal()));
    const asked: number[] = [];
    const read = store.readRows.bind(store);
    store.readRows = (items, c, sc) => (asked.push(...items), read(items, c, sc));
    const first = search.query(query, 10);
    const candidates = [...asked];
    const held = new Map(
      candidates.slice(0, 400).map((item) => {
        const row = new Float32Array(dim);
        for (let t = 0; t < dim; t++) row[t] = codes[item * dim + t]! * scales[item]!;
        return [item, row] as const;
      }),
    );
    asked.length = 0;
    const again = search.query(query, 10, undefined, undefined, (item) => held.get(item));
    expect(again.items).toEqual(first.items);
    again.scores.forEach((score, r) => expect(score).toBeCloseTo(first.scores[r]!, 5));
    expect(asked).toEqual(candidates.slice(400));
  });

  it('with the rows held in memory, takes TEXT_CANDIDATES_HELD candidates: the exact top-k of those, as over OPFS', async () => {
    const n = 3000;
    const dim = 32;
    const normal = gaussianSource(seededUniform(5));
    const vectors = Array.from({ length: n }, () => unit(Float32Array.from({ length: dim }, () => normal())));
    const { codes, scales } = quantizeRows(vectors, dim);
    const identity = { modelId: 'm', catalogFingerprint: 'fp', totalItems: n, dimension: dim };
    const [inMemory, inOpfs] = await Promise.all([VectorStore.open(memoryDirectory(), identity), VectorStore.open(memoryDirectory(), identity, 0)]);
    for (const store of [inMemory, inOpfs]) store.writeRows(0, codes, scales);
    expect([await inMemory.held, await inOpfs.held]).toEqual([true, false]);
    const book = signCodebook(dim, textSignBits(dim), 7);
    const file = await encodeIndexFile(
      { vectors: 'text', modelId: 'm', catalogFingerprint: 'fp' },
      { kind: 'sign', codebook: book, codes: encodeSign(book, int8Rows(codes, scales, dim)) },
    );
    const index = await textIndexFrom(file, { modelId: 'm', catalogFingerprint: 'fp', count: n });
    const held = new ScaleSearch({ text: { index, rows: inMemory } });
    const stored = new ScaleSearch({ text: { index, rows: inOpfs } });
    const reads = inMemory.fileReads;
    for (let q = 0; q < 5; q++) {
      const query = unit(Float32Array.from({ length: dim }, () => normal()));
      const exclude = (item: number) => item % 7 === q;
      // Twice, with k of 10 and of 600: the reused buffers give the same answer each time.
      for (const k of [10, 600, 10]) {
        const found = held.query(query, k, exclude);
        expect(found.candidates).toHaveLength(TEXT_CANDIDATES_HELD);
        const reference = twoStageSearch(
          index,
          query,
          int8Scorer((items, c, s) => inOpfs.readRows(items, c, s), dim, query),
          { k, candidates: TEXT_CANDIDATES_HELD, exclude },
        );
        expect(found.items).toEqual(reference.items);
        expect(found.scores).toEqual(reference.scores);
        expect(stored.query(query, k, exclude).candidates).toHaveLength(Math.max(k, TEXT_CANDIDATES));
      }
    }
    expect(inMemory.fileReads).toBe(reads);
    // Scored where the rows lie: the caller's onRows sees copies of the rows it does not hold, once each, and the
    // answer is the same as without them.
    const query = unit(Float32Array.from({ length: dim }, () => normal()));
    const holds = new Map<number, Float32Array>();
    const seen: number[] = [];
    const onRows = (items: readonly number[], c: Int8Array, sc: Float32Array) =>
      items.forEach((item, r) => {
        seen.push(item);
        expect(Array.from(c.subarray(r * dim, (r + 1) * dim))).toEqual(Array.from(codes.subarray(item * dim, (item + 1) * dim)));
        expect(sc[r]).toBe(scales[item]);
        holds.set(item, new Float32Array(dim));
      });
    const plain = held.query(query, 600);
    const first = held.query(query, 600, undefined, onRows, (item) => holds.get(item));
    expect(first.items).toEqual(plain.items);
    expect(first.scores).toEqual(plain.scores);
    expect([...seen].sort((a, b) => a - b)).toEqual([...first.candidates].sort((a, b) => a - b));
    seen.length = 0;
    const again = held.query(query, 600, undefined, onRows, (item) => holds.get(item));
    expect(again.items).toEqual(plain.items);
    expect(seen).toEqual([]); // all held by the caller now
    expect(inMemory.fileReads).toBe(reads);
  });

  it("keeps stage one's list for a vector asked again (the read-ahead's, then the Like's): the same answers as scanning again, whatever the exclusions", async () => {
    const dim = 32;
    const { normal, centres, store, index, search } = await clusteredSearch({ n: 5000, dim, clusters: 10, spread: 0.6, seed: 8 });
    const reference = (query: Float32Array, k: number, exclude?: (item: number) => boolean) =>
      twoStageSearch(
        index,
        query,
        int8Scorer((items, c, s) => store.readRows(items, c, s), dim, query),
        {
          k,
          candidates: Math.max(k, TEXT_CANDIDATES),
          ...(exclude ? { exclude } : {}),
        },
      );
    const queries = Array.from({ length: 3 }, (_, q) => unit(centres[q]!.map((x) => x + 0.5 * normal())));
    for (const query of queries) {
      const list = new Set(reference(query, TEXT_CANDIDATES).candidates.slice(0, 300));
      const exclusions: ((item: number) => boolean)[] = [
        () => false,
        (item) => item % 97 === 0, // a few of the list: the kept list's margin covers them
        (item) => list.has(item), // 300 of the list, more than the margin: stage one runs again
        (item) => item % 3 === 0, // a third of the catalog: again
      ];
      const runs = search.stageOneRuns;
      search.query(query, TEXT_CANDIDATES); // the read-ahead's call: the list is kept
      expect(search.stageOneRuns).toBe(runs + 1);
      for (const exclude of exclusions) {
        for (const k of [10, TEXT_CANDIDATES]) {
          const expected = reference(query, k, exclude);
          const found = search.query(query, k, exclude);
          expect(found.candidates).toEqual(expected.candidates);
          expect(found.items).toEqual(expected.items);
          expect(found.scores).toEqual(expected.scores);
        }
      }
      // The last two exclusions scanned again (each twice: k of 10 and of 500), the others took the kept list.
      expect(search.stageOneRuns).toBe(runs + 5);
    }
    // The same vector in another array: the kept list; a vector one float apart: a scan.
    const runs = search.stageOneRuns;
    search.query(Float32Array.from(queries[2]!), TEXT_CANDIDATES);
    expect(search.stageOneRuns).toBe(runs);
    const moved = Float32Array.from(queries[2]!);
    moved[5] = moved[5]! + 1e-3;
    search.query(moved, TEXT_CANDIDATES);
    expect(search.stageOneRuns).toBe(runs + 1);
  });

  it('refuses a text index for another catalog', async () => {
    const book = signCodebook(16, 512, 1);
    const rows = quantizeRows([unit(Float32Array.from({ length: 16 }, (_, i) => i + 1))], 16);
    const file = await encodeIndexFile(
      { vectors: 'text', modelId: 'm', catalogFingerprint: 'fp' },
      { kind: 'sign', codebook: book, codes: encodeSign(book, int8Rows(rows.codes, rows.scales, 16)) },
    );
    await expect(textIndexFrom(file, { modelId: 'm', catalogFingerprint: 'other', count: 1 })).rejects.toThrow(/another version of the catalog/);
  });
});
