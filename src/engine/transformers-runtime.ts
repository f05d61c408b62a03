/**
 * Loading a Transformers.js text model in the worker, as one lazily loaded chunk (Transformers.js and
 * ONNX Runtime Web are large and most visits never need them). WebGPU when the browser has an
 * adapter, else WASM; a WebGPU failure mid-batch falls back to WASM for that batch and every later one.
 */
import type { SentenceEncoder } from '../core/encoder';
import { DeviceFallbackEncoder } from '../core/encoder-fallback';
import { dtypeForDevice, encoderSpec, type ModelDtype } from '../core/encoder-registry';
import type { EncoderLoadEvents } from './engine';
import { TransformersEncoder, useLocalModelsOnly } from './transformers-encoder';

async function hasWebGpuAdapter(): Promise<boolean> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  try {
    return Boolean(await gpu?.requestAdapter());
  } catch {
    return false;
  }
}

/** Loads model `id` from `modelsUrl` (our own origin), with the dtypes the manifest lists for it. */
export async function loadTransformersEncoder(id: string, modelsUrl: string, dtypes: readonly ModelDtype[], events: EncoderLoadEvents): Promise<SentenceEncoder> {
  const spec = encoderSpec(id);
  if (!spec || spec.runtime !== 'transformers') throw new Error(`${id} is not a Transformers.js model this app knows`);
  const base = new URL(modelsUrl, self.location.origin);
  // Root-relative model base: Transformers.js joins paths itself and would mangle the "//" of an absolute URL.
  useLocalModelsOnly({ modelBase: base.pathname, ortWasmBase: new URL('onnxruntime-web/', base).href });
  const onProgress = events.onProgress;
  const wasmDtype = dtypeForDevice('wasm', dtypes);
  const gpuDtype = dtypeForDevice('webgpu', dtypes);
  if (gpuDtype && (await hasWebGpuAdapter())) {
    try {
      const primary = await TransformersEncoder.load(spec, { device: 'webgpu', dtype: gpuDtype, onProgress });
      if (!wasmDtype) return primary;
      return new DeviceFallbackEncoder(
        primary,
        () => TransformersEncoder.load(spec, { device: 'wasm', dtype: wasmDtype }),
        ({ cause }) => events.onNotice(`${spec.label}: WebGPU failed (${cause}); continuing on WASM.`),
      );
    } catch (error) {
      if (!wasmDtype) throw error;
      events.onNotice(`${spec.label} could not start on WebGPU (${error instanceof Error ? error.message : String(error)}); using WASM.`);
    }
  }
  if (!wasmDtype) throw new Error(`${id} has no weights this browser can run`);
  return TransformersEncoder.load(spec, { device: 'wasm', dtype: wasmDtype, onProgress });
}
