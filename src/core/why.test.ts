import { describe, expect, it } from 'vitest';
import { USER_SOFTMAX_DEFAULTS } from './model/fine-tune-user';
import { FINE_TUNE_RECENCY, fineTuneWeights } from './model/explain';
import { rankWhy, sharedGenre, tasteParts, toContributions, whyText } from './why';

describe('rankWhy', () => {
  it('merges equal labels, drops non-positive parts, orders by strength and shares the positive total', () => {
    const why = rankWhy([
      { label: { kind: 'popular' }, magnitude: 1 },
      { label: { kind: 'liked', item: 3 }, magnitude: 2 },
      { label: { kind: 'new' }, magnitude: -5 },
      { label: { kind: 'liked', item: 3 }, magnitude: 1 },
      { label: { kind: 'query', query: 'q' }, magnitude: 0 },
    ]);
    expect(why).toEqual([
      { kind: 'liked', item: 3, share: 0.75 },
      { kind: 'popular', share: 0.25 },
    ]);
    expect(rankWhy([{ label: { kind: 'taste' }, magnitude: -1 }])).toEqual([]);
  });

  it('keeps at most four terms', () => {
    const why = rankWhy([0, 1, 2, 3, 4, 5].map((item) => ({ label: { kind: 'liked' as const, item }, magnitude: item + 1 })));
    expect(why.map((term) => (term.kind === 'liked' ? term.item : -1))).toEqual([5, 4, 3, 2]);
    expect(why.reduce((sum, term) => sum + term.share, 0)).toBeLessThan(1);
  });
});

describe('tasteParts', () => {
  const genres: Record<number, string[]> = { 1: ['fiction', 'fantasy'], 2: ['fantasy'], 3: ['history'] };
  const genresOf = (item: number) => genres[item];

  it('names the liked books that pass, gives the others to the genre they share with the item, the rest to taste', () => {
    const parts = tasteParts(
      [
        { item: 1, magnitude: 5 },
        { item: 2, magnitude: 1 },
        { item: 3, magnitude: 1 },
      ],
      0.5,
      { named: (entry) => entry.magnitude >= 3, itemGenres: ['fiction', 'fantasy', 'romance'], genresOf },
    );
    expect(parts).toEqual([
      { label: { kind: 'liked', item: 1 }, magnitude: 5 },
      { label: { kind: 'genre', genre: 'fantasy', likedCount: 2 }, magnitude: 1 },
      { label: { kind: 'taste' }, magnitude: 1.5 },
    ]);
  });

  it('says "a genre you chose" for the taste of an item in a chosen genre, when no like explains it', () => {
    const parts = tasteParts([], 2, { named: () => false, itemGenres: ['fiction', 'horror'], genresOf, chosenGenres: new Set(['horror']) });
    expect(parts).toEqual([{ label: { kind: 'genre', genre: 'horror', likedCount: 0 }, magnitude: 2 }]);
    expect(whyText({ kind: 'genre', genre: 'horror', likedCount: 0 }, String)).toBe('A horror book, a genre you chose');
  });

  it('skips broad genres ("fiction") when finding the one the liked books share', () => {
    expect(sharedGenre(['fiction', 'fantasy'], [['fiction'], ['fiction', 'fantasy']])).toEqual({ genre: 'fantasy', likedCount: 1 });
    expect(sharedGenre(['fiction'], [['fiction']])).toBeUndefined();
  });
});

describe('whyText and toContributions', () => {
  it('words each term as the card says it, and maps items to ids and titles', () => {
    const items = [{ id: 'a', title: 'Dune' }];
    const titleOf = (i: number) => items[i]!.title;
    expect(whyText({ kind: 'liked', item: 0 }, titleOf)).toBe('Because you liked “Dune”');
    expect(whyText({ kind: 'genre', genre: 'young-adult', likedCount: 3 }, titleOf)).toBe('A young adult book, like 3 you liked');
    expect(whyText({ kind: 'genre', genre: 'horror', likedCount: 1 }, titleOf)).toBe('A horror book, like one you liked');
    expect(whyText({ kind: 'genre', genre: 'art', likedCount: 2 }, titleOf)).toBe('An art book, like 2 you liked');
    expect(whyText({ kind: 'similar', item: 0 }, titleOf)).toBe('Similar to “Dune”');
    expect(
      toContributions(
        [
          { kind: 'liked', item: 0, share: 0.5 },
          { kind: 'popular', share: 0.2 },
        ],
        items,
      ),
    ).toEqual([
      { kind: 'liked', itemId: 'a', title: 'Dune', share: 0.5 },
      { kind: 'popular', share: 0.2 },
    ]);
  });
});

describe('the explanation weights follow the fine-tune', () => {
  it("uses the fine-tune's recency (USER_SOFTMAX_DEFAULTS.recency) and event weights", () => {
    expect(FINE_TUNE_RECENCY).toEqual(USER_SOFTMAX_DEFAULTS.recency);
    const weights = fineTuneWeights([
      { index: 0, kind: 'like' },
      { index: 1, kind: 'click' },
    ]);
    expect(weights[0]).toBeCloseTo(1);
    expect(weights[1]).toBeCloseTo(0.5 * (0.25 + 0.75 * 2 ** -0.1));
  });
});
