import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { textHash } from '../src/core/hash';
import { catalogFingerprint } from '../src/core/model/identity';
import { decodeIndexFile } from '../src/core/index/codes-file';
import { decodeShard } from '../src/core/index/shards';
import { encodeSign } from '../src/core/index/sign';
import { int8Rows } from '../src/core/index/rows';
import { cosine } from '../src/core/vector';
import { testCatalog, WordCountEncoder } from '../src/engine/testing/harness';
import { decodeColumns } from '../src/core/catalog-columns';
import { parseColumnsHead } from '../src/core/catalog-columns-head';
import { decodeRowShard, StoredRows } from '../src/core/catalog-rows';
import { buildShardedEmbeddings } from './build-shards';

describe('catalog --embeddings, sharded', () => {
  it('writes one row per catalog item in catalog order, cut into shards, and the text index of those rows', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shards-'));
    const catalogPath = join(dir, 'shop.json');
    const titles = ['Dragon magic', 'Space robot', 'Dragon magic', 'Love and romance', 'War history'];
    const items = titles.map((title, i) => ({ id: `i${i}`, title }));
    await writeFile(catalogPath, testCatalog(items));
    const encoder = new WordCountEncoder();
    const built = await buildShardedEmbeddings({ catalogPath, encoder, perShard: 2 });
    expect(built.shards).toEqual([0, 1, 2].map((n) => join(dir, `shop.word-count-test.shard-${n}.emb`)));
    expect(built.indexPath).toBe(join(dir, 'shop.word-count-test.text-index'));
    const fingerprint = catalogFingerprint(items.map((item) => item.id));
    const expected = { modelId: 'word-count-test', catalogFingerprint: fingerprint, totalItems: 5, dimension: encoder.dimension };
    const vectors = await encoder.embedBatch(titles);
    const shards = await Promise.all(built.shards.map(async (path, n) => decodeShard(new Uint8Array(await readFile(path)), { ...expected, shard: n })));
    expect(shards.map((s) => [s.header.itemStart, s.header.itemCount])).toEqual([
      [0, 2],
      [2, 2],
      [4, 1],
    ]);
    shards.forEach((shard) =>
      shard.textHashes.forEach((hash, r) => {
        const item = shard.header.itemStart + r;
        expect(hash).toBe(textHash(titles[item]!));
        const row = int8Rows(shard.codes, shard.scales, encoder.dimension);
        const v = new Float32Array(encoder.dimension);
        row.row(r, v);
        expect(cosine(v, vectors[item]!)).toBeGreaterThan(0.999);
      }),
    );
    const index = await decodeIndexFile(new Uint8Array(await readFile(built.indexPath)), {
      vectors: 'text',
      modelId: 'word-count-test',
      catalogFingerprint: fingerprint,
      count: 5,
    });
    expect(index.kind).toBe('sign');
    if (index.kind !== 'sign') return;
    // The codes are those of the rows a device reads (int8), item by item.
    const last = encodeSign(index.codebook, int8Rows(shards[2]!.codes, shards[2]!.scales, encoder.dimension));
    expect(Array.from(index.codes.codes.subarray(4 * 64, 5 * 64))).toEqual(Array.from(last.codes));

    // The catalog beside them: its columns (same fingerprint as the vector shards) and its rows, shard by shard.
    expect(built.catalogFiles).toEqual([join(dir, 'shop.columns'), join(dir, 'shop.head.json'), ...[0, 1, 2].map((n) => join(dir, `shop.rows-${n}.bin`))]);
    const columnsFile = new Uint8Array(await readFile(built.catalogFiles[0]!));
    const columns = await decodeColumns(columnsFile, fingerprint);
    // The head names those columns and lists the most popular items first.
    const head = parseColumnsHead(new Uint8Array(await readFile(built.catalogFiles[1]!)));
    expect(head).toMatchObject({
      catalogFingerprint: fingerprint,
      payloadSha256: columns.header.payloadSha256,
      columnsBytes: columnsFile.length,
      itemCount: 5,
    });
    const byPopularity = items
      .map((item, i) => [item.id, columns.rawPopularity[i]!] as const)
      .sort((a, b) => b[1] - a[1])
      .map(([id]) => id);
    expect(head.popular.map((item) => item.id)).toEqual(byPopularity);
    expect(Array.from({ length: 5 }, (_, i) => [columns.id(i), columns.title(i), columns.textHash(i)])).toEqual(
      items.map((item, i) => [item.id, item.title, shards[Math.floor(i / 2)]!.textHashes[i % 2]]),
    );
    const rows = new StoredRows(columns);
    for (const [n, path] of built.catalogFiles.slice(2).entries()) {
      const bytes = new Uint8Array(await readFile(path));
      rows.add(await decodeRowShard(bytes, columns, n), (offset, length) => bytes.subarray(offset, offset + length));
    }
    expect(rows.item(4)).toMatchObject({ id: 'i4', title: 'War history', text: 'War history' });
  });
});
