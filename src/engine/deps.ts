/** What the engine is handed by whoever runs it (worker.ts, the Node test harness, the product bench): every browser-bound part. */
import type { SentenceEncoder } from '../core/encoder';
import type { OpenOptions, RecsStore } from '../storage/db';
import type { BackendName, BackendStatus, EncoderOption, StorageReport } from './api';
import type { ContributorDeps } from './contribute';
import type { ScaleStorage } from './scale';
import type { TabMessage } from './tab-sync';

export interface EngineDeps {
  /** Opens IndexedDB; a rejection (or no answer) means the engine keeps its records in memory for the visit. */
  openStorage(options: OpenOptions): Promise<RecsStore>;
  /** Deletes the database and every Cache Storage cache. */
  eraseEverything(): Promise<void>;
  /** Cache Storage totals and the origin's storage estimate. */
  measureStorage(): Promise<Pick<StorageReport, 'appCaches' | 'estimate' | 'workerForeignRequests'>>;
  /** The origin's storage estimate alone (cheap: no walk over Cache Storage); at start-up. */
  estimateStorage(): Promise<StorageReport['estimate']>;
  /** Tells other tabs; `onMessage` hears theirs. */
  broadcast(message: TabMessage): void;
  onTabMessage(handler: (message: TabMessage) => void): void;
  selectBackend(): Promise<BackendStatus>;
  /** Called when the active backend failed; returns the next one. */
  fallBackFrom(current: BackendName, cause: string): Promise<BackendStatus>;
  /** Loads the bundled default text model (the first of listEncoders) from its folder URL. */
  loadEncoder(url: string): Promise<SentenceEncoder>;
  /**
   * The text models offered here, the bundled default first: with `modelsUrl`, every model whose files
   * its manifest.json lists; without it, or when the manifest is missing or invalid, the default alone.
   * Never rejects.
   */
  listEncoders(modelsUrl: string | undefined): Promise<EncoderOption[]>;
  /** Loads another text model (not the default) from `modelsUrl`; reports file progress and device fallbacks. */
  loadEncoderById(id: string, modelsUrl: string, events: EncoderLoadEvents): Promise<SentenceEncoder>;
  fetchText(url: string): Promise<string>;
  /**
   * Fetches a binary file from the app's origin; resolves undefined when it is not there (404, the
   * server's HTML fallback page, or offline). Optional: without it no precomputed embeddings are read.
   */
  fetchBytes?(url: string): Promise<Uint8Array | undefined>;
  /** OPFS for the rows of catalogs too large for memory (engine/scale.ts); absent: such a catalog is read as a small one. */
  scaleStorage?: ScaleStorage;
  /** Wall-clock time for event timestamps (ms since the epoch). */
  now(): number;
  /** The deployment's aggregator and its protocol (engine/secagg-device.ts) and/or its verifiable pair (verifiable-device.ts); absent where the build names none. */
  contribution?: Pick<ContributorDeps, 'origin' | 'promised' | 'loadProtocol' | 'verifiable' | 'fetch' | 'pollMs' | 'retryMs'>;
}

export interface EncoderLoadEvents {
  onProgress(progress: { file: string; loaded: number; total: number }): void;
  /** Something people should know, e.g. "WebGPU failed (…); continuing on WASM." */
  onNotice(message: string): void;
}
