/**
 * The committed precomputed vectors of the default catalog (public/catalog/goodbooks-10k.use-lite-512.emb)
 * agree with the catalog and with the encoder: one row per encoder text of the catalog, in catalog
 * order, and 8 random rows (fixed seed) re-embedded with the app's USE Lite code in Node at cosine
 * ≥ 0.99 (the check the app itself makes on a first visit). When this fails after a change to the
 * catalog or to core/item-text, rebuild the file: `npm run catalog -- --embeddings`.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseCatalogText } from '../src/core/catalog';
import { seededUniform } from '../src/core/random';
import { textHash } from '../src/core/hash';
import { encoderText } from '../src/core/item-text';
import { decodePrebuilt, prebuiltEmbeddingsUrl, prebuiltRow } from '../src/core/prebuilt-embeddings';
import { cosine } from '../src/core/vector';
import { USE_LITE_ID } from '../src/engine/encoder-ids';
import { loadNodeEncoder } from './build-embeddings';

const CATALOG = 'public/catalog/goodbooks-10k.json';

describe('the shipped precomputed vectors of the default catalog', () => {
  const catalog = parseCatalogText(readFileSync(CATALOG, 'utf8'));
  const bytes = readFileSync(prebuiltEmbeddingsUrl(CATALOG, USE_LITE_ID));
  const file = decodePrebuilt(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const texts = [...new Set(catalog.items.map((item) => encoderText(item)))];

  it('stays small enough to commit, and is USE Lite’s', () => {
    expect(bytes.byteLength).toBeLessThan(6 * 1024 * 1024);
    expect(file.modelId).toBe(USE_LITE_ID);
    expect(file.dimension).toBe(512);
    expect(file.catalog).toBe(catalog.name);
  });

  it('has one row per encoder text of the catalog, in catalog order (rebuild it if the catalog or item-text changed)', () => {
    expect(file.textHashes).toEqual(texts.map(textHash));
  });

  it('holds what the encoder computes for those texts', async () => {
    const uniform = seededUniform(2026);
    const rows = Array.from({ length: 8 }, () => Math.floor(uniform() * texts.length));
    const encoder = await loadNodeEncoder(USE_LITE_ID);
    const vectors = await encoder.embedBatch(rows.map((row) => texts[row]!), 'passage');
    rows.forEach((row, i) => expect(cosine(vectors[i]!, prebuiltRow(file, row)), texts[row]).toBeGreaterThanOrEqual(0.99));
  });
});
