/**
 * The model's text search from a stage one read ahead (engine/scale-model-search.ts) over the engine's text
 * index (ScaleSearch over sign codes and int8 rows in a VectorStore), held in memory and not.
 */
import { describe, expect, it } from 'vitest';
import { gaussianSource, seededUniform } from '../core/random';
import { dot, normalized } from '../core/vector';
import { PREDICTED_CANDIDATES_FACTOR, searchFromStageOne, stageOneAhead } from './scale-model-search';
import { clusteredSearch } from './testing/clustered-search';

const n = 6000;
const D = 128;

async function catalog(held: boolean) {
  const normal = gaussianSource(seededUniform(5));
  const { rows, store, heldInMemory, search } = await clusteredSearch({
    n,
    dim: D,
    clusters: 40,
    spread: 0.9,
    normal,
    modelId: 'test-128',
    catalogFingerprint: 'seeded',
    held,
  });
  if (held) expect(heldInMemory).toBe(true);
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
