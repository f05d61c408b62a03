/**
 * The one interface every ranker implements (as implicit's RecommenderBase: one interface, one file per
 * algorithm): built over what the algorithm knows (a content profile, a model), asked for k items with
 * the same request, answering the same items. The algorithms: core/rank.ts (the content profile, before
 * the model starts; core/profile-ranker.ts, and core/index/pool-rank.ts over a pool at catalog scale) and
 * core/model/ranking.ts (the on-device model; core/model/model-ranker.ts).
 */
import type { SeriesIndex } from './series';
import type { WhyTerm } from './why';

/** An item the reader acted on that a feed can be "because of" (a like or a click), by catalog index. */
export interface Anchor {
  index: number;
  kind: 'like' | 'click';
}

/**
 * A search query inside the feed, in one or both channels. `vector` is its unit embedding by the encoder
 * of the items' vectors (absent while the text model loads, or when it is unavailable); `lexical` is its
 * normalised BM25 score per item (core/lexical.ts), blended with the cosine at `lexicalWeight`
 * (core/query-blend.ts). With neither, it changes nothing.
 */
export interface Query {
  text: string;
  vector?: Float32Array;
  lexical?: Float32Array;
  lexicalWeight?: number;
}

/** What a ranker is asked: the same for every algorithm. Indices are the catalog's. */
export interface RankRequest {
  k: number;
  /** Items never to recommend (the engine passes the liked and the disliked). */
  exclude: ReadonlySet<number>;
  /** Items the reader liked or clicked, most recent first: "Because you liked …" (and the model's novelty). */
  anchors: readonly Anchor[];
  query?: Query;
  /** 0 = by relevance only; 1 = as different from each other as possible (MMR). */
  diversity?: number;
  /**
   * The catalog's series and authors (core/series.ts). With it the feed rules hold (core/feed-rules.ts):
   * one book per series (the next unread volume), at most 2 per author in every 20 unless the query
   * names the author. Without it, none of them.
   */
  series?: SeriesIndex;
  /** Items the reader liked, which the series rule counts as read (default: the 'like' anchors). */
  liked?: ReadonlySet<number>;
  /** Items the reader dismissed ("Not interested"): a series only ever dismissed is left out. */
  disliked?: ReadonlySet<number>;
  /** Genres the reader chose ("What do you like to read?"): "A fantasy book, a genre you chose". */
  chosenGenres?: ReadonlySet<string>;
}

/** One item of a ranker's feed, before the engine turns it into the UI's FeedItem (engine/api.ts). */
export interface Recommendation {
  /** Catalog index. */
  index: number;
  /** The algorithm's score (the order before MMR and the feed rules). */
  score: number;
  /** `why[0]` in English words. */
  reason: string;
  /** The parts of the score that put it here, strongest first (1–4 terms with shares; core/why.ts). */
  why: WhyTerm[];
}

/** A ranking algorithm over what it was built with. */
export interface Ranker<Item extends Recommendation = Recommendation> {
  rank(request: RankRequest): Item[];
}
