/**
 * Starts the engine worker as early as the page allows. index.html loads this small module ahead of
 * the React bundle, so the worker boots and reads the catalog and the cache while React is still
 * loading; the UI subscribes when it mounts. One engine per page.
 */
import type { EngineConfig, EngineSnapshot } from '../engine/api';
import { connectEngine, listen, type EngineClient } from './engine-client';
import { STARTING } from './starting-snapshot';
import { forgetLastFeed, keepLastFeed, readLastFeed } from '../storage/last-feed';

export const APP_CONFIG: EngineConfig = {
  catalogUrl: `${import.meta.env.BASE_URL}catalog/goodbooks-10k.json`,
  encoderUrl: `${import.meta.env.BASE_URL}models/use-lite/`,
  modelsUrl: `${import.meta.env.BASE_URL}models/`,
  feedSize: 20,
  // App.tsx asks navigator.storage.persist() before a large download and answers.
  pageAsksPersistence: true,
};

type Listener = (snapshot: EngineSnapshot) => void;

/** The feed is kept this long after it last changed. */
const KEEP_DELAY_MS = 1000;

const listeners = new Set<Listener>();
let latest: EngineSnapshot | undefined;

export const engine: EngineClient = connectEngine();

/**
 * A returning visit: the feed as the reader left it (storage/last-feed.ts), on screen while the engine
 * reads the catalog and the database, and replaced by the engine's first feed. Its cards answer at
 * once: the engine takes an event that arrives before it is ready once it is (Engine.record).
 */
let restored: EngineSnapshot['feed'] | undefined = readLastFeed(APP_CONFIG.catalogUrl);
if (restored) latest = { ...STARTING, feed: restored, restoredFeed: true };
let keepTimer: ReturnType<typeof setTimeout> | undefined;

void engine.start(
  APP_CONFIG,
  listen((incoming: EngineSnapshot) => {
    let snapshot = incoming;
    if (restored && incoming.phase === 'loading') snapshot = { ...incoming, feed: restored, restoredFeed: true };
    else restored = undefined;
    if (incoming.phase === 'erased') {
      clearTimeout(keepTimer);
      forgetLastFeed();
    } else if (incoming.storage?.persisted === false) {
      // Picks kept in memory for this visit only: neither is a feed made from them.
      clearTimeout(keepTimer);
      forgetLastFeed();
    } else if (incoming.phase === 'ready' && !incoming.query && incoming.feed.length > 0) {
      // Written after the page has settled, not beside an answer to a Like (a few KB of JSON).
      clearTimeout(keepTimer);
      keepTimer = setTimeout(() => keepLastFeed(APP_CONFIG.catalogUrl, incoming.feed), KEEP_DELAY_MS);
    }
    latest = snapshot;
    for (const listener of listeners) listener(snapshot);
  }),
);

/** The last snapshot the engine sent, if any yet. */
export function latestSnapshot(): EngineSnapshot | undefined {
  return latest;
}

/** Calls `listener` with every later snapshot; returns the unsubscribe function. */
export function subscribe(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
