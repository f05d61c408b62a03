import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CatalogItem } from './catalog';
import { applyEvent, EMPTY_PROFILE } from './profile';
import { buildSeriesIndex } from './series';
import { diversify, popularityScores, recommend as rank, type RankContext } from './rank';
import { topK } from './topk';
import { normalized } from './vector';

const item = (id: string, popularity: number): CatalogItem => ({ id, title: `Book ${id}`, text: id, popularity });
const unit = (...values: number[]) => normalized(Float32Array.from(values));
/** The ranker's picks, each with its item's id. */
const recommend = (context: RankContext, k: number) => rank(context, k).map((r) => ({ ...r, itemId: context.items[r.index]!.id }));

function context(overrides: Partial<RankContext> = {}): RankContext {
  const items = [item('dragons', 10), item('wizards', 20), item('cooking', 1000), item('baking', 900), item('unembedded', 500)];
  return {
    items,
    embeddings: [unit(1, 0.1, 0), unit(0.9, 0.2, 0), unit(0, 0, 1), unit(0, 0.1, 1), undefined],
    popularity: popularityScores(items),
    profile: EMPTY_PROFILE,
    exclude: new Set(),
    anchors: [],
    ...overrides,
  };
}

describe('recommend', () => {
  it('re-weights toward a query without dropping taste, and says which query matched', () => {
    const recs = recommend(context({ query: { text: 'dragon stories', vector: unit(1, 0, 0) } }), 3);
    // The cooking books are 100× more popular, but the query outweighs that.
    expect(new Set(recs.map((r) => r.itemId).slice(0, 2))).toEqual(new Set(['dragons', 'wizards']));
    expect(recs[0]!.reason).toBe('Matches “dragon stories”');
    // An unembedded item cannot match yet: it ranks below the matches but is still there.
    const all = recommend(context({ query: { text: 'dragon stories', vector: unit(1, 0, 0) } }), 5).map((r) => r.itemId);
    expect(all).toHaveLength(5);
    expect(all.indexOf('unembedded')).toBeGreaterThan(1);
  });

  it('with BM25 scores alone (no query vector yet), ranks the word matches first, unembedded ones too', () => {
    // Lexical channel only: item 4 has no embedding, item 1 matches best, item 0 a little.
    const lexical = Float32Array.of(0.4, 1, 0, 0, 0.6);
    const recs = recommend(context({ query: { text: 'wizard', lexical } }), 5);
    expect(recs.map((r) => r.itemId).slice(0, 3)).toEqual(['wizards', 'unembedded', 'dragons']);
    expect(recs[1]!.reason).toBe('Matches “wizard”');
    expect(recs.find((r) => r.itemId === 'cooking')!.reason).toBe('Popular with readers');
  });

  it('blends cosine and BM25: a word match lifts an item the query vector cannot separate', () => {
    // The vector points at the cooking book (baking is a close second); only the words say "baking".
    const query = { text: 'baking', vector: unit(0, 0, 1), lexical: Float32Array.of(0, 0, 0, 1, 0), lexicalWeight: 0.35 };
    expect(recommend(context({ query: { text: query.text, vector: query.vector } }), 1)[0]!.itemId).toBe('cooking');
    expect(recommend(context({ query }), 1)[0]!.itemId).toBe('baking');
  });

  it('ranks a new user by popularity and says so', () => {
    const recs = recommend(context(), 3);
    expect(recs.map((r) => r.itemId)).toEqual(['cooking', 'baking', 'unembedded']);
    expect(recs.every((r) => r.reason === 'Popular with readers')).toBe(true);
  });

  it('filters liked and disliked items', () => {
    const recs = recommend(context({ exclude: new Set([2, 3]) }), 10);
    expect(recs.map((r) => r.itemId)).not.toContain('cooking');
    expect(recs.map((r) => r.itemId)).not.toContain('baking');
    expect(recs).toHaveLength(3);
  });

  it('moves toward what was liked, with the liked item as the reason', () => {
    const base = context();
    const profile = applyEvent(applyEvent(EMPTY_PROFILE, 'like', base.embeddings[0]!), 'like', base.embeddings[0]!);
    const recs = recommend(context({ profile, exclude: new Set([0]), anchors: [{ index: 0, kind: 'like' }] }), 2);
    expect(recs[0]!.itemId).toBe('wizards');
    expect(recs[0]!.reason).toBe('Because you liked “Book dragons”');
  });

  it('ranks items without an embedding by popularity alone', () => {
    const recs = recommend(context(), 5);
    expect(recs.find((r) => r.itemId === 'unembedded')).toBeDefined();
  });
});

describe('popularityScores', () => {
  it('maps to [0, 1] on a log scale with the most popular at 1', () => {
    const scores = popularityScores([item('a', 0), item('b', 9), item('c', 99), { id: 'd', title: 'd', text: 'd' }]);
    expect(scores[2]).toBe(1);
    expect(scores[0]).toBe(0);
    expect(scores[3]).toBe(0);
    expect(scores[1]).toBeCloseTo(Math.log(10) / Math.log(100), 6);
  });
});

describe('topK', () => {
  it('equals a full sort, minus exclusions and non-finite scores', () => {
    fc.assert(
      fc.property(
        // Small integers make ties common (broken by index); infinities are skipped like NaN.
        fc.array(
          fc.oneof(
            fc.double({ min: -1e6, max: 1e6, noNaN: true }),
            fc.integer({ min: -3, max: 3 }),
            fc.constant(Number.NaN),
            fc.constant(Number.POSITIVE_INFINITY),
          ),
          { maxLength: 300 },
        ),
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 1, max: 7 }),
        (scores, k, modulus) => {
          const excluded = (i: number) => i % modulus === 0 && modulus > 1;
          const expected = scores
            .map((score, index) => ({ score, index }))
            .filter(({ score, index }) => Number.isFinite(score) && !excluded(index))
            .sort((a, b) => b.score - a.score || a.index - b.index)
            .slice(0, k)
            .map(({ index }) => index);
          expect(topK(scores, k, excluded)).toEqual(expected);
        },
      ),
    );
  });
});

describe('explanations', () => {
  it('names the closest liked item only when it is really close', () => {
    const base = context();
    const profile = applyEvent(EMPTY_PROFILE, 'like', base.embeddings[0]!);
    const anchors = [{ index: 0, kind: 'like' as const }];
    const strict = recommend(context({ profile, exclude: new Set([0]), anchors, explainThreshold: 0.999 }), 4);
    // Below the threshold no liked book is named: what the profile adds is "taste", popularity what it is.
    expect(strict.some((r) => r.why.some((term) => term.kind === 'liked'))).toBe(false);
    expect(strict.find((r) => r.itemId === 'wizards')!.reason).toBe('Close to your taste');
    expect(strict.find((r) => r.itemId === 'cooking')!.reason).toBe('Popular with readers');
    const loose = recommend(context({ profile, exclude: new Set([0]), anchors, explainThreshold: 0.9 }), 4);
    expect(loose.find((r) => r.itemId === 'wizards')!.reason).toBe('Because you liked “Book dragons”');
    expect(loose.find((r) => r.itemId === 'cooking')!.reason).toBe('Popular with readers');
  });

  it('never names a book that was only opened (a click is taste, not a like)', () => {
    const base = context();
    const profile = applyEvent(EMPTY_PROFILE, 'click', base.embeddings[0]!);
    const recs = recommend(context({ profile, anchors: [{ index: 0, kind: 'click' }] }), 5);
    expect(recs.find((r) => r.itemId === 'wizards')!.reason).toBe('Close to your taste');
  });

  it('lists the parts of the score, strongest first, shares summing to at most 1, reason = words of why[0]', () => {
    const base = context();
    const profile = applyEvent(EMPTY_PROFILE, 'like', base.embeddings[0]!);
    const recs = recommend(context({ profile, exclude: new Set([0]), anchors: [{ index: 0, kind: 'like' }], explainThreshold: 0.9 }), 4);
    for (const rec of recs) {
      const shares = rec.why.map((term) => term.share);
      expect(shares.length).toBeGreaterThanOrEqual(1);
      expect(shares).toEqual([...shares].sort((a, b) => b - a));
      expect(shares.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(1 + 1e-9);
    }
    expect(recs.find((r) => r.itemId === 'wizards')!.why[0]).toMatchObject({ kind: 'liked', item: 0 });
  });

  it('falls back to the genre the liked books share when none is close enough to name', () => {
    const base = context();
    const items = base.items.map((item, i) => ({ ...item, genres: i < 2 ? ['fiction', 'fantasy'] : ['cooking'] }));
    const profile = applyEvent(EMPTY_PROFILE, 'like', base.embeddings[0]!);
    const recs = recommend(context({ items, profile, exclude: new Set([0]), anchors: [{ index: 0, kind: 'like' }], explainThreshold: 0.999 }), 4);
    expect(recs.find((r) => r.itemId === 'wizards')!.reason).toBe('A fantasy book, like one you liked');
    expect(recs.find((r) => r.itemId === 'wizards')!.why[0]).toEqual({ kind: 'genre', genre: 'fantasy', likedCount: 1, share: expect.any(Number) });
  });
});

describe('diversify (MMR)', () => {
  // Three near-duplicates with the best scores, and one different item scored a little lower.
  const embeddings = [unit(1, 0, 0), unit(1, 0.05, 0), unit(1, 0, 0.05), unit(0, 1, 0)];
  const scores = [1, 0.99, 0.98, 0.9];

  it('keeps the score order at diversity 0', () => {
    expect(diversify([0, 1, 2, 3], scores, embeddings, 2, 0)).toEqual([0, 1]);
  });

  it('brings the different item up as diversity grows', () => {
    expect(diversify([0, 1, 2, 3], scores, embeddings, 2, 0.5)).toEqual([0, 3]);
  });

  it('returns k distinct candidates, the best first, for any diversity (property)', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 1, max: 4 }), (diversity, k) => {
        const picked = diversify([0, 1, 2, 3], scores, embeddings, k, diversity);
        expect(picked).toHaveLength(k);
        expect(new Set(picked).size).toBe(k);
        expect(picked[0]).toBe(0);
      }),
    );
  });
});

describe('the item on screen', () => {
  it('pulls similar items above popular ones, explains them by it, and is never recommended itself', () => {
    const base = context();
    const recs = recommend(context({ onScreen: { index: 0, embedding: base.embeddings[0] }, explainThreshold: 0.9 }), 3);
    // Without it, a new user gets cooking, baking, unembedded (popularity).
    expect(recs.map((r) => r.itemId)[0]).toBe('wizards');
    expect(recs.map((r) => r.itemId)).not.toContain('dragons');
    expect(recs[0]!.reason).toBe('Similar to “Book dragons”');
    expect(recs.find((r) => r.itemId === 'cooking')!.reason).toBe('Popular with readers');
  });

  it('lifts the author cap for the author of the book on screen ("more like this" on its page)', () => {
    const items = Array.from({ length: 8 }, (_, i) => ({
      id: `b${i}`,
      title: `Book ${i}`,
      text: `b${i}`,
      byline: i < 5 ? 'Same Author' : `Other ${i}`,
      popularity: 10 - i,
    }));
    const embeddings = items.map((_, i) => unit(i < 5 ? 1 : 0, i < 5 ? 0 : 1, 0.01 * i));
    const base = {
      items,
      embeddings,
      popularity: popularityScores(items),
      profile: EMPTY_PROFILE,
      exclude: new Set<number>(),
      anchors: [],
      series: buildSeriesIndex(items),
    };
    const onScreen = recommend({ ...base, onScreen: { index: 0, embedding: embeddings[0] } }, 5);
    expect(onScreen.filter((r) => r.index < 5).length).toBe(4);
    // Without a book on screen the same author has 2 places of the 5.
    expect(recommend(base, 5).filter((r) => r.index < 5).length).toBe(2);
  });

  it('only excludes itself while its embedding is unknown', () => {
    const recs = recommend(context({ onScreen: { index: 2, embedding: undefined } }), 3);
    expect(recs.map((r) => r.itemId)).toEqual(['baking', 'unembedded', 'wizards']);
  });
});
