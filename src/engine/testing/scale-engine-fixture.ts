/**
 * The engine at catalog scale in tests: the publisher's shards and text index for a list of test items
 * (as cli/build-shards.ts writes them, with the test encoder), and OPFS in memory as the engine sees it.
 */
import { parseCatalogText } from '../../core/catalog';
import { CatalogIndex } from '../../core/catalog-index';
import { encodeIndexFile, indexFileUrl, textSignBits } from '../../core/index/codes-file';
import { int8Rows } from '../../core/index/rows';
import { decodeShard, encodeShardFromFloats, planShards, shardUrl } from '../../core/index/shards';
import { encodeSign, signCodebook, type SignCodes } from '../../core/index/sign';
import { memoryDirectory } from '../../storage/opfs-vectors';
import type { ScaleStorage } from '../scale';
import { testCatalog, TEST_VOCABULARY, WordCountEncoder, type TestItem } from './harness';

/** `n` items whose titles are two words of the test vocabulary and a number ("dragon magic number 10"), popularities 1000–1999. */
export function scaleItems(n: number): TestItem[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `i${i}`,
    title: `${TEST_VOCABULARY[i % 10]} ${TEST_VOCABULARY[Math.floor(i / 10) % 10]} number ${i}`,
    popularity: 1000 + ((i * 7919) % 1000),
  }));
}

/** The publisher's files for `items` (as cli/build-shards.ts writes them) with the test encoder. */
export async function publishShards(items: readonly TestItem[], catalogUrl: string): Promise<Map<string, Uint8Array>> {
  const n = items.length;
  const encoder = new WordCountEncoder();
  const catalog = new CatalogIndex(parseCatalogText(testCatalog(items)).items);
  const fingerprint = catalog.fingerprint();
  const dim = encoder.dimension;
  const book = signCodebook(dim, textSignBits(dim), 7);
  const width = book.bits / 8;
  const codes: SignCodes = { codes: new Uint8Array(n * width), scales: new Float32Array(n), norms: new Float32Array(n) };
  const files = new Map<string, Uint8Array>();
  const plan = planShards(n);
  for (const p of plan) {
    const texts = catalog.texts.slice(p.itemStart, p.itemStart + p.itemCount);
    const vectors = await encoder.embedBatch(texts);
    const bytes = await encodeShardFromFloats(
      { modelId: encoder.id, catalogFingerprint: fingerprint, shard: p.shard, shards: plan.length, itemStart: p.itemStart, totalItems: n },
      vectors.map((vector, r) => ({ textHash: catalog.hashes[p.itemStart + r]!, vector })),
      dim,
    );
    files.set(shardUrl(catalogUrl, encoder.id, p.shard), bytes);
    const shard = await decodeShard(bytes, { modelId: encoder.id, catalogFingerprint: fingerprint, shard: p.shard });
    const part = encodeSign(book, int8Rows(shard.codes, shard.scales, dim));
    codes.codes.set(part.codes, p.itemStart * width);
    codes.scales.set(part.scales, p.itemStart);
    codes.norms.set(part.norms, p.itemStart);
  }
  files.set(
    indexFileUrl(catalogUrl, encoder.id, 'text'),
    await encodeIndexFile({ vectors: 'text', modelId: encoder.id, catalogFingerprint: fingerprint }, { kind: 'sign', codebook: book, codes }),
  );
  return files;
}

/** OPFS in memory, as the directories' files and the names held open in each, plus erase's mark. */
export interface MemoryOpfs {
  dirs: Map<string, Map<string, Uint8Array>>;
  held: Map<string, Set<string>>;
  marked: boolean;
}

export const memoryOpfs = (): MemoryOpfs => ({ dirs: new Map(), held: new Map(), marked: false });

/**
 * One engine's (a page's worker's) view of `opfs`. `exclusive`: a file open in one engine cannot be
 * opened or removed by another, as with OPFS's sync access handles; otherwise each engine has its own.
 */
export function scaleStorage(files: Map<string, Uint8Array>, opfs: MemoryOpfs, requests: string[], exclusive = false): ScaleStorage {
  const own = new Map<string, Set<string>>();
  const heldIn = (key: string) => {
    const sets = exclusive ? opfs.held : own;
    if (!sets.has(key)) sets.set(key, new Set());
    return sets.get(key)!;
  };
  const removeAll = async () => {
    if ([...opfs.held.values()].some((names) => names.size > 0)) throw new DOMException('a file is open', 'NoModificationAllowedError');
    opfs.dirs.clear();
  };
  return {
    directory: async (path) => {
      const key = path.join('/');
      if (!opfs.dirs.has(key)) opfs.dirs.set(key, new Map());
      return memoryDirectory(opfs.dirs.get(key)!, heldIn(key));
    },
    removeAll,
    markForRemoval: async () => {
      opfs.marked = true;
    },
    removePending: async () => {
      if (!opfs.marked) return;
      await removeAll();
      opfs.marked = false;
    },
    fetch: (async (input: RequestInfo | URL) => {
      requests.push(String(input));
      const file = files.get(String(input));
      return file ? new Response(file.slice(), { status: 200, headers: { ETag: '"e"' } }) : new Response('missing', { status: 404 });
    }) as typeof fetch,
  };
}
