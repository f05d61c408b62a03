/** The engine's one typed API (exposed from the worker through comlink) and the state it reports. */
import type { EventKind } from '../core/events';

export type BackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu';

export interface BackendStatus {
  name: BackendName;
  /** For people: "WebGPU", "WASM", ... */
  label: string;
  /** Backends passed over before this one, and why. */
  skipped: { name: BackendName; reason: string }[];
}

export interface FeedItem {
  id: string;
  title: string;
  byline?: string;
  year?: number;
  reason: string;
}

export interface EmbeddingProgress {
  done: number;
  total: number;
  /** False once every item has its vector (or embedding stopped on an error). */
  active: boolean;
}

export interface EngineSnapshot {
  phase: 'loading' | 'ready' | 'error';
  /** What the engine is doing while loading, for the status line. */
  activity?: string;
  backend?: BackendStatus;
  catalog?: { name: string; size: number; attribution?: string; license?: string };
  feed: FeedItem[];
  embedding?: EmbeddingProgress;
  /** Non-fatal problems people should know about (skipped rows, encoder fallback). */
  warnings: string[];
  /** Fatal: the app cannot recommend (e.g. the catalog is unusable). */
  error?: string;
  /** Count of events in the history. */
  historySize: number;
  /** Milliseconds from start() to the first feed, measured in the worker. */
  firstFeedMs?: number;
}

export interface EngineConfig {
  catalogUrl: string;
  /** Directory URL of the USE Lite files, e.g. "/models/use-lite/". */
  encoderUrl: string;
  feedSize: number;
}

export interface EngineApi {
  /** Loads everything and reports each change of state to `listener` (a comlink proxy). */
  start(config: EngineConfig, listener: (snapshot: EngineSnapshot) => void): Promise<void>;
  /** Records one event; resolves once the feed has been re-ranked and reported. */
  record(kind: EventKind, itemId: string): Promise<void>;
}
