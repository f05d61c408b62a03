import { describe, expect, it } from 'vitest';
import type { CatalogItem } from '../catalog';
import { gaussianSource, seededUniform } from '../random';
import { popularityScores, recommend, type RankContext } from '../rank';
import { seriesIndexFor } from '../series';
import { normalized } from '../vector';
import { mostPopular, recommendOver, topPositive } from './pool-rank';

const dim = 32;

function seeded(n: number, seed: number): RankContext {
  const normal = gaussianSource(seededUniform(seed));
  const centres = Array.from({ length: 20 }, () => Float32Array.from({ length: dim }, () => normal()));
  const embeddings = Array.from({ length: n }, (_, i) => normalized(centres[i % 20]!.map((x) => x + 0.7 * normal())));
  const items: CatalogItem[] = Array.from({ length: n }, (_, i) => ({
    id: `b${i}`,
    title: `Book ${i} of cluster ${i % 20}`,
    text: `Book ${i}`,
    byline: `Author ${i % 97}`,
    popularity: Math.floor(1000 * Math.abs(normal())),
  }));
  const liked = [3, 23, 43];
  const profile = { vector: normalized(liked.map((i) => embeddings[i]!).reduce((a, b) => a.map((x, t) => x + b[t]!))), evidence: 3 };
  return {
    items,
    embeddings,
    popularity: popularityScores(items),
    profile,
    exclude: new Set(liked),
    anchors: liked.map((index) => ({ index, kind: 'like' as const })),
    liked: new Set(liked),
    diversity: 0.3,
    series: seriesIndexFor(items),
  };
}

describe('recommendOver', () => {
  it('over a pool of every item, ranks as recommend over the catalog (the exact reference)', () => {
    const context = seeded(600, 5);
    const all = Array.from({ length: 600 }, (_, i) => i);
    const exact = recommend(context, 10);
    const pooled = recommendOver(context, all, 10);
    expect(pooled.map((r) => r.index)).toEqual(exact.map((r) => r.index));
    expect(pooled.map((r) => r.why)).toEqual(exact.map((r) => r.why));
  });

  it('over the best-by-taste and most popular items, keeps the exact top 10', () => {
    const context = seeded(3000, 9);
    const direction = context.profile.vector!;
    const byTaste = Array.from({ length: 3000 }, (_, i) => i).sort((a, b) => dot(direction, context.embeddings[b]!) - dot(direction, context.embeddings[a]!));
    const pool = [...byTaste.slice(0, 300), ...mostPopular(context.popularity, 100), ...context.anchors.map((a) => a.index)];
    const exact = recommend(context, 10).map((r) => r.index);
    const pooled = recommendOver(context, pool, 10).map((r) => r.index);
    expect(new Set(pooled)).toEqual(new Set(exact));
    // "Because you liked" names catalog items, not pool positions.
    const named = recommendOver(context, pool, 10).flatMap((r) => r.why.flatMap((term) => (term.kind === 'liked' ? [term.item] : [])));
    for (const item of named) expect(context.anchors.map((a) => a.index)).toContain(item);
  });

  it('maps the query words, the marks and the item on screen into the pool', () => {
    const context = seeded(400, 2);
    const lexical = new Float32Array(400);
    lexical[77] = 1;
    lexical[78] = 0.5;
    const withQuery: RankContext = { ...context, query: { text: 'book 77', lexical, lexicalWeight: 1 } };
    const pool = [...topPositive(lexical, 10), ...mostPopular(context.popularity, 50), 3, 23, 43];
    expect(topPositive(lexical, 10)).toEqual([77, 78]);
    const top = recommendOver(withQuery, pool, 5);
    expect(top[0]!.index).toBe(77);
    expect(top.map((r) => r.index)).not.toContain(3);
    const onScreen = recommendOver({ ...context, onScreen: { index: 77, embedding: context.embeddings[77] } }, pool, 10);
    expect(onScreen.map((r) => r.index)).not.toContain(77);
  });

  it('mostPopular gives the most popular items as a full sort does, ties to the lower index', () => {
    const uniform = seededUniform(3);
    // Few distinct values: many ties.
    const popularity = Float32Array.from({ length: 5000 }, () => Math.floor(40 * uniform()) / 40);
    const sorted = Array.from({ length: popularity.length }, (_, i) => i).sort((a, b) => popularity[b]! - popularity[a]! || a - b);
    expect(mostPopular(popularity, 300)).toEqual(sorted.slice(0, 300));
    // More asked for than there are: all of them, in that order.
    expect(mostPopular(popularity.subarray(0, 7), 300)).toEqual(sorted.filter((i) => i < 7));
    expect(mostPopular(popularity, 0)).toEqual([]);
  });
});

function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}
