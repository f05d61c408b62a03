/**
 * Test and benchmark harness for the encoders in a real worker (e2e/lab/encoders.html, not part of
 * the app's UI): the same modules the engine uses, driven step by step so tests can compare vectors
 * across devices and batch sizes, lose the WebGPU device on purpose, and time throughput.
 */
import * as Comlink from 'comlink';
import { env } from '@huggingface/transformers';
import { DeviceFallbackEncoder } from '../core/encoder-fallback';
import { encoderSpec, type ModelDtype, type TextRole } from '../core/encoder-registry';
import type { SentenceEncoder } from '../core/encoder';
import { TransformersEncoder, useLocalModelsOnly, type TransformersDevice } from './transformers-encoder';

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
  async hasWebGpuAdapter(): Promise<boolean> {
    const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
    return Boolean(await gpu?.requestAdapter());
  },

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

  async loadUseLite(): Promise<{ ms: number; backend: string }> {
    const started = performance.now();
    const tf = await import('@tensorflow/tfjs');
    const { UseLiteEncoder } = await import('./ml-runtime');
    if (!(await tf.setBackend('wasm'))) throw new Error('TF.js wasm backend failed to start');
    await tf.ready();
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
    const device = (env.backends.onnx.webgpu as { device?: { destroy(): void } } | undefined)?.device;
    device?.destroy();
    return Boolean(device);
  },

  notices: (): string[] => [...notices],
  usingFallback: (): boolean => encoder instanceof DeviceFallbackEncoder && encoder.usingFallback,
};

export type EncoderLab = typeof lab;
Comlink.expose(lab);
