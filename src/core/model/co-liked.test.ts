import { describe, expect, it } from 'vitest';
import { buildCoLiked, coLikedScores, coLikedSimilarity, coLikedUrl, CoLikedError, decodeCoLiked, encodeCoLiked } from './co-liked';

// Four readers over five items: 0 and 1 are always liked together; 2 goes with 0 once; 4 with nothing.
const readers = [
  [0, 1],
  [0, 1, 2],
  [1, 0],
  [3, 2],
];
const info = { catalogFingerprint: 'fp-5', catalog: 'tiny.json', readers: readers.length, description: 'readers also liked: 4 test readers' };

describe('co-liked neighbours', () => {
  it('builds each item’s neighbours by the cosine of the like vectors, strongest first', () => {
    const { ids, similarities } = buildCoLiked(readers, 5, 2);
    // likes: 0 ×3, 1 ×3, 2 ×2, 3 ×1; co(0,1) = 3, co(0,2) = 1, co(2,3) = 1
    expect(Array.from(ids.subarray(0, 2))).toEqual([1, 2]);
    expect(similarities[0]).toBeCloseTo(3 / 3, 6);
    expect(similarities[1]).toBeCloseTo(1 / Math.sqrt(3 * 2), 6);
    expect(Array.from(ids.subarray(6, 8))).toEqual([2, 0xffffffff]); // item 3: only 2 (the second slot is empty)
    expect(Array.from(ids.subarray(8, 10))).toEqual([0xffffffff, 0xffffffff]); // item 4: none
  });

  it('round-trips through the file and scores the liked items’ neighbours', async () => {
    const built = buildCoLiked(readers, 5, 2);
    const bytes = await encodeCoLiked(info, { ...built, itemCount: 5, neighbours: 2 });
    const table = await decodeCoLiked(bytes, { catalogFingerprint: 'fp-5', itemCount: 5 });
    expect(table.neighbours).toBe(2);
    expect(coLikedSimilarity(table, 0, 1)).toBeCloseTo(1, 2);
    expect(coLikedSimilarity(table, 0, 2)).toBeCloseTo(1 / Math.sqrt(6), 2); // u8: within 1/255 of the largest
    expect(coLikedSimilarity(table, 0, 4)).toBe(0);
    const scores = coLikedScores(table, [0, 3], new Float32Array(5));
    expect(scores[1]).toBeCloseTo(1, 2);
    expect(scores[2]).toBeCloseTo(1 / Math.sqrt(6) + 1 / Math.sqrt(2), 2);
    expect(scores[4]).toBe(0);
    // Out-of-range likes change nothing.
    expect(Array.from(coLikedScores(table, [0, 3, 17, -2], new Float32Array(5)))).toEqual(Array.from(scores));
  });

  it('refuses a file for another catalog, a damaged or truncated file, and ids outside the catalog', async () => {
    const built = buildCoLiked(readers, 5, 2);
    const bytes = await encodeCoLiked(info, { ...built, itemCount: 5, neighbours: 2 });
    await expect(decodeCoLiked(bytes, { catalogFingerprint: 'other', itemCount: 5 })).rejects.toThrow(/another catalog/);
    const damaged = Uint8Array.from(bytes);
    damaged[damaged.length - 1]! ^= 0xff;
    await expect(decodeCoLiked(damaged, { catalogFingerprint: 'fp-5', itemCount: 5 })).rejects.toThrow(/checksum/);
    await expect(decodeCoLiked(bytes.subarray(0, bytes.length - 3), { catalogFingerprint: 'fp-5', itemCount: 5 })).rejects.toThrow(CoLikedError);
    await expect(decodeCoLiked(new TextEncoder().encode('<html>not found</html>'), { catalogFingerprint: 'fp-5', itemCount: 5 })).rejects.toThrow(
      /not a co-liked/,
    );
    const outside = await encodeCoLiked(info, {
      ids: Uint32Array.from([9, 1, 0, 0, 0, 0, 0, 0, 0, 0]),
      similarities: new Float32Array(10).fill(0.5),
      itemCount: 5,
      neighbours: 2,
    });
    await expect(decodeCoLiked(outside, { catalogFingerprint: 'fp-5', itemCount: 5 })).rejects.toThrow(/outside the catalog/);
  });

  it('lives beside the catalog', () => {
    expect(coLikedUrl('/catalog/goodbooks-10k.json')).toBe('/catalog/goodbooks-10k.co-liked');
    expect(coLikedUrl('/catalog/shop.json?v=2')).toBe('/catalog/shop.co-liked?v=2');
  });
});
