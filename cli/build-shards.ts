/**
 * Precomputed embeddings for catalogs too large for one file (issue 21): `npm run catalog --
 * --embeddings --catalog PATH [--shard-items 50000]` writes, for a catalog of more than --shard-items
 * items (or any size with --shards), the vectors as shards (core/index/shards.ts,
 * `<catalog>.<model id>.shard-<n>.emb`, one row per catalog item in catalog order) and the text
 * index's sign codes (core/index/codes-file.ts, `<catalog>.<model id>.text-index`), so a device fetches
 * the shards it needs and never encodes the codes of a million vectors itself. The shards are embedded
 * and written one at a time: memory holds one shard's vectors and the codes.
 *
 * Beside them, the catalog itself in the form a device keeps at scale (writeCatalogShards): its columns
 * (`<catalog>.columns`, core/catalog-columns.ts: ids, titles, popularity, year, genres, text hashes)
 * and its rows in shards of the same items (`<catalog>.rows-<n>.bin`, core/catalog-rows.ts).
 */
import { readFile, writeFile } from 'node:fs/promises';
import type { SentenceEncoder } from '../src/core/encoder';
import { parseCatalogText, type Catalog, type CatalogItem } from '../src/core/catalog';
import { decodeColumns, encodeColumns } from '../src/core/catalog-columns';
import { columnsHeadUrl, encodeColumnsHead } from '../src/core/catalog-columns-head';
import { columnsUrl, encodeRowShard, rowShardUrl } from '../src/core/catalog-rows';
import { textHash } from '../src/core/hash';
import { encoderText } from '../src/core/item-text';
import { catalogFingerprint } from '../src/core/model/identity';
import { encodeIndexFile, indexFileUrl, textSignBits } from '../src/core/index/codes-file';
import { int8Rows } from '../src/core/index/rows';
import { decodeShard, encodeShardFromFloats, planShards, shardUrl, SHARD_ITEMS } from '../src/core/index/shards';
import { encodeSign, signCodebook, type SignCodes } from '../src/core/index/sign';
import type { BuildProgress } from './build-embeddings';

const BATCH_SIZE = 32;
/** The sign codes' rotation seed: any fixed value; the file carries the rotation itself. */
const SIGN_SEED = 7;

export interface ShardedBuild {
  shards: string[];
  /** The catalog's columns file and row shards (writeCatalogShards). */
  catalogFiles: string[];
  indexPath: string;
  count: number;
  bytes: number;
}

export async function buildShardedEmbeddings(options: {
  catalogPath: string;
  encoder: SentenceEncoder;
  perShard?: number;
  onProgress?: (progress: BuildProgress) => void;
}): Promise<ShardedBuild> {
  const { encoder, catalogPath } = options;
  const catalog = parseCatalogText(await readFile(catalogPath, 'utf8'));
  const items = catalog.items;
  const fingerprint = catalogFingerprint(items.map((item) => item.id));
  const plan = planShards(items.length, options.perShard ?? SHARD_ITEMS);
  const dim = encoder.dimension;
  const book = signCodebook(dim, textSignBits(dim), SIGN_SEED);
  const width = book.bits / 8;
  const codes: SignCodes = { codes: new Uint8Array(items.length * width), scales: new Float32Array(items.length), norms: new Float32Array(items.length) };
  const started = performance.now();
  const shards: string[] = [];
  let bytes = 0;
  let done = 0;
  for (const p of plan) {
    const rows: { textHash: string; vector: Float32Array }[] = [];
    const texts = items.slice(p.itemStart, p.itemStart + p.itemCount).map((item) => encoderText(item));
    for (let start = 0; start < texts.length; start += BATCH_SIZE) {
      const batch = texts.slice(start, start + BATCH_SIZE);
      const vectors = await encoder.embedBatch(batch, 'passage');
      batch.forEach((text, i) => rows.push({ textHash: textHash(text), vector: vectors[i]! }));
      done += batch.length;
      options.onProgress?.({ done, total: items.length, seconds: (performance.now() - started) / 1000 });
    }
    const info = {
      modelId: encoder.id,
      catalogFingerprint: fingerprint,
      catalog: catalog.name,
      shard: p.shard,
      shards: plan.length,
      itemStart: p.itemStart,
      totalItems: items.length,
    };
    const file = await encodeShardFromFloats(info, rows, dim);
    const path = shardUrl(catalogPath, encoder.id, p.shard);
    await writeFile(path, file);
    shards.push(path);
    bytes += file.length;
    // The codes of the rows as a device reads them (int8 + scale), not of the float vectors.
    const shard = await decodeShard(file, { modelId: encoder.id, catalogFingerprint: fingerprint, shard: p.shard });
    const part = encodeSign(book, int8Rows(shard.codes, shard.scales, dim));
    codes.codes.set(part.codes, p.itemStart * width);
    codes.scales.set(part.scales, p.itemStart);
    codes.norms.set(part.norms, p.itemStart);
  }
  const index = await encodeIndexFile({ vectors: 'text', modelId: encoder.id, catalogFingerprint: fingerprint }, { kind: 'sign', codebook: book, codes });
  const indexPath = indexFileUrl(catalogPath, encoder.id, 'text');
  await writeFile(indexPath, index);
  const catalogFiles = await writeCatalogShards(catalogPath, catalog, options.perShard ?? SHARD_ITEMS);
  return { shards, indexPath, catalogFiles, count: items.length, bytes: bytes + index.length };
}

/** Writes a validated catalog's columns, their head and row shards next to it; the paths written, columns and head first. */
export async function writeCatalogShards(
  catalogPath: string,
  catalog: Pick<Catalog, 'name' | 'license' | 'attribution'> & { items: readonly CatalogItem[] },
  perShard = SHARD_ITEMS,
): Promise<string[]> {
  const info = {
    name: catalog.name,
    rowShardItems: perShard,
    ...(catalog.license ? { license: catalog.license } : {}),
    ...(catalog.attribution ? { attribution: catalog.attribution } : {}),
  };
  const file = await encodeColumns(info, catalog.items);
  // Read back as a device reads it: a catalog the device would refuse (two ids alike) fails here, at the publisher.
  const columns = await decodeColumns(file, undefined, columnsUrl(catalogPath));
  const paths = [columnsUrl(catalogPath), columnsHeadUrl(columnsUrl(catalogPath))];
  await writeFile(paths[0]!, file);
  // The head: which columns are current, and the most popular items (a device's first feed before the columns).
  await writeFile(paths[1]!, encodeColumnsHead(columns, file.length));
  for (const p of planShards(catalog.items.length, perShard)) {
    const path = rowShardUrl(catalogPath, p.shard);
    await writeFile(path, await encodeRowShard(columns, p.shard, catalog.items.slice(p.itemStart, p.itemStart + p.itemCount)));
    paths.push(path);
  }
  return paths;
}
