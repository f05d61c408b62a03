/**
 * Feed assembly: one request (core/recommender.ts) from the reader's history, the query and the
 * diversity, ranked by the recommendation model once it is open (and no host item is on screen), else
 * by the content profile; at catalog scale over the index's pool, by the model over that pool when the
 * catalog ships a global model that lists its items by id (engine/scale-model.ts); one FeedItem either way.
 */
import { isMark } from '../core/events';
import { ProfileRanker, type ProfileState } from '../core/rank';
import { mostPopular, PoolRanker } from '../core/index/pool-rank';
import type { Anchor, Ranker, RankRequest, Recommendation } from '../core/recommender';
import { NonFiniteScoresError } from '../core/topk';
import { seriesIndexFor } from '../core/series';
import { genresByItem, toContributions } from '../core/why';
import { normalized } from '../core/vector';
import { coLikedUrl, decodeCoLiked, type CoLikedNeighbours } from '../core/model/co-liked';
import type { PersonalModel } from './personal-model';
import { USE_LITE_EXPLAIN_THRESHOLD } from './encoder-ids';
import type { FeedItem } from './api';
import type { EngineParts } from './parts';
import { POPULAR_POOL } from './scale';
import { historyItems, rowSinkOf } from './scale-readahead';
import { ColumnsCatalog } from './catalog-scale';
import { measureLast } from './scale-marks';
import { errorMessage } from './util';

/** The last feed's steps (a User Timing measure, ms each): e2e/scale-columns.spec.ts places a Like's time with it. */
export const RANK_MEASURE = 'engine:rank';

/** Times the steps of one rank, each from the end of the one before. */
class Laps {
  readonly started = performance.now();
  private last = this.started;
  readonly steps: Record<string, number> = {};
  lap(step: string): void {
    const now = performance.now();
    this.steps[step] = (this.steps[step] ?? 0) + now - this.last;
    this.last = now;
  }
}

/** What the history says for ranking: items never to show again, the anchors of reasons, likes, dislikes, chosen genres. */
interface Marks {
  /** Liked or disliked (never shown again). */
  marked: Set<number>;
  /** Liked or clicked items, most recent first. */
  anchors: Anchor[];
  /** Apart (the feed rules read a series' liked volumes as read). */
  liked: Set<number>;
  disliked: Set<number>;
  /** Chosen in "What do you like to read?" (a card may say "a genre you chose"). */
  chosenGenres: Set<string>;
}

export class Feed {
  /** The publisher's "readers who liked X also liked" neighbours (core/model/co-liked.ts), once fetched. */
  private coLiked: CoLikedNeighbours | undefined;

  constructor(private readonly p: EngineParts) {}

  rank(): FeedItem[] {
    const laps = new Laps();
    const feed = this.rankTimed(laps);
    laps.lap('items');
    measureLast(RANK_MEASURE, laps.started, laps.steps);
    return feed;
  }

  private rankTimed(laps: Laps): FeedItem[] {
    const { state, search } = this.p;
    const { marked, anchors, liked, disliked, chosenGenres } = this.marks();
    laps.lap('marks');
    const request: RankRequest = {
      k: state.config.feedSize,
      exclude: marked,
      anchors,
      query: search.rankQuery(),
      diversity: state.diversity,
      liked,
      disliked,
      chosenGenres,
    };
    const personal = this.p.model.personal;
    if (personal && state.contextIndex === undefined) {
      try {
        return this.feedItems(this.modelRanker(personal).rank({ ...request, series: seriesIndexFor(state.catalog.items) }));
      } catch (error) {
        // A model whose scores overflowed would give an empty feed: the taste profile ranks instead, and says so.
        if (!(error instanceof NonFiniteScoresError)) throw error;
        state.view.warnOnce({ code: 'modelScoresNotNumbers', params: { message: error.message } });
      }
    }
    return this.feedItems(this.rankWithProfile(request, laps));
  }

  /**
   * The catalog's co-liked neighbours (`<catalog>.co-liked`), for this catalog only (its fingerprint);
   * a missing file (404) is normal, a broken one is ignored with a warning. Re-ranks when they arrive.
   */
  async loadCoLiked(catalogUrl: string): Promise<void> {
    const state = this.p.state;
    if (!state.deps.fetchBytes) return;
    const url = coLikedUrl(catalogUrl);
    try {
      const bytes = await state.deps.fetchBytes(url);
      if (!bytes || state.stopped) return;
      this.coLiked = await decodeCoLiked(bytes, { catalogFingerprint: state.catalog.fingerprint(), itemCount: state.catalog.size }, url);
      if (state.view.current.phase === 'ready' && state.events.some((event) => event.kind === 'like')) state.view.update({ feed: this.rank() });
    } catch (error) {
      state.view.warnOnce({ code: 'coLikedIgnored', params: { url, message: errorMessage(error) } });
    }
  }

  private marks(): Marks {
    const { events, catalog } = this.p.state;
    const marked = new Set<number>();
    const anchors: Anchor[] = [];
    const anchored = new Set<number>();
    const disliked = new Set<number>();
    const liked = new Set<number>();
    const chosenGenres = new Set<string>();
    for (let i = events.length - 1; i >= 0; i--) {
      const event = events[i]!;
      if (event.kind === 'genre') chosenGenres.add(event.itemId);
      const index = catalog.indexOf(event.itemId);
      if (index === undefined) continue;
      if (isMark(event.kind)) marked.add(index);
      if (event.kind === 'like' && !disliked.has(index)) liked.add(index);
      if (event.kind === 'dislike' && !liked.has(index)) disliked.add(index);
      if ((event.kind === 'like' || event.kind === 'click') && !anchored.has(index) && !disliked.has(index)) {
        anchored.add(index);
        anchors.push({ index, kind: event.kind });
      }
    }
    return { marked, anchors, liked, disliked, chosenGenres };
  }

  /** The recommendation model's ranker (core/model/ranking.ts, with the reader's u) over the catalog's features. */
  private modelRanker(personal: PersonalModel): Ranker {
    // The model opens on the small path only (engine/model-lifecycle.ts): the catalog is held whole.
    const { profile } = this.p.state;
    const catalog = this.p.state.catalogIndex;
    const features = {
      popularity: catalog.popularity,
      recency: catalog.recency,
      profile: profile.vector ? normalized(profile.vector) : null,
      texts: catalog.texts,
      titles: catalog.titles,
      genres: genresByItem(catalog.items),
      ...(this.coLiked ? { coLiked: this.coLiked } : {}),
    };
    return { rank: (request) => personal.rank({ ...features, ...request, diversity: request.diversity ?? 0 }) };
  }

  /** The content profile's ranking; at scale over the pool the index picks for this request. */
  private rankWithProfile(request: RankRequest, laps: Laps): Recommendation[] {
    const { state } = this.p;
    const { catalog, contextIndex } = state;
    const scale = state.scale;
    // At scale the rows the history needs are read from storage first (a like, the anchors, a chosen
    // genre's books, the item on screen), so that the profile and the pool's stage one follow them.
    // A catalog held as columns without its files (another tab holds them) ranks its most popular items and the history.
    const columns = catalog instanceof ColumnsCatalog ? catalog : undefined;
    const history =
      scale || columns
        ? [
            ...state.urgent.splice(0),
            ...request.exclude,
            ...request.anchors.map((anchor) => anchor.index),
            ...(contextIndex === undefined ? [] : [contextIndex]),
          ]
        : [];
    if (scale && this.loadScaleRows(history) > 0) state.rebuildProfile();
    laps.lap('history');
    const embeddings = state.vectors.rows;
    const profileState: ProfileState = {
      items: catalog.items,
      embeddings,
      popularity: catalog.popularity,
      profile: state.profile,
      explainThreshold: USE_LITE_EXPLAIN_THRESHOLD,
      onScreen: contextIndex === undefined ? undefined : { index: contextIndex, embedding: embeddings[contextIndex] },
    };
    if (!scale && !columns) return new ProfileRanker(profileState).rank({ ...request, series: seriesIndexFor(catalog.items) });
    // Stage one picks the pool (the index's nearest to the taste and the query, popular items, the
    // history); its rows are read and the ranker scores the pool exactly, as it would the catalog. The
    // pool's own series index is built (the catalog's would take seconds to build).
    const direction = state.profile.vector ? normalized(state.profile.vector) : null;
    const query = request.query;
    const pool = scale
      ? scale.pool(direction, query?.vector, query?.lexical, history, rowSinkOf(state.vectors))
      : [...new Set([...mostPopular(catalog.popularity, POPULAR_POOL), ...history])];
    laps.lap('pool');
    if (scale) this.loadScaleRows(pool);
    laps.lap('poolRows');
    // A catalog held as columns: the pool's and the history's items (their rows, else stand-ins) for the rules, cards and reasons.
    columns?.load([...history, ...pool], new Set(history));
    laps.lap('catalog');
    // The recommendation model over the pool once the global model beside the catalog is read (engine/scale-model.ts).
    const byModel = scale && contextIndex === undefined ? this.p.model.scale.rank(pool, direction, request) : undefined;
    if (byModel) {
      laps.lap('model');
      return byModel;
    }
    const ranked = new PoolRanker(profileState, pool).rank(request);
    laps.lap('ranker');
    return ranked;
  }

  /** The UI's items (engine/api.ts), the same from either ranker. */
  private feedItems(recommendations: readonly Recommendation[]): FeedItem[] {
    const items = this.p.state.catalog.items;
    return recommendations.map(({ index, reason, why }) => {
      const item = items[index]!;
      return { id: item.id, title: item.title, byline: item.byline, year: item.year, genres: item.genres, reason, why: toContributions(why, items) };
    });
  }

  /** At scale: reads `items`' rows not in memory from storage into the sparse vectors (the history's are kept); how many were read. */
  private loadScaleRows(items: readonly number[]): number {
    const { state } = this.p;
    return state.scale!.loadRows(items, rowSinkOf(state.vectors), historyItems(state));
  }
}
