/**
 * The publisher's precomputed vectors beside the catalog (`<catalog>.<model id>.emb`): trusted only
 * once a random sample agrees with this device's encoder, at start (checked when the model has loaded)
 * and on a switch of text model (checked at once). One check for both.
 */
import type { SentenceEncoder } from '../core/encoder';
import { cosine } from '../core/vector';
import { decodePrebuilt, prebuiltEmbeddingsUrl, prebuiltRow, prebuiltRowsByHash, type PrebuiltEmbeddings } from '../core/prebuilt-embeddings';
import type { EncoderOption, PrebuiltStatus } from './api';
import type { EngineParts } from './parts';
import { errorMessage, isQuotaError } from './util';

/**
 * Precomputed vectors are trusted only once this many of them, drawn at random, agree with the vectors
 * this device's encoder computes for the same texts (cosine ≥ PREBUILT_MIN_COSINE): a file built with
 * another version of the model, or for another catalog text, must not silently rank the feed. The
 * same model on another backend (TF.js WASM in Node vs WebGPU here) agrees to ~0.9999; int8 costs ~1e-4.
 */
const PREBUILT_SAMPLE_SIZE = 8;
const PREBUILT_MIN_COSINE = 0.99;
/** Verified precomputed vectors are written to the cache in records of this many rows. */
const PREBUILT_CACHE_CHUNK = 512;

type Match = { index: number; vector: Float32Array };

export class PrebuiltVectors {
  /**
   * Items whose vectors came from the catalog's precomputed file and are not yet checked against this
   * device's encoder (see verify). They rank the feed meanwhile, but are not cached and do not start
   * the recommendation model: nothing unverified outlives the visit.
   */
  unchecked: { modelId: string; indices: number[] } | undefined;

  constructor(private readonly p: EngineParts) {}

  /** The catalog's precomputed file for `modelId`, decoded; undefined when absent or unusable (then with a warning). */
  async fetch(catalogUrl: string, modelId: string): Promise<PrebuiltEmbeddings | undefined> {
    const { deps, view } = this.p.state;
    if (!deps.fetchBytes) return undefined;
    const url = prebuiltEmbeddingsUrl(catalogUrl, modelId);
    try {
      const bytes = await deps.fetchBytes(url);
      return bytes && decodePrebuilt(bytes);
    } catch (error) {
      // Present but broken: the publisher should hear of it; the app reads the catalog itself as usual.
      view.warnOnce({ code: 'prebuiltFileIgnored', params: { url, message: errorMessage(error) } });
      return undefined;
    }
  }

  /** At start: gives the items without a cached vector the file's vector, unchecked until the model has loaded (verify). */
  apply(file: PrebuiltEmbeddings, modelId: string): void {
    const { state, encoders, feed } = this.p;
    if (state.stopped || encoders.activeId !== modelId) return;
    const matches = this.matches(file, encoders.activeOption(), state.vectors.rows);
    if (matches.length === 0) return;
    const mayResize = this.p.model.mayResizeVectors();
    for (const { index, vector } of matches) state.vectors.set(index, vector, mayResize);
    this.unchecked = { modelId, indices: matches.map(({ index }) => index) };
    state.rebuildProfile();
    state.view.update({
      prebuilt: { modelId, rows: matches.length, state: 'checking' },
      embedding: { done: state.vectors.count(), total: state.catalog.size, active: false },
      feed: feed.rank(),
    });
  }

  /**
   * Re-reads a random sample of the unchecked items with this device's encoder. If they agree, the
   * precomputed vectors are kept and cached like the device's own; if not, they are all dropped (the
   * file was built with another model version, or is wrong), the user is told, and the catalog is read
   * here. Returns whether they were kept.
   */
  async verify(encoder: SentenceEncoder): Promise<boolean> {
    const { state, encoders, feed, model } = this.p;
    const unchecked = this.unchecked!;
    const { modelId, indices } = unchecked;
    const matches = indices.map((index) => ({ index, vector: state.vectors.rows[index]! }));
    const { agrees, status, warning } = await this.check(modelId, encoder, matches);
    if (this.unchecked !== unchecked || state.stopped) return true; // replaced meanwhile (a switch of model): nothing to decide
    this.unchecked = undefined;
    if (!agrees) {
      const rows = state.vectors.rows;
      for (const index of indices) rows[index] = undefined;
      state.vectors.replace(rows, encoders.activeOption().dimension, model.mayResizeVectors());
      state.rebuildProfile();
      state.view.warn(warning, { prebuilt: status, feed: feed.rank() });
      return false;
    }
    await this.cache(modelId, matches);
    state.view.update({ prebuilt: status });
    return true;
  }

  /**
   * During a switch to `option`: fills `vectors` (those not cached) from the catalog's precomputed file
   * for that model, if there is one and a sample agrees with `encoder`; caches them. Returns the status to
   * show once the model has taken over.
   */
  async forSwitch(option: EncoderOption, encoder: SentenceEncoder, vectors: (Float32Array | undefined)[]): Promise<PrebuiltStatus | undefined> {
    const { config, view } = this.p.state;
    if (config.catalog !== undefined || vectors.every(Boolean)) return undefined;
    const file = await this.fetch(config.catalogUrl, option.id);
    const matches = file ? this.matches(file, option, vectors) : [];
    if (matches.length === 0) return undefined;
    const { agrees, status, warning } = await this.check(option.id, encoder, matches);
    if (!agrees) {
      view.warnOnce(warning);
      return status;
    }
    for (const { index, vector } of matches) vectors[index] = vector;
    await this.cache(option.id, matches);
    return status;
  }

  /**
   * The file's vectors for the items that have none in `vectors` (matched by text hash, so edited items
   * are read here). None, with a warning, if the file is for another model or width than `option`.
   */
  private matches(file: PrebuiltEmbeddings, option: EncoderOption, vectors: readonly (Float32Array | undefined)[]): Match[] {
    if (file.modelId !== option.id || file.dimension !== option.dimension) {
      this.p.state.view.warnOnce({
        code: 'prebuiltWrongModel',
        params: { fileModel: file.modelId, fileDimension: file.dimension, model: option.id, dimension: option.dimension },
      });
      return [];
    }
    const rows = prebuiltRowsByHash(file);
    return this.p.state.catalogIndex.hashes.flatMap((hash, index) => {
      const row = rows.get(hash);
      return vectors[index] || row === undefined ? [] : [{ index, vector: prebuiltRow(file, row) }];
    });
  }

  /** Whether the file's vectors agree with `encoder`'s own over a random sample of `matches`: the lowest cosine decides. */
  private async check(modelId: string, encoder: SentenceEncoder, matches: readonly Match[]) {
    const sample = [...matches];
    // Partial Fisher–Yates: the first PREBUILT_SAMPLE_SIZE entries become a uniform sample.
    for (let i = 0; i < Math.min(PREBUILT_SAMPLE_SIZE, sample.length); i++) {
      const j = i + Math.floor(Math.random() * (sample.length - i));
      [sample[i], sample[j]] = [sample[j]!, sample[i]!];
    }
    sample.length = Math.min(PREBUILT_SAMPLE_SIZE, sample.length);
    const fresh = await this.p.encoders.embedWith(
      modelId,
      encoder,
      sample.map(({ index }) => this.p.state.catalogIndex.texts[index]!),
    );
    const minCosine = Math.min(...sample.map(({ vector }, i) => cosine(fresh[i]!, vector)));
    const agrees = minCosine >= PREBUILT_MIN_COSINE;
    const status: PrebuiltStatus = { modelId, rows: matches.length, state: agrees ? 'verified' : 'discarded', minCosine };
    return { agrees, status, warning: { code: 'prebuiltMismatch' as const, params: { minCosine, sampleSize: sample.length } } };
  }

  /** Stores checked precomputed vectors in the cache, in a few large records. Never throws: they stay in use regardless. */
  private async cache(modelId: string, matches: readonly Match[]): Promise<void> {
    try {
      await this.p.store.cacheInChunks(modelId, matches, PREBUILT_CACHE_CHUNK);
    } catch (error) {
      // A later visit fetches the file again.
      if (!isQuotaError(error)) this.p.state.view.warnOnce({ code: 'prebuiltNotCached', params: { message: errorMessage(error) } });
    }
  }
}
