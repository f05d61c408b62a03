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
import { RemoteEncoder, startEncoderPool } from './remote-encoder';
import type { TransformersDevice } from './transformers-encoder';
import { hasWebGpuAdapter } from './webgpu-adapter';

/** Loads model `id` from `modelsUrl` (our own origin), with the dtypes the manifest lists for it. */
export async function loadTransformersEncoder(
  id: string,
  modelsUrl: string,
  dtypes: readonly ModelDtype[],
  events: EncoderLoadEvents,
): Promise<SentenceEncoder> {
  const spec = encoderSpec(id);
  if (!spec || spec.runtime !== 'transformers') throw new Error(`${id} is not a Transformers.js model this app knows`);
  const base = new URL(modelsUrl, self.location.origin);
  // Root-relative model base: Transformers.js joins paths itself and would mangle the "//" of an absolute URL.
  const source = (device: TransformersDevice, dtype: ModelDtype) =>
    ({ kind: 'transformers', id, modelBase: base.pathname, ortWasmBase: new URL('onnxruntime-web/', base).href, device, dtype }) as const;
  // WebGPU: one worker (the GPU is shared anyway); WASM: as startEncoderPool plans it (ONNX Runtime's
  // threads in one worker where the page is cross-origin isolated, else copies of one thread).
  const startGpu = (dtype: ModelDtype) => RemoteEncoder.start(source('webgpu', dtype), events.onProgress);
  const startWasm = (dtype: ModelDtype, withProgress: boolean) =>
    startEncoderPool(source('wasm', dtype), withProgress ? events.onProgress : undefined, {
      onCopyError: (error) => console.warn(`A second copy of ${spec.label} did not start; embedding on one.`, error),
    });
  const wasmDtype = dtypeForDevice('wasm', dtypes);
  const gpuDtype = dtypeForDevice('webgpu', dtypes);
  if (gpuDtype && (await hasWebGpuAdapter())) {
    try {
      const primary = await startGpu(gpuDtype);
      if (!wasmDtype) return primary;
      return new DeviceFallbackEncoder(
        primary,
        () => startWasm(wasmDtype, false),
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
  return startWasm(wasmDtype, true);
}
