/**
 * The engine worker's handle on the encoder worker (encoder-worker.ts): a SentenceEncoder whose
 * batches run in another thread, so the engine stays free to answer the user while the catalog embeds.
 */
import * as Comlink from 'comlink';
import type { SentenceEncoder } from '../core/encoder';
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
    /** Whether the encoder worker is cross-origin isolated, and its WASM threads. */
    readonly runtime: Pick<LoadedEncoder, 'crossOriginIsolated' | 'threads'>,
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
      worker.addEventListener('error', (event) => reject(new Error(`The encoder worker failed to start${event.message ? `: ${event.message}` : ''}`)), { once: true }),
    );
    try {
      const loaded = await Promise.race([remote.load(source, onProgress && Comlink.proxy(onProgress)), failed]);
      return new RemoteEncoder(worker, remote, loaded.id, loaded.dimension, { crossOriginIsolated: loaded.crossOriginIsolated, threads: loaded.threads });
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
