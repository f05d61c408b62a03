/**
 * The on-device model as the engine uses it: the hybrid MF model (shared parameters W, q, b and the
 * ranker) plus this user's vector u, kept in IndexedDB, trained online after every event and fine-tuned
 * over the whole history when idle, and the federated export/import of its shared part.
 *
 * "Global" is the shared model the device started from (a publisher's file, or without one the PCA
 * projection of the catalog's embeddings with q = 0, b = 0); "local" is it after this device's
 * training. A model update file carries only local − global, clipped and noised; u never leaves.
 */
import type { EventKind } from '../core/events';
import { buildExport, planExport, readGlobalModel, type ExportPlan, type SharedModelState } from '../core/federated/client';
import { cloneParams, type ParamSet } from '../core/federated/params';
import { federatedSettingsSchema, type FederatedSettings } from '../core/federated/settings';
import { onlineStep, type OnlineContext } from '../core/model/bpr';
import { HybridModel, PARAM_W } from '../core/model/hybrid';
import { readShippedGlobal } from '../core/model/shipped-global';
import { SimilarityCache } from '../core/model/similarity-cache';
import type { Impression } from '../core/model/ranker';
import type { FineTuneOptions } from '../core/model/fine-tune-user';
import { rankFeed, type Anchor, type RankedItem, type FeedQuery, type FeedRequest } from '../core/model/ranking';
import { floatsHash } from '../core/hash';
import { firstOutOfRangeWeight, MAX_ABS_WEIGHT } from '../core/limits';
import type { RecsStore, StoredWeight } from '../storage/db';
import type { TrainingStatus } from './api';
import { MODEL_FORMAT_VERSION, modelIdFor, PERSONAL_FACTORS } from '../core/model/identity';
import {
  MODEL_SETTINGS,
  readSetting,
  SETTING_CONTRIBUTE,
  SETTING_EXPORT_SIGMAS,
  SETTING_FINGERPRINT,
  SETTING_GLOBAL_SOURCE,
  SETTING_LOSSES,
  SETTING_MODEL_ID,
  SETTING_ROUNDS,
  type SettingsUpdate,
} from './settings-keys';

/** d: the size of u and v_i. 32 keeps the stored model small (q is items × d, kept twice). */
export { PERSONAL_FACTORS };
/** Bump when the layout or meaning of the stored parameters changes: older ones are then rebuilt. */
const STORED_VERSION = MODEL_FORMAT_VERSION;
const LOCAL = 'local/';
const GLOBAL = 'global/';
const USER = 'user/u';
/** Stored weights derived from others, kept only to save time: never exported or shared. */
export const CACHE_WEIGHT_PREFIX = 'cache/';
/**
 * W·e_i for every item, kept across visits. Its `key` names the embeddings and the W it was computed
 * from; under any other key it is computed again.
 */
const PROJECTIONS_CACHE = `${CACHE_WEIGHT_PREFIX}projections`;

/**
 * Whether an export file carries a whole model that PersonalModel.open would restore for this text
 * model and catalog: its settings name them, and it has u and the local and global shared parameters
 * in the current stored version. (Whether the values fit is checked when it is opened.)
 */
export function fileHasModelFor(
  file: { settings: Record<string, unknown>; weights: readonly { name: string; version: number }[] },
  encoderId: string,
  catalogFingerprint: string,
): boolean {
  const current = file.weights.filter((weight) => weight.version === STORED_VERSION);
  return (
    readSetting(file.settings, SETTING_MODEL_ID) === modelIdFor(encoderId) &&
    readSetting(file.settings, SETTING_FINGERPRINT) === catalogFingerprint &&
    current.some((weight) => weight.name === USER) &&
    current.some((weight) => weight.name.startsWith(LOCAL)) &&
    current.some((weight) => weight.name.startsWith(GLOBAL))
  );
}

/**
 * The settings an import stores: the file's, without the model's own (MODEL_SETTINGS) unless its model
 * is taken too; and the record of model updates already exported (each spent privacy budget) is never
 * shortened: the longer of the file's and this device's list is kept, so ε is never undercounted.
 */
export function settingsToImport<V>(file: Readonly<Record<string, V>>, local: Readonly<Record<string, V>>, withModel: boolean): Record<string, V> {
  // The consent to contribute to the shared model is given here, by the user, never taken from a file.
  const kept = Object.fromEntries(Object.entries(file).filter(([name]) => (withModel || !MODEL_SETTINGS.includes(name)) && name !== SETTING_CONTRIBUTE));
  // Likewise the record of secure-aggregation rounds joined (contribute.ts), which ε is computed from.
  for (const record of [SETTING_EXPORT_SIGMAS, SETTING_ROUNDS]) {
    const here = local[record];
    const there = kept[record];
    if (Array.isArray(here) && (!Array.isArray(there) || there.length < here.length)) kept[record] = here;
  }
  return kept;
}

/** The stored weights (a read in flight) and settings, for PersonalModel.open. */
export interface StoredModelReads {
  weights: Promise<StoredWeight[]>;
  settings: Record<string, unknown>;
}

export interface RankInputs {
  k: number;
  exclude: ReadonlySet<number>;
  popularity: Float32Array;
  recency: Float32Array;
  profile: Float32Array | null;
  query?: FeedQuery;
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

function toStored(prefix: string, params: ParamSet): StoredWeight[] {
  return Object.entries(params).map(([name, { shape, values }]) => ({ name: prefix + name, version: STORED_VERSION, shape: [...shape], values }));
}

function fromStored(prefix: string, weights: readonly StoredWeight[]): ParamSet | undefined {
  const params: ParamSet = {};
  for (const weight of weights) {
    if (weight.version === STORED_VERSION && weight.name.startsWith(prefix)) {
      // The arrays are the database's fresh copies: used as they are, not copied again.
      params[weight.name.slice(prefix.length)] = { shape: [...weight.shape], values: weight.values };
    }
  }
  return Object.keys(params).length > 0 ? params : undefined;
}

/**
 * Why the stored taste vector u cannot be used beside the stored shared parameters, or undefined.
 * Missing counts too: saveAll writes u with them, so a model without one was damaged (or its u was
 * skipped as damaged when it was read back, storage/records.ts).
 */
export function describeUserProblem(user: { shape: readonly number[]; values: ArrayLike<number> } | undefined, factors: number): string | undefined {
  if (!user) return 'your taste vector u is missing or damaged';
  if (user.values.length !== factors) return `your taste vector u has ${user.values.length} values, the model ${factors}`;
  const bad = firstOutOfRangeWeight(user.values);
  if (bad < 0) return undefined;
  return Number.isFinite(user.values[bad]!)
    ? `your taste vector u has a value (${user.values[bad]}) beyond ±${MAX_ABS_WEIGHT} at index ${bad}`
    : `your taste vector u has a non-finite value (${user.values[bad]}) at index ${bad}`;
}

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
  /** Names the embedding matrix when every row is filled (see open); undefined: nothing to keep. */
  private projectionsKey: string | undefined;
  /** The projections last stored (or restored), the embeddings' key then, and their full key. */
  private storedProjections: { values: Float32Array; projectionsKey: string; key: string } | undefined;

  private constructor(
    private readonly storage: RecsStore,
    readonly model: HybridModel,
    readonly user: Float32Array,
    readonly modelId: string,
    readonly catalogFingerprint: string,
    init: { global: ParamSet; losses: number[]; globalSource: string },
  ) {
    this.global = init.global;
    this.losses = init.losses;
    this.globalSource = init.globalSource;
    this.similarities = new SimilarityCache(model.embeddings, model.embeddingDim);
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
    const { storage, itemIds, embeddings, embeddingDim, catalogFingerprint } = options;
    const modelId = modelIdFor(options.encoderId);
    const [weights, settings] = await Promise.all([options.stored?.weights ?? storage.listWeights(), options.stored?.settings ?? storage.getSettings()]);
    const sameModel = readSetting(settings, SETTING_MODEL_ID) === modelId && readSetting(settings, SETTING_FINGERPRINT) === catalogFingerprint;
    const local = sameModel ? fromStored(LOCAL, weights) : undefined;
    // A tiny encoder (tests) cannot project onto more directions than it has.
    const factors = Math.min(PERSONAL_FACTORS, embeddingDim);
    const storedW = local?.W?.values.length === factors * embeddingDim ? local.W.values : undefined;
    const global = sameModel ? fromStored(GLOBAL, weights) : undefined;
    const user = sameModel ? fromStored('', weights.filter((w) => w.name === USER))?.[USER] : undefined;
    // Read before the model is built: its W then replaces the PCA (seconds at 10,000 items) rather than following it.
    let globalProblem: string | undefined;
    const readShipped = async () => {
      const read = await readShippedGlobal(options.shippedGlobal!, { modelId, catalogFingerprint, itemCount: itemIds.length, factors, embeddingDim });
      if ('problem' in read) globalProblem = read.problem;
      return 'params' in read ? read : undefined;
    };
    let shipped = options.shippedGlobal && !(local && global && user?.values.length === factors) ? await readShipped() : undefined;
    const initialW = storedW ?? shipped?.params[PARAM_W]!.values;
    const model = new HybridModel({ itemIds, embeddings, embeddingDim, factors, ...(initialW ? { W: initialW } : {}) });
    const losses = readSetting(settings, SETTING_LOSSES) ?? [];
    const globalSource = readSetting(settings, SETTING_GLOBAL_SOURCE) ?? 'built on this device from the catalog text';
    let problem: string | undefined;
    // u is checked like the shared parameters: a stored u of NaN gave an empty feed on every visit.
    const userProblem = local || global ? describeUserProblem(user, factors) : undefined;
    if (userProblem) problem = userProblem;
    else if (local && global && user?.values.length === factors) {
      problem = model.checkParams(local) ?? model.checkParams(global) ?? undefined;
      if (!problem) {
        model.setParams(local);
        const restored = new PersonalModel(storage, model, Float32Array.from(user.values), modelId, catalogFingerprint, { global, losses, globalSource });
        restored.projectionsKey = options.projectionsKey;
        restored.restoreProjections(weights.find((weight) => weight.name === PROJECTIONS_CACHE));
        return { model: restored, restored: true };
      }
    }
    // A stored model that failed its checks: the shipped one was not read above.
    if (problem && options.shippedGlobal && !shipped && globalProblem === undefined) shipped = await readShipped();
    if (shipped) {
      const refused = model.checkParams(shipped.params);
      if (refused) {
        globalProblem = `${shipped.source}: ${refused}`;
        shipped = undefined;
      } else {
        model.setParams(shipped.params);
      }
    }
    // A new model from the shipped global model, or from text alone: its initial parameters are also the global model it starts from.
    const fresh = new PersonalModel(storage, model, model.newUserVector(), modelId, catalogFingerprint, {
      global: model.getParams(),
      losses: [],
      globalSource: shipped?.description ?? 'built on this device from the catalog text',
    });
    fresh.projectionsKey = options.projectionsKey;
    await fresh.saveAll();
    return { model: fresh, restored: false, ...(problem ? { problem } : {}), ...(globalProblem ? { globalProblem } : {}) };
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
    this.projectionsKey = key;
    this.keepProjections();
  }

  private fullProjectionsKey(): string | undefined {
    return this.projectionsKey === undefined ? undefined : `${STORED_VERSION}:${this.projectionsKey}:${this.model.factors}:${floatsHash(this.model.W)}`;
  }

  private restoreProjections(stored: StoredWeight | undefined): void {
    const key = this.fullProjectionsKey();
    if (!stored || key === undefined || stored.key !== key || stored.values.length !== this.model.itemCount * this.model.factors) return;
    this.model.restoreProjections(stored.values);
    this.storedProjections = { values: stored.values, projectionsKey: this.projectionsKey!, key };
  }

  /**
   * Stores W·e_i when they were computed for a W or embeddings not stored yet (after the first
   * preparation, a new global model, or the catalog's last vectors): 1.3 MB at 10,000 items, d = 32,
   * written after the rank that computed them. A failed write only costs the next visit the computation.
   */
  private keepProjections(): void {
    const values = this.model.projectionsIfReady();
    if (!values || this.projectionsKey === undefined) return;
    const projectionsKey = this.projectionsKey;
    // Recomputed projections are a new array; the same array for the same embeddings is stored already.
    if (this.storedProjections?.values === values && this.storedProjections.projectionsKey === projectionsKey) return;
    const key = this.fullProjectionsKey()!;
    const storedAlready = this.storedProjections?.key === key;
    this.storedProjections = { values, projectionsKey, key };
    if (storedAlready) return;
    const weight: StoredWeight = { name: PROJECTIONS_CACHE, version: STORED_VERSION, shape: [this.model.itemCount, this.model.factors], values, key };
    setTimeout(() => void this.storage.putWeights([weight]).catch(() => (this.storedProjections = undefined)), 0);
  }

  embeddingsChanged(rows: readonly number[]): void {
    this.model.embeddingsChanged(rows);
    this.similarities.forget(rows);
  }

  /** The feed; remembers each shown item's features for the ranker's impressions. */
  rank(inputs: RankInputs): RankedItem[] {
    const ranked = rankFeed({ model: this.model, user: this.user, similarities: this.similarities, ...inputs });
    this.lastShown = new Map(ranked.map((item) => [item.index, item.features]));
    this.keepProjections();
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
    const saved = { user: Float32Array.from(this.user), q: touched.map((i) => this.model.q.slice(i * d, (i + 1) * d)), b: touched.map((i) => this.model.b[i]!) };
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
      onlineStep(this.model, this.user, { kind: 'genre', item }, { skipped: [], recentPositives: [], randomUnseen: randomUnseen(item) }, { updateItems: false });
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
    const stored = await this.storage.getSettings();
    const fields = Object.fromEntries(
      Object.entries(stored)
        .filter(([key]) => key.startsWith('federated.') && key !== SETTING_EXPORT_SIGMAS)
        .map(([key, value]) => [key.slice('federated.'.length), value]),
    );
    // A corrupted or hand-edited setting must never weaken the noise: anything invalid means defaults.
    const parsed = federatedSettingsSchema.safeParse(fields);
    return {
      settings: parsed.success ? parsed.data : federatedSettingsSchema.parse({}),
      past: readSetting(stored, SETTING_EXPORT_SIGMAS) ?? [],
    };
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
