/**
 * The search inside the feed: a query's words count at once (BM25, no model needed), its meaning once
 * the text model has read it. One run per query: a newer one aborts an older one still embedding.
 */
import { CatalogIndex } from '../core/catalog-index';
import { Bm25Index, lexicalWeightForQuery } from '../core/lexical';
import { TitleIndex, titleWords } from '../core/title-search';
import type { Query } from '../core/recommender';
import type { EngineParts } from './parts';
import { USER_ACTIVE_MS } from '../core/encoder-pool';
import { userPause, type UserActivity } from './user-pause';
import { errorMessage, yieldToEvents } from './util';

const MAX_QUERY_CHARS = 500;

/** The query as the rankers take it (core/recommender.ts), its words always scored; `vector` only in the active model's space. */
export type RankQuery = Query & { lexical: Float32Array; lexicalWeight: number };

/** What the search reads of a word index: BM25 over every text, or at scale the titles' index. */
interface WordIndex {
  normalizedScore(query: string): Float32Array;
  bestMatchCoverage(query: string): number;
}

/** Title matches scored at most for this many items at scale (the pool takes the best 200). */
const TITLE_MATCHES = 1000;

export class Search {
  /**
   * Its BM25 scores at once, its vector once the text model has read it. `encoderId` says which
   * model's space the vector is in: after a switch of model it is not used (nor mixed) until re-read.
   */
  private query: (RankQuery & { encoderId?: string }) | undefined;
  /** The query being read; a newer setQuery aborts it (its answer is dropped). */
  private run: AbortController | undefined;
  /** BM25 over the catalog texts (at scale: the titles' index), built on the first query or a little after the first feed. */
  private bm25: Promise<WordIndex> | undefined;
  /** A search waits for the index: its slices no longer give way to the user's likes. */
  private lexicalWanted = false;

  constructor(private readonly p: EngineParts) {}

  /** The text searched for, if any. */
  get text(): string | undefined {
    return this.query?.text;
  }

  /** The BM25 index of the catalog texts, for a search: built now at full pace if it is not ready. */
  lexicalIndex(): Promise<WordIndex> {
    this.lexicalWanted = true;
    return this.buildLexicalIndex();
  }

  /**
   * Starts the index without a search waiting for it (a little after the first feed). Its slices give
   * way to the user: while likes, dislikes or clicks come (within USER_ACTIVE_MS of the last), the
   * build waits between slices, so a burst of likes right after the page opens is answered by a worker
   * with nothing else to do; a search meanwhile lets it run at full pace.
   */
  buildLexicalIndexWhenIdle(): void {
    void this.buildLexicalIndex();
  }

  /** About a second of work for 10,000 books, in slices: a Like is answered within a slice, not after the build. */
  private buildLexicalIndex(): Promise<WordIndex> {
    const { catalog, scale } = this.p.state;
    const pause = () => this.pauseBetweenSlices();
    // At scale BM25 over every text is what does not fit (docs/scale.md): the titles' words instead.
    // A catalog held as columns has no texts in memory: the titles' words too.
    this.bm25 ??=
      scale || !(catalog instanceof CatalogIndex)
        ? TitleIndex.build(catalog.size, (i) => catalog.title(i), pause).then((index) => titleWordIndex(index, catalog))
        : Bm25Index.buildInSlices(catalog.texts, pause);
    return this.bm25;
  }

  private pauseBetweenSlices(): Promise<void> {
    return giveWayToUser(this.p.state, () => this.lexicalWanted);
  }

  /** The query as the rankers take it: its vector only when it is in the active model's space. */
  rankQuery(): RankQuery | undefined {
    const query = this.query;
    if (!query) return undefined;
    const { text, lexical, lexicalWeight } = query;
    return query.vector && query.encoderId === this.p.encoders.activeId
      ? { text, lexical, lexicalWeight, vector: query.vector }
      : { text, lexical, lexicalWeight };
  }

  /** Re-weights the feed toward a natural-language query (empty text clears it). */
  async set(text: string): Promise<void> {
    const { state, encoders, feed } = this.p;
    const view = state.view;
    const trimmed = text.trim().slice(0, MAX_QUERY_CHARS);
    this.run?.abort();
    const run = new AbortController();
    this.run = run;
    const superseded = () => run.signal.aborted;
    if (!trimmed) {
      this.query = undefined;
      view.update({ query: undefined, queryError: undefined, searching: false, feed: feed.rank() });
      return;
    }
    view.update({ searching: true, queryError: undefined });
    encoders.userActive();
    const index = await this.lexicalIndex();
    const lexical = index.normalizedScore(trimmed);
    if (superseded()) return;
    this.query = {
      text: trimmed,
      lexical,
      // Words count when the query names a book or an author, not when it describes a topic (core/lexical.ts).
      lexicalWeight: lexicalWeightForQuery(trimmed, encoders.activeOption().languages, index.bestMatchCoverage(trimmed)),
    };
    const encoderId = encoders.activeId;
    const encoder = encoders.current;
    // Without a loaded model (still starting, or unavailable) the words alone rank at once; with one,
    // the query's vector comes within a batch, and one re-rank is better than a flicker.
    view.update({ searching: true, queryError: undefined, ...(encoder ? {} : { query: trimmed, feed: feed.rank() }) });
    let vector: Float32Array;
    try {
      const failure = await encoders.backendSettled;
      if (failure) throw failure;
      const ready = encoder ?? (await encoders.load(encoderId));
      if (encoderId === encoders.activeId) encoders.current ??= ready;
      [vector] = (await encoders.embedWith(encoderId, ready, [trimmed], 'query')) as [Float32Array];
    } catch (error) {
      if (!superseded()) {
        view.update({
          query: trimmed,
          searching: false,
          queryError: `Matching your words only: the text model is unavailable (${errorMessage(error)}).`,
          feed: feed.rank(),
        });
      }
      return;
    }
    if (superseded() || !this.query) return;
    // A vector from a model that was switched away meanwhile is dropped (see rankQuery); the switch re-reads the query.
    this.query = { ...this.query, vector, encoderId };
    view.update({ query: trimmed, searching: false, feed: feed.rank() });
  }
}

/** The titles' index as the search reads a word index: scores over the best matches, normalised to the best. */
function titleWordIndex(index: TitleIndex, catalog: { size: number; title(i: number): string; popularity: Float32Array }): WordIndex {
  return {
    normalizedScore(query) {
      const matches = index.search(query, TITLE_MATCHES, catalog.popularity);
      const scores = new Float32Array(catalog.size);
      const best = matches.scores[0] ?? 0;
      if (best > 0) matches.items.forEach((item, k) => (scores[item] = matches.scores[k]! / best));
      return scores;
    },
    // As Bm25Index's: the share of the query's words in the best-matching title.
    bestMatchCoverage(query) {
      const words = [...new Set(titleWords(query))];
      const best = index.search(query, 1, catalog.popularity).items[0];
      if (words.length === 0 || best === undefined) return 0;
      const title = new Set(titleWords(catalog.title(best)));
      return words.filter((word) => title.has(word)).length / words.length;
    },
  };
}

/**
 * Between two slices of background work: lets the worker's queued messages run, then, while the user
 * is acting (a like, dislike or click within USER_ACTIVE_MS), waits until they pause, unless `urgent()`
 * (someone now waits for the work) or the engine stopped.
 */
export async function giveWayToUser(user: UserActivity & { readonly stopped: boolean }, urgent: () => boolean): Promise<void> {
  await yieldToEvents();
  await userPause(user, USER_ACTIVE_MS, () => urgent() || user.stopped);
}
