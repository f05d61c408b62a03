import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { largestLikedPart, UserDecomposition } from './explain';
import { HybridModel } from './hybrid';
import { RANKER_FEATURES } from './ranker';
import { NonFiniteScoresError } from '../topk';
import { mmr } from './mmr';
import { lexicalScore, rankFeed } from './ranking';
import { blendContent, blendQuery, contentWeight } from './score-blend';
import { whyText } from '../why';

const dim = 3;
/** Unit rows: items 0–2 point along x (near-duplicates), 3 along y, 4 along z. */
const embeddings = Float32Array.from([1, 0, 0, 0.99, 0.141, 0, 0.99, 0, 0.141, 0, 1, 0, 0, 0, 1]);

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
  // v_i = e_i (W = identity, q = 0): the model's space is the embeddings' own, so the answer is known.
  const space = Float32Array.from([
    1,
    0,
    0, // 0 A (liked)
    0,
    1,
    0, // 1 B (liked)
    0.95,
    0.312,
    0, // 2 near A
    0.312,
    0.95,
    0, // 3 near B
    0,
    0,
    1, // 4 unrelated
    0,
    0.2,
    0.98, // 5 mostly unrelated
  ]);
  const titles = ['A', 'B', 'C', 'D', 'E', 'F'];
  function identityModel(): HybridModel {
    const model = new HybridModel({ itemIds: titles, embeddings: space, embeddingDim: 3, factors: 3 });
    model.W = Float32Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    return model;
  }
  const anchors = [
    { index: 1, kind: 'like' as const },
    { index: 0, kind: 'like' as const },
  ];

  it('names the liked item with the largest part of u·v_i: A for the book near A, B for the book near B', () => {
    const model = identityModel();
    const user = Float32Array.of(1, 1, 0); // u = v_A + v_B
    const feed = rankFeed({ model, user, k: 4, exclude: new Set([0, 1]), popularity: new Float32Array(6), anchors, titles });
    const pick = (index: number) => feed.find((item) => item.index === index)!;
    expect(pick(2).reason).toBe('Because you liked “A”');
    expect(pick(2).why[0]).toMatchObject({ kind: 'liked', item: 0 });
    expect(pick(3).reason).toBe('Because you liked “B”');
    expect(pick(3).why[0]).toMatchObject({ kind: 'liked', item: 1 });
    const decomposition = new UserDecomposition(model.itemVectors(), 3, user, anchors);
    expect(largestLikedPart(decomposition, 2)).toBe(0);
    expect(largestLikedPart(decomposition, 3)).toBe(1);
    // κ fits u = κ·(w_B v_B + w_A v_A): both weights are near 1 (recency), so κ is near 1.
    expect(decomposition.kappa).toBeGreaterThan(0.9);
    expect(decomposition.kappa).toBeLessThan(1.1);
  });

  it('lists the contributions, strongest first, with shares that sum to at most 1, reason = words of why[0]', () => {
    const model = identityModel();
    const feed = rankFeed({
      model,
      user: Float32Array.of(1, 1, 0),
      k: 4,
      exclude: new Set([0, 1]),
      popularity: Float32Array.of(0, 0, 0.2, 0.9, 0.1, 0.5),
      anchors,
      titles,
    });
    for (const item of feed) {
      expect(item.why.length).toBeGreaterThanOrEqual(1);
      expect(item.why.length).toBeLessThanOrEqual(4);
      const shares = item.why.map((term) => term.share);
      expect(shares).toEqual([...shares].sort((a, b) => b - a));
      expect(shares.every((share) => share > 0 && share <= 1)).toBe(true);
      expect(shares.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(1 + 1e-9);
      expect(item.reason).toBe(whyText(item.why[0]!, (index) => titles[index] ?? `item ${index}`));
    }
    // Item 3 is both near B and the most popular: the card lists both.
    const kinds = feed.find((item) => item.index === 3)!.why.map((term) => term.kind);
    expect(kinds).toContain('liked');
    expect(kinds).toContain('popular');
  });

  it('says the query matches when the query carries the pick', () => {
    const model = identityModel();
    const lexical = Float32Array.of(0, 0, 0, 0, 1, 0);
    const feed = rankFeed({
      model,
      user: Float32Array.of(1, 1, 0),
      k: 2,
      exclude: new Set([0, 1]),
      popularity: new Float32Array(6),
      anchors,
      titles,
      query: { text: 'summer', lexical },
    });
    expect(feed[0]!.index).toBe(4);
    expect(feed[0]!.reason).toBe('Matches “summer”');
    expect(feed[0]!.why[0]!.kind).toBe('query');
    expect(feed[0]!.why[0]).toMatchObject({ kind: 'query', query: 'summer' });
  });

  it('says "Popular with readers" for a new reader (u = 0), whose feed is popularity', () => {
    const model = identityModel();
    const feed = rankFeed({ model, user: new Float32Array(3), k: 2, exclude: new Set(), popularity: Float32Array.of(0.1, 0.2, 0.3, 0.9, 0.4, 0.5), titles });
    expect(feed[0]!.index).toBe(3);
    expect(feed[0]!.reason).toBe('Popular with readers');
  });

  it('without one liked book carrying a fifth of the lead, names the genre the liked books share', () => {
    // Six liked books along six axes; the candidate sits between all of them (each part about 1/6).
    const dim8 = 8;
    const rows: number[] = [];
    for (let j = 0; j < 6; j++) rows.push(...Array.from({ length: dim8 }, (_, f) => (f === j ? 1 : 0)));
    const between = Array.from({ length: dim8 }, (_, f) => (f < 6 ? 1 / Math.sqrt(6.25) : f === 6 ? 0.5 / Math.sqrt(6.25) : 0));
    rows.push(...between, ...Array.from({ length: dim8 }, (_, f) => (f === 7 ? 1 : 0)), ...Array.from({ length: dim8 }, (_, f) => (f === 6 ? 1 : 0)));
    const vectors = Float32Array.from(rows);
    const ids = Array.from({ length: 9 }, (_, i) => `b${i}`);
    const model = new HybridModel({ itemIds: ids, embeddings: vectors, embeddingDim: dim8, factors: dim8 });
    model.W = Float32Array.from({ length: dim8 * dim8 }, (_, i) => (i % (dim8 + 1) === 0 ? 1 : 0));
    const liked = Array.from({ length: 6 }, (_, j) => ({ index: j, kind: 'like' as const }));
    const user = Float32Array.from({ length: dim8 }, (_, f) => (f < 6 ? 1 : 0));
    const genres = [...Array.from({ length: 6 }, () => ['fiction', 'fantasy']), ['fiction', 'fantasy', 'romance'], ['history'], ['poetry']];
    const feed = rankFeed({ model, user, k: 3, exclude: new Set([0, 1, 2, 3, 4, 5]), popularity: new Float32Array(9), anchors: liked, titles: ids, genres });
    expect(feed[0]!.index).toBe(6);
    expect(feed[0]!.why[0]).toMatchObject({ kind: 'genre', genre: 'fantasy', likedCount: 6 });
    expect(feed[0]!.reason).toBe('A fantasy book, like 6 you liked');
    // Without genres, the same lead is "Close to your taste".
    const plain = rankFeed({ model, user, k: 1, exclude: new Set([0, 1, 2, 3, 4, 5]), popularity: new Float32Array(9), anchors: liked, titles: ids });
    expect(plain[0]!.reason).toBe('Close to your taste');
  });

  it('names, whenever it names a liked book, the one with the largest part of u·v_i (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.float({ min: -1, max: 1, noNaN: true }), { minLength: 12 * 4, maxLength: 12 * 4 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 11 }), { minLength: 1, maxLength: 4 }),
        (values, likedItems) => {
          const rows = Float32Array.from(values);
          // Unit rows (a zero row stays zero).
          for (let i = 0; i < 12; i++) {
            const norm = Math.hypot(...rows.subarray(i * 4, i * 4 + 4)) || 1;
            for (let f = 0; f < 4; f++) rows[i * 4 + f]! /= norm;
          }
          const model = new HybridModel({ itemIds: Array.from({ length: 12 }, (_, i) => `i${i}`), embeddings: rows, embeddingDim: 4, factors: 4 });
          model.W = Float32Array.from({ length: 16 }, (_, i) => (i % 5 === 0 ? 1 : 0));
          const likedAnchors = likedItems.map((index) => ({ index, kind: 'like' as const }));
          const user = new Float32Array(4);
          for (const index of likedItems) for (let f = 0; f < 4; f++) user[f]! += rows[index * 4 + f]!;
          const feed = rankFeed({ model, user, k: 5, exclude: new Set(likedItems), popularity: new Float32Array(12), anchors: likedAnchors });
          const decomposition = new UserDecomposition(model.itemVectors(), 4, user, likedAnchors);
          for (const item of feed) {
            const strongest = item.why[0]!;
            if (strongest.kind === 'liked') expect(strongest.item).toBe(largestLikedPart(decomposition, item.index));
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('rankFeed', () => {
  it('treats scores that overflowed (a model with weights near ±3e38) as an error, not as an empty feed', () => {
    const model = new HybridModel({ itemIds: ['a', 'b', 'c', 'd', 'e'], embeddings, embeddingDim: dim, factors: 2 });
    // What u·v + b gave for a model file of ±3e38 before setParams bounded its values: ±Infinity and NaN.
    model.b.set([Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN, Number.POSITIVE_INFINITY, Number.NaN]);
    const request = { model, user: new Float32Array(2), k: 3, exclude: new Set<number>(), popularity: new Float32Array(5) };
    expect(() => rankFeed(request)).toThrow(NonFiniteScoresError);
    expect(() => rankFeed(request)).toThrow(/5 of 5 scores are not finite/);
  });

  it('never returns excluded (consumed or disliked) items and returns k items with reasons', () => {
    const model = new HybridModel({ itemIds: ['a', 'b', 'c', 'd', 'e'], embeddings, embeddingDim: dim, factors: 2 });
    const user = model.project(embeddings.subarray(0, 3));
    const feed = rankFeed({
      model,
      user,
      k: 3,
      exclude: new Set([0, 1]),
      popularity: new Float32Array(5),
      anchors: [{ index: 0, kind: 'like' }],
      titles: ['A', 'B', 'C', 'D', 'E'],
    });
    expect(feed.map((item) => item.index)).not.toContain(0);
    expect(feed.map((item) => item.index)).not.toContain(1);
    expect(feed).toHaveLength(3);
    expect(feed[0]!.index).toBe(2); // the remaining near-duplicate of the liked item
    expect(feed[0]!.reason).toBe('Because you liked “A”');
  });

  it("a query works on BM25 alone (no vector) and BM25 is the ranker's lexical feature", () => {
    const model = new HybridModel({ itemIds: ['a', 'b', 'c', 'd', 'e'], embeddings, embeddingDim: dim, factors: 2 });
    const lexical = Float32Array.of(0, 0, 0, 0, 1);
    const feed = rankFeed({ model, user: new Float32Array(2), k: 2, exclude: new Set(), popularity: new Float32Array(5), query: { text: '三体', lexical } });
    expect(feed[0]!.index).toBe(4);
    expect(feed[0]!.features[RANKER_FEATURES.indexOf('lexical')]).toBe(1);
    expect(feed[0]!.features[RANKER_FEATURES.indexOf('queryCosine')]).toBe(0);
    expect(feed[0]!.reason).toBe('Matches “三体”');
    expect(feed[0]!.why[0]!.kind).toBe('query');
    expect(feed[0]!.why[0]).toMatchObject({ kind: 'query', query: '三体' });
  });

  it('blends the query vector with BM25: the word match wins between two items the vector ties', () => {
    const model = new HybridModel({ itemIds: ['a', 'b', 'c', 'd', 'e'], embeddings, embeddingDim: dim, factors: 2 });
    // Equidistant from items 3 (y) and 4 (z): only the lexical channel tells them apart.
    const embedding = Float32Array.of(0, Math.SQRT1_2, Math.SQRT1_2);
    const lexical = Float32Array.of(0, 0, 0, 1, 0);
    const request = { model, user: new Float32Array(2), k: 1, exclude: new Set<number>(), popularity: Float32Array.of(0, 0, 0, 0, 0.5) };
    expect(rankFeed({ ...request, query: { text: 'q', vector: embedding } })[0]!.index).toBe(4);
    expect(rankFeed({ ...request, query: { text: 'q', vector: embedding, lexical, lexicalWeight: 0.35 } })[0]!.index).toBe(3);
  });
});

describe('content prior for a reader without likes', () => {
  // Items 0-1 along x (what the reader's profile says), 2-3 along y; the model (u along y, as a shared
  // model's popular books would be) prefers 2-3.
  const space = Float32Array.from([1, 0, 0, 0.99, 0.141, 0, 0, 1, 0, 0.141, 0.99, 0]);
  function model(): HybridModel {
    const m = new HybridModel({ itemIds: ['a', 'b', 'c', 'd'], embeddings: space, embeddingDim: 3, factors: 3 });
    m.W = Float32Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    // The ranker reads the pool's score alone here, so the order is the blend's.
    m.ranker.weights = Float32Array.from(RANKER_FEATURES, (name) => (name === 'score' ? 1 : 0));
    return m;
  }
  const request = (evidence: number) => ({
    model: model(),
    user: Float32Array.from([0, 1, 0]),
    k: 2,
    exclude: new Set<number>(),
    popularity: new Float32Array(4),
    profile: Float32Array.from([1, 0, 0]),
    evidence,
  });

  it('gives the profile the pool before the first like or click, the model after', () => {
    expect(contentWeight(0)).toBe(1);
    fc.assert(fc.property(fc.integer({ min: 1, max: 10_000 }), (n) => contentWeight(n) === 0));
  });

  it('ranks what the profile says for a reader without likes (genres chosen), what the model says once there is one', () => {
    expect(
      rankFeed(request(0))
        .map((item) => item.index)
        .sort(),
    ).toEqual([0, 1]);
    expect(
      rankFeed(request(1))
        .map((item) => item.index)
        .sort(),
    ).toEqual([2, 3]);
  });

  it('blends z-scores: weight 0 is the model alone, 1 the content alone', () => {
    const m = Float32Array.from([3, 1, 2]);
    const c = Float32Array.from([0, 10, 5]);
    expect(blendContent(m, c, 0)).toBe(m);
    const all = blendContent(m, c, 1);
    expect(all[1]!).toBeGreaterThan(all[2]!);
    expect(all[2]!).toBeGreaterThan(all[0]!);
  });
});
