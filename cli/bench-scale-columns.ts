/**
 * `npm run bench -- scale --catalog-memory --columns [--sizes 100000,1000000]`: what a large catalog
 * costs the worker in its sharded form (core/catalog-columns.ts, core/catalog-rows.ts): the columns file
 * decoded and checked, the ranker's popularity and recency arrays, and the title word index
 * (core/title-search.ts) in place of BM25 over every text; the row shards' sizes, and the cost of
 * reading a feed pool's rows back from them. Memory = V8's used heap after a full GC (the caller's `heap`)
 * plus ArrayBuffer backing stores, which live outside V8's heap and are most of what the columns are.
 */
import type { CatalogItem } from '../src/core/catalog';
import { decodeColumns, encodeColumns, type CatalogColumns } from '../src/core/catalog-columns';
import { decodeRowShard, encodeRowShard, StoredRows } from '../src/core/catalog-rows';
import { seededUniform } from '../src/core/random';
import { TitleIndex, titleWords } from '../src/core/title-search';

const MiB = 2 ** 20;
const mib = (bytes: number) => (bytes / MiB).toFixed(1);
const ROW_SHARD_ITEMS = 50_000;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

export async function columnsMemory(sizes: number[], syntheticItems: (n: number) => CatalogItem[], gcHeap: () => number): Promise<void> {
  // ArrayBuffers dropped are freed after a GC, not during it: a pause, then another GC, before reading.
  const heap = async () => {
    gcHeap();
    await new Promise((resolve) => setTimeout(resolve, 100));
    return gcHeap() + process.memoryUsage().arrayBuffers;
  };
  const rows: string[] = [];
  for (const n of sizes) {
    let items: CatalogItem[] | undefined = syntheticItems(n);
    let started = performance.now();
    let file: Uint8Array | undefined = await encodeColumns({ name: `synthetic ${n}`, rowShardItems: ROW_SHARD_ITEMS }, items);
    const encodeS = (performance.now() - started) / 1000;
    const fileBytes = file.length;
    // The row shards: sizes of all, and the first kept (in memory here; OPFS on a device) for the pool read.
    let probe: CatalogColumns | undefined = await decodeColumns(file);
    let rowBytes = 0;
    let first: Uint8Array | undefined;
    for (let shard = 0; shard * ROW_SHARD_ITEMS < n; shard++) {
      const bytes = await encodeRowShard(probe, shard, items.slice(shard * ROW_SHARD_ITEMS, (shard + 1) * ROW_SHARD_ITEMS));
      rowBytes += bytes.length;
      first ??= bytes;
    }
    const queries = Array.from({ length: 200 }, (_, q) =>
      titleWords(items![(q * 7919) % n]!.title)
        .slice(0, 1 + (q % 3))
        .join(' '),
    );
    items = undefined;
    probe = undefined;
    const base = await heap();
    started = performance.now();
    const columns = await decodeColumns(file);
    const decodeS = (performance.now() - started) / 1000;
    file = undefined;
    // The file was in the base and is dropped now (decodeColumns keeps a copy of its payload).
    const columnsBytes = columns.bytes;
    const popularity = columns.popularityPrior();
    const recency = columns.recency();
    started = performance.now();
    const titles = await TitleIndex.build(n, (i) => columns.title(i));
    const titleS = (performance.now() - started) / 1000;
    const searchMs = queries.map((query) => {
      const t = performance.now();
      titles.search(query, 200, popularity);
      return performance.now() - t;
    });
    // A feed pool's rows (800 items of the first shard), parsed and checked against the columns.
    started = performance.now();
    const layout = await decodeRowShard(first!, columns, 0);
    const checkShardS = (performance.now() - started) / 1000;
    const stored = new StoredRows(columns);
    const shardBytes = first!;
    stored.add(layout, (offset, length) => shardBytes.subarray(offset, offset + length));
    const uniform = seededUniform(n);
    const pool = Array.from({ length: 800 }, () => Math.floor(uniform() * Math.min(n, ROW_SHARD_ITEMS)));
    started = performance.now();
    for (const index of pool) if (!stored.item(index)) throw new Error(`row ${index} did not read back`);
    const poolMs = performance.now() - started;
    // Everything the worker keeps, measured once the transient copies (WebCrypto's, the decoder's) are gone.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const kept = (await heap()) + fileBytes - base;
    rows.push(
      `| ${n.toLocaleString('en-US')} | ${mib(fileBytes)} (${encodeS.toFixed(1)} s) | ${mib(rowBytes)} | ${mib(columnsBytes)} (${decodeS.toFixed(1)} s) | ${mib(8 * n)} | ` +
        `${mib(titles.bytes)} + ${titles.termCount.toLocaleString('en-US')} terms (${titleS.toFixed(1)} s) | **${mib(kept)}** | ` +
        `${percentile(searchMs, 0.5).toFixed(1)} / ${percentile(searchMs, 0.95).toFixed(1)} | ${checkShardS.toFixed(2)} s | ${poolMs.toFixed(0)} ms |`,
    );
    if (popularity.length + recency.length !== 2 * n) throw new Error('unreachable');
  }
  console.log(`catalog in columns + row shards (V8 used heap after full GC + ArrayBuffers, MiB), node ${process.version}, ${new Date().toISOString()}`);
  console.log(
    '| items | columns file (encode) | row shards | columns: typed arrays (decode + check) | popularity + recency | title index: typed arrays + terms (build) | kept in all (measured) | title query p50 / p95 ms | check a 50k row shard | read 800 rows |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const row of rows) console.log(row);
}
