/**
 * Starts the engine worker as early as the page allows. index.html loads this small module ahead of
 * the React bundle, so the worker boots and reads the catalog and the cache while React is still
 * loading; the UI subscribes when it mounts. One engine per page.
 */
import type { EngineConfig, EngineSnapshot } from '../engine/api';
import { connectEngine, listen, type EngineClient } from './engine-client';
import { STARTING } from './starting-snapshot';
import { forgetLastFeed, keepLastFeed, readKeptFeed, type KeptFeedView } from '../storage/last-feed';
import { chosenLanguage, forgetLanguageChoice } from './i18n/chosen-language';
import { paintKeptShell } from './kept-shell';
import { snapshotAfterWorkerError } from './engine-failure';

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

export const engine: EngineClient = connectEngine((message) => showWorkerError(message));

/** The worker's own failure, which it cannot report (engine-failure.ts); also a start() that rejected. */
function showWorkerError(message: string): void {
  const next = snapshotAfterWorkerError(latest, message);
  if (!next) return;
  latest = next;
  for (const listener of listeners) listener(next);
}

/**
 * A returning visit: the feed as the reader left it (storage/last-feed.ts), on screen while the engine
 * reads the catalog and the database, and replaced by the engine's first feed. Its cards answer at
 * once: the engine takes an event that arrives before it is ready once it is (Engine.record).
 */
const kept = readKeptFeed(APP_CONFIG.catalogUrl);
let restored: EngineSnapshot['feed'] | undefined = kept?.feed;
if (restored) latest = { ...STARTING, feed: restored, restoredFeed: true };
// Painted now, before React DOM and the app have loaded, when it was kept in the language the page is
// about to speak (a different one waits for the app, which words it afresh).
const root = typeof document === 'undefined' ? null : document.getElementById('root');
if (kept?.view && root && kept.view.language === chosenLanguage()) paintKeptShell(root, kept.feed, kept.view);

/** Words the kept feed is shown with on the next visit, given by the interface once it has mounted. */
let describeFeed: ((feed: EngineSnapshot['feed']) => KeptFeedView) | undefined;
export function describeKeptFeedWith(describe: (feed: EngineSnapshot['feed']) => KeptFeedView): void {
  describeFeed = describe;
}
let keepTimer: ReturnType<typeof setTimeout> | undefined;

void engine
  .start(
    APP_CONFIG,
    listen((incoming: EngineSnapshot) => {
      let snapshot = incoming;
      if (restored && incoming.phase === 'loading') snapshot = { ...incoming, feed: restored, restoredFeed: true };
      else restored = undefined;
      if (incoming.phase === 'erased') {
        // Before any listener shows "erased" (this page's erase, or another tab's): nothing of it is left here.
        clearTimeout(keepTimer);
        forgetLastFeed();
        forgetLanguageChoice();
      } else if (incoming.storage?.persisted === false) {
        // Picks kept in memory for this visit only: neither is a feed made from them.
        clearTimeout(keepTimer);
        forgetLastFeed();
      } else if (incoming.phase === 'ready' && !incoming.query && incoming.feed.length > 0) {
        // Written after the page has settled, not beside an answer to a Like (a few KB of JSON).
        clearTimeout(keepTimer);
        keepTimer = setTimeout(() => keepLastFeed(APP_CONFIG.catalogUrl, incoming.feed, describeFeed?.(incoming.feed)), KEEP_DELAY_MS);
      }
      latest = snapshot;
      for (const listener of listeners) listener(snapshot);
    }),
  )
  .catch((error: unknown) => showWorkerError(error instanceof Error ? error.message : String(error)));

/** The last snapshot the engine sent, if any yet. */
export function latestSnapshot(): EngineSnapshot | undefined {
  return latest;
}

/** Calls `listener` with every later snapshot; returns the unsubscribe function. */
export function subscribe(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
