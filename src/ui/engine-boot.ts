/**
 * Starts the engine worker as early as the page allows. index.html loads this small module ahead of
 * the React bundle, so the worker boots and reads the catalog and the cache while React is still
 * loading; the UI subscribes when it mounts. One engine per page.
 */
import type { EngineConfig, EngineSnapshot } from '../engine/api';
import { connectEngine, listen, type EngineClient } from './engine-client';

export const APP_CONFIG: EngineConfig = {
  catalogUrl: `${import.meta.env.BASE_URL}catalog/goodbooks-10k.json`,
  encoderUrl: `${import.meta.env.BASE_URL}models/use-lite/`,
  modelsUrl: `${import.meta.env.BASE_URL}models/`,
  feedSize: 20,
};

type Listener = (snapshot: EngineSnapshot) => void;

const listeners = new Set<Listener>();
let latest: EngineSnapshot | undefined;

export const engine: EngineClient = connectEngine();
void engine.start(
  APP_CONFIG,
  listen((snapshot: EngineSnapshot) => {
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
