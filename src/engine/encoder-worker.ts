/**
 * The encoder's own worker, started by the engine worker (a nested worker). Embedding the catalog
 * takes minutes on a first visit, in batches of hundreds of milliseconds that cannot be interrupted;
 * here they never stand between a Like and the re-ranked feed, which the engine worker computes.
 * It loads its own copy of TensorFlow.js, on the backend the engine chose.
 */
import * as Comlink from 'comlink';
import type { SentenceEncoder } from '../core/encoder';
import type { TextRole } from '../core/encoder-registry';
import type { BackendName, BackendStatus } from './api';
import { selectBackend } from './backend';
import { UseLiteEncoder } from './use-lite';

export interface LoadedEncoder {
  id: string;
  dimension: number;
  /** The backend this worker runs on: the engine's, unless that one failed here. */
  backend: BackendStatus;
}

export interface EncoderWorkerApi {
  /** Loads the encoder from a base URL, on the first backend of `backends` that works here. */
  load(modelUrl: string, backends: BackendName[]): Promise<LoadedEncoder>;
  /** One batch as one row-major matrix (transferred, not copied). */
  embedBatch(texts: string[], role?: TextRole): Promise<Float32Array>;
}

let encoder: SentenceEncoder | undefined;

const api: EncoderWorkerApi = {
  async load(modelUrl, backends) {
    const backend = await selectBackend(backends);
    encoder = await UseLiteEncoder.load(modelUrl);
    return { id: encoder.id, dimension: encoder.dimension, backend };
  },
  async embedBatch(texts, role) {
    if (!encoder) throw new Error('The text model is not loaded');
    const vectors = await encoder.embedBatch(texts, role);
    const flat = new Float32Array(vectors.length * encoder.dimension);
    vectors.forEach((vector, row) => flat.set(vector, row * encoder!.dimension));
    return Comlink.transfer(flat, [flat.buffer]);
  },
};

Comlink.expose(api);
