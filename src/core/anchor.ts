/** Kept while core/model/ranking.ts imports Anchor from here: the type is core/recommender.ts's. */
export type { Anchor } from './recommender';
