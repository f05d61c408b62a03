/**
 * A small catalog at scale for the engine's scale tests (engine/scale.test.ts, engine/scale-readahead.test.ts):
 * 3,000 items in 25 clusters of 64-d vectors, the publisher's shard and text index for them, OPFS directories
 * in memory, and prepare hooks that serve the files.
 */
import type { CatalogItem } from '../../core/catalog';
import { CatalogIndex } from '../../core/catalog-index';
import { encodeIndexFile, indexFileUrl, textSignBits } from '../../core/index/codes-file';
import { int8Rows } from '../../core/index/rows';
import { decodeShard, encodeShardFromFloats, shardUrl } from '../../core/index/shards';
import { encodeSign, signCodebook } from '../../core/index/sign';
import { gaussianSource, seededUniform } from '../../core/random';
import { normalized } from '../../core/vector';
import { memoryDirectory, type SyncDirectory } from '../../storage/opfs-vectors';
import type { PrepareHooks, ScaleStorage } from '../scale';

export const n = 3000;
export const dim = 64;
export const modelId = 'use-lite-test';
export const catalogUrl = 'https://shop.test/catalog/shop.json';

export function catalogOf(changed: number[] = []): CatalogIndex {
  const items: CatalogItem[] = Array.from({ length: n }, (_, i) => ({
    id: `i${i}`,
    title: `Item ${i}`,
    text: changed.includes(i) ? `Item ${i}, rewritten` : `Item ${i} of cluster ${i % 25}`,
    popularity: (i * 7919) % 1000,
  }));
  return new CatalogIndex(items);
}

/** The publisher's files for `catalog` (cli/build-shards.ts writes the same): one shard and the text index. */
export async function publish(catalog: CatalogIndex): Promise<{ files: Map<string, Uint8Array>; vectors: Float32Array[] }> {
  const normal = gaussianSource(seededUniform(17));
  const centres = Array.from({ length: 25 }, () => Float32Array.from({ length: dim }, () => normal()));
  const vectors = Array.from({ length: n }, (_, i) => normalized(centres[i % 25]!.map((x) => x + 0.8 * normal())));
  const fingerprint = catalog.fingerprint();
  const shard = await encodeShardFromFloats(
    { modelId, catalogFingerprint: fingerprint, shard: 0, shards: 1, itemStart: 0, totalItems: n },
    vectors.map((vector, i) => ({ textHash: catalog.hashes[i]!, vector })),
    dim,
  );
  const decoded = await decodeShard(shard, { modelId, catalogFingerprint: fingerprint, shard: 0 });
  const book = signCodebook(dim, textSignBits(dim), 7);
  const index = await encodeIndexFile(
    { vectors: 'text', modelId, catalogFingerprint: fingerprint },
    { kind: 'sign', codebook: book, codes: encodeSign(book, int8Rows(decoded.codes, decoded.scales, dim)) },
  );
  const files = new Map<string, Uint8Array>([
    [shardUrl(catalogUrl, modelId, 0), shard],
    [indexFileUrl(catalogUrl, modelId, 'text'), index],
  ]);
  // The rows as the device reads them (int8 + scale), the exact reference's vectors.
  const stored = Array.from({ length: n }, (_, i) => Float32Array.from(decoded.codes.subarray(i * dim, (i + 1) * dim), (c) => c * decoded.scales[i]!));
  return { files, vectors: stored };
}

/** Memory directories by path (OPFS in the worker), and the requests made. */
export function storage(): ScaleStorage & { dirs: Map<string, SyncDirectory> } {
  const dirs = new Map<string, SyncDirectory>();
  return {
    dirs,
    directory: async (path) => {
      const key = path.join('/');
      if (!dirs.has(key)) dirs.set(key, memoryDirectory());
      return dirs.get(key)!;
    },
    removeAll: async () => dirs.clear(),
  };
}

export function hooks(files: Map<string, Uint8Array>, requests: string[], warnings: string[] = []): PrepareHooks {
  return {
    catalogUrl,
    fetchBytes: async (url) => {
      requests.push(url);
      return files.get(url);
    },
    fetch: (async (input: RequestInfo | URL) => {
      requests.push(String(input));
      const file = files.get(String(input));
      return file ? new Response(file.slice(), { status: 200, headers: { ETag: '"e"' } }) : new Response('missing', { status: 404 });
    }) as typeof fetch,
    estimate: async () => ({ usage: 0, quota: 1e9 }),
    onProgress: () => {},
    onChange: () => {},
    warn: (warning) => warnings.push(JSON.stringify(warning)),
  };
}
