/**
 * The on-device model as the engine uses it: the hybrid MF model (shared parameters W, q, b and the
 * ranker) plus this user's vector u, kept in IndexedDB, trained online after every event and fine-tuned
 * over the whole history when idle, and the federated export/import of its shared part.
 *
 * "Global" is the shared model the device started from (a publisher's file, or without one the PCA
 * projection of the catalog's embeddings with q = 0, b = 0); "local" is it after this device's
 * training. A model update file carries only local − global, clipped and noised; u never leaves.
 *
 * Its stored format and the restore decision are in stored-model.ts, the kept W·e_i in
 * kept-projections.ts, and the privacy rules for settings in privacy-settings.ts.
 */
import type { EventKind } from '../core/events';
import { buildExport, planExport, readGlobalModel, type ExportPlan, type SharedModelState } from '../core/federated/client';
import { cloneParams, type ParamSet } from '../core/federated/params';
import type { FederatedSettings } from '../core/federated/settings';
import { onlineStep, type OnlineContext } from '../core/model/bpr';
import type { HybridModel } from '../core/model/hybrid';
import { SimilarityCache } from '../core/model/similarity-cache';
import type { Impression } from '../core/model/ranker';
import type { FineTuneOptions } from '../core/model/fine-tune-user';
import { rankFeed, type FeedRequest, type ModelRecommendation } from '../core/model/ranking';
import type { Anchor, Query } from '../core/recommender';
import type { RecsStore } from '../storage/db';
import type { TrainingStatus } from './api';
import { modelIdFor, PERSONAL_FACTORS } from '../core/model/identity';
import { SETTING_EXPORT_SIGMAS, SETTING_FINGERPRINT, SETTING_GLOBAL_SOURCE, SETTING_LOSSES, SETTING_MODEL_ID, type SettingsUpdate } from './settings-keys';
import { KeptProjections, PROJECTIONS_CACHE } from './kept-projections';
import { federatedSettingsFrom } from './privacy-settings';
import { GLOBAL, LOCAL, loadStoredModel, STORED_VERSION, toStored, USER, type StoredModelReads } from './stored-model';

/** d: the size of u and v_i. 32 keeps the stored model small (q is items × d, kept twice). */
export { PERSONAL_FACTORS };
// Imported from here by the engine (history.ts, model-lifecycle.ts) and tests: they stay importable from here.
export { CACHE_WEIGHT_PREFIX, describeUserProblem, fileHasModelFor, type StoredModelReads } from './stored-model';
export { settingsToImport } from './privacy-settings';

export interface RankInputs {
  k: number;
  exclude: ReadonlySet<number>;
  popularity: Float32Array;
  recency: Float32Array;
  profile: Float32Array | null;
  query?: Query;
  texts: readonly string[];
  anchors: readonly Anchor[];
  titles: readonly string[];
  diversity: number;
  /** The feed rules' inputs (core/feed-rules.ts) and the genres "Why?" names: see FeedRequest. */
  series?: FeedRequest['series'];
  liked?: FeedRequest['liked'];
  disliked?: FeedRequest['disliked'];
  genres?: FeedRequest['genres'];
  chosenGenres?: FeedRequest['chosenGenres'];
}

export { modelIdFor };

export class PersonalModel {
  private global: ParamSet;
  private onlineSteps = 0;
  private losses: number[];
  private globalSource: string;
  /** Impressions of this visit (features when shown, and whether the item was then opened or liked). */
  private impressions = new Map<number, Impression>();
  private lastShown = new Map<number, Float32Array>();
  /** Item–item cosines of the text embeddings, kept between ranks (see SimilarityCache). */
  private readonly similarities: SimilarityCache;
  /** W·e_i kept across visits (see KeptProjections). */
  private readonly projections: KeptProjections;

  private constructor(
    private readonly storage: RecsStore,
    readonly model: HybridModel,
    readonly user: Float32Array,
    readonly modelId: string,
    readonly catalogFingerprint: string,
    init: { global: ParamSet; losses: number[]; globalSource: string; projectionsKey: string | undefined },
  ) {
    this.global = init.global;
    this.losses = init.losses;
    this.globalSource = init.globalSource;
    this.similarities = new SimilarityCache(model.embeddings, model.embeddingDim);
    this.projections = new KeptProjections(storage, model, init.projectionsKey);
  }

  /**
   * Restores the stored model when it belongs to this model id and catalog; otherwise starts one from
   * the embeddings present now (PCA projection) and stores it. `embeddings` is the engine's n×D matrix:
   * rows filled later must be announced with embeddingsChanged().
   */
  static async open(options: {
    storage: RecsStore;
    encoderId: string;
    itemIds: readonly string[];
    embeddings: Float32Array;
    embeddingDim: number;
    catalogFingerprint: string;
    /**
     * Names the content of `embeddings` (the text model and every item's text) when every row is
     * filled: W·e_i computed for it is then kept in storage and, on the next visit, taken from there
     * instead of computed again. Undefined while rows are missing.
     */
    projectionsKey?: string;
    /** What is stored, when the caller already read it (a returning visit reads it with its start-up reads). */
    stored?: StoredModelReads;
    /**
     * The publisher's global model shipped beside the catalog (core/model/shipped-global), read only
     * when no stored model is restored (a first visit, or after an erase): the new model then starts
     * from its W, q, b instead of the PCA projection of the text. Resolves undefined when there is
     * none. A file that cannot be used is reported as `globalProblem`; the model then starts from the text.
     */
    shippedGlobal?: () => Promise<{ bytes: Uint8Array; source: string } | undefined>;
  }): Promise<{ model: PersonalModel; restored: boolean; problem?: string; globalProblem?: string }> {
    const { storage, catalogFingerprint } = options;
    const modelId = modelIdFor(options.encoderId);
    const loaded = await loadStoredModel({ ...options, modelId });
    const { model, user, global, losses, globalSource } = loaded;
    const personal = new PersonalModel(storage, model, user, modelId, catalogFingerprint, {
      global,
      losses,
      globalSource,
      projectionsKey: options.projectionsKey,
    });
    if (loaded.restored) {
      personal.projections.restore(loaded.weights.find((weight) => weight.name === PROJECTIONS_CACHE));
      return { model: personal, restored: true };
    }
    await personal.saveAll();
    const { problem, globalProblem } = loaded;
    return { model: personal, restored: false, ...(problem ? { problem } : {}), ...(globalProblem ? { globalProblem } : {}) };
  }

  status(progress?: TrainingStatus['progress']): TrainingStatus {
    return { losses: [...this.losses], globalSource: this.globalSource, onlineSteps: this.onlineSteps, ...(progress ? { progress } : {}) };
  }

  /** See HybridModel.prepareItemVectors. */
  prepareItemVectors(pause: () => Promise<void>): Promise<void> {
    return this.model.prepareItemVectors(pause);
  }

  /** Whether the model ranks without computing item vectors first (they were prepared or restored). */
  get itemVectorsReady(): boolean {
    return this.model.itemVectorsReady;
  }

  /** The embedding matrix is complete (a key naming it) or not (undefined); see open's projectionsKey. */
  setProjectionsKey(key: string | undefined): void {
    this.projections.setProjectionsKey(key);
  }

  embeddingsChanged(rows: readonly number[]): void {
    this.model.embeddingsChanged(rows);
    this.similarities.forget(rows);
  }

  /** The feed; remembers each shown item's features for the ranker's impressions. */
  rank(inputs: RankInputs): ModelRecommendation[] {
    const ranked = rankFeed({ model: this.model, user: this.user, similarities: this.similarities, ...inputs });
    this.lastShown = new Map(ranked.map((item) => [item.index, item.features]));
    this.projections.keep();
    return ranked;
  }

  /**
   * One online step after an event: u moves (and the touched items' q and b rows, which become part of
   * this device's update). Milliseconds: plain typed-array math, no TF.js. Returns what undoes it, for
   * an event that could not be stored.
   */
  onEvent(kind: EventKind, item: number, context: OnlineContext): () => void {
    const features = this.lastShown.get(item);
    const hadImpression = this.impressions.has(item);
    const previous = this.impressions.get(item);
    if (features) {
      const clicked = kind === 'click' || kind === 'like';
      if (kind !== 'dislike') this.impressions.set(item, { features, clicked: clicked || (previous?.clicked ?? false) });
    }
    const restoreImpression = () => {
      if (hadImpression) this.impressions.set(item, previous!);
      else this.impressions.delete(item);
    };
    if (kind === 'view') return restoreImpression; // an impression, not a preference: it feeds the ranker, not u
    // What the step may touch, saved so that an event the history failed to store can be taken back.
    const d = this.model.factors;
    const touched = [...new Set([item, ...context.skipped, ...context.recentPositives, ...context.randomUnseen])];
    const saved = {
      user: Float32Array.from(this.user),
      q: touched.map((i) => this.model.q.slice(i * d, (i + 1) * d)),
      b: touched.map((i) => this.model.b[i]!),
    };
    onlineStep(this.model, this.user, { kind, item }, context, { updateItems: true });
    this.model.invalidate(touched);
    this.onlineSteps++;
    return () => {
      restoreImpression();
      this.user.set(saved.user);
      touched.forEach((i, k) => {
        this.model.q.set(saved.q[k]!, i * d);
        this.model.b[i] = saved.b[k]!;
      });
      this.model.invalidate(touched);
      this.onlineSteps--;
    };
  }

  /**
   * A genre chosen before the next fine-tune: u takes one online step toward each of the genre's seed
   * books (weak likes, EVENT_WEIGHTS.genre) against random unseen items; q and b stay as they are
   * (nobody liked those books). The fine-tune then learns the seeds with the rest of the history.
   */
  seedGenre(seeds: readonly number[], randomUnseen: (exclude: number) => number[]): void {
    for (const item of seeds) {
      onlineStep(
        this.model,
        this.user,
        { kind: 'genre', item },
        { skipped: [], recentPositives: [], randomUnseen: randomUnseen(item) },
        { updateItems: false },
      );
    }
  }

  /**
   * Fine-tunes u over the whole local history (in time order) with TF.js, with the objective the
   * global model was trained with (fineTuneUser's softmax: every item in the normaliser, later events
   * weighing more, the items' q and b left as they are), then the ranker on this visit's impressions
   * once there are enough. Loads TF.js lazily: it runs in the worker. The BPR fine-tune it replaces
   * also moved a local copy of q and b and ranked MovieLens-100K's leave-one-out test users at HR@10
   * 0.494 against the central model's 0.688; this one at 0.708 (docs/benchmarks.md, "On the device").
   */
  async fineTune(
    history: readonly { kind: EventKind; item: number }[],
    onEpoch: (progress: { epoch: number; epochs: number; loss: number }) => void,
    options: { signal?: AbortSignal; onBackendFailure?: FineTuneOptions['onBackendFailure'] } = {},
  ): Promise<number[]> {
    const { fineTuneUser, USER_SOFTMAX_DEFAULTS } = await import('../core/model/fine-tune-user');
    const epochs = USER_SOFTMAX_DEFAULTS.epochs;
    const { user, losses } = await fineTuneUser(this.model, this.user, history, {
      objective: 'softmax',
      epochs,
      onEpoch: (p) => onEpoch({ epoch: p.epoch, epochs: p.epochs, loss: p.loss }),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onBackendFailure ? { onBackendFailure: options.onBackendFailure } : {}),
    });
    if (user.every(Number.isFinite)) this.user.set(user);
    this.model.ranker.train([...this.impressions.values()]);
    this.losses = losses;
    await this.saveAll();
    return losses;
  }

  /**
   * Forgets what was learned on this device (after history was deleted): back to the global shared
   * parameters and a zero u, so neither the feed nor a later model update keeps a trace of the deleted
   * events. The caller re-fits from the history that remains.
   */
  async forgetLocalLearning(): Promise<void> {
    this.model.setParams(cloneParams(this.global));
    this.user.fill(0);
    this.impressions.clear();
    this.losses = [];
    await this.saveAll();
  }

  /** Stores u (small: after every event). */
  async saveUser(): Promise<void> {
    await this.storage.putWeights([{ name: USER, version: STORED_VERSION, shape: [this.model.factors], values: Float32Array.from(this.user) }]);
  }

  /** Stores everything: local and global shared parameters, u, and what they belong to. */
  async saveAll(): Promise<void> {
    await this.storage.putWeights([
      ...toStored(LOCAL, this.model.getParams()),
      ...toStored(GLOBAL, this.global),
      { name: USER, version: STORED_VERSION, shape: [this.model.factors], values: Float32Array.from(this.user) },
    ]);
    await this.storage.putSettings({
      [SETTING_MODEL_ID]: this.modelId,
      [SETTING_FINGERPRINT]: this.catalogFingerprint,
      // Finite only: settings read back are checked like an input (storage/records.ts), and a NaN from a
      // diverged epoch would make the whole list look damaged on the next visit.
      [SETTING_LOSSES]: this.losses.filter(Number.isFinite),
      [SETTING_GLOBAL_SOURCE]: this.globalSource,
    } satisfies SettingsUpdate);
  }

  /** The shared parameters and their global starting point (never u): for the export and for secure aggregation. */
  sharedState(): SharedModelState {
    return { modelId: this.modelId, catalogFingerprint: this.catalogFingerprint, local: this.model.getParams(), global: this.global };
  }

  private async federatedSettings(): Promise<{ settings: FederatedSettings; past: number[] }> {
    return federatedSettingsFrom(await this.storage.getSettings());
  }

  /** Whether this device has anything to share: its local shared parameters differ from the global ones. */
  hasLearned(): boolean {
    const local = this.model.getParams();
    return Object.entries(this.global).some(([name, tensor]) => local[name]!.values.some((v, i) => v !== tensor.values[i]));
  }

  async planExport(): Promise<ExportPlan> {
    const { settings, past } = await this.federatedSettings();
    return planExport(this.sharedState(), settings, past);
  }

  /** The update file; the ε it costs is recorded first, so a failed download cannot undercount it. */
  async exportUpdate(): Promise<{ bytes: Uint8Array<ArrayBuffer>; epsilonSpent: number }> {
    const { settings, past } = await this.federatedSettings();
    const { bytes, epsilonAfter } = await buildExport(this.sharedState(), settings, past);
    await this.storage.putSettings({ [SETTING_EXPORT_SIGMAS]: [...past, settings.noiseMultiplier] } satisfies SettingsUpdate);
    return { bytes, epsilonSpent: epsilonAfter };
  }

  /**
   * Swaps in an aggregated global model: it becomes both the global and the local shared parameters
   * (this device's earlier local changes went into the aggregate through its update, if it sent one).
   * u and the history are untouched. A refused file changes nothing.
   */
  async importGlobal(bytes: Uint8Array, source: string): Promise<{ contributors?: number }> {
    const params = await readGlobalModel(bytes, { modelId: this.modelId, catalogFingerprint: this.catalogFingerprint, params: this.global }, source);
    const problem = this.model.checkParams(params);
    if (problem) throw new Error(`${source}: ${problem}`);
    const previous = cloneParams(this.model.getParams());
    try {
      this.model.setParams(params);
      this.global = cloneParams(params);
      this.globalSource = `imported from “${source}”`;
      await this.saveAll();
    } catch (error) {
      this.model.setParams(previous);
      throw error;
    }
    const { decodeModelFile } = await import('../core/federated/format');
    const { header } = await decodeModelFile(bytes, source);
    return header.kind === 'global' && header.contributors !== undefined ? { contributors: header.contributors } : {};
  }
}
