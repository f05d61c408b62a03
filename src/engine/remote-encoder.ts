/**
 * The engine worker's handle on the encoder worker (encoder-worker.ts): a SentenceEncoder whose
 * batches run in another thread, so the engine stays free to answer the user while the catalog embeds.
 */
import * as Comlink from 'comlink';
import type { SentenceEncoder } from '../core/encoder';
import { EncoderPool, encoderPoolPlan } from '../core/encoder-pool';
import type { TextRole } from '../core/encoder-registry';
import type { EncoderSource, EncoderWorkerApi, LoadedEncoder } from './encoder-worker';
import type { ModelLoadProgress } from './transformers-encoder';
import { startModuleWorker } from './module-worker';
import encoderWorkerPath from './encoder-worker.ts?worker&url';

export class RemoteEncoder implements SentenceEncoder {
  private constructor(
    private readonly worker: Worker,
    private readonly remote: Comlink.Remote<EncoderWorkerApi>,
    readonly id: string,
    readonly dimension: number,
    /** Whether the encoder worker is cross-origin isolated, its WASM threads, and where it runs. */
    readonly runtime: Pick<LoadedEncoder, 'crossOriginIsolated' | 'threads' | 'backend'>,
  ) {}

  /**
   * Starts a worker and loads the encoder there (USE Lite on the first backend of `source.backends`
   * that works in the new worker). Rejects, and ends the worker, if the worker or the model fails.
   */
  static async start(source: EncoderSource, onProgress?: (progress: ModelLoadProgress) => void): Promise<RemoteEncoder> {
    const worker = startModuleWorker(new URL(encoderWorkerPath, import.meta.url), 'private-recs-encoder');
    const remote = Comlink.wrap<EncoderWorkerApi>(worker);
    // A worker whose script fails to load never answers: its error event is the only news.
    const failed = new Promise<never>((_, reject) =>
      worker.addEventListener('error', (event) => reject(new Error(`The encoder worker failed to start${event.message ? `: ${event.message}` : ''}`)), {
        once: true,
      }),
    );
    try {
      const loaded = await Promise.race([remote.load(source, onProgress && Comlink.proxy(onProgress)), failed]);
      return new RemoteEncoder(worker, remote, loaded.id, loaded.dimension, {
        crossOriginIsolated: loaded.crossOriginIsolated,
        threads: loaded.threads,
        backend: loaded.backend,
      });
    } catch (error) {
      worker.terminate();
      throw error;
    }
  }

  async embedBatch(texts: readonly string[], role?: TextRole): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    const flat = await this.remote.embedBatch([...texts], role);
    return texts.map((_, row) => flat.subarray(row * this.dimension, (row + 1) * this.dimension));
  }

  /** For the encoder lab's tests (see EncoderWorkerApi.loseWebGpuDevice). */
  loseWebGpuDevice(): Promise<boolean> {
    return this.remote.loseWebGpuDevice();
  }

  /** Ends the worker (and frees its model and backend memory). */
  dispose(): void {
    this.remote[Comlink.releaseProxy]();
    this.worker.terminate();
  }
}

export interface EncoderPoolOptions {
  /** Logical cores to plan for (default: navigator.hardwareConcurrency). */
  cores?: number;
  /** Device memory in GiB to plan for (default: navigator.deviceMemory, where the browser tells). */
  memoryGiB?: number;
  /** A copy after the first failed to load: the pool goes on with the copies it has. */
  onCopyError?: (error: unknown) => void;
}

/**
 * Starts an encoder as the app runs it: where it runs on WASM without threads (TF.js; ONNX Runtime in a
 * page that is not cross-origin isolated), as a pool of copies in workers of their own
 * (core/encoder-pool.ts, encoderPoolPlan: 2 copies from 2 cores on, 1 on a device with under 4 GiB of
 * memory); ONNX Runtime with threads as one copy on every core. The first copy loads
 * with `onProgress` (it fetches the files; the others read them from the cache) and serves at once;
 * the others join as they load. On a GPU (WebGPU, WebGL) one copy: the device is shared anyway.
 */
export async function startEncoderPool(
  source: EncoderSource,
  onProgress?: (progress: ModelLoadProgress) => void,
  options: EncoderPoolOptions = {},
): Promise<EncoderPool<RemoteEncoder>> {
  const cores = options.cores ?? ((typeof navigator !== 'undefined' && navigator.hardwareConcurrency) || 1);
  // ONNX Runtime threads need SharedArrayBuffer, i.e. cross-origin isolation (csp.ts); TF.js runs one (backend.ts).
  const canThread =
    source.kind === 'transformers' &&
    typeof SharedArrayBuffer !== 'undefined' &&
    (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  const mayPool = source.kind === 'use-lite' || source.device === 'wasm';
  const memoryGiB = options.memoryGiB ?? (typeof navigator !== 'undefined' ? (navigator as Navigator & { deviceMemory?: number }).deviceMemory : undefined);
  const plan = encoderPoolPlan(mayPool ? cores : 1, canThread, memoryGiB);
  const planned: EncoderSource = source.kind === 'transformers' && mayPool && source.threads === undefined ? { ...source, threads: plan.threads } : source;
  const pool = new EncoderPool(await RemoteEncoder.start(planned, onProgress));
  const first = pool.copies[0]!;
  if (plan.copies > 1 && first.runtime.backend === 'wasm') {
    // The copies run where the first one settled: USE Lite's backend list is narrowed to it.
    const again: EncoderSource = planned.kind === 'use-lite' ? { ...planned, backends: ['wasm'] } : planned;
    void pool.grow(plan.copies - 1, () => RemoteEncoder.start(again), options.onCopyError);
  }
  return pool;
}
