/**
 * A large catalog's row shards (core/catalog-rows.ts: each item's text, byline, tags) downloaded into
 * OPFS (storage/opfs-vectors-rows.ts) after its vector shards, one shard at a time. A shard stored
 * before is not asked for again; a shard refused (HTTP error, damage, another catalog version) is
 * skipped with a warning naming why: its items keep their stand-ins from the columns (title, year,
 * genres) and are not embedded on the device. Not resumable inside a shard (its vector shards are,
 * engine/shard-fetch.ts): an interrupted row shard is asked for again whole at the next visit.
 */
import { rowShardUrl, RowsError } from '../core/catalog-rows';
import type { CatalogRowFiles } from '../storage/opfs-vectors-rows';

export interface RowFetchOptions {
  /** The catalog's JSON name (the publisher's files are named after it). */
  catalogUrl: string;
  files: CatalogRowFiles;
  fetch?: typeof fetch;
  signal?: AbortSignal;
  /** A shard was stored: its rows can be read. */
  onShard(shard: number): void;
  warn(message: string): void;
}

/** Downloads the row shards not stored yet; resolves once each was stored or refused. Rejects only when aborted. */
export async function fetchRowShards(options: RowFetchOptions): Promise<{ fetched: number[]; refused: number[] }> {
  const { files } = options;
  const fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
  const per = files.columns.header.rowShardItems;
  const shards = Math.ceil(files.columns.size / per);
  const result = { fetched: [] as number[], refused: [] as number[] };
  for (let shard = 0; shard < shards; shard++) {
    if (files.has(shard)) continue;
    options.signal?.throwIfAborted();
    const url = rowShardUrl(options.catalogUrl, shard);
    try {
      const response = await fetchImpl(url, options.signal ? { signal: options.signal } : {});
      if (!response.ok) {
        await response.body?.cancel();
        result.refused.push(shard);
        options.warn(`${url}: HTTP ${response.status}`);
        continue;
      }
      await files.store(shard, new Uint8Array(await response.arrayBuffer()));
      result.fetched.push(shard);
      options.onShard(shard);
    } catch (error) {
      if (options.signal?.aborted) throw error;
      if (!(error instanceof RowsError)) throw error;
      result.refused.push(shard);
      options.warn(error.message);
    }
  }
  return result;
}
