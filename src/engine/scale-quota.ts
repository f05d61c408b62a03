/**
 * The room a columns catalog's texts will take, known before the first byte of a large download (issue 21).
 * The vector shards' sizes follow from the plan (shard-fetch.ts counts them), but the row shards' are not
 * in the columns' header: each row shard still to come is asked for its size with a HEAD request
 * (Content-Length) before the vectors start, so that one quota check counts the vectors and the texts
 * together (`ShardFetchOptions.alsoStoring`) and a visit that has room for the vectors but not for both
 * is refused before it downloads hundreds of megabytes of vectors, not after.
 * A shard whose HEAD answer gives no size (an error, a compressed or chunked answer, no answer in time)
 * is counted at the average of those that gave one; when none gives one, the texts are not counted here
 * and the row fetcher checks them at its first response (catalog-rows-fetch.ts), as before.
 */
import { rowShardUrl } from '../core/catalog-rows';
import { pool } from '../core/pool';
import type { PartialShard } from '../storage/opfs-vectors';
import { plainBodyLength } from './scale-download';

/** Bytes a later download will store: in all (less what an earlier visit kept of it), and its largest file (a `.part` beside the stored ones). */
export interface StillToStore {
  bytes: number;
  largest: number;
}

/** What the row files say is stored (storage/opfs-vectors-rows.ts CatalogRowFiles). */
export interface RowShardsStored {
  readonly shards: number;
  has(shard: number): boolean;
  readonly partial: PartialShard | undefined;
}

export interface RowSizeOptions {
  /** The catalog's JSON name (the row shards are named after it). */
  catalogUrl: string;
  files: RowShardsStored;
  /** Default: the global fetch. */
  fetch?: typeof fetch;
  signal?: AbortSignal;
  /** All the HEAD requests together may take this long; the sizes not known by then are estimated (default HEAD_MS). */
  timeoutMs?: number;
}

export const HEAD_MS = 10_000;
/** HEAD requests in flight at once (a browser opens about six connections to one server). */
const PARALLEL = 6;

/** The row shards not stored yet, sized by HEAD requests; undefined when none is left or no answer gives a size. */
export async function rowShardsToStore(options: RowSizeOptions): Promise<StillToStore | undefined> {
  const { files } = options;
  const todo: number[] = [];
  for (let shard = 0; shard < files.shards; shard++) if (!files.has(shard)) todo.push(shard);
  if (todo.length === 0) return undefined;
  const fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
  const limit = new AbortController();
  const timer = setTimeout(() => limit.abort(new Error('HEAD requests took too long')), options.timeoutMs ?? HEAD_MS);
  const forward = () => limit.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', forward);
  const sizes = new Map<number, number>();
  try {
    await pool(
      todo,
      async (shard) => {
        if (limit.signal.aborted) return; // past the time limit (or stopped): the rest are estimated
        const size = await headSize(fetchImpl, rowShardUrl(options.catalogUrl, shard), limit.signal);
        if (size !== undefined) sizes.set(shard, size);
      },
      PARALLEL,
    );
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', forward);
  }
  options.signal?.throwIfAborted();
  if (sizes.size === 0) return undefined;
  const known = [...sizes.values()];
  const average = Math.round(known.reduce((sum, size) => sum + size, 0) / known.length);
  const sizeOf = (shard: number) => sizes.get(shard) ?? average;
  const kept = files.partial && todo.includes(files.partial.shard) ? Math.min(files.partial.bytes, sizeOf(files.partial.shard)) : 0;
  return {
    bytes: todo.reduce((sum, shard) => sum + sizeOf(shard), 0) - kept,
    largest: Math.max(...todo.map(sizeOf)),
  };
}

/** A file's size from a HEAD request: its Content-Length when the answer is 200 and not compressed; else undefined. */
async function headSize(fetchImpl: typeof fetch, url: string, signal: AbortSignal): Promise<number | undefined> {
  try {
    const response = await fetchImpl(url, { method: 'HEAD', signal });
    void response.body?.cancel().catch(() => undefined);
    const size = response.status === 200 ? plainBodyLength(response) : undefined;
    return size !== undefined && Number.isSafeInteger(size) && size > 0 ? size : undefined;
  } catch {
    return undefined; // not answered (in time): estimated from the others, or the rows check themselves later
  }
}
