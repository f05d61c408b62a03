/**
 * Runs the real Engine in Node for tests: real IndexedDbStore on fake-indexeddb (import 'fake-indexeddb/auto'
 * first), a tiny in-memory catalog, and a deterministic bag-of-words encoder instead of a neural one.
 * Only the browser-bound parts (backend choice, Cache Storage, BroadcastChannel) are replaced.
 */
import { CATALOG_FORMAT, CATALOG_VERSION } from '../../core/catalog';
import type { SentenceEncoder } from '../../core/encoder';
import { textHash } from '../../core/hash';
import { encodePrebuilt } from '../../core/prebuilt-embeddings';
import { normalized } from '../../core/vector';
import { IndexedDbStore } from '../../storage/db';
import type { EncoderOption, EngineConfig, EngineSnapshot } from '../api';
import { Engine, type EngineDeps, type TabMessage } from '../engine';

export const TEST_VOCABULARY = ['dragon', 'magic', 'wizard', 'space', 'robot', 'planet', 'love', 'romance', 'war', 'history'];

/** Counts vocabulary words (plus a small constant so no vector is zero): similar words, similar vectors. */
export class WordCountEncoder implements SentenceEncoder {
  readonly id = 'word-count-test';
  readonly dimension = TEST_VOCABULARY.length + 1;
  async embedBatch(texts: readonly string[]): Promise<Float32Array[]> {
    return texts.map((text) => {
      const words = text.toLowerCase().split(/\W+/);
      const vector = new Float32Array(this.dimension);
      TEST_VOCABULARY.forEach((word, i) => (vector[i] = words.filter((w) => w === word).length));
      vector[this.dimension - 1] = 0.1;
      return normalized(vector);
    });
  }
}

/**
 * The same counts in a wider space (zeros appended): a second "model" whose vectors rank like the first
 * but cannot be mixed with them (another dimension), as USE Lite (512) and MiniLM (384) cannot.
 */
export class PaddedWordEncoder implements SentenceEncoder {
  readonly dimension: number;
  private readonly inner = new WordCountEncoder();
  calls = 0;
  constructor(
    readonly id: string,
    extra: number,
  ) {
    this.dimension = this.inner.dimension + extra;
  }
  async embedBatch(texts: readonly string[]): Promise<Float32Array[]> {
    this.calls += texts.length;
    const vectors = await this.inner.embedBatch(texts);
    return vectors.map((vector) => {
      const wide = new Float32Array(this.dimension);
      wide.set(vector);
      return wide;
    });
  }
}

export function encoderOption(encoder: SentenceEncoder, overrides: Partial<EncoderOption> = {}): EncoderOption {
  return { id: encoder.id, label: encoder.id, languages: ['en'], dimension: encoder.dimension, downloadBytes: 0, bundled: false, fixture: false, ...overrides };
}

export interface TestItem {
  id: string;
  title: string;
  text?: string;
  popularity?: number;
}

/** Two fantasy, two science-fiction, one romance and one history book: the engine tests' small catalog. */
export const SIX_BOOKS: readonly TestItem[] = [
  { id: 'd1', title: 'Dragon magic', popularity: 50 },
  { id: 'd2', title: 'The wizard and the dragon', popularity: 40 },
  { id: 's1', title: 'Space robot planet', popularity: 100 },
  { id: 's2', title: 'Robot on a far planet', popularity: 90 },
  { id: 'r1', title: 'Love and romance', popularity: 80 },
  { id: 'h1', title: 'War history', popularity: 70 },
];

export function testCatalog(items: readonly TestItem[]): string {
  return JSON.stringify({
    format: CATALOG_FORMAT,
    version: CATALOG_VERSION,
    name: 'Test catalog',
    items: items.map((item) => ({ text: item.title, ...item })),
  });
}

/**
 * The precomputed-embeddings file a publisher would build for these items with `encoder`, as
 * `npm run catalog -- --embeddings` writes it (`modelId` may claim another model, to test a misnamed file).
 */
export async function prebuiltFileFor(items: readonly TestItem[], encoder: SentenceEncoder, modelId = encoder.id): Promise<Uint8Array> {
  const texts = items.map((item) => item.text ?? item.title);
  const vectors = await encoder.embedBatch(texts);
  return encodePrebuilt({ modelId, dimension: encoder.dimension, rows: texts.map((text, i) => ({ textHash: textHash(text), vector: vectors[i]! })) });
}

/** Where the harness's catalog ('/catalog.json') has its precomputed file for `modelId`. */
export const prebuiltUrlInTests = (modelId: string) => `/catalog.${modelId}.emb`;

/** A fetchBytes serving these files by URL (anything else is "not there"), recording what was asked. */
export function serveFiles(files: Record<string, Uint8Array>): { fetchBytes: (url: string) => Promise<Uint8Array | undefined>; requested: string[] } {
  const requested: string[] = [];
  return {
    requested,
    fetchBytes: async (url) => {
      requested.push(url);
      return files[url];
    },
  };
}

export interface EngineHarness {
  engine: Engine;
  snapshots: EngineSnapshot[];
  latest(): EngineSnapshot;
  /** Resolves when a snapshot satisfies the predicate. */
  until(predicate: (snapshot: EngineSnapshot) => boolean, timeoutMs?: number): Promise<EngineSnapshot>;
  broadcasts: TabMessage[];
  /** Engine.start's promise (already settled unless the harness was asked not to wait for it). */
  started: Promise<void>;
}

let databaseCounter = 0;

export async function startTestEngine(
  items: readonly TestItem[],
  {
    feedSize = 5,
    overrides = {},
    databaseName,
    modelsUrl,
    waitForStart = true,
    config = {},
  }: {
    feedSize?: number;
    overrides?: Partial<EngineDeps>;
    databaseName?: string;
    modelsUrl?: string;
    waitForStart?: boolean;
    config?: Partial<EngineConfig>;
  } = {},
): Promise<EngineHarness> {
  const name = databaseName ?? `engine-test-${++databaseCounter}-${Date.now()}`;
  const broadcasts: TabMessage[] = [];
  const deps: EngineDeps = {
    openStorage: (options) => IndexedDbStore.open(name, options),
    eraseEverything: async () => {},
    measureStorage: async () => ({ appCaches: { count: 0, bytes: 0 }, workerForeignRequests: 0 }),
    estimateStorage: async () => undefined,
    broadcast: (message) => broadcasts.push(message),
    onTabMessage: () => {},
    selectBackend: async () => ({ name: 'cpu', label: 'CPU', skipped: [] }),
    fallBackFrom: async () => {
      throw new Error('no other backend in tests');
    },
    loadEncoder: async () => new WordCountEncoder(),
    listEncoders: async () => [encoderOption(new WordCountEncoder(), { bundled: true })],
    loadEncoderById: async (id) => {
      throw new Error(`no model ${id} in tests`);
    },
    fetchText: async () => testCatalog(items),
    now: () => Date.now(),
    ...overrides,
  };
  const engine = new Engine(deps);
  const snapshots: EngineSnapshot[] = [];
  const waiters: { predicate: (s: EngineSnapshot) => boolean; resolve: (s: EngineSnapshot) => void }[] = [];
  const started = engine.start(
    { catalogUrl: '/catalog.json', encoderUrl: '/models/test/', feedSize, ...(modelsUrl ? { modelsUrl } : {}), ...config },
    (snapshot) => {
      snapshots.push(snapshot);
      for (const waiter of [...waiters]) {
        if (waiter.predicate(snapshot)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(snapshot);
        }
      }
    },
  );
  if (waitForStart) await started;
  const latest = () => snapshots[snapshots.length - 1]!;
  return {
    engine,
    started,
    snapshots,
    latest,
    broadcasts,
    until: (predicate, timeoutMs = 5000) =>
      predicate(latest())
        ? Promise.resolve(latest())
        : new Promise((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error('timed out waiting for an engine snapshot')), timeoutMs);
            waiters.push({ predicate, resolve: (s) => (clearTimeout(timer), resolve(s)) });
          }),
  };
}

/**
 * Tabs of one app in one test: what a tab broadcasts, every other tab hears (as BroadcastChannel does).
 * `channel(index)` is the tab-sync part of tab `index`'s EngineDeps.
 */
export function linkedTabs(): (index: number) => Pick<EngineDeps, 'broadcast' | 'onTabMessage'> {
  const listeners: ((message: TabMessage) => void)[] = [];
  return (index) => ({
    broadcast: (message) => listeners.forEach((listener, i) => i !== index && listener(message)),
    onTabMessage: (handler) => {
      listeners[index] = handler;
    },
  });
}
