/**
 * The encoder's own worker, started by the engine worker (a nested worker). Embedding the catalog
 * takes minutes on a first visit, in batches of hundreds of milliseconds that cannot be interrupted;
 * here they never stand between a Like and the re-ranked feed, which the engine worker computes.
 * One model per worker: the bundled USE Lite on its own copy of TensorFlow.js (on the backend the
 * engine chose), or a Transformers.js model on one ONNX Runtime device. A device that failed is not
 * reused: the caller starts a fresh worker (a new runtime instance) for the fallback.
 */
import * as Comlink from 'comlink';
import type { SentenceEncoder } from '../core/encoder';
import { encoderSpec, type ModelDtype, type TextRole } from '../core/encoder-registry';
import type { BackendName } from './api';
import type { ModelLoadProgress, TransformersDevice } from './transformers-encoder';

/** What to load: the bundled model from a base URL, or a Transformers.js model from our own origin. */
export type EncoderSource =
  | { kind: 'use-lite'; modelUrl: string; backends: BackendName[] }
  | { kind: 'transformers'; id: string; modelBase: string; ortWasmBase: string; device: TransformersDevice; dtype: ModelDtype; threads?: number };

export interface LoadedEncoder {
  id: string;
  dimension: number;
  /** Whether this worker is cross-origin isolated (SharedArrayBuffer, WASM threads: see csp.ts). */
  crossOriginIsolated: boolean;
  /** Threads of the WASM runtime (ONNX Runtime, or TF.js on its wasm backend); 1 elsewhere. */
  threads: number;
  /** Where it runs: the TF.js backend USE Lite got ('webgpu', 'webgl', 'wasm', 'cpu'), or the ONNX Runtime device. */
  backend: string;
}

const isolated = (): boolean => (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;

export interface EncoderWorkerApi {
  load(source: EncoderSource, onProgress?: (progress: ModelLoadProgress) => void): Promise<LoadedEncoder>;
  /** One batch as one row-major matrix (transferred, not copied). */
  embedBatch(texts: string[], role?: TextRole): Promise<Float32Array>;
  /** For the encoder lab's tests: destroys ONNX Runtime's WebGPU device, as a driver reset would. */
  loseWebGpuDevice(): Promise<boolean>;
}

let encoder: SentenceEncoder | undefined;

const api: EncoderWorkerApi = {
  async load(source, onProgress) {
    if (source.kind === 'use-lite') {
      const [{ selectBackend }, { UseLiteEncoder, tfWasmThreads }] = await Promise.all([import('./backend'), import('./use-lite')]);
      const backend = await selectBackend(source.backends);
      encoder = await UseLiteEncoder.load(source.modelUrl);
      return { id: encoder.id, dimension: encoder.dimension, crossOriginIsolated: isolated(), threads: tfWasmThreads(), backend: backend.name };
    }
    const spec = encoderSpec(source.id);
    if (!spec || spec.runtime !== 'transformers') throw new Error(`${source.id} is not a Transformers.js model this app knows`);
    const { TransformersEncoder, useLocalModelsOnly, wasmThreadsInUse } = await import('./transformers-encoder');
    // One device per encoder worker: its ONNX Runtime loads the build for that device (ORT_WASM_BUILDS).
    useLocalModelsOnly({
      modelBase: source.modelBase,
      ortWasmBase: source.ortWasmBase,
      device: source.device,
      ...(source.threads ? { threads: source.threads } : {}),
    });
    encoder = await TransformersEncoder.load(spec, { device: source.device, dtype: source.dtype, ...(onProgress ? { onProgress } : {}) });
    return { id: encoder.id, dimension: encoder.dimension, crossOriginIsolated: isolated(), threads: wasmThreadsInUse(), backend: source.device };
  },
  async embedBatch(texts, role) {
    if (!encoder) throw new Error('The text model is not loaded');
    const vectors = await encoder.embedBatch(texts, role);
    const flat = new Float32Array(vectors.length * encoder.dimension);
    vectors.forEach((vector, row) => flat.set(vector, row * encoder!.dimension));
    return Comlink.transfer(flat, [flat.buffer]);
  },
  async loseWebGpuDevice() {
    const { env } = await import('@huggingface/transformers');
    const device = (env.backends.onnx.webgpu as { device?: { destroy(): void } } | undefined)?.device;
    device?.destroy();
    return Boolean(device);
  },
};

Comlink.expose(api);
