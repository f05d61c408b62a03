/** File readers for the quality bench and train-global: they read files and hand text to src/core/eval/data.ts. */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SentenceEncoder } from '../../src/core/encoder';
import { embedAll } from '../../src/core/encoder';
import { parseInteractionCsv, parseMovieLens100k, type InteractionData } from '../../src/core/eval/data';

export type DataFormat = 'movielens-100k' | 'csv';

export async function readMovieLens100k(dir: string): Promise<InteractionData> {
  // u.item is Latin-1 (accented titles); u.data is ASCII.
  const [uData, uItem] = await Promise.all([readFile(join(dir, 'u.data'), 'utf8'), readFile(join(dir, 'u.item'), 'latin1')]);
  return parseMovieLens100k(uData, uItem);
}

export async function readCsvData(interactionsFile: string, itemsFile: string): Promise<InteractionData> {
  const [interactions, items] = await Promise.all([readFile(interactionsFile, 'utf8'), readFile(itemsFile, 'utf8')]);
  return parseInteractionCsv(interactions, items);
}

/**
 * Embeds the texts with the encoder, cached under `cacheDir` by (encoder id, hash of all texts): the
 * first run of the bench pays for the encoder, later runs read 3.4 MB from disk.
 */
export async function cachedEmbeddings(
  encoder: () => Promise<SentenceEncoder>,
  encoderId: string,
  dimension: number,
  texts: readonly string[],
  cacheDir = '.cache',
): Promise<{ embeddings: Float32Array; fromCache: boolean }> {
  const hash = createHash('sha256').update(encoderId).update('\u0000').update(texts.join('\u0000')).digest('hex').slice(0, 16);
  const file = join(cacheDir, `embeddings-${encoderId}-${hash}.f32`);
  try {
    const buffer = await readFile(file);
    if (buffer.byteLength === texts.length * dimension * 4) {
      return { embeddings: new Float32Array(buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength)), fromCache: true };
    }
  } catch {
    // not cached yet
  }
  const vectors = await embedAll(await encoder(), texts, { batchSize: 32 });
  const embeddings = new Float32Array(texts.length * dimension);
  vectors.forEach((vector, i) => embeddings.set(vector, i * dimension));
  await mkdir(cacheDir, { recursive: true });
  await writeFile(file, Buffer.from(embeddings.buffer));
  return { embeddings, fromCache: false };
}
