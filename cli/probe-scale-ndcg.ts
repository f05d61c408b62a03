/**
 * `npx tsx cli/probe-scale-ndcg.ts [--data ../shared/data/ml-100k] [--pools 30:50,10:20,300:500]`
 *
 * Issue 21's quality check: does the scale path's pool (engine/scale.ts) keep the feed's quality when it
 * replaces the brute force? On MovieLens 100K, leave-one-out (each user's latest interaction held out),
 * each user's content profile (core/profile.ts, the likes: ratings ≥ 4, in time order) ranks the feed of 10
 * two ways, as the engine does on each path:
 *  - exact: `recommend` over every item (the small path; the brute force);
 *  - index: the pool of the P most popular items, the text index's C nearest to the profile's direction
 *    (the publisher's sign codes, stage one by the WASM Hamming scan where it runs, the exact int8 cosine of
 *    the candidates: `textIndexFrom` + `ScaleSearch`, as the engine) and the history, ranked by
 *    `recommendOver` (core/index/pool-rank.ts).
 * Prints NDCG@10 and HR@10 of the held-out item for both, and the index's share of the exact NDCG, per pool
 * setting P:C. The engine's own setting (300:500) is most of a 1,682-item catalog; smaller pools are the
 * same fraction of the catalog as the engine's at 100,000 items (about 1%) and more.
 *
 * The model at scale (`--model`, stop 38): the shipped model's trainer (trainSoftmax, SOFTMAX_DEFAULTS,
 * text on, d = 32, on every training interaction, TF.js wasm) gives W, q, b and each user's u; at scale a
 * device has q_i, b_i for the head only (`--heads`: the H items most read in training), q_i = 0 and the
 * prior's b_i elsewhere (core/model/pool-model.ts). Per head size and `--model-pools` setting C:P, the
 * feed of 10 by u·v_i + b_i two ways:
 *  - exact: the brute force over every item;
 *  - index: the model's candidates (core/model/model-candidates.ts: the head scored exactly, the text
 *    index's C nearest to Wᵀu (stage one keeps C by the sign codes, stage two their exact dot) plus the
 *    prior's b, the P most popular scored exactly), their best 10.
 */
import { parseArgs } from 'node:util';
import type { CatalogItem } from '../src/core/catalog';
import { encodeIndexFile, textSignBits } from '../src/core/index/codes-file';
import { mostPopular, recommendOver } from '../src/core/index/pool-rank';
import { int8Rows } from '../src/core/index/rows';
import { encodeSign, signCodebook } from '../src/core/index/sign';
import { leaveOneOutSplit } from '../src/core/eval/splits';
import { ndcgOfRank } from '../src/core/eval/metrics';
import { applyEvent, EMPTY_PROFILE, type ContentProfile } from '../src/core/profile';
import { quantizeRows } from '../src/core/quantize';
import { recommend, type RankContext } from '../src/core/rank';
import { normalized } from '../src/core/vector';
import { memoryDirectory, VectorStore } from '../src/storage/opfs-vectors';
import { ScaleSearch, textIndexFrom } from '../src/engine/scale-index';
import { HybridModel, PARAM_B, PARAM_Q, PARAM_RANKER_BIAS, PARAM_RANKER_WEIGHTS, PARAM_W } from '../src/core/model/hybrid';
import { HeadVectors, modelCandidates } from '../src/core/model/model-candidates';
import { PoolModel } from '../src/core/model/pool-model';
import { defaultRankerWeights, RANKER_FEATURE_COUNT } from '../src/core/model/ranker';
import { SOFTMAX_DEFAULTS, trainSoftmax } from '../src/core/model/train';
import { dotScorer, twoStageSearch } from '../src/core/index/two-stage';
import { topK } from '../src/core/topk';
import { matVec } from '../src/core/vector';
import { cachedEmbeddings, readMovieLens100k } from './data/readers';
import { useNodeBackend } from './data/tf-node';
import { loadUseLiteFromDisk } from './node-models';

const { values } = parseArgs({
  options: {
    data: { type: 'string', default: '../shared/data/ml-100k' },
    pools: { type: 'string', default: '30:50,10:20,300:500' },
    diversity: { type: 'string', default: '0.3' },
    model: { type: 'boolean', default: false },
    heads: { type: 'string', default: '0,100,300,1682' },
    'model-pools': { type: 'string', default: '500:300,50:30,20:10' },
  },
});
const K = 10;
const data = await readMovieLens100k(values.data!);
const n = data.itemIds.length;
const dim = 512;
// TF.js on wasm (the encoder here, the model's training with --model), as the other CLIs.
await useNodeBackend('wasm');
const { embeddings } = await cachedEmbeddings(() => loadUseLiteFromDisk(), 'use-lite-512', dim, data.itemTexts);
// The rows as the device holds them: int8 + one scale per row (the shards' form), for both paths.
const floats = Array.from({ length: n }, (_, i) => normalized(embeddings.subarray(i * dim, (i + 1) * dim)));
const { codes, scales } = quantizeRows(floats, dim);
const rows = Array.from({ length: n }, (_, i) => Float32Array.from(codes.subarray(i * dim, (i + 1) * dim), (c) => c * scales[i]!));
const store = await VectorStore.open(memoryDirectory(), { modelId: 'use-lite-512', catalogFingerprint: 'ml-100k', totalItems: n, dimension: dim });
store.writeRows(0, codes, scales);
const book = signCodebook(dim, textSignBits(dim), 7);
const file = await encodeIndexFile(
  { vectors: 'text', modelId: 'use-lite-512', catalogFingerprint: 'ml-100k' },
  { kind: 'sign', codebook: book, codes: encodeSign(book, int8Rows(codes, scales, dim)) },
);
const textIndex = await textIndexFrom(file, { modelId: 'use-lite-512', catalogFingerprint: 'ml-100k', count: n });
const search = new ScaleSearch({ text: { index: textIndex, rows: store } });

const split = leaveOneOutSplit(data);
// Popularity from the training interactions only (the catalog's popularity field).
const counts = new Float32Array(n);
for (const row of split.train) counts[data.items[row]!]!++;
const items: CatalogItem[] = data.itemIds.map((id, i) => ({ id, title: data.itemTexts[i]!.slice(0, 200), text: data.itemTexts[i]! }));
const logs = Array.from(counts, (c) => Math.log1p(c));
const top = logs.reduce((a, b) => Math.max(a, b), 0);
const popularity = Float32Array.from(logs, (x) => (top > 0 ? x / top : 0));
const byUser = new Map<number, number[]>();
for (const row of split.train) {
  const user = data.users[row]!;
  if (!byUser.has(user)) byUser.set(user, []);
  byUser.get(user)!.push(row);
}
const pools = values.pools!.split(',').map((p) => p.split(':').map(Number) as [number, number]);
const sums = { exact: { ndcg: 0, hr: 0 }, index: pools.map(() => ({ ndcg: 0, hr: 0, pool: 0 })) };
let users = 0;
for (const testRow of split.test) {
  const user = data.users[testRow]!;
  const target = data.items[testRow]!;
  const history = (byUser.get(user) ?? []).sort((a, b) => data.times[a]! - data.times[b]!);
  let profile: ContentProfile = EMPTY_PROFILE;
  const marked = new Set<number>();
  const likes: number[] = [];
  for (const row of history) {
    const item = data.items[row]!;
    marked.add(item);
    if (data.values[row]! >= 4) {
      profile = applyEvent(profile, 'like', rows[item]!);
      likes.push(item);
    }
  }
  if (!profile.vector) continue;
  users++;
  const context: RankContext = {
    items,
    embeddings: rows,
    popularity,
    profile,
    exclude: marked,
    anchors: likes.reverse().map((index) => ({ index, kind: 'like' as const })),
    liked: new Set(likes),
    diversity: Number(values.diversity),
  };
  const score = (feed: number[], into: { ndcg: number; hr: number }) => {
    const rank = feed.indexOf(target);
    if (rank >= 0) {
      into.ndcg += ndcgOfRank(rank, K);
      into.hr += 1;
    }
  };
  score(
    recommend(context, K).map((r) => r.index),
    sums.exact,
  );
  const direction = normalized(profile.vector);
  pools.forEach(([popular, candidates], p) => {
    const pool = [...new Set([...mostPopular(popularity, popular), ...search.query(direction, candidates, (i) => marked.has(i)).items, ...marked])];
    sums.index[p]!.pool += pool.length;
    score(
      recommendOver(context, pool, K).map((r) => r.index),
      sums.index[p]!,
    );
  });
}
const fmt = (x: number) => x.toFixed(4);
console.log(`# MovieLens 100K, leave-one-out, content profile (likes: rating ≥ 4), ${users} users with a like, ${n} items, diversity ${values.diversity}`);
console.log('| ranking | pool (mean items) | NDCG@10 | HR@10 | share of exact NDCG |');
console.log('|---|---|---|---|---|');
console.log(`| exact (recommend over every item) | ${n} | ${fmt(sums.exact.ndcg / users)} | ${fmt(sums.exact.hr / users)} | 100 % |`);
pools.forEach(([popular, candidates], p) => {
  const s = sums.index[p]!;
  console.log(
    `| index: ${popular} popular + ${candidates} nearest + history | ${(s.pool / users).toFixed(0)} | ${fmt(s.ndcg / users)} | ${fmt(s.hr / users)} | ${((100 * s.ndcg) / sums.exact.ndcg).toFixed(1)} % |`,
  );
});

if (values.model) await probeModel();

/** The model at scale against its brute force (see the header): one table per run. */
async function probeModel(): Promise<void> {
  const factors = 32;
  const started = performance.now();
  const model = new HybridModel({ itemIds: data.itemIds, embeddings, embeddingDim: dim, factors, seed: 1 });
  const train = {
    userCount: data.userIds.length,
    users: Int32Array.from(split.train, (row) => data.users[row]!),
    items: Int32Array.from(split.train, (row) => data.items[row]!),
    weights: new Float32Array(split.train.length).fill(1),
  };
  const { userVectors } = await trainSoftmax(model, train, { ...SOFTMAX_DEFAULTS, useText: true, seed: 1 });
  const trainSeconds = (performance.now() - started) / 1000;
  const W = model.getParams()[PARAM_W]!.values;
  const q = model.getParams()[PARAM_Q]!.values;
  const b = model.getParams()[PARAM_B]!.values;
  const flatRows = new Float32Array(n * dim);
  rows.forEach((row, i) => flatRows.set(row, i * dim));
  const seen = new Map<number, Set<number>>();
  for (const row of split.train) {
    const user = data.users[row]!;
    if (!seen.has(user)) seen.set(user, new Set());
    seen.get(user)!.add(data.items[row]!);
  }
  const heads = values.heads!.split(',').map(Number);
  const modelPools = values['model-pools']!.split(',').map((p) => p.split(':').map(Number) as [number, number]);
  console.log('');
  console.log(
    `# The model at scale: trainSoftmax (SOFTMAX_DEFAULTS, ${SOFTMAX_DEFAULTS.epochs} epochs, text on, d = ${factors}) on ${split.train.length} training interactions (${trainSeconds.toFixed(0)} s); feed of ${K} by u·v_i + b_i, ${split.test.length} users`,
  );
  console.log(
    '| head (items with q_i, b_i) | candidates: text nearest to Wᵀu : popular | NDCG@10 exact | NDCG@10 index | HR@10 exact | HR@10 index | share of exact NDCG |',
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const headSize of heads) {
    const head = mostPopular(popularity, Math.min(headSize, n));
    const ids = head.map((index) => data.itemIds[index]!);
    const params = {
      [PARAM_W]: { shape: [factors, dim], values: W },
      [PARAM_Q]: {
        shape: [head.length, factors],
        values: Float32Array.from({ length: head.length * factors }, (_, j) => q[head[Math.floor(j / factors)]! * factors + (j % factors)]!),
      },
      [PARAM_B]: { shape: [head.length], values: Float32Array.from(head, (index) => b[index]!) },
      [PARAM_RANKER_WEIGHTS]: { shape: [RANKER_FEATURE_COUNT], values: defaultRankerWeights() },
      [PARAM_RANKER_BIAS]: { shape: [1], values: Float32Array.of(0) },
    };
    const indexOfId = new Map(data.itemIds.map((id, i) => [id, i]));
    const pool = new PoolModel(params, ids);
    if (head.length > 0) pool.fitPrior((id) => popularity[indexOfId.get(id)!]);
    const headVectors = await HeadVectors.build(
      pool,
      (id) => indexOfId.get(id),
      (indices) => indices.map((index) => rows[index]),
    );
    // Every item's v_i and b_i as the device has them (the head's rows, q = 0 and the prior elsewhere).
    const inHead = new Map(head.map((index, row) => [index, row]));
    const v = new Float32Array(n * factors);
    const bias = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const row = inHead.get(i);
      if (row === undefined) {
        v.set(matVec(W, dim, rows[i]!, new Float32Array(factors)), i * factors);
        bias[i] = pool.priorBias(popularity[i]!);
      } else bias[i] = pool.headVector(row, rows[i], v.subarray(i * factors, (i + 1) * factors));
    }
    const sums = { exact: { ndcg: 0, hr: 0 }, index: modelPools.map(() => ({ ndcg: 0, hr: 0 })) };
    const score = (feed: readonly number[], target: number, into: { ndcg: number; hr: number }) => {
      const rank = feed.indexOf(target);
      if (rank >= 0) {
        into.ndcg += ndcgOfRank(rank, K);
        into.hr += 1;
      }
    };
    for (const testRow of split.test) {
      const user = data.users[testRow]!;
      const target = data.items[testRow]!;
      const marked = seen.get(user) ?? new Set<number>();
      const u = userVectors.subarray(user * factors, (user + 1) * factors);
      const scores = Float64Array.from({ length: n }, (_, i) => {
        let sum = bias[i]!;
        for (let k = 0; k < factors; k++) sum += u[k]! * v[i * factors + k]!;
        return sum;
      });
      score(
        topK(scores, K, (i) => marked.has(i)),
        target,
        sums.exact,
      );
      modelPools.forEach(([textCandidates, popular], p) => {
        const found = modelCandidates({
          model: pool,
          head: headVectors,
          user: u,
          // Stage one keeps C by the codes (as the engine's share of a large catalog), stage two scores them exactly.
          search: (query, k, exclude) => twoStageSearch(textIndex, query, dotScorer(flatRows, dim, query), { k, candidates: k, exclude }),
          popularity: (index) => popularity[index]!,
          exclude: (index) => marked.has(index),
          k: K,
          textCandidates,
          alsoScore: { items: mostPopular(popularity, popular), rowOf: (index) => rows[index] },
        });
        score(found.items, target, sums.index[p]!);
      });
    }
    const users = split.test.length;
    modelPools.forEach(([textCandidates, popular], p) => {
      const s = sums.index[p]!;
      console.log(
        `| ${head.length} | ${textCandidates} : ${popular} | ${fmt(sums.exact.ndcg / users)} | ${fmt(s.ndcg / users)} | ${fmt(sums.exact.hr / users)} | ${fmt(s.hr / users)} | ${((100 * s.ndcg) / sums.exact.ndcg).toFixed(1)} % |`,
      );
    });
  }
}
