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
import { cachedEmbeddings, readMovieLens100k } from './data/readers';
import { loadUseLiteFromDisk } from './node-models';

const { values } = parseArgs({
  options: {
    data: { type: 'string', default: '../shared/data/ml-100k' },
    pools: { type: 'string', default: '30:50,10:20,300:500' },
    diversity: { type: 'string', default: '0.3' },
  },
});
const K = 10;
const data = await readMovieLens100k(values.data!);
const n = data.itemIds.length;
const dim = 512;
const { embeddings } = await cachedEmbeddings(() => loadUseLiteFromDisk(), 'use-lite-512', dim, data.itemTexts);
// The rows as the device holds them: int8 + one scale per row (the shards' form), for both paths.
const floats = Array.from({ length: n }, (_, i) => normalized(embeddings.subarray(i * dim, (i + 1) * dim)));
const { codes, scales } = quantizeRows(floats, dim);
const rows = Array.from({ length: n }, (_, i) => Float32Array.from(codes.subarray(i * dim, (i + 1) * dim), (c) => c * scales[i]!));
const store = await VectorStore.open(memoryDirectory(), { modelId: 'use-lite-512', catalogFingerprint: 'ml-100k', totalItems: n, dimension: dim });
store.writeRows(0, codes, scales);
const book = signCodebook(dim, textSignBits(dim), 7);
const file = await encodeIndexFile({ vectors: 'text', modelId: 'use-lite-512', catalogFingerprint: 'ml-100k' }, { kind: 'sign', codebook: book, codes: encodeSign(book, int8Rows(codes, scales, dim)) });
const search = new ScaleSearch({ text: { index: await textIndexFrom(file, { modelId: 'use-lite-512', catalogFingerprint: 'ml-100k', count: n }), rows: store } });

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
  score(recommend(context, K).map((r) => r.index), sums.exact);
  const direction = normalized(profile.vector);
  pools.forEach(([popular, candidates], p) => {
    const pool = [...new Set([...mostPopular(popularity, popular), ...search.query(direction, candidates, (i) => marked.has(i)).items, ...marked])];
    sums.index[p]!.pool += pool.length;
    score(recommendOver(context, pool, K).map((r) => r.index), sums.index[p]!);
  });
}
const fmt = (x: number) => x.toFixed(4);
console.log(`# MovieLens 100K, leave-one-out, content profile (likes: rating ≥ 4), ${users} users with a like, ${n} items, diversity ${values.diversity}`);
console.log('| ranking | pool (mean items) | NDCG@10 | HR@10 | share of exact NDCG |');
console.log('|---|---|---|---|---|');
console.log(`| exact (recommend over every item) | ${n} | ${fmt(sums.exact.ndcg / users)} | ${fmt(sums.exact.hr / users)} | 100 % |`);
pools.forEach(([popular, candidates], p) => {
  const s = sums.index[p]!;
  console.log(`| index: ${popular} popular + ${candidates} nearest + history | ${(s.pool / users).toFixed(0)} | ${fmt(s.ndcg / users)} | ${fmt(s.hr / users)} | ${((100 * s.ndcg) / sums.exact.ndcg).toFixed(1)} % |`);
});
