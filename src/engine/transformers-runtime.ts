/**
 * Loading a Transformers.js text model, each device in an encoder worker of its own (remote-encoder.ts):
 * WebGPU when the browser has an adapter, else WASM. A WebGPU failure mid-batch falls back to WASM for
 * that batch and every later one, in a fresh worker: after a lost device, ONNX Runtime's WebGPU state
 * breaks even a WASM session created in the same runtime instance.
 */
import type { SentenceEncoder } from '../core/encoder';
import { DeviceFallbackEncoder } from '../core/encoder-fallback';
import { dtypeForDevice, encoderSpec, type ModelDtype } from '../core/encoder-registry';
import type { EncoderLoadEvents } from './engine';
import { RemoteEncoder } from './remote-encoder';
import type { TransformersDevice } from './transformers-encoder';

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
  const start = (device: TransformersDevice, dtype: ModelDtype, withProgress: boolean) =>
    RemoteEncoder.start(
      // Root-relative model base: Transformers.js joins paths itself and would mangle the "//" of an absolute URL.
      { kind: 'transformers', id, modelBase: base.pathname, ortWasmBase: new URL('onnxruntime-web/', base).href, device, dtype },
      withProgress ? events.onProgress : undefined,
    );
  const wasmDtype = dtypeForDevice('wasm', dtypes);
  const gpuDtype = dtypeForDevice('webgpu', dtypes);
  if (gpuDtype && (await hasWebGpuAdapter())) {
    try {
      const primary = await start('webgpu', gpuDtype, true);
      if (!wasmDtype) return primary;
      return new DeviceFallbackEncoder(
        primary,
        () => start('wasm', wasmDtype, false),
        ({ cause }) => {
          primary.dispose();
          // ONNX Runtime's messages run over several lines: one line in the warnings list.
          events.onNotice(`${spec.label}: WebGPU failed (${cause.replace(/\s+/g, ' ').trim()}); continuing on WASM.`);
        },
      );
    } catch (error) {
      if (!wasmDtype) throw error;
      events.onNotice(`${spec.label} could not start on WebGPU (${error instanceof Error ? error.message : String(error)}); using WASM.`);
    }
  }
  if (!wasmDtype) throw new Error(`${id} has no weights this browser can run`);
  return start('wasm', wasmDtype, true);
}
