/** The engine's one typed API (exposed from the worker through comlink) and the state it reports. */
import type { EventKind } from '../core/events';
import type { ExportPlan } from '../core/federated/client';
import type { StoreUsage } from '../storage/db';

/** A little variety by default: near-duplicates (a series' volumes) should not fill the top 10. */
export const DEFAULT_DIVERSITY = 0.3;

export type BackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu';

export interface BackendStatus {
  name: BackendName;
  /** For people: "WebGPU", "WASM", ... */
  label: string;
  /** Backends passed over before this one, and why. */
  skipped: { name: BackendName; reason: string }[];
}

/**
 * One term of why an item is in the feed (the card's "Why?" list, strongest first). `share` is the
 * term's part of the item's score among the listed terms (0..1; the shares of a list sum to ≤ 1).
 * Structured, not words: the UI says it in the reader's language.
 */
export type Contribution =
  | { kind: 'liked'; itemId: string; title: string; share: number }
  /** Widget mode: like the item on the host's screen (not one the reader liked). */
  | { kind: 'similar'; itemId: string; title: string; share: number }
  | { kind: 'genre'; genre: string; likedCount: number; share: number }
  | { kind: 'query'; query: string; share: number }
  | { kind: 'popular'; share: number }
  | { kind: 'new'; share: number }
  | { kind: 'taste'; share: number };

export interface FeedItem {
  id: string;
  title: string;
  byline?: string;
  year?: number;
  /** The strongest reason in English words (the widget and tests read it); `why[0]` says the same, structured. */
  reason: string;
  /** The item's genres (catalog `genres`), shown as small tags. */
  genres?: string[];
  /** The top contributions to this item's place in the feed, strongest first. */
  why?: Contribution[];
}

/** A genre offered as a chip in "What do you like to read?". */
export interface GenreOption {
  /** The catalog's genre name (e.g. "science-fiction"); the UI translates it for display. */
  name: string;
  /** Books in the catalog with that genre. */
  books: number;
}

export interface EmbeddingProgress {
  done: number;
  total: number;
  /** False once every item has its vector (or embedding stopped on an error). */
  active: boolean;
}

/**
 * The catalog's precomputed embeddings for the active model: `rows` items took their vector from the
 * file; 'checking' until the model has loaded and re-read a sample, then 'verified' (stored in the
 * cache) or 'discarded' (the sample disagreed: those items are read here like any other).
 */
export interface PrebuiltStatus {
  modelId: string;
  rows: number;
  state: 'checking' | 'verified' | 'discarded';
  /** The lowest cosine between a sampled file vector and this device's own, once checked. */
  minCosine?: number;
}

/** A text model this deployment offers (Settings lists these). */
export interface EncoderOption {
  /** Its embedding cache key; for Transformers.js models the Hugging Face id and folder under /models/. */
  id: string;
  label: string;
  /** BCP 47 primary subtags it reads well; '*' for about a hundred languages. */
  languages: string[];
  dimension: number;
  /** Bytes a user downloads to use it (0 for the bundled model). */
  downloadBytes: number;
  /** Ships with the app: nothing to download, works offline. */
  bundled: boolean;
  /** The files are a test fixture with random weights: its recommendations mean nothing. */
  fixture: boolean;
}

/** A change of text model in progress (see EngineApi.setEncoder). */
export interface EncoderSwitch {
  to: string;
  label: string;
  /** 'loading': fetching and starting the model (done/total in bytes); 'embedding': reading books (done/total in books). */
  stage: 'loading' | 'embedding';
  done: number;
  total: number;
  /** While loading: the file being fetched. */
  file?: string;
}

/** Cached book vectors of one text model, in IndexedDB. */
export interface EncoderCache {
  id: string;
  label: string;
  count: number;
  bytes: number;
  /** The model the feed uses now (its cache is never cleared from Settings). */
  active: boolean;
}

export interface EngineSnapshot {
  phase: 'loading' | 'ready' | 'error' | 'erased';
  /** What the engine is doing while loading, for the status line. */
  activity?: string;
  backend?: BackendStatus;
  catalog?: { name: string; size: number; attribution?: string; license?: string };
  feed: FeedItem[];
  embedding?: EmbeddingProgress;
  /** Vectors taken from the catalog's precomputed file (see Engine.applyPrebuilt), and how the check of a sample went. */
  prebuilt?: PrebuiltStatus;
  /**
   * Non-fatal problems people should know about (skipped rows, encoder fallback), as codes with their
   * details: the UI words them in its language (ui/i18n/warnings.ts), so the worker holds no UI text.
   */
  warnings: EngineWarning[];
  /** Fatal: the app cannot recommend (e.g. the catalog is unusable). */
  error?: string;
  /**
   * Set by the page, never by the engine: `feed` is the one the reader saw last time (storage/last-feed.ts),
   * shown while the engine starts; the engine's first feed replaces it.
   */
  restoredFeed?: boolean;
  /**
   * Set by the page, never by the engine: the worker failed to load or run (ui/engine-failure.ts). What
   * goes through it (export, erase) cannot answer; the page does not offer it.
   */
  workerFailed?: boolean;
  /** Count of events in the history. */
  historySize: number;
  /** Bumped on every change to the history (here or in another tab): the History panel refetches. */
  historyVersion: number;
  /** Set when another tab changed the database under this one in a way that needs a reload. */
  reloadReason?: string;
  /** The search the feed reflects, if any (see setQuery). */
  query?: string;
  /** True while a new search is being read by the text model. */
  searching?: boolean;
  /** Why the active search could not be applied. */
  queryError?: string;
  /** 0 = most relevant first, 1 = as varied as possible. */
  diversity: number;
  /** The on-device model: absent until it has started (the first minute of a first visit). */
  training?: TrainingStatus;
  /** Milliseconds from start() to the first feed, measured in the worker. */
  firstFeedMs?: number;
  /** The text model whose vectors the feed uses now. */
  encoder?: EncoderOption;
  /** The text models offered here (files present), the bundled one first. */
  encoders?: EncoderOption[];
  /** Genres offered as chips ("What do you like to read?"), most books first; absent for a catalog without genres. */
  genres?: GenreOption[];
  /** The genres the reader chose (each is a 'genre' event in the history). */
  chosenGenres?: string[];
  /** Set while switching to another text model; the feed keeps using the current one until it is done. */
  encoderSwitch?: EncoderSwitch;
  /** Why the last switch of text model failed (the current model stayed in use). */
  encoderError?: string;
  /**
   * Where records go: absent or `persisted: true` while IndexedDB takes them; `persisted: false` while
   * the browser refuses or lost it and they are kept in memory for this visit (storage/fallback.ts),
   * with one line (`notice`) saying what will not be kept.
   */
  storage?: StorageState;
  /** "Contribute to the shared model" (Privacy panel): absent until the engine has read the user's choice. */
  contribution?: ContributionState;
  /**
   * Set before a large download (a catalog's vectors at scale, tens of MB and more): the page asks the
   * browser to keep this origin's storage, then calls `persistenceAnswered` (EngineConfig.pageAsksPersistence).
   */
  persistenceWanted?: boolean;
}

/**
 * Secure aggregation with the deployment's aggregator (engine/contribute.ts). Off by default; nothing is
 * sent unless `enabled` and an aggregator is configured. What is sent: the masked, noised change of the
 * shared parameters (W, q, b and the ranker's few weights), never u, the history or queries.
 */
export interface ContributionState {
  /** The deployment's aggregation service (its origin); absent: none is configured and nothing can be sent. */
  origin?: string;
  /** The user's consent, remembered in settings. */
  enabled: boolean;
  /**
   * 'off': not contributing. 'waiting': for a round to open. 'keys' | 'shares' | 'masked' | 'unmask': the
   * round's phase this device has done. 'importing': the round's new shared model is being read.
   * 'done': it was imported; waiting for the next round. 'error': see `message`, retried later.
   */
  stage: 'off' | 'waiting' | 'keys' | 'shares' | 'masked' | 'unmask' | 'importing' | 'done' | 'error';
  /** The round in progress (or the last one). */
  roundId?: string;
  /** Rounds whose masked update this device sent. */
  roundsJoined: number;
  /** ε (at `delta`) over the rounds joined, and after one more round, with the noise the deployment promises. */
  epsilon: number;
  epsilonNext: number;
  /** The device's lifetime ε budget (the deployment's `noise.lifetimeEpsilon`): no round is joined whose ε would exceed it. */
  epsilonBudget?: number;
  delta: number;
  /** The promised noise: the sum over a round carries Gaussian noise of σ = noiseMultiplier × clipNorm. */
  clipNorm: number;
  noiseMultiplier: number;
  /** The shared parameters whose change is sent (names and shapes); empty until the model has started. */
  contents: { name: string; shape: number[] }[];
  /** A detail in English (why a round was skipped or failed). */
  message?: string;
  /** How the last round this device took part in ended. */
  lastRound?: { roundId: string; outcome: 'imported' | 'abandoned'; contributors?: number };
}

/**
 * Each warning the engine can raise, with what its sentence needs. String details that come from a
 * browser, a runtime or a file (`message`, `reason`, `problem`, `note`) are English and stay so in every
 * language; names (`url`, model labels and ids) are shown as they are.
 */
export interface WarningParams {
  /** "N catalog rows were skipped because of missing or invalid fields (first: row R, reason)." */
  catalogRowsSkipped: { count: number; row: number; reason: string };
  /** A text model chosen on an earlier visit is not offered here. */
  encoderNotOffered: { chosen: string; fallback: string };
  /** History records the database returned damaged. */
  historySkipped: { count: number };
  /** The precomputed embeddings could not be applied (any failure while reading them at start). */
  prebuiltIgnored: { message: string };
  /** No TensorFlow.js backend starts; the stored model still ranks, without training. */
  backendUnavailableModelKept: { message: string };
  /** No TensorFlow.js backend starts; popular books are shown. */
  backendUnavailable: { message: string };
  /** A notice from the text model's runtime (e.g. WebGPU failed, WASM used), in its own English words. */
  encoderNotice: { message: string };
  storageFull: Record<string, never>;
  modelScoresNotNumbers: { message: string };
  /** Stored records left out as damaged (storage/records.ts), one note each. */
  storedDataSkipped: { note: string };
  shippedModelIgnored: { problem: string };
  storedModelRebuilt: { problem: string };
  modelStartFailed: { message: string };
  trainingStopped: { message: string };
  contributionUnavailable: { message: string };
  /** The text model chosen on an earlier visit failed to load; the default one took over. */
  chosenEncoderFailed: { chosen: string; message: string; fallback: string };
  encoderFailed: { message: string };
  coLikedIgnored: { url: string; message: string };
  prebuiltFileIgnored: { url: string; message: string };
  prebuiltWrongModel: { fileModel: string; fileDimension: number; model: string; dimension: number };
  prebuiltMismatch: { minCosine: number; sampleSize: number };
  prebuiltNotCached: { message: string };
  embeddingStopped: { message: string };
  /** A compute backend failed; `backend` and `next` are labels ("WebGL", "WASM"). */
  backendFailed: { backend: string; message: string; next: string };
  /** The same while training; `count` epochs already done are kept. */
  backendFailedWhileTraining: { backend: string; message: string; next: string; count: number };
}

export type WarningCode = keyof WarningParams;

/** One warning: a code and its parameters (a discriminated union on `code`). */
export type EngineWarning = { [C in WarningCode]: { code: C; params: WarningParams[C] } }[WarningCode];

/** The same warning (code and every parameter): warnings are raised once each. */
export function sameWarning(a: EngineWarning, b: EngineWarning): boolean {
  if (a.code !== b.code) return false;
  const left = a.params as Record<string, unknown>;
  const right = b.params as Record<string, unknown>;
  const keys = Object.keys(left);
  return keys.length === Object.keys(right).length && keys.every((key) => Object.is(left[key], right[key]));
}

export type StorageState = { persisted: true } | { persisted: false; reason: 'unavailable' | 'blocked' | 'quota' | 'lost'; notice: string };

export interface HistoryEntry {
  id: number;
  kind: EventKind;
  itemId: string;
  /** The item's title, or its id when the catalog no longer has it. */
  title: string;
  at: number;
}

export interface StorageReport {
  history: StoreUsage;
  embeddings: StoreUsage;
  weights: StoreUsage;
  settings: StoreUsage;
  /** Cache Storage (the service worker's caches), in bytes. */
  appCaches: StoreUsage;
  /** A large catalog's vectors and codes in OPFS (engine/scale.ts): items with a stored row, bytes on disk. Absent for a small catalog. */
  vectorFiles?: StoreUsage;
  /** navigator.storage.estimate() of the whole origin, if the browser tells. */
  estimate?: { usage: number; quota: number };
  /** Requests the worker made to other origins (from its Resource Timing entries): must be 0. */
  workerForeignRequests: number;
}

export interface ImportResult {
  added: number;
  inFile: number;
}

export interface EngineConfig {
  catalogUrl: string;
  /**
   * Widget mode: a catalog the host page handed over as a value (postMessage), used instead of
   * fetching `catalogUrl`; validated exactly like a fetched one.
   */
  catalog?: unknown;
  /** Widget mode: the id of the item on the host's screen; recommendations lean toward it. */
  contextItemId?: string;
  /** Directory URL of the USE Lite files, e.g. "/models/use-lite/". */
  encoderUrl: string;
  /**
   * Directory URL of /models/ (manifest.json and the Transformers.js models), e.g. "/models/". Without
   * it (the widget) only the bundled text model is offered.
   */
  modelsUrl?: string;
  feedSize: number;
  /**
   * The page asks `navigator.storage.persist()` (a worker cannot) when a snapshot says `persistenceWanted`
   * and tells the engine with `persistenceAnswered`: a large download (a catalog's vectors at scale)
   * then waits for the answer, a few seconds at most. Without it the engine does not wait.
   */
  pageAsksPersistence?: boolean;
}

export interface TrainingStatus {
  /** Loss per epoch of the last fine-tune over the whole history. */
  losses: number[];
  /** Set while a fine-tune runs. */
  progress?: { epoch: number; epochs: number };
  /** Where the shared model came from. */
  globalSource: string;
  /** Online updates since the page loaded. */
  onlineSteps: number;
}

/** What "Export model update" would write and cost in privacy, shown before anything is written. */
export type ModelUpdatePlan = ExportPlan & {
  /** False when there is nothing to share yet (the model has not learned anything on this device). */
  ready: boolean;
  reason?: string;
};

export interface EngineApi {
  /** Loads everything and reports each change of state to `listener` (a comlink proxy). */
  start(config: EngineConfig, listener: (snapshot: EngineSnapshot) => void): Promise<void>;
  /** Records one event; resolves once the feed has been re-ranked and reported. */
  record(kind: EventKind, itemId: string): Promise<void>;
  /**
   * Chooses (or un-chooses) a genre from "What do you like to read?": seeds the taste profile and the
   * model before any like; stored as a 'genre' event (history, export, deletion like any event).
   */
  setGenre(genre: string, chosen: boolean): Promise<void>;
  /** Re-weights the feed toward a natural-language query; empty text clears it. */
  setQuery(text: string): Promise<void>;
  /** Sets the spread of the feed: 0 = most relevant first, 1 = as varied as possible. */
  setDiversity(value: number): Promise<void>;
  /** The whole history, newest first. */
  history(): Promise<HistoryEntry[]>;
  deleteEvents(ids: number[]): Promise<void>;
  /** Deletes events with from ≤ at ≤ to (ms since the epoch); returns how many. */
  deleteEventsBetween(from: number, to: number): Promise<number>;
  /** The export file's text (see core/export-format.ts). */
  exportData(): Promise<string>;
  /** Validates the whole file first; a bad file changes nothing and rejects with a message. */
  importData(text: string): Promise<ImportResult>;
  /** Deletes the database and every Cache Storage cache; the engine then stays idle. */
  eraseAll(): Promise<void>;
  storageReport(): Promise<StorageReport>;
  /**
   * Tries IndexedDB again (e.g. after the browser granted storage access); moves the visit's records
   * into it. `port`: a database the page opened and serves (storage/bridge.ts), used instead of the
   * worker's own. Says whether records are persisted now.
   */
  retryStorage(port?: MessagePort): Promise<boolean>;
  /** The page's answer to `persistenceWanted` (navigator.storage.persist()'s, false where the browser lacks it). */
  persistenceAnswered(persisted: boolean): Promise<void>;
  /** Widget mode: the item now on the host's screen (undefined: none); re-ranks the feed. */
  setContext(itemId: string | undefined): Promise<void>;
  /** The consent dialog's facts for a model update export. */
  planModelUpdate(): Promise<ModelUpdatePlan>;
  /** The privatised update file; records the ε spent. Rejects when the budget is exhausted. */
  exportModelUpdate(): Promise<{ bytes: Uint8Array<ArrayBuffer>; epsilonSpent: number }>;
  /** Validates an aggregated global model file and swaps it in, keeping history and the personal vector. */
  importGlobalModel(bytes: Uint8Array, fileName: string): Promise<{ contributors?: number }>;
  /**
   * Switches the text model (one of snapshot.encoders) and remembers the choice. Progress and failure
   * are reported in the snapshot (encoderSwitch, encoderError); the feed keeps working on the current
   * model until the new one has read what it needs. A newer call cancels one in progress. Resolves when
   * the switch is done, failed or cancelled; rejects only for an unknown id.
   */
  setEncoder(id: string): Promise<void>;
  /**
   * Turns "Contribute to the shared model" on or off (remembered). On, with an aggregator configured, the
   * engine joins the aggregator's next round; off stops at once (a round in progress counts this device
   * as dropped). Progress is reported in snapshot.contribution.
   */
  setContributing(on: boolean): Promise<void>;
  /** Cached book vectors per text model. */
  encoderCaches(): Promise<EncoderCache[]>;
  /** Deletes the cached vectors of every model but the one in use (and one being switched to); returns what was freed. */
  clearOtherEncoderCaches(): Promise<StoreUsage>;
}
