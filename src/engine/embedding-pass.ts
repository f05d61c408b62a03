/**
 * The background pass that gives every catalog item a vector with the active text model: what the
 * history needs first, then by popularity, in batches cached as they land. One run at a time: a switch
 * of model (or a new pass) aborts the one before, so no vector of one model lands among another's.
 */
import { embeddingOrder } from '../core/catalog-index';
import type { SentenceEncoder } from '../core/encoder';
import type { EngineParts } from './parts';
import { genreSeedCandidates } from './genres';
import { EMBED_BATCH_SIZE, errorMessage } from './util';

/** While embedding in the background, a personalised feed is refreshed at most this often. */
const RERANK_INTERVAL_MS = 2000;
/**
 * Once the catalog is read, the model's cached vectors are merged into records of 1,024
 * (IndexedDbStore.compactEmbeddings): a returning visit then reads a few records instead of hundreds. On a
 * visit that found them all cached (a cache from before, or one whose first visit ended too soon),
 * this long after the start, to keep off the start-up path.
 */
const CACHE_COMPACT_DELAY_MS = 5000;

export class EmbeddingPass {
  /** The pass in progress; aborted when a switch of model starts or a new model takes over. */
  private run: AbortController | undefined;
  private lastRerank = 0;

  constructor(private readonly p: EngineParts) {}

  /** Stops the pass in progress (one model reads at a time). */
  stop(): void {
    this.run?.abort();
  }

  /**
   * Embeds every item without a cached vector with the active model, in batches, caching each batch as
   * it lands. Stops when aborted (a switch of model started or finished).
   */
  async embedMissing(): Promise<void> {
    const { state, encoders, prebuilt, model, store, search, feed } = this.p;
    const { view, vectors } = state;
    const catalog = state.catalogIndex;
    this.run?.abort();
    const run = new AbortController();
    this.run = run;
    const aborted = () => run.signal.aborted;
    const encoderId = encoders.activeId;
    const missing = vectors.rows.flatMap((vector, index) => (vector ? [] : [index]));
    // Precomputed vectors still to check need the encoder even when nothing is missing.
    const toVerify = prebuilt.unchecked?.modelId === encoderId;
    const total = catalog.size;
    const compactSoon = (delayMs: number) => store.compactSoon(encoderId, delayMs, () => encoderId === encoders.activeId);
    if (missing.length === 0 && !toVerify) {
      view.update({ embedding: { done: total, total, active: false } });
      compactSoon(CACHE_COMPACT_DELAY_MS);
      return;
    }
    let done = total - missing.length;
    const order = embeddingOrder(missing, catalog.popularity, (index) => catalog.texts[index]!.length);
    const cursor = { at: 0 };
    view.update({ embedding: { done, total, active: missing.length > 0 } });
    let encoder: SentenceEncoder;
    try {
      encoder = encoders.current ?? (await encoders.load(encoderId));
    } catch (error) {
      if (aborted()) return;
      const fallback = encoders.defaultOption();
      if (encoderId !== fallback.id) {
        // The model chosen on an earlier visit cannot load now (files gone or corrupt): the default takes over.
        view.warnOnce({
          code: 'chosenEncoderFailed',
          params: { chosen: encoders.activeOption().label, message: errorMessage(error), fallback: fallback.label },
        });
        const cached = await store.db.getEmbeddings(fallback.id, catalog.hashes);
        await this.p.switcher.activate(
          fallback.id,
          undefined,
          catalog.hashes.map((hash) => cached.get(hash)),
        );
        return;
      }
      view.warn({ code: 'encoderFailed', params: { message: errorMessage(error) } }, { embedding: { done, total, active: false } });
      return;
    }
    if (aborted()) return;
    encoders.current = encoder;
    if (toVerify) {
      let kept: boolean;
      try {
        kept = await prebuilt.verify(encoder);
      } catch (error) {
        if (aborted()) return;
        return this.stopped(done, total, error);
      }
      if (aborted()) return;
      // Discarded: those items are missing now; plan again (this run's order does not hold them).
      if (!kept) return this.embedMissing();
      model.maybeOpen();
      if (missing.length === 0) return;
    }
    for (let batch = this.nextBatch(order, cursor); batch.length > 0; batch = this.nextBatch(order, cursor)) {
      let fresh: Float32Array[];
      try {
        fresh = await encoders.embedWith(
          encoderId,
          encoder,
          batch.map((index) => catalog.texts[index]!),
        );
      } catch (error) {
        if (aborted()) return;
        return this.stopped(done, total, error);
      }
      if (state.stopped) return;
      fresh = await store.cacheVectors(encoderId, batch, fresh);
      if (aborted()) return;
      // The backend fallback may have reloaded the model: later batches use the new instance.
      encoder = encoders.current ?? encoder;
      const mayResize = model.mayResizeVectors();
      batch.forEach((index, i) => vectors.set(index, fresh[i]!, mayResize));
      model.rowsEmbedded(batch);
      done += batch.length;
      // The catalog's last vectors: the model's item projections can now be kept for the next visit.
      if (done >= total) model.personal?.setProjectionsKey(vectors.projectionsKey(encoderId));
      model.maybeOpen();
      // A chosen genre's vector is the mean of its most popular books: those landing change it.
      const needsProfile = state.events.some((event) =>
        event.kind === 'genre'
          ? genreSeedCandidates(catalog, event.itemId).some((index) => batch.includes(index))
          : batch.includes(catalog.indexOf(event.itemId) ?? -1),
      );
      if (needsProfile) state.rebuildProfile();
      const now = performance.now();
      // A search, or the item on the host's screen, also needs the feed refreshed as vectors land.
      const contextLanded = state.contextIndex !== undefined && batch.includes(state.contextIndex);
      const steered = state.profile.evidence > 0 || search.text !== undefined || state.contextIndex !== undefined;
      const finished = done >= total;
      const refreshFeed = contextLanded || (steered && (needsProfile || finished || now - this.lastRerank > RERANK_INTERVAL_MS));
      if (refreshFeed) this.lastRerank = now;
      view.update({ embedding: { done, total, active: done < total }, ...(refreshFeed ? { feed: feed.rank() } : {}) });
      model.checkRestored();
    }
    compactSoon(0);
  }

  /** The next batch to embed: what the history needs first, then the catalog by popularity. */
  private nextBatch(order: number[], cursor: { at: number }): number[] {
    const { urgent, vectors } = this.p.state;
    const batch: number[] = [];
    while (batch.length < EMBED_BATCH_SIZE && urgent.length > 0) {
      const index = urgent.shift()!;
      if (!vectors.rows[index] && !batch.includes(index)) batch.push(index);
    }
    while (batch.length < EMBED_BATCH_SIZE && cursor.at < order.length) {
      const index = order[cursor.at++]!;
      if (!vectors.rows[index] && !batch.includes(index)) batch.push(index);
    }
    return batch;
  }

  private stopped(done: number, total: number, error: unknown): void {
    this.p.state.view.warn({ code: 'embeddingStopped', params: { message: errorMessage(error) } }, { embedding: { done, total, active: false } });
  }
}
