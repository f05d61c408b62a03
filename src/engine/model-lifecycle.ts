/**
 * The recommendation model's life in the engine: opened (or restored) once enough of the catalog has
 * vectors, stepped online after each event, fine-tuned when the user pauses, closed when the text model
 * changes or another tab replaces it, exported and imported.
 */
import { isItemEvent } from '../core/events';
import type { OnlineContext } from '../core/model/bpr';
import type { ModelUpdatePlan } from './api';
import type { EngineParts } from './parts';
import { PersonalModel, type StoredModelReads } from './personal-model';
import { ScaleModelSlot, shippedGlobalLoader } from './scale-model';
import { chosenGenres, genreSeeds } from './genres';
import { errorMessage, MODEL_MIN_EMBEDDED, yieldToEvents } from './util';

/** A fine-tune over the whole history runs after this many likes, dislikes or clicks, once idle. */
const FINE_TUNE_EVERY = 3;
const FINE_TUNE_IDLE_MS = 2500;
/** Random unseen items paired with each event in the online step. */
const ONLINE_RANDOM_NEGATIVES = 16;
/** The status while an imported model waits for the catalog's vectors (see UserHistory.importData). */
export const RESTORING_ACTIVITY = 'Restoring your model: reading the catalog first…';

const EMPTY_PLAN: ModelUpdatePlan = {
  ready: false,
  sizeBytes: 0,
  contents: [],
  clipNorm: 0,
  noiseMultiplier: 0,
  delta: 0,
  epsilonSpent: 0,
  epsilonAfter: 0,
  epsilonBudget: 0,
  exportsLeftAfter: 0,
  allowed: false,
};

export class ModelLifecycle {
  /** The open model, once it ranks. */
  personal: PersonalModel | undefined;
  /** At catalog scale, where `personal` does not open: the model over the feed's pool (engine/scale-model.ts). */
  readonly scale: ScaleModelSlot;
  private opening: Promise<void> | undefined;
  /** The stored model's weights and the settings, read with the start-up reads (for an opening before the first feed). */
  storedModel: StoredModelReads | undefined;
  /** Set while a new text model takes over: no recommendation model opens for the old space meanwhile. */
  private cuttingOver = false;
  private eventsSinceFineTune = 0;
  private fineTuneTimer: ReturnType<typeof setTimeout> | undefined;
  private fineTuning: Promise<void> | undefined;
  /** Rows that got their vectors while the model was preparing its item vectors. */
  private rowsEmbeddedWhileOpening: number[] = [];
  /**
   * Set by an import whose model is to be restored (see UserHistory.importData) until it ranks with every
   * vector: the model opened then is the file's, kept as it is (not re-fitted), and the status says so.
   */
  private restoringImport = false;
  /** The history changed while no model was open: the one opened next re-fits it instead of trusting what is stored. */
  refitOnOpen = false;

  constructor(private readonly p: EngineParts) {
    this.scale = new ScaleModelSlot(p);
  }

  /** Open, or being opened. */
  get openOrOpening(): boolean {
    return this.personal !== undefined || this.opening !== undefined;
  }

  /** No model reads the vector matrix yet, so its width may still change (see CatalogVectors.set). */
  mayResizeVectors(): boolean {
    return !this.openOrOpening;
  }

  /** Rows that just got vectors: the open model recomputes their item vectors (or the opening one will). */
  rowsEmbedded(batch: readonly number[]): void {
    if (this.personal) this.personal.embeddingsChanged(batch);
    else this.rowsEmbeddedWhileOpening.push(...batch);
  }

  /**
   * Opens (or restores) the hybrid model once enough of the catalog has vectors; then re-ranks with it.
   * Resolves once the model ranks, or once its item vectors are being computed (in slices, after which
   * it ranks): a caller need not wait for those.
   */
  maybeOpen(): Promise<void> {
    const { state, prebuilt, encoders, store } = this.p;
    const { catalog, vectors, view } = state;
    if (this.personal || this.opening || state.stopped || this.cuttingOver) return Promise.resolve();
    // At catalog scale the model's item vectors for every item do not fit (engine/scale.ts): not opened.
    // Sparse vectors are a large catalog's rows without a matrix (also in a tab whose ScalePath could not open).
    if (state.scale || vectors.sparse) return Promise.resolve();
    // Its projection is learnt from these vectors and stored: only from vectors checked here.
    if (prebuilt.unchecked) return Promise.resolve();
    if (vectors.count() < Math.min(MODEL_MIN_EMBEDDED, catalog.size)) return Promise.resolve();
    let opened!: () => void;
    const openedOrPreparing = new Promise<void>((resolve) => (opened = resolve));
    const stored = this.storedModel;
    this.storedModel = undefined; // a later opening (another text model) reads what is stored then
    const keyAtOpen = vectors.projectionsKey(encoders.activeId);
    this.opening = (async () => {
      try {
        // The model's id names the text model: one opened for another embedding space is never restored here.
        const { model, problem, globalProblem, restored } = await PersonalModel.open({
          storage: store.db,
          encoderId: encoders.activeId,
          itemIds: catalog.items.map((item) => item.id),
          embeddings: vectors.matrix,
          embeddingDim: vectors.dimension,
          catalogFingerprint: catalog.fingerprint(),
          projectionsKey: keyAtOpen,
          ...(stored ? { stored } : {}),
          ...this.shippedGlobalOption(),
        });
        if (globalProblem) view.warnOnce({ code: 'shippedModelIgnored', params: { problem: globalProblem } });
        if (!model.itemVectorsReady) {
          opened();
          // v_i for every book, computed in slices before the model ranks: a Like meanwhile is answered.
          this.rowsEmbeddedWhileOpening = [];
          await model.prepareItemVectors(yieldToEvents);
          if (state.stopped) return;
          model.embeddingsChanged(this.rowsEmbeddedWhileOpening);
          this.rowsEmbeddedWhileOpening = [];
        }
        // An imported model is kept as the file had it (see importData). One stored before the history
        // changed with no model open (a deletion while the catalog was read) forgets what it learned.
        const imported = restored && this.restoringImport;
        const refit = this.refitOnOpen && !imported;
        this.refitOnOpen = false;
        if (refit) await model.forgetLocalLearning();
        // A new (or forgetting) model starts from the genres chosen meanwhile; a restored one has them in u already.
        if (refit || !restored) this.seedChosenGenres(model);
        this.personal = model;
        // The catalog's last vectors arrived while it opened.
        if (keyAtOpen === undefined) model.setProjectionsKey(vectors.projectionsKey(encoders.activeId));
        store.reportSkippedRecords();
        if (problem) view.warnOnce({ code: 'storedModelRebuilt', params: { problem } });
        // A new model (or one whose history grew elsewhere, or changed) learns the history at once.
        const marks = state.events.filter((e) => e.kind !== 'view').length;
        if (marks > 0 && !imported && (refit || model.status().losses.length === 0)) this.fineTuneSoon(0);
        this.checkRestored();
        // Before the first feed, start() ranks it.
        view.update({ training: model.status(), ...(view.current.phase === 'ready' ? { feed: this.p.feed.rank() } : {}) });
      } catch (error) {
        view.warnOnce({ code: 'modelStartFailed', params: { message: errorMessage(error) } });
      } finally {
        this.opening = undefined;
        opened();
      }
    })();
    return openedOrPreparing;
  }

  /** Waits until the model is opened (or failed to): what maybeOpen started. */
  async opened(): Promise<void> {
    await this.opening;
  }

  /** No fine-tune pending, and none (nor an opening) in flight: each stores the model when it ends. */
  async settle(): Promise<void> {
    clearTimeout(this.fineTuneTimer);
    await this.opening;
    await this.fineTuning;
  }

  /**
   * Deleted or imported events: what the device learned is re-fitted from the history as it is now, so
   * nothing deleted lingers in the taste vector or in a later model update. A fine-tune in flight (on
   * the old history) ends first: it would store its result over the forgetting. With no model open yet
   * (the catalog is still being read), the one opened later re-fits (the stored one may remember what was deleted).
   */
  async forgetDeleted(): Promise<void> {
    if (!this.personal) {
      this.refitOnOpen = true;
      return;
    }
    clearTimeout(this.fineTuneTimer);
    await this.fineTuning;
    await this.personal.forgetLocalLearning();
    this.seedChosenGenres(this.personal);
    this.fineTuneSoon(0);
  }

  /**
   * Another tab re-fitted or replaced the stored model: this tab's copy is dropped (never stored over it)
   * and the stored one reopened, as a returning visit opens it. Training in flight here ends first.
   */
  async reopenStored(): Promise<void> {
    await this.settle();
    const state = this.p.state;
    // None open: the one opened later reads what is stored then.
    if (!this.personal || state.stopped) return;
    this.personal = undefined;
    await this.maybeOpen();
    await this.opening;
    if (!state.stopped) state.view.update({ feed: this.p.feed.rank() });
  }

  /**
   * An import whose model applies: the open model is dropped, and the next one opened is the file's,
   * kept as exported, not re-fitted (see checkRestored).
   */
  beginRestore(): void {
    this.restoringImport = true;
    this.refitOnOpen = false;
    this.personal = undefined;
  }

  /**
   * The text model changes: training in flight ends first (it writes the old model's weights), the old
   * space's model is closed, `change` runs, and no model opens meanwhile; the caller opens the new one.
   */
  async cutOver(change: () => Promise<void>): Promise<void> {
    this.cuttingOver = true;
    try {
      await this.settle();
      this.personal = undefined;
      await change();
    } finally {
      this.cuttingOver = false;
    }
  }

  /** Ends the "restoring" state once the imported model ranks with every book's vector (the feed is then the exported one); until then keeps saying so. */
  checkRestored(): void {
    const { state, prebuilt, feed } = this.p;
    const view = state.view;
    if (!this.restoringImport) return;
    if (!this.personal || prebuilt.unchecked || !state.vectors.complete()) {
      if (view.current.activity !== RESTORING_ACTIVITY) view.update({ activity: RESTORING_ACTIVITY });
      return;
    }
    this.restoringImport = false;
    view.update({
      ...(view.current.activity === RESTORING_ACTIVITY ? { activity: undefined } : {}),
      ...(view.current.phase === 'ready' ? { feed: feed.rank() } : {}),
    });
  }

  /** u toward every chosen genre at once (after a re-fit started from zero; the fine-tune then learns them with the rest). */
  seedChosenGenres(personal: PersonalModel): void {
    const { catalog, vectors, events } = this.p.state;
    for (const genre of chosenGenres(catalog, events))
      personal.seedGenre(genreSeeds(catalog, vectors.rows, genre), (item) => this.randomUnseen(item, new Set()));
  }

  /** Negatives for the online step: what was shown and passed over, and a few random unseen items. */
  onlineContext(index: number): OnlineContext {
    const { events, catalog, vectors } = this.p.state;
    const touched = new Set<number>();
    const recentPositives: number[] = [];
    const viewed: number[] = [];
    for (let i = events.length - 1; i >= 0 && (recentPositives.length < 20 || viewed.length < 50); i--) {
      const event = events[i]!;
      if (!isItemEvent(event.kind)) continue;
      const item = catalog.indexOf(event.itemId);
      if (item === undefined || item === index || !vectors.rows[item]) continue;
      if (event.kind === 'like' || event.kind === 'click') {
        if (!touched.has(item) && recentPositives.length < 20) recentPositives.push(item);
        touched.add(item);
      } else if (event.kind === 'view') viewed.push(item);
      else touched.add(item);
    }
    const skipped = viewed.filter((item) => !touched.has(item)).slice(0, 20);
    return { skipped, recentPositives, randomUnseen: this.randomUnseen(index, touched) };
  }

  /** A few random items with vectors, other than `index` and the `touched` ones: negatives for an online step. */
  randomUnseen(index: number, touched: ReadonlySet<number>): number[] {
    const { catalog, vectors } = this.p.state;
    const randomUnseen: number[] = [];
    for (let attempt = 0; attempt < ONLINE_RANDOM_NEGATIVES * 4 && randomUnseen.length < ONLINE_RANDOM_NEGATIVES; attempt++) {
      const item = Math.floor(Math.random() * catalog.size);
      if (item !== index && !touched.has(item) && vectors.rows[item]) randomUnseen.push(item);
    }
    return randomUnseen;
  }

  /** A fine-tune at the next pause, whatever the count of events since the last. */
  fineTuneSoon(delay = FINE_TUNE_IDLE_MS): void {
    this.eventsSinceFineTune = FINE_TUNE_EVERY;
    this.scheduleFineTune(delay);
  }

  /** A fine-tune over the whole history after FINE_TUNE_EVERY events, once the user pauses. */
  scheduleFineTune(delay = FINE_TUNE_IDLE_MS): void {
    this.eventsSinceFineTune++;
    if (this.eventsSinceFineTune < FINE_TUNE_EVERY || !this.personal) return;
    clearTimeout(this.fineTuneTimer);
    this.fineTuneTimer = setTimeout(() => void this.fineTune(), delay);
  }

  private async fineTune(): Promise<void> {
    const { state, encoders, feed } = this.p;
    const { view, catalog, vectors } = state;
    // Training needs TF.js, which a returning visit starts only at the user's first pause.
    if (await encoders.backendSettled) return;
    const personal = this.personal;
    if (!personal || state.stopped) return;
    if (this.fineTuning) {
      // One at a time; the events that arrive meanwhile get the next one.
      await this.fineTuning;
      return this.fineTune();
    }
    this.eventsSinceFineTune = 0;
    // In time order: the fine-tune weighs later events more (an imported history may interleave).
    const history = [...state.events]
      .sort((a, b) => a.at - b.at)
      .flatMap((event) => {
        // A chosen genre: its seed books, each a weak like (EVENT_WEIGHTS.genre), where the choice was made.
        // Least popular first: the fine-tune weighs later events more, and the genre's best-known books say most.
        if (event.kind === 'genre')
          return genreSeeds(catalog, vectors.rows, event.itemId)
            .reverse()
            .map((item) => ({ kind: event.kind, item }));
        const item = catalog.indexOf(event.itemId);
        return item !== undefined && event.kind !== 'view' && vectors.rows[item] ? [{ kind: event.kind, item }] : [];
      });
    if (history.length === 0) return;
    this.fineTuning = (async () => {
      try {
        view.update({ training: personal.status({ epoch: 0, epochs: 1 }) });
        // A backend that fails mid-training (a lost WebGPU device) hands over to the next one: training
        // resumes there from its last completed epoch (see trainBpr), and the status says so.
        let trainingOn = view.current.backend?.name;
        await personal.fineTune(history, ({ epoch, epochs }) => view.update({ training: personal.status({ epoch, epochs }) }), {
          onBackendFailure: async ({ error, completedEpochs }) => {
            if (!trainingOn) throw error;
            const next = await encoders.switchBackend(trainingOn, error, { completedEpochs });
            trainingOn = next.name;
          },
        });
        if (!state.stopped) view.update({ training: personal.status(), feed: feed.rank() });
      } catch (error) {
        view.update({ training: personal.status() });
        view.warnOnce({ code: 'trainingStopped', params: { message: errorMessage(error) } });
      } finally {
        this.fineTuning = undefined;
      }
    })();
    await this.fineTuning;
  }

  /** Ends a fine-tune in flight and stores the online steps since the last save: the model as it ranks now. */
  async saveForExport(): Promise<void> {
    await this.fineTuning;
    if (this.personal && !this.p.state.stopped) await this.personal.saveAll();
  }

  async planUpdate(): Promise<ModelUpdatePlan> {
    const personal = this.personal;
    if (!personal) {
      return { ...EMPTY_PLAN, ready: false, reason: 'The model is still starting (it needs the catalog read by the text model). Try again in a minute.' };
    }
    const plan = await personal.planExport();
    if (!personal.hasLearned()) {
      return { ...plan, ready: false, reason: 'Nothing to share yet: like or open a few books first, so the model learns something.' };
    }
    return { ...plan, ready: true };
  }

  async exportUpdate(): Promise<{ bytes: Uint8Array<ArrayBuffer>; epsilonSpent: number }> {
    if (!this.personal || !this.personal.hasLearned()) throw new Error('Nothing to share yet.');
    return this.personal.exportUpdate();
  }

  async importGlobal(bytes: Uint8Array, name = 'the model file'): Promise<{ contributors?: number }> {
    if (!this.personal) throw new Error('The model is still starting; try again in a minute');
    const result = await this.personal.importGlobal(bytes, name);
    this.p.state.view.update({ training: this.personal.status(), feed: this.p.feed.rank() });
    return result;
  }

  /**
   * The publisher's global model beside the catalog (`<catalog>.<model id>.global`), for a model that
   * opens without a stored one: fetched only then. None for a catalog handed over as a value, or
   * without fetchBytes; a missing file (404) is normal (another catalog, another text model).
   */
  private shippedGlobalOption(): { shippedGlobal?: () => Promise<{ bytes: Uint8Array; source: string } | undefined> } {
    const load = shippedGlobalLoader(this.p, this.p.state.config.catalogUrl);
    return load ? { shippedGlobal: load } : {};
  }
}
