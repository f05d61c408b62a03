/**
 * The state the engine reports (`EngineSnapshot`, mirrored by the page through `EngineApi.start`'s
 * listener) and the parts it is made of. Imported through `api.ts`, the API's one entry.
 */
import type { EngineWarning } from './api-warnings';

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

/** 'masked': one aggregator, pairwise masks; 'verifiable': two non-colluding aggregators and a norm proof. */
export type ContributionMode = 'masked' | 'verifiable';

/**
 * Secure aggregation with the deployment's aggregator (engine/contribute.ts). Off by default; nothing is
 * sent unless `enabled` and an aggregator is configured. What is sent: the masked, noised change of the
 * shared parameters (W, q, b and the ranker's few weights), never u, the history or queries.
 */
export interface ContributionState {
  /** The deployment's aggregation service (its origin); absent: none is configured and nothing can be sent. */
  origin?: string;
  /** The deployment's verifiable pair (docs/secure-aggregation.md "Verifiable mode"), if it names one. */
  verifiable?: { leader: string; helper: string };
  /** The mode this device joins (the user's choice where the deployment names both). */
  mode?: ContributionMode;
  /** The user's consent, remembered in settings. */
  enabled: boolean;
  /**
   * 'off': not contributing. 'waiting': for a round to open. 'keys' | 'shares' | 'masked' | 'unmask': the
   * round's phase this device has done. 'importing': the round's new shared model is being read.
   * 'done': it was imported; waiting for the next round. 'error': see `message`, retried later. 'uploaded': the
   * verifiable mode's two shares (with the norm proof) were sent; waiting for the collection's model.
   */
  stage: 'off' | 'waiting' | 'keys' | 'shares' | 'masked' | 'unmask' | 'uploaded' | 'importing' | 'done' | 'error';
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

export type StorageState = { persisted: true } | { persisted: false; reason: 'unavailable' | 'blocked' | 'quota' | 'lost'; notice: string };

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
