import fc from 'fast-check';
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

/** The definition, written out: mean over distinct liked items with genres of |A ∩ B| / |A ∪ B|. */
function meanJaccard(genres: readonly (readonly string[] | undefined)[], liked: readonly number[]): number[] {
  const sets = [...new Set(liked)].map((j) => new Set(genres[j] ?? [])).filter((set) => set.size > 0);
  return genres.map((list) => {
    const own = new Set(list ?? []);
    if (own.size === 0 || sets.length === 0) return 0;
    let sum = 0;
    for (const other of sets) {
      const shared = [...own].filter((genre) => other.has(genre)).length;
      sum += shared / (own.size + other.size - shared);
    }
    return sum / sets.length;
  });
}

describe('genreAffinity over a reader’s changing likes', () => {
  const pool = ['fantasy', 'horror', 'romance', 'mystery', 'poetry'];
  const catalog = fc.array(fc.option(fc.uniqueArray(fc.constantFrom(...pool), { maxLength: 4 }), { nil: undefined }), { minLength: 1, maxLength: 30 });

  it('equals the definition after every step of any sequence of likes added and taken back', () => {
    fc.assert(
      fc.property(catalog, fc.array(fc.tuple(fc.boolean(), fc.nat()), { maxLength: 25 }), (genres, steps) => {
        // One catalog array per run: the running sums are kept per catalog, as the engine's is.
        const liked: number[] = [];
        for (const [add, pick] of steps) {
          if (add || liked.length === 0) liked.push(pick % genres.length);
          else liked.splice(pick % liked.length, 1);
          const affinity = Array.from(genreAffinity(genres, liked));
          meanJaccard(genres, liked).forEach((expected, i) => expect(affinity[i]).toBeCloseTo(expected, 6));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('answers a second catalog, and a reader with other likes, without the first one’s sums', () => {
    const first = [['fantasy'], ['horror'], ['fantasy', 'horror']];
    const second = [['horror'], ['fantasy'], ['fantasy', 'horror']];
    genreAffinity(first, [0]);
    expect(Array.from(genreAffinity(second, [0]))).toEqual(Array.from(Float32Array.from(meanJaccard(second, [0]))));
    expect(Array.from(genreAffinity(first, [1]))).toEqual(Array.from(Float32Array.from(meanJaccard(first, [1]))));
    expect(Array.from(genreAffinity(first, [1, 0]))).toEqual(Array.from(Float32Array.from(meanJaccard(first, [1, 0]))));
  });
});
