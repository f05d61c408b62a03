import { describe, expect, it } from 'vitest';
import { buildCoLiked, decodeCoLiked, encodeCoLiked } from './co-liked';
import { HybridModel } from './hybrid';
import { RANKER_FEATURES } from './ranker';
import { rankFeed } from './ranking';
import { GENRE_AFFINITY_WEIGHT, GENRE_PRIOR_LIKES, genreAffinityWeight } from './score-blend';

// Six books in a 3-d model space (v_i = e_i): 0 and 1 along x, 2 and 3 along y, 4 and 5 along z.
const space = Float32Array.from([1, 0, 0, 0.99, 0.141, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0.141, 0.99]);
const titles = ['A', 'B', 'C', 'D', 'E', 'F'];
function identityModel(): HybridModel {
  const model = new HybridModel({ itemIds: titles, embeddings: space, embeddingDim: 3, factors: 3 });
  model.W = Float32Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]);
  return model;
}

async function neighbours(readers: number[][]) {
  const built = buildCoLiked(readers, 6, 3);
  const bytes = await encodeCoLiked({ catalogFingerprint: 'six', readers: readers.length, description: 'test' }, { ...built, itemCount: 6, neighbours: 3 });
  return decodeCoLiked(bytes, { catalogFingerprint: 'six', itemCount: 6 });
}

describe('a reader with likes: co-liked neighbours and genre affinity join the model score', () => {
  const liked = [{ index: 0, kind: 'like' as const }];

  it('brings in what readers of the liked book also liked, and names that book in its "Why?"', async () => {
    // Readers who liked A also liked E (far from A in the model's space).
    const coLiked = await neighbours([
      [0, 4],
      [0, 4],
      [0, 4],
      [2, 3],
    ]);
    const model = identityModel();
    // A taste for A's direction; B (next to A) is read. C, D, E, F all score 0 by the model.
    const user = Float32Array.of(0.2, 0, 0);
    const request = { model, user, k: 1, exclude: new Set([0, 1]), popularity: new Float32Array(6), anchors: liked, titles };
    expect(rankFeed(request)[0]!.index).not.toBe(4);
    const [pick] = rankFeed({ ...request, coLiked });
    expect(pick!.index).toBe(4);
    expect(pick!.reason).toBe('Because you liked “A”');
    expect(pick!.why[0]).toMatchObject({ kind: 'liked', item: 0 });
  });

  it('keeps the feed near the liked books’ genres', () => {
    const model = identityModel();
    const genres = [['horror'], ['romance'], ['horror', 'thriller'], ['romance'], ['horror'], ['poetry']];
    const user = new Float32Array(3); // no opinion yet: the order is the genres'
    const feed = rankFeed({ model, user, k: 2, exclude: new Set([0]), popularity: new Float32Array(6), anchors: liked, titles, genres });
    expect(feed.map((item) => item.index).sort()).toEqual([2, 4]);
    expect(feed[0]!.why[0]).toMatchObject({ kind: 'genre', genre: 'horror' });
  });

  it('changes nothing before the first like (the content profile ranks then)', async () => {
    const coLiked = await neighbours([
      [0, 4],
      [0, 4],
    ]);
    const model = identityModel();
    const user = Float32Array.of(0.5, 0.2, 0.1);
    const genres = [['horror'], ['romance'], ['horror'], ['romance'], ['horror'], ['poetry']];
    const plain = rankFeed({ model, user, k: 4, exclude: new Set(), popularity: new Float32Array(6), titles });
    const withSignals = rankFeed({ model, user, k: 4, exclude: new Set(), popularity: new Float32Array(6), titles, genres, coLiked });
    expect(withSignals.map((item) => item.index)).toEqual(plain.map((item) => item.index));
  });
});

describe('how much the genre term counts', () => {
  it('counts in full up to GENRE_PRIOR_LIKES likes, then shrinks as GENRE_PRIOR_LIKES / likes', () => {
    expect(genreAffinityWeight(1, false)).toBe(GENRE_AFFINITY_WEIGHT);
    expect(genreAffinityWeight(GENRE_PRIOR_LIKES, false)).toBe(GENRE_AFFINITY_WEIGHT);
    expect(genreAffinityWeight(2 * GENRE_PRIOR_LIKES, false)).toBeCloseTo(GENRE_AFFINITY_WEIGHT / 2, 12);
    expect(genreAffinityWeight(10 * GENRE_PRIOR_LIKES, false)).toBeCloseTo(GENRE_AFFINITY_WEIGHT / 10, 12);
  });

  it('leaves a query’s gate to the query and the reader’s taste, not the genres they liked before', () => {
    const model = identityModel();
    model.b = Float32Array.of(0, 0.1, 0.3, 0.2, 0, 0.4);
    const genres = [['horror'], ['romance'], ['horror', 'thriller'], ['romance'], ['horror'], ['poetry']];
    const user = Float32Array.of(0.3, 0.1, 0.05);
    // The query reaches every book but A (the liked one), by its words.
    const query = { text: 'a love story', lexical: Float32Array.of(0, 0.5, 0.6, 0.9, 0.7, 0.4) };
    const base = { model, user, k: 2, exclude: new Set([0]), popularity: new Float32Array(6), anchors: [{ index: 0, kind: 'like' as const }], titles, query };
    const scoreAt = RANKER_FEATURES.indexOf('score');
    const plain = rankFeed(base);
    const withGenres = rankFeed({ ...base, genres });
    expect(withGenres.map((item) => item.index)).toEqual(plain.map((item) => item.index));
    expect(withGenres.map((item) => item.features[scoreAt])).toEqual(plain.map((item) => item.features[scoreAt]));
    // Without the query the same genres do move the score (the term is live, just not under a query).
    const { query: _dropped, ...noQuery } = base;
    const feedScores = (feed: ReturnType<typeof rankFeed>) => feed.map((item) => [item.index, item.features[scoreAt]]);
    expect(feedScores(rankFeed({ ...noQuery, genres }))).not.toEqual(feedScores(rankFeed(noQuery)));
  });
});
