/**
 * TF.js backend choice at run time: webgpu → webgl → wasm → cpu, the first that works.
 * Like tfjs-core's registry: every backend behind one interface, the choice made by probing.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import type { BackendName, BackendStatus } from './api';
import { BACKEND_LABELS, BACKEND_ORDER } from './backend-order';
import { hasWebGpuAdapter } from './webgpu-adapter';

export { BACKEND_LABELS, BACKEND_ORDER };

// The wasm binaries are served from our own origin (hashed by Vite), never from a CDN.
setWasmPaths({
  'tfjs-backend-wasm.wasm': wasmPlain,
  'tfjs-backend-wasm-simd.wasm': wasmSimd,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedSimd,
});
// TF.js stays on its single-threaded SIMD build, even in cross-origin isolated workers (where it would
// pick its threaded build by itself). Measured here (Chromium 156, tfjs-backend-wasm 4.22): bundled,
// the threaded build's thread workers die on start ("ReferenceError: e is not defined": each one
// re-evaluates the factory's source outside its closure), so the backend never starts; with that
// patched, its XNNPACK pool still ran 1 thread (getThreadsCount() = 1 even after asking for 2), USE
// Lite was no faster, and it kept 8 idle thread workers per TF.js instance and needed blob: in
// script-src. Threads are for ONNX Runtime (transformers-encoder.ts).
tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);

/** Why a backend should not even be tried here, or undefined to try it. */
async function precheck(name: BackendName): Promise<string | undefined> {
  if (name === 'webgpu') {
    if (!('gpu' in navigator)) return 'this browser has no WebGPU';
    // Without an adapter TF.js fails with "Cannot read properties of null (reading 'features')": say what it means.
    if (!(await hasWebGpuAdapter())) return 'no WebGPU adapter (no usable GPU, or WebGPU is turned off in this browser)';
  }
  if (name === 'webgl') {
    if (typeof OffscreenCanvas === 'undefined') return 'no OffscreenCanvas in workers';
    const gl = new OffscreenCanvas(1, 1).getContext('webgl2');
    if (!gl) return 'no WebGL 2';
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = info ? String(gl.getParameter(info.UNMASKED_RENDERER_WEBGL)) : '';
    // Measured here: software WebGL (SwiftShader) runs our encoder 70-100x slower than WASM.
    if (/swiftshader|llvmpipe|software/i.test(renderer)) return `WebGL is software-rendered (${renderer})`;
  }
  return undefined;
}

/** Makes `name` the active backend if it initialises and computes correctly. */
async function tryBackend(name: BackendName): Promise<string | undefined> {
  try {
    if (!(await tf.setBackend(name))) return 'failed to initialise';
    await tf.ready();
    // A tiny op with a known answer: a backend that initialises but computes garbage is useless.
    const sum = tf.tidy(() => tf.add(tf.tensor1d([1, 2]), tf.tensor1d([3, 4])));
    const values = await sum.data();
    sum.dispose();
    if (values[0] !== 4 || values[1] !== 6) return 'self-test returned wrong values';
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** Chooses the first working backend from `order`; records why each earlier one was passed over. */
export async function selectBackend(order: readonly BackendName[] = BACKEND_ORDER): Promise<BackendStatus> {
  const skipped: BackendStatus['skipped'] = [];
  for (const name of order) {
    const reason = (await precheck(name)) ?? (await tryBackend(name));
    if (reason === undefined) return { name, label: BACKEND_LABELS[name], skipped };
    skipped.push({ name, reason });
  }
  throw new Error(`No TensorFlow.js backend works here: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}

/** After a failure on the active backend, moves to the next one in the order. */
export async function fallBackFrom(current: BackendName, cause: string): Promise<BackendStatus> {
  const rest = BACKEND_ORDER.slice(BACKEND_ORDER.indexOf(current) + 1);
  const status = await selectBackend(rest);
  return { ...status, skipped: [{ name: current, reason: cause }, ...status.skipped] };
}
