/**
 * The recommendation model on the scale path (issue 21; docs/scale.md "The model at scale"): the
 * global model's W, ranker and head rows (core/model/pool-model.ts) with this reader's u, over the pool
 * the feed's stage one picked. u learns on the device by the small path's online step
 * (core/model/bpr.ts), its negatives drawn from the pool (not from every item), and is kept in IndexedDB
 * through the storage layer (the weights store, `scale/u`), its `key` naming the global model it was
 * learned against and the history it has learned: `<model sha256> <events> <time of the last>`.
 *
 * u follows the history: each rank first steps u for the likes, dislikes and clicks it has not learned
 * yet; a history that no longer starts with what u learned (a deletion, an import, an event that could
 * not be stored) resets u to zero and replays it.
 *
 * The step moves the items' q_i and b_i as the small path's does (PersonalModel.onEvent: updateItems):
 * the rows of the items the reader touched (the event's item; a dislike's recent likes and clicks) are
 * kept as this device's own (core/model/item-overrides.ts, at most ITEM_OVERRIDE_CAP, the one touched
 * longest ago evicted), stored beside u (`scale/items`, the same key and one write), and used wherever
 * the model scores: the pool (PoolModel.over) and its own candidates. After every three learning events,
 * at the reader's pause, u is fine-tuned over the whole history (ScaleModel.fineTune: the softmax over
 * the pool and the history's items). The negatives' rows (random pool
 * items, items passed over) move during the step and are put back after it: the small path's dense copy
 * keeps them, a sparse one would fill with items the reader never chose. Not learned at scale yet: a
 * chosen genre's seed books.
 */
import type { StoredEvent } from '../storage/db';
import type { RecsStore, StoredWeight } from '../storage/store';
import { onlineStep, type OnlineContext } from '../core/model/bpr';
import type { HybridModel } from '../core/model/hybrid';
import { modelIdFor, PERSONAL_FACTORS } from '../core/model/identity';
import { ItemOverrides } from '../core/model/item-overrides';
import { HeadVectors, modelCandidates, textQuery, type TextSearch } from '../core/model/model-candidates';
import { PoolIndex, PoolModel, rankFeedOver, RowSimilarities, type PoolFeedInputs } from '../core/model/pool-model';
import { readShippedHead } from '../core/model/shipped-head';
import { seededUniform } from '../core/random';
import type { RankRequest, Recommendation } from '../core/recommender';
import { shippedGlobalUrl } from '../core/model/shipped-global';
import { NonFiniteScoresError } from '../core/topk';
import { catalogJsonUrl, ColumnsCatalog } from './catalog-scale';
import type { ScalePath } from './scale';
import { searchFromStageOne, stageOneAhead } from './scale-model-search';
import { historyItems, rowSinkOf } from './scale-readahead';
import type { EngineParts } from './parts';
import { CACHE_WEIGHT_PREFIX, describeUserProblem, STORED_VERSION } from './stored-model';

/**
 * Kept when the server had no global model for this catalog and text model: `<time> <url>` (a cache:
 * never exported). Believed for NO_GLOBAL_BELIEVED_MS, so a returning visit does not ask again, as the
 * small path asks for the shipped file only when it has no stored model.
 */
export const NO_GLOBAL_MARK = `${CACHE_WEIGHT_PREFIX}scale-no-global`;
const NO_GLOBAL_BELIEVED_MS = 24 * 3600 * 1000;
/** The weight u is stored under at scale (the small path's is `user/u`). */
export const SCALE_USER = 'scale/u';
/** The device's own q_i, b_i at scale (ItemOverrides.values), stored with u: its key is u's, then a line of the ids as JSON. */
export const SCALE_ITEMS = 'scale/items';
/** Random pool items paired with each event in the online step (as the small path's ONLINE_RANDOM_NEGATIVES). */
const POOL_NEGATIVES = 16;
/** Shown items passed over, and recent likes, the step reads at most. */
const RECENT = 20;
/**
 * The model's own candidates joined to the text pool (the best by u·v_i + b_i over every item:
 * core/model/model-candidates.ts), and how many the text index's search with Wᵀu returns for them.
 */
export const MODEL_POOL = 200;
/** As the small path's (model-lifecycle.ts): a fine-tune after this many likes, dislikes or clicks, once the reader pauses this long. */
export const SCALE_FINE_TUNE_EVERY = 3;
export const SCALE_FINE_TUNE_IDLE_MS = 2500;
export const MODEL_TEXT_CANDIDATES = 500;

/** What the model's own candidates are searched with: the text index, the rows, the popular items. */
export interface ModelSearch {
  search: TextSearch;
  /** Reads the rows of `items` the engine lacks (for `rowOf`). */
  loadRows(items: readonly number[]): void;
  /** Items outside the head scored exactly (their rows held): the most popular. */
  popular: readonly number[];
  /** Called with the items the model added before they are ranked (a columns catalog reads their texts). */
  added?(items: readonly number[]): void;
}

/** The catalog as the pool model reads it: ids, popularity (the bias prior), the pool's items for the ranker. */
export interface ScaleModelCatalog {
  indexOf(id: string): number | undefined;
  popularity: Float32Array;
}

/** Predictions kept (the read-ahead's cards, engine/scale-readahead.ts READ_AHEAD_CARDS, and some room). */
const PREDICTIONS_KEPT = 8;

function sameValues(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let t = 0; t < a.length; t++) if (a[t] !== b[t]) return false;
  return true;
}

/** An event u learns from (likes, dislikes, clicks), as it is named in the stored key. */
const learns = (event: StoredEvent) => event.kind === 'like' || event.kind === 'dislike' || event.kind === 'click';
const keyOf = (event: StoredEvent) => `${event.kind}\u0000${event.itemId}\u0000${event.at}`;

export class ScaleModel {
  /** Keys of the events u has learned, in the history's order. */
  private learned: string[] = [];
  /** From storage: how many events the stored u learned and the time of the last (checked at the first rank). */
  private restored: { count: number; lastAt: number } | undefined;
  private saving: Promise<void> = Promise.resolve();
  /** u was reset since it was last stored. */
  private forgotten = false;
  /** The rank's item–item cosines, kept from one rank to the next (RowSimilarities). */
  private readonly similarities = new RowSimilarities();
  /** How many times u was reset (forget). */
  private resets = 0;
  /** The last rank's pool model and pool (for predictLike). */
  private last: { model: HybridModel; index: PoolIndex } | undefined;
  /** predictLike's vectors by catalog index, with the u each started from. */
  private readonly predictions = new Map<number, { from: Float32Array; z: Float32Array }>();

  /** The head's v_i over this catalog's items (HeadVectors), once built: the model's candidates need it. */
  head: HeadVectors | undefined;
  /** This device's own q_i, b_i (also `model.overrides`). */
  readonly overrides: ItemOverrides;

  private constructor(
    private readonly storage: RecsStore,
    readonly model: PoolModel,
    readonly user: Float32Array,
    /** The global model's payload SHA-256. */
    readonly globalId: string,
    readonly description: string,
    overrideCap?: number,
  ) {
    this.overrides = new ItemOverrides(user.length, overrideCap);
    model.overrides = this.overrides;
  }

  /**
   * Reads the global model beside the catalog (`load`) and the stored u: a model, nothing (no file), or
   * the problem with the file in words (the feed then stays the content profile's).
   */
  static async open(options: {
    storage: RecsStore;
    load: () => Promise<{ bytes: Uint8Array; source: string } | undefined>;
    encoderId: string;
    embeddingDim: number;
    catalog: ScaleModelCatalog;
    /** At most this many items keep their own q_i, b_i (default ITEM_OVERRIDE_CAP). */
    overrideCap?: number;
  }): Promise<{ model?: ScaleModel; problem?: string }> {
    const factors = Math.min(PERSONAL_FACTORS, options.embeddingDim);
    const read = await readShippedHead(options.load, { modelId: modelIdFor(options.encoderId), factors, embeddingDim: options.embeddingDim });
    if ('problem' in read) return { problem: read.problem };
    if (!('params' in read)) return {};
    let model: PoolModel;
    try {
      model = new PoolModel(read.params, read.itemIds);
    } catch (error) {
      return { problem: `${read.source}: ${error instanceof Error ? error.message : String(error)}` };
    }
    const { catalog } = options;
    model.fitPrior((id) => {
      const index = catalog.indexOf(id);
      return index === undefined ? undefined : catalog.popularity[index];
    });
    const scale = new ScaleModel(options.storage, model, new Float32Array(factors), read.id, read.description, options.overrideCap);
    const weights = await options.storage.listWeights();
    scale.restore(
      weights.find((weight) => weight.name === SCALE_USER),
      weights.find((weight) => weight.name === SCALE_ITEMS),
    );
    return { model: scale };
  }

  /**
   * The stored u and the items' own rows, when they were learned against this global model, together
   * (the same key) and pass u's checks; else u starts at zero, no item has its own row, and the history
   * is replayed. (A u stored before the items' rows were kept is replayed once.)
   */
  private restore(stored: StoredWeight | undefined, items: StoredWeight | undefined): void {
    const [globalId, count, lastAt] = (stored?.key ?? '').split(' ');
    if (!stored || !items || stored.version !== STORED_VERSION || items.version !== STORED_VERSION || globalId !== this.globalId) return;
    if (describeUserProblem(stored, this.user.length) !== undefined) return;
    const marker = { count: Number(count), lastAt: Number(lastAt) };
    if (!Number.isSafeInteger(marker.count) || marker.count < 0 || !Number.isFinite(marker.lastAt)) return;
    const newline = (items.key ?? '').indexOf('\n');
    if (newline < 0 || items.key!.slice(0, newline) !== stored.key) return;
    let ids: unknown;
    try {
      ids = JSON.parse(items.key!.slice(newline + 1));
    } catch {
      return;
    }
    if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) return;
    if (!this.overrides.restore(ids as string[], items.values)) return;
    this.user.set(stored.values);
    this.restored = marker;
  }

  /**
   * The model's feed over `pool` (catalog indices; those without a row in `rowOf` are left out), after
   * u has learned the events it had not. Undefined when no pool item has a row.
   */
  rank(
    pool: readonly number[],
    inputs: PoolFeedInputs & {
      rowOf: (index: number) => Float32Array | undefined;
      events: readonly StoredEvent[];
      indexOf: (id: string) => number | undefined;
      /** Without it the model ranks the pool alone. */
      candidates?: ModelSearch;
    },
    request: RankRequest,
  ): Recommendation[] | undefined {
    const usable = (index: number) => inputs.rowOf(index) !== undefined && inputs.items[index] !== undefined;
    const textPool = [...new Set(pool)].filter(usable);
    if (textPool.length === 0) return undefined;
    const over = (members: readonly number[]) =>
      this.model.over(
        members,
        (item) => inputs.rowOf(item)!,
        (item) => inputs.items[item]!.id,
        (item) => inputs.popularity[item]!,
      );
    let index = new PoolIndex(textPool);
    let model = over(textPool);
    const before = { user: Float32Array.from(this.user), learned: this.learned.length, resets: this.resets };
    // u learns over the text pool first, so that the model's candidates follow the latest event.
    this.learn(model, index, inputs.events, inputs.indexOf);
    // A prediction holds for one like learned on top of the u it started from (not after a reset and a replay).
    const one = this.resets === before.resets && this.learned.length === before.learned + 1;
    const own = this.candidates(inputs, request, new Set(textPool), one ? this.predicted(before.user, inputs.events, inputs.indexOf) : undefined);
    if (own.length > 0) {
      const members = [...textPool, ...own.filter(usable)];
      index = new PoolIndex(members);
      model = over(members);
    }
    this.last = { model, index };
    try {
      return rankFeedOver(model, this.user, index, { ...inputs, similarities: { kept: this.similarities, rowOf: inputs.rowOf } }, request);
    } catch (error) {
      // Scores that overflowed (a broken model file): the content profile ranks instead.
      if (error instanceof NonFiniteScoresError) return undefined;
      throw error;
    }
  }

  /**
   * The model's best items over the whole catalog (core/model/model-candidates.ts) that `pool` lacks, their
   * rows read; none before u has learned anything (u = 0: the bias alone, the popular items the pool holds).
   */
  private candidates(inputs: Parameters<ScaleModel['rank']>[1], request: RankRequest, pool: ReadonlySet<number>, stageOne: Float32Array | undefined): number[] {
    const found = inputs.candidates;
    if (!found || !this.head || this.user.every((x) => x === 0)) return [];
    const { items } = modelCandidates({
      model: this.model,
      head: this.head,
      user: this.user,
      search: found.search,
      popularity: (index) => inputs.popularity[index]!,
      exclude: (index) => request.exclude.has(index),
      k: MODEL_POOL,
      textCandidates: MODEL_TEXT_CANDIDATES,
      ...(stageOne ? { stageOne } : {}),
      alsoScore: { items: found.popular, rowOf: inputs.rowOf },
      own: {
        items: this.overrides.ids().flatMap((id) => inputs.indexOf(id) ?? []),
        rowOf: inputs.rowOf,
        idOf: (index) => inputs.items[index]!.id,
      },
    });
    const added = items.filter((item) => !pool.has(item));
    if (added.length === 0) return [];
    found.loadRows(added);
    found.added?.(added);
    return added;
  }

  /**
   * Wᵀu as the read-ahead predicted it for a like of `item` (catalog index), while the feed of the last rank
   * was on screen: u stepped on a copy over the last rank's pool model, for u alone (the Like's own step also
   * moves the item's q_i, b_i, and draws other random negatives). The model's text search for the next Like
   * of `item` takes this vector's stage one, read ahead (engine/scale-model-search.ts); undefined when the
   * last rank's pool lacks the item.
   */
  predictLike(item: number, events: readonly StoredEvent[], indexOf: (id: string) => number | undefined): Float32Array | undefined {
    const last = this.last;
    const local = last?.index.local(item);
    if (!last || local === undefined) return undefined;
    const known = this.predictions.get(item);
    if (known && sameValues(known.from, this.user)) return known.z;
    const user = Float32Array.from(this.user);
    const history = events.filter(learns);
    // Its own random negatives (seeded by the item): the Like's step draws its own from Math.random as before.
    const random = seededUniform(item + 1);
    onlineStep(last.model, user, { kind: 'like', item: local }, this.context(local, last.index, history, events, indexOf, random));
    if (!user.every(Number.isFinite)) return undefined;
    const z = textQuery(this.model, user);
    if (this.predictions.size >= PREDICTIONS_KEPT) this.predictions.clear();
    this.predictions.set(item, { from: Float32Array.from(this.user), z });
    return z;
  }

  /** The prediction for this rank's Like (predictLike), when u before the rank is the one it started from and the last event learned is a like of its item. */
  private predicted(before: Float32Array, events: readonly StoredEvent[], indexOf: (id: string) => number | undefined): Float32Array | undefined {
    const event = events.filter(learns).at(-1);
    const item = event?.kind === 'like' ? indexOf(event.itemId) : undefined;
    const prediction = item === undefined ? undefined : this.predictions.get(item);
    return prediction && sameValues(prediction.from, before) ? prediction.z : undefined;
  }

  /** Steps u for the events it has not learned (all of them, from zero, when the history is not what it learned); stores u when it moved. */
  learn(model: HybridModel, pool: PoolIndex, events: readonly StoredEvent[], indexOf: (id: string) => number | undefined): void {
    const history = events.filter(learns);
    const keys = history.map(keyOf);
    if (this.restored) {
      const { count, lastAt } = this.restored;
      this.restored = undefined;
      // The stored u learned the first `count` events: still so if the count-th is the one it named.
      if (count <= history.length && (count === 0 || history[count - 1]!.at === lastAt)) this.learned = keys.slice(0, count);
      else this.forget();
    }
    if (this.learned.length > keys.length || this.learned.some((key, i) => key !== keys[i])) this.forget();
    if (this.learned.length === keys.length && !this.forgotten) return;
    for (let i = this.learned.length; i < history.length; i++) {
      const event = history[i]!;
      const catalogIndex = indexOf(event.itemId);
      const item = catalogIndex === undefined ? undefined : pool.local(catalogIndex);
      // An item without a row (not read, or stale) cannot be stepped toward: counted as learned, as the content profile skips it.
      if (item !== undefined) this.step(model, event.kind, item, this.context(item, pool, history.slice(0, i), events, indexOf));
      this.learned.push(keys[i]!);
    }
    void this.save(history.at(-1));
  }

  /**
   * The small path's online step, u and the pairs' q_i, b_i moving (bpr.ts onlineStep, updateItems); the
   * event's item and a dislike's recent positives keep their moved rows as this device's own, the
   * negatives' rows are put back.
   */
  private step(model: HybridModel, kind: StoredEvent['kind'], item: number, context: OnlineContext): void {
    const d = model.factors;
    const kept = kind === 'dislike' ? new Set([item, ...context.recentPositives]) : new Set([item]);
    const others = [...new Set([...context.skipped, ...context.recentPositives, ...context.randomUnseen])].filter((other) => !kept.has(other));
    const saved = others.map((other) => ({ q: model.q.slice(other * d, (other + 1) * d), b: model.b[other]! }));
    onlineStep(model, this.user, { kind, item }, context, { updateItems: true });
    others.forEach((other, k) => {
      model.q.set(saved[k]!.q, other * d);
      model.b[other] = saved[k]!.b;
    });
    model.invalidate(others);
    for (const own of kept) this.overrides.set(model.itemIds[own]!, model.q.subarray(own * d, (own + 1) * d), model.b[own]!);
  }

  private forget(): void {
    this.resets++;
    this.overrides.clear();
    this.user.fill(0);
    this.learned = [];
    this.forgotten = true;
  }

  /**
   * Negatives from the pool: its items shown and passed over (views), then random pool items the reader
   * has not acted on; a dislike's partners are the recent likes and clicks in the pool.
   */
  private context(
    item: number,
    pool: PoolIndex,
    before: readonly StoredEvent[],
    events: readonly StoredEvent[],
    indexOf: (id: string) => number | undefined,
    random: () => number = Math.random,
  ): OnlineContext {
    const local = (event: StoredEvent) => {
      const index = indexOf(event.itemId);
      return index === undefined ? undefined : pool.local(index);
    };
    const touched = new Set<number>([item]);
    const recentPositives: number[] = [];
    for (let i = before.length - 1; i >= 0; i--) {
      const at = local(before[i]!);
      if (at === undefined) continue;
      touched.add(at);
      if (before[i]!.kind !== 'dislike' && recentPositives.length < RECENT && !recentPositives.includes(at)) recentPositives.push(at);
    }
    const skipped: number[] = [];
    for (let i = events.length - 1; i >= 0 && skipped.length < RECENT; i--) {
      const at = events[i]!.kind === 'view' ? local(events[i]!) : undefined;
      if (at !== undefined && !touched.has(at) && !skipped.includes(at)) skipped.push(at);
    }
    const size = pool.members.length;
    const randomUnseen: number[] = [];
    for (let attempt = 0; attempt < POOL_NEGATIVES * 4 && randomUnseen.length < POOL_NEGATIVES; attempt++) {
      const candidate = Math.floor(random() * size);
      if (!touched.has(candidate) && !randomUnseen.includes(candidate)) randomUnseen.push(candidate);
    }
    return { skipped, recentPositives, randomUnseen };
  }

  /**
   * Stores u and the items' own rows with what they learned, in one write (one at a time, in order). A
   * failed write is retried by the next: u is replayed from the history otherwise.
   */
  private save(last: StoredEvent | undefined): Promise<void> {
    const key = `${this.globalId} ${this.learned.length} ${last?.at ?? 0}`;
    const weight: StoredWeight = { name: SCALE_USER, version: STORED_VERSION, shape: [this.user.length], values: Float32Array.from(this.user), key };
    const ids = this.overrides.ids();
    const items: StoredWeight = {
      name: SCALE_ITEMS,
      version: STORED_VERSION,
      shape: [ids.length, this.user.length + 1],
      values: this.overrides.values(),
      key: `${key}\n${JSON.stringify(ids)}`,
    };
    this.forgotten = false;
    this.saving = this.saving.then(() => this.storage.putWeights([weight, items])).catch(() => undefined);
    return this.saving;
  }

  /**
   * The fine-tune over the whole history at scale: fineTuneUser's softmax objective (the one the global
   * model was trained with; PersonalModel.fineTune), u alone trained, whose normaliser is every item on
   * the small path and here the pool (`pool`: the feed's text pool and the model's own candidates) with
   * the history's items: the items the reader could be shown next stand for the catalog (sampled
   * negatives). u learns the events it had not first; a fine-tune overtaken by a new event or a reset is
   * dropped (the next runs). Returns the loss per epoch, or undefined when nothing was trained.
   */
  async fineTune(
    pool: readonly number[],
    inputs: Pick<Parameters<ScaleModel['rank']>[1], 'items' | 'popularity' | 'rowOf' | 'events' | 'indexOf'>,
    options: { epochs?: number; signal?: AbortSignal } = {},
  ): Promise<number[] | undefined> {
    const history = inputs.events
      .filter(learns)
      .sort((a, b) => a.at - b.at)
      .flatMap((event) => {
        const index = inputs.indexOf(event.itemId);
        return index !== undefined && inputs.rowOf(index) && inputs.items[index] ? [{ kind: event.kind, index }] : [];
      });
    if (!history.some((event) => event.kind !== 'dislike')) return undefined;
    const members = [...new Set([...pool, ...history.map((event) => event.index)])].filter((index) => inputs.rowOf(index) && inputs.items[index]);
    const index = new PoolIndex(members);
    const model = this.model.over(
      members,
      (item) => inputs.rowOf(item)!,
      (item) => inputs.items[item]!.id,
      (item) => inputs.popularity[item]!,
    );
    this.learn(model, index, inputs.events, inputs.indexOf);
    const learned = this.learned.length;
    const { fineTuneUser } = await import('../core/model/fine-tune-user');
    const { user, losses } = await fineTuneUser(
      model,
      this.user,
      history.map((event) => ({ kind: event.kind, item: index.local(event.index)! })),
      { objective: 'softmax', ...(options.epochs ? { epochs: options.epochs } : {}), ...(options.signal ? { signal: options.signal } : {}) },
    );
    if (this.learned.length !== learned || this.forgotten || !user.every(Number.isFinite)) return undefined;
    this.user.set(user);
    const last = inputs.events.filter(learns).at(-1);
    await this.save(last);
    return losses;
  }

  /** Resolves once the stored u is the current one. */
  async saved(): Promise<void> {
    await this.saving;
  }
}

/** What loads a shipped global model for `catalogUrl` (undefined: none is fetched, for a catalog handed over as a value or without fetchBytes). */
export function shippedGlobalLoader(
  p: Pick<EngineParts, 'state' | 'encoders'>,
  catalogUrl: string,
): (() => Promise<{ bytes: Uint8Array; source: string } | undefined>) | undefined {
  const { deps, config } = p.state;
  const fetchBytes = deps.fetchBytes?.bind(deps);
  if (config.catalog !== undefined || !fetchBytes) return undefined;
  const url = shippedGlobalUrl(catalogUrl, modelIdFor(p.encoders.activeId));
  return async () => await fetchBytes(url).then((bytes) => bytes && { bytes, source: url });
}

/**
 * The engine's pool model at catalog scale: read at the first rank after the reader's first like, dislike
 * or click (the global model beside the catalog's JSON name, `<catalog>.<model id>.global`), then the
 * feed is ranked again by it.
 */
export class ScaleModelSlot {
  model: ScaleModel | undefined;
  private opening: Promise<void> | undefined;
  /** The head's v_i being built, and the rows stored when it started. */
  private building: Promise<void> | undefined;
  private headRows = 0;
  /** The learning events the last fine-tune saw, the one waiting for a pause, and the one running. */
  private fineTunedAt = 0;
  private fineTuneTimer: ReturnType<typeof setTimeout> | undefined;
  private fineTuning: Promise<void> | undefined;

  constructor(private readonly p: EngineParts) {}

  /** The model's feed over the pool, or undefined while there is no model (the content profile ranks). */
  rank(pool: readonly number[], profile: Float32Array | null, request: RankRequest): Recommendation[] | undefined {
    const { state } = this.p;
    const { catalog } = state;
    if (!state.scale || state.stopped || state.vectors.dimension === 0) return undefined;
    if (!this.model) {
      // Opened at the reader's first like, dislike or click: a visit without one (most visits that only
      // look) neither downloads the global model nor asks for it, and the content profile ranks it.
      if (state.events.some(learns)) this.opening ??= this.open();
      return undefined;
    }
    const candidates = this.modelSearch(pool);
    const inputs = {
      items: catalog.items,
      popularity: catalog.popularity,
      recency: catalog.recency,
      profile,
      rowOf: (index: number) => state.vectors.rows[index],
      events: state.events,
      indexOf: (id: string) => catalog.indexOf(id),
      ...(candidates ? { candidates } : {}),
    };
    const ranked = this.model.rank(pool, inputs, request);
    if (ranked) this.scheduleFineTune(ranked.map((item) => item.index).concat(pool));
    return ranked;
  }

  /** A fine-tune over the whole history (ScaleModel.fineTune) once SCALE_FINE_TUNE_EVERY events came since the last, at the reader's next pause. */
  private scheduleFineTune(pool: readonly number[]): void {
    const learned = this.p.state.events.filter(learns).length;
    if (learned < this.fineTunedAt) this.fineTunedAt = 0;
    if (learned - this.fineTunedAt < SCALE_FINE_TUNE_EVERY || this.fineTuning) return;
    clearTimeout(this.fineTuneTimer);
    this.fineTuneTimer = setTimeout(() => {
      this.fineTuning = this.fineTune(pool, learned).finally(() => (this.fineTuning = undefined));
    }, SCALE_FINE_TUNE_IDLE_MS);
  }

  private async fineTune(pool: readonly number[], learned: number): Promise<void> {
    const { state, encoders, feed } = this.p;
    const model = this.model;
    // Training needs TF.js's backend (settled without an error).
    if (!model || (await encoders.backendSettled) || state.stopped) return;
    const { catalog } = state;
    this.fineTunedAt = learned;
    const losses = await model
      .fineTune(pool, {
        items: catalog.items,
        popularity: catalog.popularity,
        rowOf: (index) => state.vectors.rows[index],
        events: state.events,
        indexOf: (id) => catalog.indexOf(id),
      })
      // A fine-tune that fails (a backend lost mid-training) leaves u as the online steps left it.
      .catch(() => undefined);
    if (losses && !state.stopped && this.model === model && state.view.current.phase === 'ready') state.view.update({ feed: feed.rank() });
  }

  /** Resolves once a fine-tune in flight has ended. */
  async fineTuned(): Promise<void> {
    await this.fineTuning;
  }

  /**
   * The text index's search for the model's own candidates, once the index is read and the head's v_i
   * are built (started here, from the stored rows; built again once more rows are stored).
   */
  private modelSearch(pool: readonly number[]): ModelSearch | undefined {
    const { state } = this.p;
    const scale = state.scale;
    const search = scale?.search;
    const model = this.model;
    if (!scale || !search || !model) return undefined;
    // Built again while rows are still arriving (a row not stored yet counts its q_i alone); the count is one pass over a byte per item.
    const stored = !this.building && (!model.head || this.headRows < state.catalog.size) ? scale.storedRows() : this.headRows;
    if (!this.building && (!model.head || stored > this.headRows)) {
      this.headRows = stored;
      // A store closed under it (an erase): no head, the pool alone is ranked.
      this.building = this.buildHead(model, scale)
        .catch(() => undefined)
        .finally(() => (this.building = undefined));
    }
    if (!model.head) return undefined;
    const sink = rowSinkOf(state.vectors);
    const held = (index: number) => sink.rows[index];
    const catalog = state.catalog;
    return {
      search: (query, k, exclude, stageOne) =>
        stageOne ? searchFromStageOne(search, scale.store, stageOne, query, k, exclude, held) : search.query(query, k, exclude, undefined, held),
      loadRows: (items) => scale.loadRows(items, sink, historyItems(state)),
      popular: scale.popular,
      ...(catalog instanceof ColumnsCatalog
        ? { added: (items: readonly number[]) => catalog.load(items, new Set([...historyItems(state), ...pool, ...items])) }
        : {}),
    };
  }

  /**
   * For the read-ahead (engine/scale-readahead.ts): the text search's stage one for Wᵀu as a like of `card`
   * would make it (ScaleModel.predictLike), which that Like's rank takes (kept by ScaleSearch); returns its
   * candidates, whose rows the read-ahead reads. None before the model and its head are open.
   */
  stageOneAhead(card: number): number[] {
    const { state } = this.p;
    const scale = state.scale;
    const model = this.model;
    if (!scale?.search || !model?.head) return [];
    const z = model.predictLike(card, state.events, (id) => state.catalog.indexOf(id));
    if (!z?.some((x) => x !== 0)) return [];
    return stageOneAhead(scale.search, scale.store.identity.dimension, z, MODEL_TEXT_CANDIDATES);
  }

  /** The head's v_i from the rows stored now (HeadVectors.build), a chunk at a time; then the feed is ranked again. */
  private async buildHead(model: ScaleModel, scale: ScalePath): Promise<void> {
    const { state, feed } = this.p;
    const dim = scale.store.identity.dimension;
    const head = await HeadVectors.build(
      model.model,
      (id) => state.catalog.indexOf(id),
      (indices) => {
        const codes = new Int8Array(indices.length * dim);
        const scales = new Float32Array(indices.length);
        scale.store.readRows(indices, codes, scales);
        return indices.map((_, c) => Float32Array.from(codes.subarray(c * dim, (c + 1) * dim), (x) => x * scales[c]!));
      },
      { pause: () => new Promise((resolve) => setTimeout(resolve, 0)) },
    );
    if (state.stopped || state.scale !== scale || this.model !== model) return;
    const first = !model.head;
    model.head = head;
    if (first && state.view.current.phase === 'ready') state.view.update({ feed: feed.rank() });
  }

  /** Resolves once the opening started by rank has ended, and the head's v_i it started. */
  async opened(): Promise<void> {
    await this.opening;
    await this.building;
  }

  private async open(): Promise<void> {
    const { state, store, encoders, feed } = this.p;
    const catalogUrl = catalogJsonUrl(state.config.catalogUrl);
    const load = shippedGlobalLoader(this.p, catalogUrl);
    if (!load) return;
    // A server that had no file a short while ago is not asked again (a returning visit asks nothing new).
    const url = shippedGlobalUrl(catalogUrl, modelIdFor(encoders.activeId));
    const mark = (await store.db.listWeights()).find((weight) => weight.name === NO_GLOBAL_MARK)?.key ?? '';
    const space = mark.indexOf(' ');
    if (mark.slice(space + 1) === url && state.deps.now() - Number(mark.slice(0, space)) < NO_GLOBAL_BELIEVED_MS) return;
    let absent = false;
    const { model, problem } = await ScaleModel.open({
      storage: store.db,
      load: async () => {
        const file = await load();
        absent = file === undefined;
        return file;
      },
      encoderId: encoders.activeId,
      embeddingDim: state.vectors.dimension,
      catalog: state.catalog,
    });
    if (state.stopped || !state.scale) return;
    if (absent) {
      const weight = { name: NO_GLOBAL_MARK, version: STORED_VERSION, shape: [0], values: new Float32Array(0), key: `${state.deps.now()} ${url}` };
      await store.db.putWeights([weight]).catch(() => undefined);
    }
    if (problem) state.view.warnOnce({ code: 'shippedModelIgnored', params: { problem } });
    if (!model) return;
    this.model = model;
    if (state.view.current.phase === 'ready') state.view.update({ feed: feed.rank() });
  }
}
