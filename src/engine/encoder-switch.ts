/**
 * A change of text model. The feed keeps working on the current model's vectors while the new one
 * loads and reads what it needs to take over; then it takes over, the recommendation model is rebuilt
 * in its space from the history (which is kept), and it reads the rest of the catalog in the background.
 */
import { embeddingOrder } from '../core/catalog-index';
import type { SentenceEncoder } from '../core/encoder';
import type { StoreUsage } from '../storage/db';
import type { EncoderCache } from './api';
import type { EngineParts } from './parts';
import { genreSeedCandidates } from './genres';
import { SETTING_ENCODER_ID } from './settings-keys';
import { EMBED_BATCH_SIZE, errorMessage, MODEL_MIN_EMBEDDED } from './util';

export class EncoderSwitch {
  /** A switch of text model in progress; a newer setEncoder aborts it. */
  private switching: { id: string; controller: AbortController } | undefined;

  constructor(private readonly p: EngineParts) {}

  /**
   * Switches the text model: what it must have read to take over (the books of the history and the
   * most popular ones, as many as the recommendation model starts from) is read first; cached vectors
   * count at once, so switching back to a model used before is immediate. On failure the current model
   * stays, with a message naming what failed.
   */
  async setEncoder(id: string): Promise<void> {
    const { state, encoders, store, prebuilt, embedding } = this.p;
    const { view } = state;
    // A catalog held as columns (at scale) has no texts in memory to read again: a change of model is refused there.
    const catalog = state.catalogIndex;
    const option = encoders.options.find((candidate) => candidate.id === id);
    if (!option) throw new Error(`There is no text model "${id}" here`);
    this.switching?.controller.abort();
    this.switching = undefined;
    if (id === encoders.activeId) {
      // Back to the model in use before the switch finished: it resumes reading the catalog.
      view.update({ encoderSwitch: undefined, encoderError: undefined });
      if (!state.stopped && view.current.backend) void embedding.embedMissing();
      return;
    }
    const controller = new AbortController();
    const signal = controller.signal;
    this.switching = { id, controller };
    // One model reads at a time: the current one pauses its background reading (two would halve both).
    embedding.stop();
    const paused = view.current.embedding;
    const label = option.label;
    view.update({
      encoderSwitch: { to: id, label, stage: 'loading', done: 0, total: option.downloadBytes },
      encoderError: undefined,
      ...(paused ? { embedding: { ...paused, active: false } } : {}),
    });
    try {
      const failure = await encoders.backendSettled;
      if (failure) throw failure;
      const encoder = await encoders.load(id, ({ file, loaded, total }) => {
        if (!signal.aborted) view.update({ encoderSwitch: { to: id, label, stage: 'loading', done: loaded, total, file } });
      });
      encoders.stopListening(id);
      signal.throwIfAborted();
      const cached = await store.db.getEmbeddings(id, catalog.hashes);
      signal.throwIfAborted();
      const vectors = catalog.hashes.map((hash) => cached.get(hash));
      // The catalog's precomputed vectors for this model, if any: checked at once (the model is loaded).
      const prebuiltStatus = await prebuilt.forSwitch(option, encoder, vectors);
      signal.throwIfAborted();
      const needed = this.neededToTakeOver();
      const missing = needed.filter((index) => !vectors[index]);
      let done = needed.length - missing.length;
      // Nothing to read (all cached: switching back) goes straight to the takeover, without a flash of progress.
      if (missing.length > 0) view.update({ encoderSwitch: { to: id, label, stage: 'embedding', done, total: needed.length } });
      for (let start = 0; start < missing.length; start += EMBED_BATCH_SIZE) {
        const batch = missing.slice(start, start + EMBED_BATCH_SIZE);
        const fresh = await encoders.embedWith(
          id,
          encoder,
          batch.map((index) => catalog.texts[index]!),
        );
        signal.throwIfAborted();
        const stored = await store.cacheVectors(id, batch, fresh);
        batch.forEach((index, i) => (vectors[index] = stored[i]));
        done += batch.length;
        if (!signal.aborted) view.update({ encoderSwitch: { to: id, label, stage: 'embedding', done, total: needed.length } });
        signal.throwIfAborted();
      }
      await this.activate(id, encoder, vectors);
      if (prebuiltStatus) view.update({ prebuilt: prebuiltStatus });
    } catch (error) {
      encoders.stopListening(id);
      if (signal.aborted || state.stopped) return; // cancelled by a newer choice, which reports for itself
      this.switching = undefined;
      view.update({
        encoderSwitch: undefined,
        encoderError: `Could not switch to ${label}: ${errorMessage(error)}. Still using ${encoders.activeOption().label}.`,
      });
      if (view.current.backend) void embedding.embedMissing();
    }
  }

  /**
   * Makes `id` the active model with these vectors (its own, never mixed with another's). The
   * recommendation model of the old space is closed after any training in flight, and a new one is
   * opened for this space and re-learns the history.
   */
  async activate(id: string, encoder: SentenceEncoder | undefined, vectors: (Float32Array | undefined)[]): Promise<void> {
    const { state, encoders, store, prebuilt, embedding, model, search, feed } = this.p;
    const view = state.view;
    embedding.stop();
    await model.cutOver(async () => {
      encoders.activate(id, encoder);
      state.vectors.replace(vectors, encoders.activeOption().dimension, model.mayResizeVectors());
      // Unchecked precomputed vectors were part of the replaced set (never cached): they go with it.
      prebuilt.unchecked = undefined;
      state.rebuildProfile();
      this.switching = undefined;
      await store.db.putSettings({ [SETTING_ENCODER_ID]: id });
      view.update({
        encoder: encoders.activeOption(),
        encoderSwitch: undefined,
        encoderError: undefined,
        training: undefined,
        prebuilt: undefined,
        feed: feed.rank(),
      });
    });
    model.maybeOpen();
    if (view.current.backend) void embedding.embedMissing();
    // The search's vector was in the old space: read it again with this model (its words still count meanwhile).
    if (search.text !== undefined) void search.set(search.text);
  }

  async encoderCaches(): Promise<EncoderCache[]> {
    const { encoders, store } = this.p;
    const usage = await store.db.embeddingUsageByModel();
    return [...usage].map(([id, { count, bytes }]) => ({
      id,
      label: encoders.options.find((option) => option.id === id)?.label ?? id,
      count,
      bytes,
      active: id === encoders.activeId,
    }));
  }

  /** Deletes the cached vectors of every model but the active one and the one being switched to. */
  async clearOtherEncoderCaches(): Promise<StoreUsage> {
    const { encoders, store } = this.p;
    const keep = new Set([encoders.activeId, ...(this.switching ? [this.switching.id] : [])]);
    const others = [...(await store.db.embeddingUsageByModel()).keys()].filter((id) => !keep.has(id));
    return store.db.deleteEmbeddingsOf(others);
  }

  /** What a new model must have read before it takes over: the history's books, the one on screen, the most popular. */
  private neededToTakeOver(): number[] {
    const { events, contextIndex } = this.p.state;
    const catalog = this.p.state.catalogIndex;
    const needed = new Set<number>();
    for (const event of events) {
      if (event.kind === 'genre') {
        for (const index of genreSeedCandidates(catalog, event.itemId)) needed.add(index);
        continue;
      }
      const index = catalog.indexOf(event.itemId);
      if (index !== undefined && event.kind !== 'view') needed.add(index);
    }
    if (contextIndex !== undefined) needed.add(contextIndex);
    const byPopularity = embeddingOrder(
      catalog.items.map((_, index) => index),
      catalog.popularity,
      (index) => catalog.texts[index]!.length,
    );
    for (const index of byPopularity.slice(0, Math.min(MODEL_MIN_EMBEDDED, catalog.size))) needed.add(index);
    return [...needed];
  }
}
