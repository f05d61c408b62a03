/**
 * Probe: what the feed's rules (core/feed-rules.ts: one book per series, at most 2 per author in 20)
 * cost the real readers' next book, and variants of them, on the blended score the feed ranks by
 * (z(model) + CO_LIKED_WEIGHT·z(co-liked) + genreAffinityWeight(likes)·z(genre affinity), u fitted exactly as newtonScorer), without the
 * ranker's re-ordering and MMR (which cost nothing measurable on validation readers, docs/benchmarks.md).
 * Validation readers only (VAL=1) to choose; the test readers only to report.
 *
 *   VAL=1 N=1500 npx tsx cli/probe-feed-rules.ts
 */
import { readFile } from 'node:fs/promises';
import { parseGoodbooksRatings, rowsPerUser, splitGoodbooksUsers } from '../src/core/eval/goodbooks';
import { readerCases, newtonScorer, type ReaderCase } from '../src/core/eval/held-out';
import { CO_LIKED_WEIGHT, GENRE_AFFINITY_WEIGHT, GENRE_PRIOR_LIKES } from '../src/core/model/score-blend';
import { seededUniform } from '../src/core/random';
import { HybridModel } from '../src/core/model/hybrid';
import { decodeShippedGlobal } from '../src/core/model/shipped-global';
import { decodePrebuilt, prebuiltRow } from '../src/core/prebuilt-embeddings';
import { decodeCoLiked, coLikedScores } from '../src/core/model/co-liked';
import { catalogFingerprint } from '../src/core/model/identity';
import { genreAffinity } from '../src/core/genre-affinity';
import { buildSeriesIndex } from '../src/core/series';
import { AuthorCap, collapseSeries, SeriesPicker, takeWithCap } from '../src/core/feed-rules';
import { topK } from '../src/core/topk';
import { itemKnnScorer } from '../src/core/eval/baselines';

const catalog = JSON.parse(await readFile('public/catalog/goodbooks-10k.json', 'utf8')) as {
  items: { id: string; title: string; byline?: string; text: string; popularity?: number; genres?: string[] }[];
};
const items = catalog.items;
const n = items.length;
const indexById = new Map(items.map((it, i) => [it.id, i]));
const emb = decodePrebuilt(new Uint8Array(await readFile('public/catalog/goodbooks-10k.use-lite-512.emb')));
const dim = emb.dimension;
const E = new Float32Array(n * dim);
for (let i = 0; i < n; i++) E.set(prebuiltRow(emb, i), i * dim);
const g = await decodeShippedGlobal(new Uint8Array(await readFile('public/catalog/goodbooks-10k.hybrid-use-lite-512-d32_1.global')));
const model = new HybridModel({
  itemIds: items.map((i) => i.id),
  embeddings: E,
  embeddingDim: dim,
  factors: g.header.factors,
  W: g.params.W!.values as Float32Array,
});
model.setParams(g.params);
const coLiked = await decodeCoLiked(new Uint8Array(await readFile(process.env.COFILE ?? 'public/catalog/goodbooks-10k.co-liked')), {
  catalogFingerprint: catalogFingerprint(items.map((item) => item.id)),
  itemCount: n,
});
const genres = items.map((it) => it.genres ?? []);
const series = buildSeriesIndex(items);
const table = parseGoodbooksRatings(await readFile('../shared/data/goodbooks-10k/ratings-v1.csv', 'utf8'));
const split = splitGoodbooksUsers(table);
const rows = rowsPerUser(table);
const order = Int32Array.from(process.env.VAL ? split.validation : split.test);
const random = seededUniform(2026);
for (let i = order.length - 1; i > 0; i--) {
  const j = Math.floor(random() * (i + 1));
  [order[i], order[j]] = [order[j]!, order[i]!];
}
const cases = readerCases(table, rows, [...order], indexById).slice(0, Number(process.env.N ?? 1000));
const newton = newtonScorer(model);
// CO= / GENRE= override the blend's weights (to compare on validation readers only).
const coWeight = Number(process.env.CO ?? CO_LIKED_WEIGHT);
const genreWeight = Number(process.env.GENRE ?? GENRE_AFFINITY_WEIGHT);
const genreLikes = Number(process.env.GENRE_K ?? GENRE_PRIOR_LIKES);
function z(x: Float32Array): Float32Array {
  let s = 0,
    s2 = 0;
  for (const v of x) {
    s += v;
    s2 += v * v;
  }
  const m = s / x.length;
  const sd = Math.sqrt(Math.max(1e-12, s2 / x.length - m * m));
  return Float32Array.from(x, (v) => (v - m) / sd);
}
type Variant = (ranked: number[], liked: Set<number>, disliked: Set<number>, excluded: (i: number) => boolean) => number[];
const authorLikes = (liked: Set<number>) => {
  const c = new Map<number, number>();
  for (const i of liked) {
    const a = series.author[i]!;
    if (a >= 0) c.set(a, (c.get(a) ?? 0) + 1);
  }
  return c;
};
const variants: Record<string, Variant> = {
  'no rules': (r) => r.slice(0, 20),
  'series only': (r, liked, disliked, excluded) => collapseSeries(r, new SeriesPicker(series, { liked, disliked, excluded })).slice(0, 20),
  'author cap only': (r) => takeWithCap(r, 20, new AuthorCap(series.author)),
  'both (the app)': (r, liked, disliked, excluded) =>
    takeWithCap(collapseSeries(r, new SeriesPicker(series, { liked, disliked, excluded })), 20, new AuthorCap(series.author)),
  'both, author uncapped after 3 likes': (r, liked, disliked, excluded) => {
    const uncapped = new Set([...authorLikes(liked)].filter(([, c]) => c >= 3).map(([a]) => a));
    return takeWithCap(collapseSeries(r, new SeriesPicker(series, { liked, disliked, excluded })), 20, new AuthorCap(series.author, uncapped));
  },
  'both, author uncapped after 5 likes': (r, liked, disliked, excluded) => {
    const uncapped = new Set([...authorLikes(liked)].filter(([, c]) => c >= 5).map(([a]) => a));
    return takeWithCap(collapseSeries(r, new SeriesPicker(series, { liked, disliked, excluded })), 20, new AuthorCap(series.author, uncapped));
  },
};
/** A reader's likes, dismissals and the blended score's best 400 (liked and dismissed books left out), as the feed ranks them. */
function readerRanking(c: ReaderCase): { liked: Set<number>; disliked: Set<number>; ranked: number[] } {
  const liked = new Set(c.history.filter((e) => e.kind === 'like').map((e) => e.item));
  const disliked = new Set(c.history.filter((e) => e.kind === 'dislike').map((e) => e.item));
  const m = process.env.CO_ONLY ? new Float32Array(n) : z(newton(c));
  const co = z(coLikedScores(coLiked, liked, new Float32Array(n)));
  const ge = z(genreAffinity(genres, liked));
  const s = new Float32Array(n);
  // The app's genre weight for this many likes (genreAffinityWeight); GENRE= and GENRE_K= override its
  // full weight and the likes up to which it counts in full (GENRE_K=0: never shrinks).
  const gw = genreWeight * Math.min(1, genreLikes > 0 ? genreLikes / Math.max(1, liked.size) : 1);
  for (let i = 0; i < n; i++) s[i] = m[i]! + coWeight * co[i]! + gw * ge[i]!;
  for (const i of [...liked, ...disliked]) s[i] = -Infinity;
  return { liked, disliked, ranked: topK(s, 400) };
}
const rankings = cases.map(readerRanking);
// KNN=1: item-kNN (the bench's baseline: training readers' likes plus each reader's own) without and with the rules.
if (process.env.KNN) {
  const users: number[] = [];
  const books: number[] = [];
  split.train.forEach((user, u) => {
    for (const row of rows[user]!) {
      const item = indexById.get(table.books[row]!);
      if (item !== undefined && table.ratings[row]! >= 4) {
        users.push(u);
        books.push(item);
      }
    }
  });
  cases.forEach((c, k) => c.history.forEach((e) => e.kind === 'like' && (users.push(split.train.length + k), books.push(e.item))));
  const knn = itemKnnScorer({ userCount: split.train.length + cases.length, itemCount: n, users: Int32Array.from(users), items: Int32Array.from(books) });
  const knnRankings = cases.map((c, k) => {
    const s = Float32Array.from(knn(split.train.length + k));
    const { liked, disliked } = rankings[k]!;
    for (const i of [...liked, ...disliked]) s[i] = -Infinity;
    return { liked, disliked, ranked: topK(s, 400) };
  });
  for (const [name, rule] of [
    ['item-kNN, no rules', 'no rules'],
    ['item-kNN, both rules', 'both (the app)'],
  ] as const) {
    let h = 0,
      d = 0;
    for (const [k, c] of cases.entries()) {
      const { liked, disliked, ranked } = knnRankings[k]!;
      const rated = new Set(c.rated);
      const feed = variants[rule]!(ranked, liked, disliked, (i) => liked.has(i) || disliked.has(i)).filter((i) => i === c.heldOut || !rated.has(i));
      const r = feed.indexOf(c.heldOut);
      if (r >= 0 && r < 10) {
        h++;
        d += 1 / Math.log2(r + 2);
      }
    }
    console.log(`${name.padEnd(40)} HR@10 ${(h / cases.length).toFixed(3)}  NDCG@10 ${(d / cases.length).toFixed(3)}`);
  }
}
const hits = new Map<string, number>();
const ndcg = new Map<string, number>();
for (const [k, c] of cases.entries()) {
  const { liked, disliked, ranked } = rankings[k]!;
  const excluded = (i: number) => liked.has(i) || disliked.has(i);
  const rated = new Set(c.rated);
  for (const [name, variant] of Object.entries(variants)) {
    const feed = variant(ranked, liked, disliked, excluded).filter((i) => i === c.heldOut || !rated.has(i));
    const rank = feed.indexOf(c.heldOut);
    if (rank >= 0 && rank < 10) {
      hits.set(name, (hits.get(name) ?? 0) + 1);
      ndcg.set(name, (ndcg.get(name) ?? 0) + 1 / Math.log2(rank + 2));
    }
  }
}
for (const name of Object.keys(variants))
  console.log(`${name.padEnd(40)} HR@10 ${((hits.get(name) ?? 0) / cases.length).toFixed(3)}  NDCG@10 ${((ndcg.get(name) ?? 0) / cases.length).toFixed(3)}`);

// Why the series rule misses (DIAG=1): the held-out book's role, and what stood for its series.
if (process.env.DIAG) {
  const why = new Map<string, number>();
  for (const [k, c] of cases.entries()) {
    const { liked, disliked, ranked } = rankings[k]!;
    const rated = new Set(c.rated);
    const plain = ranked.filter((i) => i === c.heldOut || !rated.has(i)).slice(0, 10);
    if (!plain.includes(c.heldOut)) continue;
    const picker = new SeriesPicker(series, { liked, disliked, excluded: (i) => liked.has(i) || disliked.has(i) });
    const feed = collapseSeries(ranked, picker)
      .slice(0, 20)
      .filter((i) => i === c.heldOut || !rated.has(i));
    const r = feed.indexOf(c.heldOut);
    if (r >= 0 && r < 10) continue;
    const group = series.group[c.heldOut]!;
    const rep = group >= 0 ? picker.representative(group) : undefined;
    const read = group >= 0 ? picker.readState(group) : undefined;
    const role = ['volume', 'part', 'collection', 'companion'][series.role[c.heldOut]!] ?? '?';
    let kind: string;
    if (group < 0) kind = 'outside any series (pushed down)';
    else if (rep === undefined) kind = `${role}: series not offered`;
    else if (rated.has(rep)) kind = `${role}: representative rated (3 stars)`;
    else if (!read!.any) kind = `${role}: no volume liked, representative another`;
    else if (series.volume[c.heldOut]! > series.volume[rep]!) kind = `${role}: later than the next unread`;
    else kind = `${role}: other`;
    why.set(kind, (why.get(kind) ?? 0) + 1);
    if (process.env.DIAG === '2') console.log(`${kind}: held out "${items[c.heldOut]!.title}", shown "${rep !== undefined ? items[rep]!.title : '-'}"`);
  }
  for (const [kind, count] of [...why].sort((a, b) => b[1] - a[1])) console.log(`${String(count).padStart(4)}  ${kind}`);
}
