import { describe, expect, it } from 'vitest';
import { HybridModel } from './hybrid';
import { LogisticRanker, RANKER_FEATURES } from './ranker';
import { blendQuery, explain, lexicalScore, mmr, rankFeed } from './ranking';

const dim = 3;
/** Unit rows: items 0–2 point along x (near-duplicates), 3 along y, 4 along z. */
const embeddings = Float32Array.from([1, 0, 0, 0.99, 0.141, 0, 0.99, 0, 0.141, 0, 1, 0, 0, 0, 1]);

function features(values: Partial<Record<(typeof RANKER_FEATURES)[number], number>>): Float32Array {
  return Float32Array.from(RANKER_FEATURES, (name) => values[name] ?? 0);
}

describe('MMR', () => {
  it('with diversity 0 keeps relevance order; with diversity high it skips near-duplicates', () => {
    const candidates = [0, 1, 2, 3, 4];
    const relevance = [1.0, 0.95, 0.9, 0.5, 0.4];
    expect(mmr(candidates, relevance, embeddings, dim, 3, 0)).toEqual([0, 1, 2]);
    expect(mmr(candidates, relevance, embeddings, dim, 3, 0.7)).toEqual([0, 3, 4]);
  });
});

describe('query blend', () => {
  it('moves query matches up without discarding the feed order', () => {
    const feed = Float32Array.from([3, 2, 1, 0]);
    const query = Float32Array.from([0, 0, 1, 1]);
    const blended = blendQuery(feed, query, 0.5);
    expect(blended[2]!).toBeGreaterThan(blended[1]!); // the query lifted item 2 over item 1
    expect(blended[2]!).toBeGreaterThan(blended[3]!); // among query matches, the feed still decides
    expect(Array.from(blendQuery(feed, query, 0))).toEqual(Array.from(blendQuery(feed, query, 0)).sort((a, b) => b - a));
  });

  it('lexical score counts the query words present', () => {
    expect(lexicalScore('summer love', 'A Summer of love and loss')).toBe(1);
    expect(lexicalScore('summer love', 'Winter love')).toBe(0.5);
    expect(lexicalScore('', 'anything')).toBe(0);
  });
});

describe('explanations', () => {
  const ranker = new LogisticRanker();
  const context = { ranker, anchors: [{ index: 3, kind: 'like' as const }, { index: 0, kind: 'like' as const }], titles: ['A', 'B', 'C', 'D', 'E'], embeddings, dim };
  it('names the liked item nearest to the pick when taste dominates', () => {
    expect(explain(1, features({ score: 2 }), context)).toMatchObject({ kind: 'liked', anchor: 0, text: 'Because you liked “A”' });
  });
  it('says the query matches when the query dominates', () => {
    const reason = explain(1, features({ score: 0.1, queryCosine: 0.6 }), { ...context, query: { text: 'summer', embedding: embeddings.subarray(0, 3) } });
    expect(reason).toEqual({ kind: 'query', text: 'Matches “summer”' });
  });
  it('falls back to popularity or novelty when those dominate', () => {
    expect(explain(1, features({ logPopularity: 1 }), context).text).toBe('Popular with readers');
    expect(explain(1, features({ novelty: 1, score: -1 }), { ...context, ranker: new LogisticRanker(features({ novelty: 3, score: 1 })) }).text).toBe('New to you');
  });
});

describe('rankFeed', () => {
  it('never returns excluded (consumed or disliked) items and returns k items with reasons', () => {
    const model = new HybridModel({ itemIds: ['a', 'b', 'c', 'd', 'e'], embeddings, embeddingDim: dim, factors: 2 });
    const user = model.project(embeddings.subarray(0, 3));
    const feed = rankFeed({ model, user, k: 3, exclude: new Set([0, 1]), popularity: new Float32Array(5), anchors: [{ index: 0, kind: 'like' }], titles: ['A', 'B', 'C', 'D', 'E'] });
    expect(feed.map((item) => item.index)).not.toContain(0);
    expect(feed.map((item) => item.index)).not.toContain(1);
    expect(feed).toHaveLength(3);
    expect(feed[0]!.index).toBe(2); // the remaining near-duplicate of the liked item
    expect(feed[0]!.reason.text).toBe('Because you liked “A”');
  });

  it('a query works on BM25 alone (no vector) and BM25 is the ranker\'s lexical feature', () => {
    const model = new HybridModel({ itemIds: ['a', 'b', 'c', 'd', 'e'], embeddings, embeddingDim: dim, factors: 2 });
    const lexical = Float32Array.of(0, 0, 0, 0, 1);
    const feed = rankFeed({ model, user: new Float32Array(2), k: 2, exclude: new Set(), popularity: new Float32Array(5), query: { text: '三体', lexical } });
    expect(feed[0]!.index).toBe(4);
    expect(feed[0]!.features[RANKER_FEATURES.indexOf('lexical')]).toBe(1);
    expect(feed[0]!.features[RANKER_FEATURES.indexOf('queryCosine')]).toBe(0);
    expect(feed[0]!.reason).toEqual({ kind: 'query', text: 'Matches “三体”' });
  });

  it('blends the query vector with BM25: the word match wins between two items the vector ties', () => {
    const model = new HybridModel({ itemIds: ['a', 'b', 'c', 'd', 'e'], embeddings, embeddingDim: dim, factors: 2 });
    // Equidistant from items 3 (y) and 4 (z): only the lexical channel tells them apart.
    const embedding = Float32Array.of(0, Math.SQRT1_2, Math.SQRT1_2);
    const lexical = Float32Array.of(0, 0, 0, 1, 0);
    const request = { model, user: new Float32Array(2), k: 1, exclude: new Set<number>(), popularity: Float32Array.of(0, 0, 0, 0, 0.5) };
    expect(rankFeed({ ...request, query: { text: 'q', embedding } })[0]!.index).toBe(4);
    expect(rankFeed({ ...request, query: { text: 'q', embedding, lexical, lexicalWeight: 0.35 } })[0]!.index).toBe(3);
  });
});
