/**
 * Ranking for the content-profile model: blend the profile's cosine with popularity, filter what
 * the user already marked, and explain each pick with the item it resembles most.
 */
import type { CatalogItem } from './catalog';
import { personalWeight, type ContentProfile } from './profile';
import { topK } from './topk';
import { dot, normalized } from './vector';

export interface Anchor {
  index: number;
  kind: 'like' | 'click';
}

export interface RankContext {
  items: readonly CatalogItem[];
  /** Unit-length item embeddings by catalog index; undefined where not computed yet. */
  embeddings: readonly (Float32Array | undefined)[];
  /** Popularity in [0, 1] by catalog index (see popularityScores). */
  popularity: Float32Array;
  profile: ContentProfile;
  /** Liked or disliked items: never recommended again. */
  marked: ReadonlySet<number>;
  /** Items the user liked or clicked, most recent first: candidates for "Because you liked …". */
  anchors: readonly Anchor[];
  /**
   * Cosine above which an anchor explains a pick. It depends on the encoder: USE Lite puts any two
   * goodbooks titles at 0.64 (median) and 0.73 (90th percentile), so "related" starts near 0.8.
   */
  explainThreshold?: number;
  /**
   * The item on screen where the recommendations are shown (a widget on a product page): picks lean
   * toward it and it is never recommended itself. Ignored while its embedding is unknown.
   */
  onScreen?: { index: number; embedding: Float32Array | undefined };
}

export interface Recommendation {
  index: number;
  itemId: string;
  score: number;
  reason: string;
}

const DEFAULT_EXPLAIN_THRESHOLD = 0.5;
/**
 * Share of the score taken by similarity to the item on screen. Over half: on an item's page, "more
 * like this" matters more than the long-run taste, which still breaks ties among similar items.
 */
export const ON_SCREEN_WEIGHT = 0.7;
const MAX_ANCHORS_FOR_REASONS = 50;

/** log-scaled popularity in [0, 1]: the most popular item is 1, unknown popularity is 0. */
export function popularityScores(items: readonly CatalogItem[]): Float32Array {
  const logs = items.map((item) => Math.log1p(item.popularity ?? 0));
  const max = Math.max(0, ...logs);
  return Float32Array.from(logs, (value) => (max > 0 ? value / max : 0));
}

/** Scores every item; items without an embedding get popularity alone. */
export function scoreItems(context: RankContext): Float32Array {
  const { embeddings, popularity, profile } = context;
  const weight = profile.vector ? personalWeight(profile.evidence) : 0;
  const direction = profile.vector ? normalized(profile.vector) : null;
  const scores = new Float32Array(context.items.length);
  for (let i = 0; i < scores.length; i++) {
    const embedding = embeddings[i];
    const personal = direction && embedding ? dot(direction, embedding) : 0;
    scores[i] = weight * personal + (1 - weight) * popularity[i]!;
  }
  const onScreen = context.onScreen?.embedding;
  if (onScreen) {
    for (let i = 0; i < scores.length; i++) {
      const embedding = embeddings[i];
      // Items not embedded yet cannot be compared: they keep only their share of the base score.
      const similarity = embedding ? dot(onScreen, embedding) : 0;
      scores[i] = ON_SCREEN_WEIGHT * similarity + (1 - ON_SCREEN_WEIGHT) * scores[i]!;
    }
  }
  return scores;
}

/**
 * The reason shown with a pick: the liked (or clicked) item it is closest to, when that item is
 * really close; otherwise popularity, which is then what put it there.
 */
function explain(context: RankContext, index: number): string {
  const embedding = context.embeddings[index];
  const threshold = context.explainThreshold ?? DEFAULT_EXPLAIN_THRESHOLD;
  const onScreen = context.onScreen;
  if (embedding && onScreen?.embedding && dot(onScreen.embedding, embedding) >= threshold) {
    return `Similar to “${context.items[onScreen.index]!.title}”`;
  }
  if (embedding && context.profile.vector) {
    let best: { anchor: Anchor; similarity: number } | undefined;
    for (const anchor of context.anchors.slice(0, MAX_ANCHORS_FOR_REASONS)) {
      const anchorEmbedding = context.embeddings[anchor.index];
      if (!anchorEmbedding) continue;
      const similarity = dot(anchorEmbedding, embedding);
      if (!best || similarity > best.similarity) best = { anchor, similarity };
    }
    if (best && best.similarity >= threshold) {
      const title = context.items[best.anchor.index]!.title;
      return best.anchor.kind === 'like' ? `Because you liked “${title}”` : `Because you looked at “${title}”`;
    }
  }
  return 'Popular with readers';
}

/** The top-k recommendations with a one-line reason each. */
export function recommend(context: RankContext, k: number): Recommendation[] {
  const scores = scoreItems(context);
  const onScreenIndex = context.onScreen?.index;
  return topK(scores, k, (index) => context.marked.has(index) || index === onScreenIndex).map((index) => ({
    index,
    itemId: context.items[index]!.id,
    score: scores[index]!,
    reason: explain(context, index),
  }));
}
