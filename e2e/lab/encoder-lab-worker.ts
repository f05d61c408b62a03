/**
 * Test and benchmark harness for the encoders in a real worker (e2e/lab/encoders.html, not part of
 * the app's UI): the same modules the engine uses, driven step by step so tests can compare vectors
 * across devices and batch sizes, lose the WebGPU device on purpose, and time throughput.
 */
import * as Comlink from 'comlink';
import { env } from '@huggingface/transformers';
import { DeviceFallbackEncoder } from '../../src/core/encoder-fallback';
import { encoderSpec, type ModelDtype, type TextRole } from '../../src/core/encoder-registry';
import type { SentenceEncoder } from '../../src/core/encoder';
import { TransformersEncoder, useLocalModelsOnly, wasmThreadsInUse, type TransformersDevice } from '../../src/engine/transformers-encoder';
import { hasWebGpuAdapter } from '../../src/engine/webgpu-adapter';

// Root-relative: Transformers.js joins paths itself and would mangle the "//" of an absolute URL.
useLocalModelsOnly({ modelBase: '/models/', ortWasmBase: new URL('/models/onnxruntime-web/', self.location.origin).href });

let encoder: SentenceEncoder | undefined;
const notices: string[] = [];

async function loadTransformers(modelId: string, device: TransformersDevice, dtype: ModelDtype): Promise<TransformersEncoder> {
  const spec = encoderSpec(modelId);
  if (!spec) throw new Error(`unknown model ${modelId}`);
  return TransformersEncoder.load(spec, { device, dtype });
}

const lab = {
  hasWebGpuAdapter,

  /** Loads a Transformers.js model; on WebGPU it falls back to WASM (q8) per batch, noting why. */
  async load(modelId: string, device: TransformersDevice, dtype: ModelDtype): Promise<{ ms: number }> {
    const started = performance.now();
    const primary = await loadTransformers(modelId, device, dtype);
    encoder =
      device === 'webgpu'
        ? new DeviceFallbackEncoder(primary, () => loadTransformers(modelId, 'wasm', 'q8'), ({ cause }) => notices.push(`WebGPU failed (${cause}); continuing on WASM.`))
        : primary;
    return { ms: performance.now() - started };
  },

  /**
   * Loads a model the way the app does (transformers-runtime.ts): each device in an encoder worker of
   * its own, WebGPU first, a fresh WASM worker after a WebGPU failure.
   */
  async loadAsTheAppDoes(modelId: string): Promise<{ ms: number }> {
    const started = performance.now();
    const { loadTransformersEncoder } = await import('../../src/engine/transformers-runtime');
    const manifest = (await (await fetch('/models/manifest.json')).json()) as { models: { id: string; dtypes: ModelDtype[] }[] };
    const dtypes = manifest.models.find((model) => model.id === modelId)?.dtypes ?? [];
    encoder = await loadTransformersEncoder(modelId, '/models/', dtypes, { onProgress: () => {}, onNotice: (message) => notices.push(message) });
    return { ms: performance.now() - started };
  },

  /**
   * Loads a Transformers.js model on WASM (q8) in an encoder worker of its own, as the app starts it
   * (remote-encoder.ts), with `threads` ONNX Runtime threads (default: the app's choice). Says
   * whether that worker is cross-origin isolated and how many threads its runtime uses.
   */
  async loadInEncoderWorker(modelId: string, threads?: number): Promise<{ ms: number; crossOriginIsolated: boolean; threads: number }> {
    const started = performance.now();
    const { RemoteEncoder } = await import('../../src/engine/remote-encoder');
    const remote = await RemoteEncoder.start({
      kind: 'transformers',
      id: modelId,
      modelBase: '/models/',
      ortWasmBase: new URL('/models/onnxruntime-web/', self.location.origin).href,
      device: 'wasm',
      dtype: 'q8',
      ...(threads ? { threads } : {}),
    });
    if (encoder && 'dispose' in encoder) (encoder as { dispose(): void }).dispose();
    encoder = remote;
    return { ms: performance.now() - started, ...remote.runtime };
  },

  /**
   * Loads a model on WASM as the app runs it there (remote-encoder.ts startEncoderPool): a pool of
   * copies in encoder workers of their own, planned for `cores` (default: this machine's). `model`
   * 'use-lite' is the bundled model on TF.js wasm; otherwise a Transformers.js model in q8. Resolves
   * once every copy has loaded, with the threads of each.
   */
  async loadPoolAsTheAppDoes(model: string, cores?: number): Promise<{ ms: number; copies: number; threads: number[]; crossOriginIsolated: boolean }> {
    const started = performance.now();
    const { startEncoderPool } = await import('../../src/engine/remote-encoder');
    const pool = await startEncoderPool(
      model === 'use-lite'
        ? { kind: 'use-lite', modelUrl: new URL('/models/use-lite/', self.location.origin).href, backends: ['wasm'] }
        : { kind: 'transformers', id: model, modelBase: '/models/', ortWasmBase: new URL('/models/onnxruntime-web/', self.location.origin).href, device: 'wasm', dtype: 'q8' },
      undefined,
      { ...(cores ? { cores } : {}), onCopyError: (error) => notices.push(`copy failed: ${String(error)}`) },
    );
    await pool.settled();
    if (encoder && 'dispose' in encoder) (encoder as { dispose(): void }).dispose();
    encoder = pool;
    const copies = pool.copies;
    return { ms: performance.now() - started, copies: copies.length, threads: copies.map((copy) => copy.runtime.threads), crossOriginIsolated: copies[0]!.runtime.crossOriginIsolated };
  },

  /** USE Lite on TF.js wasm in an encoder worker of its own, as the app starts it (worker.ts). */
  async loadUseLiteInEncoderWorker(): Promise<{ ms: number; crossOriginIsolated: boolean; threads: number }> {
    const started = performance.now();
    const { RemoteEncoder } = await import('../../src/engine/remote-encoder');
    const remote = await RemoteEncoder.start({ kind: 'use-lite', modelUrl: new URL('/models/use-lite/', self.location.origin).href, backends: ['wasm'] });
    encoder = remote;
    return { ms: performance.now() - started, ...remote.runtime };
  },

  /** This (lab) worker: cross-origin isolated? ONNX Runtime threads, and TF.js wasm threads if loaded. */
  async runtime(): Promise<{ crossOriginIsolated: boolean; sharedArrayBuffer: boolean; ortThreads: number; tfThreads: number }> {
    const { tfWasmThreads } = await import('../../src/engine/use-lite');
    return {
      crossOriginIsolated: (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true,
      sharedArrayBuffer: typeof SharedArrayBuffer !== 'undefined',
      ortThreads: wasmThreadsInUse(),
      tfThreads: tfWasmThreads(),
    };
  },

  async loadUseLite(): Promise<{ ms: number; backend: string }> {
    const started = performance.now();
    const tf = await import('@tensorflow/tfjs');
    const { UseLiteEncoder } = await import('../../src/engine/use-lite');
    // As the app does (backend.ts): our own WASM files, threaded where the worker is isolated.
    const { selectBackend } = await import('../../src/engine/backend');
    await selectBackend(['wasm']);
    encoder = await UseLiteEncoder.load(new URL('/models/use-lite/', self.location.origin).href);
    return { ms: performance.now() - started, backend: tf.getBackend() };
  },

  /** Embeds in batches of `batchSize`; vectors come back as plain arrays (structured-clone friendly for tests). */
  async embed(texts: string[], batchSize: number, role: TextRole = 'passage', returnVectors = true): Promise<{ ms: number; vectors: number[][] }> {
    if (!encoder) throw new Error('load a model first');
    const started = performance.now();
    const vectors: Float32Array[] = [];
    for (let start = 0; start < texts.length; start += batchSize) vectors.push(...(await encoder.embedBatch(texts.slice(start, start + batchSize), role)));
    const ms = performance.now() - started;
    return { ms, vectors: returnVectors ? vectors.map((v) => Array.from(v)) : [] };
  },

  /** Destroys ONNX Runtime's WebGPU device, as a driver reset would: the next batch must fall back. */
  async loseWebGpuDevice(): Promise<boolean> {
    // Loaded as the app does: the device lives in the primary's encoder worker.
    const primary = encoder instanceof DeviceFallbackEncoder ? encoder.primary : undefined;
    if (primary && 'loseWebGpuDevice' in primary) return (primary as { loseWebGpuDevice(): Promise<boolean> }).loseWebGpuDevice();
    const device = (env.backends.onnx.webgpu as { device?: { destroy(): void } } | undefined)?.device;
    device?.destroy();
    return Boolean(device);
  },

  /**
   * Latency of the feed's ranking over a synthetic catalog of `items` items (random unit embeddings,
   * the real HybridModel and rankFeed, as the engine calls them): one sample per run, in ms. Item
   * vectors are computed once up front, as the engine keeps them between events. `warmup` ranks run
   * first and are returned apart (`cold`): the first ones time V8 compiling the code, not ranking.
   * Then, where the page exposes `gc` (the bench starts Chromium with --expose-gc), the garbage of
   * building the synthetic catalog (100,000 id strings, 200 MB of embeddings) is collected before the
   * timed runs, so that its collection is not charged to whichever rank it happens to fall in.
   */
  async rankLatency(items: number, runs: number, warmup = 0, embeddingDim = 512, k = 10): Promise<{ cold: number[]; samples: number[] }> {
    const { HybridModel } = await import('../../src/core/model/hybrid');
    const { rankFeed } = await import('../../src/core/model/ranking');
    const embeddings = new Float32Array(items * embeddingDim);
    let seed = 12345;
    const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) - 0.5;
    for (let i = 0; i < items; i++) {
      let norm = 0;
      for (let t = 0; t < embeddingDim; t++) norm += (embeddings[i * embeddingDim + t] = random()) ** 2;
      for (let t = 0; t < embeddingDim; t++) embeddings[i * embeddingDim + t]! /= Math.sqrt(norm);
    }
    const W = new Float32Array(32 * embeddingDim).map(() => random() / 8);
    const model = new HybridModel({ itemIds: Array.from({ length: items }, (_, i) => String(i)), embeddings, embeddingDim, factors: 32, W });
    model.itemVectors();
    const popularity = new Float32Array(items).map(() => random() + 0.5);
    const user = new Float32Array(32).map(() => random());
    const exclude = new Set([1, 2, 3]);
    const time = (run: number) => {
      user[run % 32] = random(); // a new event moved u
      const started = performance.now();
      rankFeed({ model, user, k, exclude, popularity, diversity: 0.3, anchors: [{ index: 1, kind: 'like' }] });
      return performance.now() - started;
    };
    const cold = Array.from({ length: warmup }, (_, run) => time(run));
    (globalThis as { gc?: () => void }).gc?.();
    return { cold, samples: Array.from({ length: runs }, (_, run) => time(warmup + run)) };
  },

  notices: (): string[] => [...notices],
  usingFallback: (): boolean => encoder instanceof DeviceFallbackEncoder && encoder.usingFallback,
};

export type EncoderLab = typeof lab;
Comlink.expose(lab);
