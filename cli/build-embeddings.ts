/**
 * Precomputes a catalog's embeddings in Node with the app's own encoder code (core/prebuilt-embeddings
 * describes the file). Used by `npm run catalog -- --embeddings`; the app loads the file on a first
 * visit instead of reading the whole catalog itself, and checks a sample against its own encoder.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { SentenceEncoder } from '../src/core/encoder';
import { encoderSpec, type ModelDtype } from '../src/core/encoder-registry';
import { parseCatalogText } from '../src/core/catalog';
import { textHash } from '../src/core/hash';
import { encoderText } from '../src/core/item-text';
import { encodePrebuilt, prebuiltEmbeddingsUrl } from '../src/core/prebuilt-embeddings';
import { USE_LITE_ID } from '../src/engine/encoder-ids';
import { useNodeBackend } from './data/tf-node';
import { PUBLIC_MODELS_DIR } from './model-paths';

/** The batch the app's worker uses for USE Lite: same padding, same numbers. */
const BATCH_SIZE = 32;

/**
 * The encoder `id` as the app runs it, in Node. USE Lite runs on TF.js's WASM backend, as in the
 * browser without WebGPU; a Transformers.js model runs on onnxruntime-node with the q8 weights the
 * browser uses on WASM, read from public/models/ (filled by `npm run models`).
 */
export async function loadNodeEncoder(id: string, dtype: ModelDtype = 'q8'): Promise<SentenceEncoder> {
  if (id === USE_LITE_ID) {
    await useNodeBackend('wasm');
    const { loadUseLiteFromDisk } = await import('./node-models');
    return loadUseLiteFromDisk();
  }
  const spec = encoderSpec(id);
  if (!spec) throw new Error(`unknown encoder "${id}"`);
  const { TransformersEncoder, useLocalModelsOnly } = await import('../src/engine/transformers-encoder');
  useLocalModelsOnly({ modelBase: PUBLIC_MODELS_DIR + '/' });
  return TransformersEncoder.load(spec, { device: 'cpu', dtype });
}

export interface BuildProgress {
  done: number;
  total: number;
  seconds: number;
}

/** Embeds every valid item of the catalog at `catalogPath` and writes the file next to it; returns its path. */
export async function buildPrebuiltEmbeddings(options: {
  catalogPath: string;
  encoder: SentenceEncoder;
  out?: string;
  onProgress?: (progress: BuildProgress) => void;
}): Promise<{ path: string; count: number; bytes: number }> {
  const { encoder } = options;
  const catalog = parseCatalogText(await readFile(options.catalogPath, 'utf8'));
  // Rows are keyed by the text the encoder reads (core/item-text, as the engine composes it): one row
  // per distinct text, in the app's catalog order.
  const texts = [...new Set(catalog.items.map((item) => encoderText(item)))];
  const started = performance.now();
  const rows: { textHash: string; vector: Float32Array }[] = [];
  for (let start = 0; start < texts.length; start += BATCH_SIZE) {
    const batch = texts.slice(start, start + BATCH_SIZE);
    const vectors = await encoder.embedBatch(batch, 'passage');
    batch.forEach((text, i) => rows.push({ textHash: textHash(text), vector: vectors[i]! }));
    options.onProgress?.({ done: rows.length, total: texts.length, seconds: (performance.now() - started) / 1000 });
  }
  const bytes = encodePrebuilt({ modelId: encoder.id, dimension: encoder.dimension, catalog: catalog.name, rows });
  const path = options.out ?? prebuiltEmbeddingsUrl(options.catalogPath, encoder.id);
  await writeFile(path, bytes);
  return { path, count: rows.length, bytes: bytes.length };
}

/** One progress line: on a terminal rewritten in place, otherwise every tenth of the way. */
export function progressPrinter(label: string): (progress: BuildProgress) => void {
  let lastTenth = -1;
  return ({ done, total, seconds }) => {
    const rate = done / Math.max(seconds, 1e-3);
    const line = `${label}: ${done}/${total} texts, ${rate.toFixed(0)}/s, ${((total - done) / rate).toFixed(0)} s left`;
    if (process.stdout.isTTY) {
      process.stdout.write(`\r${line}   ${done === total ? '\n' : ''}`);
    } else if (Math.floor((10 * done) / total) > lastTenth || done === total) {
      lastTenth = Math.floor((10 * done) / total);
      console.log(line);
    }
  };
}

export function describeBuilt({ path, count, bytes }: { path: string; count: number; bytes: number }): string {
  return `embeddings: ${count} rows written to ${path} (${basename(path)}, ${(bytes / 1024 / 1024).toFixed(1)} MB)`;
}
