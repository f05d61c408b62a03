import { describe, expect, it } from 'vitest';
import { genreAffinity } from './genre-affinity';

describe('genreAffinity', () => {
  const genres = [['fantasy', 'young-adult'], ['fantasy'], ['horror'], undefined, ['fantasy', 'horror'], []];

  it('is the mean Jaccard similarity with the liked items’ genre sets', () => {
    const affinity = genreAffinity(genres, [0, 2]);
    // item 1 {fantasy}: with {fantasy, young-adult} 1/2, with {horror} 0 → 0.25
    expect(affinity[1]).toBeCloseTo(0.25, 6);
    // item 4 {fantasy, horror}: 1/3 and 1/2 → 5/12
    expect(affinity[4]).toBeCloseTo(5 / 12, 6);
    // a liked item with itself: (1 + 0) / 2
    expect(affinity[0]).toBeCloseTo(0.5, 6);
    // items without genres have none in common
    expect(affinity[3]).toBe(0);
    expect(affinity[5]).toBe(0);
  });

  it('is zero everywhere when no liked item has genres, and ignores indices outside the catalog', () => {
    expect(Array.from(genreAffinity(genres, [3, 5]))).toEqual([0, 0, 0, 0, 0, 0]);
    expect(Array.from(genreAffinity(genres, [-1, 99, 2]))).toEqual(Array.from(genreAffinity(genres, [2])));
    expect(Array.from(genreAffinity([undefined, undefined], [0]))).toEqual([0, 0]);
  });

  it('counts a liked item once however often it is listed', () => {
    expect(Array.from(genreAffinity(genres, [0, 0, 2]))).toEqual(Array.from(genreAffinity(genres, [0, 2])));
  });
});
