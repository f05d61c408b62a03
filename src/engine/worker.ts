/**
 * The engine's Web Worker: with the encoder worker it starts (remote-encoder.ts), the only place that
 * loads TensorFlow.js and the encoder. TF.js is imported lazily so the first (popularity or cached)
 * feed does not wait for 2 MB of ML runtime to parse. Here it serves the on-device model's training;
 * the encoder runs in its own worker so embedding never delays an answer to the user.
 */
// First: the mark of when this script began to run (before the modules below run their top-level code).
import './worker-script-mark';
import * as Comlink from 'comlink';
import { IndexedDbStore } from '../storage/db';
import { remoteStore } from '../storage/bridge';
import { cacheStorageTotals, eraseOriginData, storageEstimate } from '../storage/origin';
import { opfsVectorFiles } from '../storage/opfs-vectors';
import { listOpfsFiles, opfsFile } from '../storage/opfs-listing';
import type { EngineApi } from './api';
import { Engine, type TabMessage } from './engine';
import { listEncoderOptions } from './encoder-catalog';
import { MAX_CATALOG_CHARS } from '../core/catalog';
import type { ModelDtype } from '../core/encoder-registry';
import { BACKEND_ORDER } from './backend-order';
import type { EncoderPool } from '../core/encoder-pool';
import { startEncoderPool, type RemoteEncoder } from './remote-encoder';
import { builtDeployment, deploymentOrigins } from '../core/deployment';

const ml = () => import('./ml-runtime');
/** The default encoder's workers: one pool at a time (a reload after a backend failure replaces it). */
let encoderWorker: EncoderPool<RemoteEncoder> | undefined;
const transformers = () => import('./transformers-runtime');
/** The dtypes present per model, from the manifest read by listEncoders. */
const presentDtypes = new Map<string, readonly ModelDtype[]>();

async function fetchText(url: string): Promise<string> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`Could not load ${url}: HTTP ${response.status}`);
  // A declared size beyond any catalog's (core/catalog.ts: MAX_CATALOG_CHARS, at most 4 bytes each in
  // UTF-8) is refused before the body is read; what is read is bounded again by its length before parsing.
  const declared = Number(response.headers.get('content-length') ?? 0);
  if (declared > MAX_CATALOG_CHARS * 4) {
    void response.body?.cancel();
    throw new Error(`Could not load ${url}: it is ${Math.round(declared / 2 ** 20)} MB, more than any catalog may be`);
  }
  return response.text();
}
/**
 * Optional files (the catalog's precomputed embeddings): absent is normal. A 404, the server's HTML
 * fallback page (a dev server answers unknown paths with index.html) or no network at all mean "not there".
 */
async function fetchBytes(url: string): Promise<Uint8Array | undefined> {
  // Only from the app's own origin: a widget whose catalog is the host page's asks the host for nothing more.
  if (new URL(url, self.location.href).origin !== self.location.origin) return undefined;
  let response: Response;
  try {
    response = await fetch(url);
  } catch {
    return undefined;
  }
  if (response.status === 404) return undefined;
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  if (response.headers.get('content-type')?.includes('text/html')) return undefined;
  return new Uint8Array(await response.arrayBuffer());
}
const tabs = new BroadcastChannel('private-recs');

/** The aggregator and the verifiable pair this build names (core/deployment.ts), if any: the only other origins the CSP lets this worker reach. */
const deployment = builtDeployment();
const aggregator = deployment.aggregator;
const pair = deployment.verifiable;
const contributionOrigins = new Set(deploymentOrigins(deployment));

/**
 * Requests this worker made to other origins, from Resource Timing (the CSP should make it 0). The
 * aggregator's are not counted here: they happen only with the user's consent, and the Privacy panel's
 * contribution section counts them itself.
 */
function foreignRequestCount(): number {
  return foreignCleared + foreignInBuffer();
}
function foreignInBuffer(): number {
  return performance
    .getEntriesByType('resource')
    .filter((entry) => new URL(entry.name).origin !== self.location.origin && !contributionOrigins.has(new URL(entry.name).origin)).length;
}
/**
 * The Resource Timing buffer holds 250 entries, then drops new ones: a visit that contributes for hours
 * (a few requests a round) would fill it, and a later foreign request would go uncounted. When full, the
 * foreign entries so far are counted and the buffer is emptied.
 */
let foreignCleared = 0;
performance.addEventListener('resourcetimingbufferfull', () => {
  foreignCleared += foreignInBuffer();
  performance.clearResourceTimings();
});

const engine = new Engine({
  openStorage: (options) => IndexedDbStore.open(undefined, options),
  eraseEverything: eraseOriginData,
  measureStorage: async () => ({
    appCaches: await cacheStorageTotals(),
    estimate: await storageEstimate(),
    workerForeignRequests: foreignRequestCount(),
  }),
  estimateStorage: storageEstimate,
  broadcast: (message) => tabs.postMessage(message),
  onTabMessage: (handler) => tabs.addEventListener('message', (event: MessageEvent<TabMessage>) => handler(event.data)),
  selectBackend: async () => (await ml()).selectBackend(),
  fallBackFrom: async (current, cause) => (await ml()).fallBackFrom(current, cause),
  loadEncoder: async (url) => {
    encoderWorker?.dispose();
    encoderWorker = undefined;
    const backend = (await ml()).activeBackend();
    encoderWorker = await startEncoderPool(
      { kind: 'use-lite', modelUrl: new URL(url, self.location.origin).href, backends: BACKEND_ORDER.slice(BACKEND_ORDER.indexOf(backend)) },
      undefined,
      { onCopyError: (error) => console.warn('A second copy of the text model did not start; embedding on one.', error) },
    );
    return encoderWorker;
  },
  async listEncoders(modelsUrl) {
    const { options, problem, dtypes } = await listEncoderOptions(
      modelsUrl === undefined ? undefined : new URL(modelsUrl, self.location.origin).href,
      fetchText,
    );
    if (problem) console.warn(`Text models: ${problem}; offering the bundled model only.`);
    for (const [id, present] of dtypes) presentDtypes.set(id, present);
    return options;
  },
  loadEncoderById: async (id, modelsUrl, events) => (await transformers()).loadTransformersEncoder(id, modelsUrl, presentDtypes.get(id) ?? [], events),
  fetchText,
  fetchBytes,
  // OPFS's sync access handles exist in dedicated workers only: where they do, large catalogs keep their rows there.
  ...(typeof navigator.storage?.getDirectory === 'function' ? { scaleStorage: { ...opfsVectorFiles, listFiles: listOpfsFiles, file: opfsFile } } : {}),
  now: () => Date.now(),
  ...(aggregator || pair
    ? {
        contribution: {
          ...(aggregator
            ? {
                origin: aggregator.origin,
                // The protocol (key agreement, Shamir, noise) is a chunk of its own, loaded only where an aggregator is configured.
                loadProtocol: async () => (await import('./secagg-device')).deviceProtocol(),
              }
            : {}),
          promised: (aggregator ?? pair)!.noise,
          ...(pair
            ? {
                // The verifiable pair's proof (PINE) is a chunk of its own too, loaded only where the deployment names a pair.
                verifiable: {
                  leader: pair.leader,
                  helper: pair.helper,
                  promised: pair.noise,
                  loadProtocol: async () => (await import('./verifiable-device')).verifiableProtocol(),
                },
              }
            : {}),
          fetch: (input, init) => fetch(input, init),
        },
      }
    : {}),
});

const api: EngineApi = {
  start: (config, listener) => engine.start(config, listener),
  record: (kind, itemId) => engine.record(kind, itemId),
  setQuery: (text) => engine.setQuery(text),
  setGenre: (genre, chosen) => engine.setGenre(genre, chosen),
  planModelUpdate: () => engine.planModelUpdate(),
  exportModelUpdate: async () => {
    const result = await engine.exportModelUpdate();
    return Comlink.transfer(result, [result.bytes.buffer]);
  },
  importGlobalModel: (bytes, fileName) => engine.importGlobalModel(bytes, fileName),
  setContributing: (on, mode) => engine.setContributing(on, mode),
  setDiversity: (value) => engine.setDiversity(value),
  history: () => engine.history(),
  deleteEvents: (ids) => engine.deleteEvents(ids),
  deleteEventsBetween: (from, to) => engine.deleteEventsBetween(from, to),
  exportData: () => engine.exportData(),
  importData: (text) => engine.importData(text),
  eraseAll: () => engine.eraseAll(),
  storageReport: () => engine.storageReport(),
  retryStorage: (port) => engine.retryStorage(port && remoteStore(port)),
  persistenceAnswered: () => engine.persistenceAnswered(),
  setContext: (itemId) => engine.setContext(itemId),
  setEncoder: (id) => engine.setEncoder(id),
  encoderCaches: () => engine.encoderCaches(),
  clearOtherEncoderCaches: () => engine.clearOtherEncoderCaches(),
};

Comlink.expose(api);
