/**
 * The model's own candidates (core/model/model-candidates.ts) through the engine's text index
 * (ScaleSearch over the publisher's sign codes and the int8 rows in a VectorStore, as engine/scale.ts
 * reads them) against the brute force over every item of u·v_i + b_i, v_i = W·e_i + q_i with the head's
 * q_i and b_i, q_i = 0 and the prior's b_i elsewhere.
 */
import { describe, expect, it } from 'vitest';
import { mostPopular } from '../core/index/pool-rank';
import { HeadVectors, modelCandidates } from '../core/model/model-candidates';
import { PARAM_B, PARAM_Q, PARAM_RANKER_BIAS, PARAM_RANKER_WEIGHTS, PARAM_W } from '../core/model/hybrid';
import { PoolModel } from '../core/model/pool-model';
import { defaultRankerWeights, RANKER_FEATURE_COUNT } from '../core/model/ranker';
import { gaussianSource, seededUniform } from '../core/random';
import { topK } from '../core/topk';
import { matVec } from '../core/vector';
import { clusteredSearch } from './testing/clustered-search';

const n = 20_000;
const D = 256;
const d = 32;
const clusters = 80;
const headSize = 1000;

async function catalog() {
  const normal = gaussianSource(seededUniform(3));
  const uniform = seededUniform(4);
  // Not held in memory (as at 1M): the search's stage one keeps TEXT_CANDIDATES (500), not the 1,000 of a held store.
  const { rows, search } = await clusteredSearch({ n, dim: D, clusters, spread: 0.9, normal, modelId: 'test-256', catalogFingerprint: 'seeded' });
  // Popularity: a long tail, log-scaled to [0, 1] as the catalog's field.
  const popularity = Float32Array.from({ length: n }, () => Math.log1p(1000 * uniform() ** 6) / Math.log1p(1000));
  // The head: the most popular items, with residuals and biases that follow popularity.
  const head = mostPopular(popularity, headSize);
  const W = Float32Array.from({ length: d * D }, () => normal() * 0.5);
  const q = Float32Array.from({ length: headSize * d }, () => normal() * 0.3);
  const b = Float32Array.from(head, (index) => popularity[index]! + 0.1 * normal());
  const params = {
    [PARAM_W]: { shape: [d, D], values: W },
    [PARAM_Q]: { shape: [headSize, d], values: q },
    [PARAM_B]: { shape: [headSize], values: b },
    [PARAM_RANKER_WEIGHTS]: { shape: [RANKER_FEATURE_COUNT], values: defaultRankerWeights() },
    [PARAM_RANKER_BIAS]: { shape: [1], values: Float32Array.of(0) },
  };
  const model = new PoolModel(
    params,
    head.map((index) => `i${index}`),
  );
  model.fitPrior((id) => popularity[Number(id.slice(1))]);
  return { rows, search, popularity, head, model, normal, uniform };
}

describe("the model's candidates over every item", () => {
  it('find the exact top 10 of u·v_i + b_i at recall ≥ 0.95, the head scored with its q_i and the rest through the text index', async () => {
    const { rows, search, popularity, head, model, normal, uniform } = await catalog();
    const heads = await HeadVectors.build(
      model,
      (id) => Number(id.slice(1)),
      (indices) => indices.map((index) => rows[index]),
    );
    expect(heads.items.length).toBe(headSize);
    const headRow = new Map(head.map((index, row) => [index, row]));
    // Every item's v_i and b_i for the brute force, as PoolModel.over makes them.
    const v = new Float32Array(n * d);
    const bias = new Float32Array(n);
    const out = new Float32Array(d);
    for (let i = 0; i < n; i++) {
      const row = headRow.get(i);
      if (row === undefined) {
        v.set(matVec(model.W, D, rows[i]!, out), i * d);
        bias[i] = model.priorBias(popularity[i]!);
      } else bias[i] = model.headVector(row, rows[i], v.subarray(i * d, (i + 1) * d));
    }
    const popular = mostPopular(popularity, 300);
    let found = 0;
    let outsideHead = 0;
    let total = 0;
    const users = 30;
    for (let user = 0; user < users; user++) {
      // A reader's u: the mean v_i of five liked items of one topic, plus noise.
      const topic = Math.floor(uniform() * clusters);
      const liked = Array.from({ length: 5 }, () => topic + clusters * Math.floor(uniform() * (n / clusters)));
      const u = new Float32Array(d);
      for (const item of liked) for (let k = 0; k < d; k++) u[k] = u[k]! + v[item * d + k]! / liked.length;
      for (let k = 0; k < d; k++) u[k] = 0.3 * u[k]! + 0.1 * normal();
      const marked = new Set(liked);
      const scores = Float64Array.from({ length: n }, (_, i) => {
        let sum = bias[i]!;
        for (let k = 0; k < d; k++) sum += u[k]! * v[i * d + k]!;
        return sum;
      });
      const truth = topK(scores, 10, (i) => marked.has(i));
      const candidates = modelCandidates({
        model,
        head: heads,
        user: u,
        search: (query, k, exclude) => search.query(query, k, exclude, undefined, (index) => rows[index]),
        popularity: (index) => popularity[index]!,
        exclude: (index) => marked.has(index),
        k: 200,
        textCandidates: 500,
        alsoScore: { items: popular, rowOf: (index) => rows[index] },
      });
      const top = candidates.items.slice(0, 10);
      outsideHead += truth.filter((item) => !headRow.has(item)).length;
      found += truth.filter((item) => top.includes(item)).length;
      total += truth.length;
      // The scores it gives are the brute force's (the same rows, the same parameters).
      candidates.items.slice(0, 10).forEach((item, c) => expect(candidates.scores[c]).toBeCloseTo(scores[item]!, 3));
    }
    const recall = found / total;
    console.log(`model candidates: recall@10 ${recall.toFixed(3)} over ${users} readers (${n} items, head ${headSize}, D ${D})`);
    expect(recall).toBeGreaterThanOrEqual(0.95);
    // Much of the exact top 10 is outside the head (45 % in this catalog): found through the index alone.
    expect(outsideHead / total).toBeGreaterThan(0.3);
  }, 60_000);
});
