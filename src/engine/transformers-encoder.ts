/**
 * Transformers.js sentence encoders (feature extraction → mean or CLS pooling → L2 norm), for the
 * models of core/encoder-registry. The same class runs in the worker (devices webgpu, wasm) and in
 * Node for tests, benchmarks and catalog builds (device cpu: onnxruntime-node).
 *
 * Model files are only ever read from our own origin (or, in Node, a local folder): remote models
 * are switched off before anything loads, and the ONNX Runtime WASM files are pointed at our origin
 * too (Transformers.js defaults to a CDN).
 */
import {
  AutoModel,
  AutoTokenizer,
  env,
  mean_pooling,
  type PreTrainedModel,
  type PreTrainedTokenizer,
  type ProgressInfo,
  type Tensor,
} from '@huggingface/transformers';
import { embedInLengthSortedRuns, RUN_SIZE, type SentenceEncoder } from '../core/encoder';
import type { EncoderSpec, ModelDtype, TextRole } from '../core/encoder-registry';

export type TransformersDevice = 'webgpu' | 'wasm' | 'cpu';

/**
 * The ONNX Runtime Web builds we serve, per device. Each device runs in an encoder worker (an ONNX
 * Runtime instance) of its own, so each can have the build that suits it:
 *  - webgpu: the build Transformers.js picks (asyncify: WASM and WebGPU in one binary);
 *  - wasm: the plain WASM build, without asyncify's instrumentation of every call that may suspend:
 *    measured here 1.1-1.7x the items/s of the asyncify build on WASM (bench encoders).
 */
export const ORT_WASM_BUILDS = {
  webgpu: { mjs: 'ort-wasm-simd-threaded.asyncify.mjs', wasm: 'ort-wasm-simd-threaded.asyncify.wasm' },
  wasm: { mjs: 'ort-wasm-simd-threaded.mjs', wasm: 'ort-wasm-simd-threaded.wasm' },
} as const;

/** Every ONNX Runtime Web file of ORT_WASM_BUILDS (`npm run models` copies them to public/models/onnxruntime-web/). */
export const ORT_WASM_FILES: Readonly<Record<string, string>> = {
  mjs: ORT_WASM_BUILDS.webgpu.mjs,
  wasm: ORT_WASM_BUILDS.webgpu.wasm,
  wasmOnlyMjs: ORT_WASM_BUILDS.wasm.mjs,
  wasmOnlyWasm: ORT_WASM_BUILDS.wasm.wasm,
};

export interface LocalModelLocation {
  /** URL (browser) or folder (Node) holding <model id>/config.json etc.; ends with '/'. */
  modelBase: string;
  /** Browser only: URL of the folder holding ORT_WASM_FILES; ends with '/'. */
  ortWasmBase?: string;
  /**
   * Browser only: the one device this ONNX Runtime instance will run (it loads one build, once):
   * 'wasm' takes the faster WASM-only build; otherwise (default) the build for WebGPU and WASM.
   */
  device?: TransformersDevice;
  /** Browser only: WASM threads wanted (default wasmThreadCount()); 1 where threads are unavailable. */
  threads?: number;
}

/** At most this many ONNX Runtime WASM threads: the encoder runs beside the app's other workers. */
export const MAX_WASM_THREADS = 4;

/**
 * Whether this page or worker can run WASM threads: it must be cross-origin isolated (COOP + COEP on
 * the page and on this worker's own script; see csp.ts), which is what makes SharedArrayBuffer exist.
 * A widget in a host page that is not isolated answers false and runs single-threaded.
 */
export function canUseWasmThreads(): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
}

/**
 * ONNX Runtime Web threads: every logical core up to MAX_WASM_THREADS when isolated (its own default,
 * ceil(cores / 2), leaves one of two cores idle), else 1. `requested` lowers it (tests: 1).
 */
export function wasmThreadCount(requested?: number): number {
  if (!canUseWasmThreads()) return 1;
  const cores = (typeof navigator !== 'undefined' && navigator.hardwareConcurrency) || 1;
  return Math.max(1, Math.min(requested ?? cores, cores, MAX_WASM_THREADS));
}

/** Points Transformers.js at our own files and forbids the hub. Call before loading any model. */
export function useLocalModelsOnly(location: LocalModelLocation): void {
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = location.modelBase;
  const wasm = env.backends.onnx.wasm;
  if (location.ortWasmBase && wasm) {
    // Transformers.js would otherwise re-serve the WASM factory from a blob: URL, which our CSP
    // (script-src 'self') rightly refuses; ONNX Runtime then imports it from our origin itself.
    env.useWasmCache = false;
    // Model files are kept in Transformers.js's Cache Storage ('transformers-cache'); the HTTP cache
    // would only hold second copies, and Chromium fails (ERR_CACHE_WRITE_FAILURE, "network error")
    // when two reads of the same large file race to write it.
    env.fetch = (input: RequestInfo | URL, init?: RequestInit) => fetch(input, { ...init, cache: 'no-store' });
    const build = location.device === 'wasm' ? ORT_WASM_BUILDS.wasm : ORT_WASM_BUILDS.webgpu;
    wasm.wasmPaths = { mjs: location.ortWasmBase + build.mjs, wasm: location.ortWasmBase + build.wasm };
    // Set explicitly, before the runtime starts (it reads this once): threads need cross-origin
    // isolation; without it 1, so ONNX Runtime never reaches for SharedArrayBuffer. Its thread
    // workers load the build's .mjs from our origin (worker-src 'self').
    wasm.numThreads = wasmThreadCount(location.threads);
  }
}

/** The ONNX Runtime WASM threads in use in this scope (after a model has loaded: the runtime may have lowered it). */
export function wasmThreadsInUse(): number {
  return env.backends.onnx.wasm?.numThreads ?? 1;
}

export interface ModelLoadProgress {
  /** The file being fetched, relative to the model folder. */
  file: string;
  loaded: number;
  total: number;
}

export interface TransformersEncoderOptions {
  device: TransformersDevice;
  dtype: ModelDtype;
  onProgress?: (progress: ModelLoadProgress) => void;
  /** Node only (device cpu): onnxruntime-node intra-op threads; default: its own (one per physical core). */
  nativeThreads?: number;
  /** Texts per model run within one embedBatch call (core/encoder RUN_SIZE on wasm and cpu; on webgpu the whole batch: there a run's fixed cost dominates, not padding). */
  runSize?: number;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class ModelLoadError extends Error {
  override name = 'ModelLoadError';
}

export class TransformersEncoder implements SentenceEncoder {
  readonly id: string;
  readonly dimension: number;

  private constructor(
    readonly spec: EncoderSpec,
    readonly device: TransformersDevice,
    readonly dtype: ModelDtype,
    private readonly tokenizer: PreTrainedTokenizer,
    private readonly model: PreTrainedModel,
    private readonly runSize: number,
  ) {
    this.id = spec.id;
    this.dimension = spec.dimension;
  }

  /**
   * Loads tokenizer and weights for `spec` from the configured local location (see useLocalModelsOnly).
   * A missing or corrupt file rejects with a ModelLoadError that names it.
   */
  static async load(spec: EncoderSpec, options: TransformersEncoderOptions): Promise<TransformersEncoder> {
    if (spec.runtime !== 'transformers') throw new Error(`${spec.id} is not a Transformers.js model`);
    const weights = spec.weights[options.dtype];
    if (!weights) throw new ModelLoadError(`${spec.id} has no ${options.dtype} weights`);
    const progress_callback = (info: ProgressInfo) => {
      if (info.status === 'progress') options.onProgress?.({ file: info.file, loaded: info.loaded, total: info.total });
    };
    let tokenizer: PreTrainedTokenizer;
    try {
      tokenizer = await AutoTokenizer.from_pretrained(spec.id, { local_files_only: true, progress_callback });
    } catch (error) {
      throw new ModelLoadError(`Could not load the tokenizer of ${spec.id} (tokenizer.json, tokenizer_config.json): ${errorMessage(error)}`);
    }
    let model: PreTrainedModel;
    try {
      model = await AutoModel.from_pretrained(spec.id, {
        local_files_only: true,
        device: options.device,
        dtype: options.dtype,
        progress_callback,
        ...(options.nativeThreads ? { session_options: { intraOpNumThreads: options.nativeThreads } } : {}),
      });
    } catch (error) {
      throw new ModelLoadError(`Could not load ${spec.id}/${weights} on ${options.device}: ${errorMessage(error)}`);
    }
    return new TransformersEncoder(
      spec,
      options.device,
      options.dtype,
      tokenizer,
      model,
      options.runSize ?? (options.device === 'webgpu' ? Infinity : RUN_SIZE),
    );
  }

  async embedBatch(texts: readonly string[], role: TextRole = 'passage'): Promise<Float32Array[]> {
    return embedInLengthSortedRuns(texts, this.runSize, (run) => this.embedPadded(run, role));
  }

  /** One model run over `texts`, padded to the longest. */
  private async embedPadded(texts: readonly string[], role: TextRole): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    const prefix = this.spec.prefixes[role];
    // Truncation at the model's token limit bounds the cost of a 10,000-character text.
    const inputs = this.tokenizer(
      texts.map((text) => prefix + text),
      { padding: true, truncation: true, max_length: this.spec.maxTokens },
    ) as Record<string, Tensor>;
    const outputs = (await this.model(inputs)) as Record<string, Tensor>;
    const owned: Tensor[] = [...Object.values(inputs), ...Object.values(outputs)];
    try {
      let hidden = outputs.last_hidden_state;
      if (!hidden) throw new Error(`${this.spec.id} returned no last_hidden_state`);
      if (hidden.type !== 'float32') owned.push((hidden = hidden.to('float32')));
      const pooled = this.spec.pooling === 'mean' ? mean_pooling(hidden, inputs.attention_mask!) : hidden.slice(null, 0, null);
      const unit = pooled.normalize(2, -1);
      owned.push(pooled, unit);
      const flat = unit.data as Float32Array;
      const width = unit.dims[1]!;
      if (width !== this.dimension) throw new Error(`${this.spec.id} gave ${width}-d vectors, expected ${this.dimension}`);
      return texts.map((_, row) => flat.slice(row * width, (row + 1) * width));
    } finally {
      for (const tensor of owned) tensor.dispose();
    }
  }

  async dispose(): Promise<void> {
    await this.model.dispose();
  }
}
