/**
 * Runs the code of a Like — an online step, then a feed ranked with novelty, MMR and reasons — on a
 * small synthetic catalog, one event per step, so that V8 has compiled it before the first real one.
 *
 * Why: in a freshly started worker the first ranks over 10,000 items run in V8's interpreter and
 * baseline tiers: 40–80 ms each for the first two (the matVec, top-k and similarity loops), against
 * ~10 ms once optimised. A returning visit ranks its first feed and answers the first Likes in that
 * state. The engine runs these steps only while it would otherwise wait (for the catalog's fetch and
 * the database's reads), so they cost the visit nothing on the way to its first feed.
 */
import { seededUniform } from '../federated/random';
import { onlineStep } from './bpr';
import { HybridModel } from './hybrid';
import { rankFeed } from './ranking';
import { SimilarityCache } from './similarity-cache';

const ITEMS = 400;
const EMBEDDING_DIM = 128;
const FACTORS = 32;

/** Each `next()` runs one synthetic Like and the rank after it (a few milliseconds once compiled); the first builds the catalog. */
export function* rankingWarmUp(steps = 24): Generator<void, void, void> {
  const uniform = seededUniform(7);
  const embeddings = Float32Array.from({ length: ITEMS * EMBEDDING_DIM }, () => uniform() - 0.5);
  for (let i = 0; i < ITEMS; i++) {
    const row = embeddings.subarray(i * EMBEDDING_DIM, (i + 1) * EMBEDDING_DIM);
    const norm = Math.hypot(...row);
    for (let t = 0; t < EMBEDDING_DIM; t++) row[t]! /= norm;
  }
  const W = Float32Array.from({ length: FACTORS * EMBEDDING_DIM }, () => (uniform() - 0.5) * 0.2);
  const model = new HybridModel({ itemIds: Array.from({ length: ITEMS }, (_, i) => `warm-up-${i}`), embeddings, embeddingDim: EMBEDDING_DIM, factors: FACTORS, W });
  const similarities = new SimilarityCache(embeddings, EMBEDDING_DIM);
  const user = model.newUserVector();
  const popularity = Float32Array.from({ length: ITEMS }, () => uniform());
  const anchors: { index: number; kind: 'like' | 'click' }[] = [];
  const exclude = new Set<number>();
  yield; // the catalog above is a step of its own
  for (let step = 0; step < steps; step++) {
    const item = (step * 37) % ITEMS;
    const context = { skipped: [(item + 1) % ITEMS, (item + 2) % ITEMS], recentPositives: anchors.slice(0, 20).map((a) => a.index), randomUnseen: [(item + 5) % ITEMS, (item + 9) % ITEMS] };
    onlineStep(model, user, { kind: 'like', item }, context, { updateItems: true });
    model.invalidate([item, ...context.skipped, ...context.recentPositives, ...context.randomUnseen]);
    anchors.unshift({ index: item, kind: 'like' });
    exclude.add(item);
    rankFeed({ model, user, similarities, k: 20, exclude, popularity, recency: popularity, profile: embeddings.subarray(0, EMBEDDING_DIM), anchors, diversity: 0.3 });
    yield;
  }
}
