/**
 * The engine's one typed API (exposed from the worker through comlink) and what its calls take and
 * answer. The state it reports is in `api-snapshot.ts`, its warnings in `api-warnings.ts`: both are
 * re-exported here, so a page or module imports the whole contract from this file.
 */
import type { EventKind } from '../core/events';
import type { ExportPlan } from '../core/federated/client';
import type { StoreUsage } from '../storage/db';
import type { ContributionMode, EngineSnapshot } from './api-snapshot';

export type {
  BackendName,
  BackendStatus,
  Contribution,
  ContributionMode,
  ContributionState,
  EmbeddingProgress,
  EncoderOption,
  EncoderSwitch,
  EngineSnapshot,
  FeedItem,
  GenreOption,
  PrebuiltStatus,
  StorageState,
  TrainingStatus,
} from './api-snapshot';
export { sameWarning, type EngineWarning, type WarningCode, type WarningParams } from './api-warnings';

/** A little variety by default: near-duplicates (a series' volumes) should not fill the top 10. */
export const DEFAULT_DIVERSITY = 0.3;

/** Cached book vectors of one text model, in IndexedDB. */
export interface EncoderCache {
  id: string;
  label: string;
  count: number;
  bytes: number;
  /** The model the feed uses now (its cache is never cleared from Settings). */
  active: boolean;
}

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
  /** A large catalog's vectors, codes and text hashes in OPFS (engine/scale.ts): items with a stored row, bytes on disk. Absent for a small catalog. */
  vectorFiles?: StoreUsage;
  /**
   * A large catalog itself kept in OPFS: its columns (`vectors/columns/`, storage/opfs-columns.ts: ids,
   * titles, years, genres, popularity; 57 MB at 1M items), kept so that a returning visit does not download
   * them, and its row shards (texts, bylines, tags) stored so far. Items: those of the columns kept (or,
   * where none are, those whose texts are stored); bytes: all these files. Absent when there are none.
   */
  keptCatalog?: StoreUsage;
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
   * as dropped). Progress is reported in snapshot.contribution. `mode`: where the deployment names both a masked
   * aggregator and a verifiable pair, which one (remembered; default: the one chosen before, else masked).
   */
  setContributing(on: boolean, mode?: ContributionMode): Promise<void>;
  /** Cached book vectors per text model. */
  encoderCaches(): Promise<EncoderCache[]>;
  /** Deletes the cached vectors of every model but the one in use (and one being switched to); returns what was freed. */
  clearOtherEncoderCaches(): Promise<StoreUsage>;
}
