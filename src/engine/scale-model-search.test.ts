/**
 * The model's text search from a stage one read ahead (engine/scale-model-search.ts) over the engine's text
 * index (ScaleSearch over sign codes and int8 rows in a VectorStore), held in memory and not.
 */
import { describe, expect, it } from 'vitest';
import { encodeIndexFile, textSignBits } from '../core/index/codes-file';
import { int8Rows } from '../core/index/rows';
import { encodeSign, signCodebook } from '../core/index/sign';
import { quantizeRows } from '../core/quantize';
import { gaussianSource, seededUniform } from '../core/random';
import { dot, normalized } from '../core/vector';
import { memoryDirectory, VectorStore } from '../storage/opfs-vectors';
import { ScaleSearch, textIndexFrom } from './scale-index';
import { PREDICTED_CANDIDATES_FACTOR, searchFromStageOne, stageOneAhead } from './scale-model-search';

const n = 6000;
const D = 128;

async function catalog(held: boolean) {
  const normal = gaussianSource(seededUniform(5));
  const centres = Array.from({ length: 40 }, () => Float32Array.from({ length: D }, () => normal()));
  const floats = Array.from({ length: n }, (_, i) => normalized(centres[i % 40]!.map((x) => x + 0.9 * normal())));
  const { codes, scales } = quantizeRows(floats, D);
  const rows = Array.from({ length: n }, (_, i) => Float32Array.from(codes.subarray(i * D, (i + 1) * D), (c) => c * scales[i]!));
  const identity = { modelId: 'test-128', catalogFingerprint: 'seeded', totalItems: n, dimension: D };
  const store = await VectorStore.open(memoryDirectory(), identity, held ? undefined : 0);
  store.writeRows(0, codes, scales);
  if (held) expect(await store.holdMemory()).toBe(true);
  const book = signCodebook(D, textSignBits(D), 7);
  const file = await encodeIndexFile(
    { vectors: 'text', modelId: identity.modelId, catalogFingerprint: 'seeded' },
    { kind: 'sign', codebook: book, codes: encodeSign(book, int8Rows(codes, scales, D)) },
  );
  const search = new ScaleSearch({
    text: { index: await textIndexFrom(file, { modelId: identity.modelId, catalogFingerprint: 'seeded', count: n }), rows: store },
  });
  return { rows, store, search, normal };
}

describe("the model's text search from a stage one read ahead", () => {
  for (const held of [true, false]) {
    it(`scores the read-ahead's candidates by the Like's own vector exactly, without a scan (rows ${held ? 'held in memory' : 'in storage'})`, async () => {
      const { rows, store, search, normal } = await catalog(held);
      const predicted = normalized(Float32Array.from({ length: D }, () => normal()));
      // The Like's own vector: near the prediction.
      const query = normalized(predicted.map((x) => x + (0.15 * normal()) / Math.sqrt(D)));
      const k = 50;
      const ahead = stageOneAhead(search, D, predicted, k);
      expect(ahead.length).toBeGreaterThanOrEqual(PREDICTED_CANDIDATES_FACTOR * k);
      const scans = search.stageOneRuns;
      const excluded = new Set(ahead.slice(0, 30));
      const heldRows = new Map(ahead.slice(40, 80).map((i) => [i, rows[i]!]));
      const found = searchFromStageOne(
        search,
        store,
        predicted,
        query,
        k,
        (i) => excluded.has(i),
        (i) => heldRows.get(i),
      );
      expect(search.stageOneRuns).toBe(scans);
      expect(found.items).toHaveLength(k);
      expect(found.items.some((i) => excluded.has(i))).toBe(false);
      // Among the read-ahead's candidates, the best k by the Like's own vector, with their exact scores.
      const inAhead = new Set(ahead);
      const best = ahead
        .filter((i) => !excluded.has(i))
        .map((i) => ({ i, score: dot(query, rows[i]!) }))
        .sort((a, b) => b.score - a.score || a.i - b.i);
      expect(found.items.every((i) => inAhead.has(i))).toBe(true);
      found.items.forEach((item, c) => expect(found.scores[c]).toBeCloseTo(dot(query, rows[item]!), 5));
      expect(new Set(found.items)).toEqual(new Set(best.slice(0, k).map((entry) => entry.i)));
      // The search of the Like's own vector (a scan) finds most of the same items.
      const own = search.query(query, k, (i) => excluded.has(i));
      const same = own.items.filter((i) => found.items.includes(i)).length;
      expect(same / k).toBeGreaterThanOrEqual(0.8);
    });
  }
});
