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
}

export interface Recommendation {
  index: number;
  itemId: string;
  score: number;
  reason: string;
}

/** Below this similarity an anchor does not explain a pick; popularity does. */
const EXPLAIN_MIN_SIMILARITY = 0.3;
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
  return scores;
}

function explain(context: RankContext, index: number, scores: Float32Array): string {
  const embedding = context.embeddings[index];
  const weight = context.profile.vector ? personalWeight(context.profile.evidence) : 0;
  const popularityPart = (1 - weight) * context.popularity[index]!;
  if (embedding && weight > 0 && scores[index]! - popularityPart > popularityPart) {
    let best: { anchor: Anchor; similarity: number } | undefined;
    for (const anchor of context.anchors.slice(0, MAX_ANCHORS_FOR_REASONS)) {
      const anchorEmbedding = context.embeddings[anchor.index];
      if (!anchorEmbedding) continue;
      const similarity = dot(anchorEmbedding, embedding);
      if (!best || similarity > best.similarity) best = { anchor, similarity };
    }
    if (best && best.similarity >= EXPLAIN_MIN_SIMILARITY) {
      const title = context.items[best.anchor.index]!.title;
      return best.anchor.kind === 'like' ? `Because you liked “${title}”` : `Because you looked at “${title}”`;
    }
    return 'Close to your taste';
  }
  return 'Popular with readers';
}

/** The top-k recommendations with a one-line reason each. */
export function recommend(context: RankContext, k: number): Recommendation[] {
  const scores = scoreItems(context);
  return topK(scores, k, (index) => context.marked.has(index)).map((index) => ({
    index,
    itemId: context.items[index]!.id,
    score: scores[index]!,
    reason: explain(context, index, scores),
  }));
}
