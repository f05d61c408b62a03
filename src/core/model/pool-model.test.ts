import { describe, expect, it } from 'vitest';
import type { CatalogItem } from '../catalog';
import { seriesIndexFor } from '../series';
import { onlineStep } from './bpr';
import { HybridModel } from './hybrid';
import { PoolIndex, PoolModel, rankFeedOver, RowSimilarities } from './pool-model';
import { rankFeed } from './ranking';

const n = 60;
const D = 16;
const d = 4;
/** The first HEAD items are the global model's head (listed by id in its file, in another order). */
const HEAD = 40;

function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32 - 0.5;
  };
}

const random = seeded(7);
const rows = Array.from({ length: n }, () => {
  const row = Float32Array.from({ length: D }, () => random());
  const norm = Math.hypot(...row);
  return row.map((x) => x / norm);
});
const items: CatalogItem[] = Array.from({ length: n }, (_, i) => ({
  id: `book-${i}`,
  title: `Book ${i}`,
  text: `text ${i}`,
  genres: [i % 3 === 0 ? 'fantasy' : 'crime'],
  year: 1950 + i,
}));
const popularity = Float32Array.from({ length: n }, (_, i) => ((i * 37) % n) / n);
const W = Float32Array.from({ length: d * D }, () => random());
const headOrder = Array.from({ length: HEAD }, (_, i) => HEAD - 1 - i);
const headQ = Float32Array.from({ length: HEAD * d }, () => random() * 0.5);
const headB = Float32Array.from({ length: HEAD }, () => random());

function poolModel(): PoolModel {
  const params = new HybridModel({
    itemIds: headOrder.map((i) => items[i]!.id),
    embeddings: new Float32Array(HEAD * D),
    embeddingDim: D,
    factors: d,
    W,
  }).getParams();
  params.q!.values.set(headQ);
  params.b!.values.set(headB);
  params['ranker/weights']!.values[0] = 1.3;
  return new PoolModel(
    params,
    headOrder.map((i) => items[i]!.id),
  );
}

/** The same parameters over every item, as the small path holds them: the head's rows, q = 0 and the prior's b for the others. */
function fullModel(pool: PoolModel): HybridModel {
  const embeddings = new Float32Array(n * D);
  rows.forEach((row, i) => embeddings.set(row, i * D));
  const model = new HybridModel({ itemIds: items.map((item) => item.id), embeddings, embeddingDim: D, factors: d, W });
  headOrder.forEach((item, row) => {
    model.q.set(headQ.subarray(row * d, (row + 1) * d), item * d);
    model.b[item] = headB[row]!;
  });
  for (let i = HEAD; i < n; i++) model.b[i] = pool.prior.intercept + pool.prior.slope * popularity[i]!;
  model.ranker.weights[0] = 1.3;
  model.invalidate();
  return model;
}

const over = (model: PoolModel, members: readonly number[]) =>
  model.over(
    members,
    (i) => rows[i]!,
    (i) => items[i]!.id,
    (i) => popularity[i]!,
  );

describe('PoolModel', () => {
  it('scores a pool as a HybridModel over every item with the same parameters scores those items (same order, same scores)', () => {
    const model = poolModel();
    model.fitPrior((id) => popularity[Number(id.slice(5))]);
    const full = fullModel(model);
    const user = Float32Array.from({ length: d }, () => random());
    const pool = [3, 55, 12, 41, 0, 39, 47, 20, 59];
    const scores = over(model, pool).scoreAll(user);
    const reference = full.scoreAll(user);
    pool.forEach((item, c) => expect(scores[c]).toBe(reference[item]));
    const order = (values: ArrayLike<number>, members: readonly number[]) =>
      [...members].sort((a, b) => values[members.indexOf(b)]! - values[members.indexOf(a)]!);
    expect(order(scores, pool)).toEqual(
      order(
        Float32Array.from(pool, (i) => reference[i]!),
        pool,
      ),
    );
  });

  it("ranks a pool holding every item exactly as the small path's rankFeed ranks the catalog", () => {
    const model = poolModel();
    const full = fullModel(model);
    const user = Float32Array.from({ length: d }, () => random());
    const everything = Array.from({ length: n }, (_, i) => n - 1 - i);
    const request = { k: 10, exclude: new Set([5, 7]), anchors: [{ index: 5, kind: 'like' as const }], liked: new Set([5]), diversity: 0.2 };
    const recency = Float32Array.from(items, (item) => (item.year! - 1950) / n);
    const poolFeed = rankFeedOver(over(model, everything), user, new PoolIndex(everything), { items, popularity, recency, profile: rows[5]! }, request);
    const reference = rankFeed({
      model: full,
      user,
      ...request,
      popularity,
      recency,
      profile: rows[5]!,
      titles: items.map((item) => item.title),
      genres: items.map((item) => item.genres),
      series: seriesIndexFor(items),
    });
    expect(poolFeed.map((r) => r.index)).toEqual(reference.map((r) => r.index));
    // The same reasons; shares and logits to rounding (the pool's sums run in another order).
    const terms = (feed: typeof poolFeed) => feed.map((r) => r.why.map(({ share, ...term }) => ({ ...term, share: share.toFixed(9) })));
    expect(terms(poolFeed)).toEqual(terms(reference));
    poolFeed.forEach((r, i) => expect(r.score).toBeCloseTo(reference[i]!.score, 9));
  });

  it("gives an item outside the head q = 0 (its text's W·e alone) and the prior fitted to the head's biases against popularity", () => {
    const params = new HybridModel({ itemIds: ['a', 'b', 'c'], embeddings: new Float32Array(3 * D), embeddingDim: D, factors: d, W }).getParams();
    params.b!.values.set([0.5 + 2 * 0.1, 0.5 + 2 * 0.4, 0.5 + 2 * 0.9]);
    const model = new PoolModel(params, ['a', 'b', 'c']);
    const prior = model.fitPrior((id) => ({ a: 0.1, b: 0.4, c: 0.9 })[id]);
    expect(prior.intercept).toBeCloseTo(0.5, 5);
    expect(prior.slope).toBeCloseTo(2, 5);
    const hybrid = over(model, [50]);
    expect(hybrid.b[0]).toBeCloseTo(0.5 + 2 * popularity[50]!, 5);
    expect([...hybrid.itemVectors()]).toEqual([...hybrid.project(rows[50]!)]);
    expect(model.inHead('a') && !model.inHead(items[50]!.id)).toBe(true);
  });

  it('refuses a head whose rows do not match its ids', () => {
    const params = new HybridModel({ itemIds: ['a', 'b'], embeddings: new Float32Array(2 * D), embeddingDim: D, factors: d, W }).getParams();
    expect(() => new PoolModel(params, ['a', 'b', 'c'])).toThrow(/one row for each of the 3/);
    params.W!.values[3] = Number.NaN;
    expect(() => new PoolModel(params, ['a', 'b'])).toThrow(/W has an unusable value/);
  });

  it("a Like's online step with the pool's items as negatives moves u toward the liked item's v", () => {
    const model = poolModel();
    const pool = Array.from({ length: 30 }, (_, i) => i * 2);
    const hybrid = over(model, pool);
    const user = new Float32Array(d);
    const liked = 7;
    const v = hybrid.itemVectors().slice(liked * d, (liked + 1) * d);
    const rankOf = () => {
      const scores = hybrid.scoreAll(user);
      return [...scores].filter((score) => score > scores[liked]!).length;
    };
    const before = rankOf();
    const negatives = pool.map((_, c) => c).filter((c) => c !== liked);
    onlineStep(hybrid, user, { kind: 'like', item: liked }, { skipped: [], recentPositives: [], randomUnseen: negatives }, { updateItems: false });
    const dot = user.reduce((sum, x, f) => sum + x * v[f]!, 0);
    expect(dot).toBeGreaterThan(0);
    expect(rankOf()).toBeLessThan(before);
  });

  it('builds the same model whatever the pools before it (rows not copied again into a place that holds them)', () => {
    const reused = poolModel();
    const pools = [
      [3, 55, 12, 41],
      [3, 55, 12, 41, 0, 39],
      [3, 55, 9, 41, 0],
      Array.from({ length: n }, (_, i) => i),
      [59, 58, 3],
      [59, 58, 3, 55, 12, 41, 0, 39, 47],
    ];
    const user = Float32Array.from({ length: d }, () => random());
    for (const members of pools) {
      const model = over(reused, members);
      const fresh = over(poolModel(), members);
      expect(model.embeddings).toEqual(fresh.embeddings);
      expect(model.itemVectors()).toEqual(fresh.itemVectors());
      expect(model.scoreAll(user)).toEqual(fresh.scoreAll(user));
    }
    // Rows projected ahead (the read-ahead's) are not projected again, and give the same vectors.
    const ahead = poolModel();
    expect(ahead.prepare([rows[3]!, rows[55]!, rows[3]!])).toBe(2);
    expect(ahead.prepare([rows[3]!])).toBe(0);
    expect(over(ahead, [3, 55, 12]).itemVectors()).toEqual(over(poolModel(), [3, 55, 12]).itemVectors());
  });

  it('ranks the same feed, to the bit, with the cosines kept across ranks (RowSimilarities) as without', () => {
    const kept = new RowSimilarities(40);
    const user = Float32Array.from({ length: d }, () => random());
    const pools = [
      Array.from({ length: n }, (_, i) => n - 1 - i),
      Array.from({ length: 40 }, (_, i) => (i * 7) % n),
      Array.from({ length: 50 }, (_, i) => (i * 11 + 3) % n),
    ];
    for (const [p, members] of pools.entries()) {
      const request = {
        k: 12,
        exclude: new Set([members[1]!]),
        anchors: [
          { index: members[1]!, kind: 'like' as const },
          { index: members[4]!, kind: 'click' as const },
        ],
        liked: new Set([members[1]!]),
        diversity: 0.2 + 0.2 * p,
      };
      const inputs = { items, popularity, profile: null };
      const plain = rankFeedOver(over(poolModel(), members), user, new PoolIndex(members), inputs, request);
      const cached = rankFeedOver(
        over(poolModel(), members),
        user,
        new PoolIndex(members),
        { ...inputs, similarities: { kept, rowOf: (i) => rows[i] } },
        request,
      );
      expect(cached).toEqual(plain);
    }
  });
});
