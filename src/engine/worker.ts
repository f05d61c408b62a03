/**
 * The Web Worker: the only place that loads TensorFlow.js and the encoder. TF.js is imported lazily
 * so the first (popularity or cached) feed does not wait for 2 MB of ML runtime to parse.
 */
import * as Comlink from 'comlink';
import { Storage } from '../storage/db';
import type { EngineApi } from './api';
import { Engine } from './engine';

const ml = () => import('./ml-runtime');

const engine = new Engine({
  openStorage: () => Storage.open(),
  selectBackend: async () => (await ml()).selectBackend(),
  fallBackFrom: async (current, cause) => (await ml()).fallBackFrom(current, cause),
  loadEncoder: async (url) => (await ml()).UseLiteEncoder.load(new URL(url, self.location.origin).href),
  async fetchText(url) {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`Could not load ${url}: HTTP ${response.status}`);
    return response.text();
  },
  now: () => Date.now(),
});

const api: EngineApi = {
  start: (config, listener) => engine.start(config, listener),
  record: (kind, itemId) => engine.record(kind, itemId),
};

Comlink.expose(api);
