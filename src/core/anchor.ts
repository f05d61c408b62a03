/**
 * An item the reader acted on that a feed can be "because of" (a like or a click), by catalog index:
 * what both rankers (core/rank.ts, core/model/ranking.ts) take as the reader's recent history.
 */
export interface Anchor {
  index: number;
  kind: 'like' | 'click';
}
