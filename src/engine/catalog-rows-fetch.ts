/**
 * A large catalog's row shards (core/catalog-rows.ts: each item's text, byline, tags) downloaded into
 * OPFS (storage/opfs-vectors-rows.ts) after its vector shards, one shard at a time, as the vector shards
 * are (engine/scale-download.ts):
 *  - resumable: a shard stored before is not asked for again, and the bytes of a shard cut short (a
 *    reload, a closed tab, a lost network) are continued with a Range request at the next visit;
 *  - quota first: once the first response says a shard's size, the shards still to come (that size each)
 *    are checked against navigator.storage.estimate() before its body is read (a response without a
 *    size: once the first shard has arrived, before it is stored); a shortfall is a QuotaError naming what
 *    is needed and free, and nothing more is downloaded or stored (the history is elsewhere);
 *  - progress: bytes received and expected, and the time left, on the same status line as the vectors;
 *  - a request that goes silent is asked again from the bytes kept (scale-download.ts STALL_MS).
 * A shard refused (HTTP error, damage, another catalog version) is skipped with a warning naming why:
 * its items keep their stand-ins from the columns (title, year, genres) and are not embedded on the device.
 */
import { readRowShardLayout, rowShardUrl, RowsError } from '../core/catalog-rows';
import { rowPartName, type CatalogRowFiles } from '../storage/opfs-vectors-rows';
import { downloadShards, HttpError } from './scale-download';
import { QuotaError, type ShardProgress } from './shard-fetch';

export interface RowFetchOptions {
  /** The catalog's JSON name (the publisher's files are named after it). */
  catalogUrl: string;
  files: CatalogRowFiles;
  fetch?: typeof fetch;
  signal?: AbortSignal;
  /** navigator.storage.estimate (default); undefined quota: not checked. */
  estimate?: () => Promise<{ usage?: number; quota?: number }>;
  /** Bytes received and expected (`what: 'texts'`), after every chunk; `shard` −1 once all are done. */
  onProgress?: (progress: ShardProgress) => void;
  /** A request that receives nothing for this long is asked again (scale-download.ts STALL_MS). */
  stallMs?: number;
  now?: () => number;
  /** A shard was stored: its rows can be read. */
  onShard(shard: number): void;
  warn(message: string): void;
}

/** Headroom kept free beyond the bytes counted (as for the vectors). */
const QUOTA_MARGIN = 1.1;
const HEAD_BYTES = 64 * 1024;

/**
 * Downloads the row shards not stored yet; resolves once each was stored or refused. Rejects when
 * aborted, on a quota refusal (QuotaError: nothing more downloaded), or when the server went silent
 * (StallError: the bytes kept are continued at the next visit).
 */
export async function fetchRowShards(options: RowFetchOptions): Promise<{ fetched: number[]; refused: number[]; bytesReceived: number }> {
  const { files } = options;
  const fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
  const estimate = options.estimate ?? (typeof navigator !== 'undefined' && navigator.storage?.estimate ? () => navigator.storage.estimate() : undefined);
  const todo: number[] = [];
  for (let shard = 0; shard < files.shards; shard++) if (!files.has(shard)) todo.push(shard);
  if (todo.length === 0) return { fetched: [], refused: [], bytesReceived: 0 };
  await files.startDownloads();
  const partial = files.partial;
  const resumedBytes = (shard: number) => (partial?.shard === shard ? partial.bytes : 0);

  let quotaChecked = false;
  /**
   * Once a shard's size is known (its response's headers, else its bytes once received): the `left`
   * shards still to come, each of that size, less the bytes kept, must fit.
   */
  const checkQuota = async (size: number, left: number, kept: number) => {
    if (quotaChecked || !estimate || left === 0) return;
    quotaChecked = true;
    const { usage = 0, quota } = await estimate();
    if (quota === undefined) return;
    // Each shard's .part and its stored copy are both on disk until the .part is removed.
    const needed = Math.ceil((size * left - kept + size) * QUOTA_MARGIN);
    const available = Math.max(0, quota - usage);
    if (needed > available) throw new QuotaError(needed, available, "the catalog's texts");
  };

  return await downloadShards({
    shards: todo,
    url: (shard) => rowShardUrl(options.catalogUrl, shard),
    directory: files.directory,
    partName: rowPartName,
    ledger: files,
    fetch: fetchImpl,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.stallMs !== undefined ? { stallMs: options.stallMs } : {}),
    ...(options.now ? { now: options.now } : {}),
    checkHead: (shard, head) => rowHeaderArrived(head, files, shard, rowShardUrl(options.catalogUrl, shard)),
    onSize: (shard, size, at) => checkQuota(size, todo.length - at, resumedBytes(shard)),
    store: async (shard, bytes, at) => {
      // No size in the response's headers (a compressed or chunked answer): checked before the next shard.
      await checkQuota(bytes.length, todo.length - at - 1, 0);
      await files.store(shard, bytes);
      options.onShard(shard);
    },
    refused: (error): error is Error => error instanceof RowsError || error instanceof HttpError,
    onRefused: (_shard, error) => options.warn(error.message),
    onProgress: ({ stored, ...progress }) =>
      options.onProgress?.({ what: 'texts', ...progress, shardsDone: files.shards - todo.length + stored, shards: files.shards }),
  });
}

/** Whether a row shard's header has arrived and is the one expected (false: too few bytes yet); throws a RowsError to refuse it. */
function rowHeaderArrived(head: Uint8Array, files: CatalogRowFiles, shard: number, url: string): boolean {
  try {
    readRowShardLayout(head, files.columns, shard, url);
    return true;
  } catch (error) {
    // Too few bytes yet; past the first 64 KiB the header has passed and the row table is checked whole later.
    if (error instanceof RowsError && error.reason === 'truncated') return head.length >= HEAD_BYTES;
    throw error;
  }
}
