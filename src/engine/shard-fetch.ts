/**
 * Downloads a catalog's precomputed vector shards (core/index/shards.ts) into the worker's vector store
 * (storage/opfs-vectors.ts), for catalogs too large to embed on the device (issue 21):
 *  - quota first: the bytes still to come are checked against navigator.storage.estimate() before any
 *    download, and a shortfall is refused with a QuotaError that says how much is needed and free;
 *  - shard by shard, each recorded complete in the store's ledger once its rows are written, so a visit
 *    that stops (closed tab, lost network) resumes at the first incomplete shard; within a shard, the
 *    bytes received are kept and the rest asked for with a Range request (If-Range: the validator of
 *    the first response), and a server that answers 200 instead sends it again from the start;
 *  - the header is checked as soon as it has arrived: a shard for another model or catalog version is
 *    refused (ShardError reason) before its payload is downloaded; a damaged one after (checksum). A
 *    refused shard is skipped with its reason, the rest still come: its items are embedded on the device;
 *  - progress: bytes received and expected, rate, seconds left, after every chunk;
 *  - eviction: VectorStore.open starts the rows again when they are gone or for another catalog
 *    (`rebuilt`); this module then fetches everything again. It never touches the history.
 * Runs in a worker (OPFS sync handles); fetch, the estimate and the clock are injected for tests.
 */
import {
  decodeShard,
  planShards,
  readShardHeader,
  shardUrl,
  ShardError,
  type ShardExpectation,
  type ShardHeader,
  type ShardProblem,
} from '../core/index/shards';
import { partName, type VectorStore } from '../storage/opfs-vectors';
import { downloadShards, HttpError } from './scale-download';
import type { StillToStore } from './scale-quota';

export interface ShardProgress {
  /** What is downloading: the vector shards (default) or a columns catalog's row shards (its texts). */
  what?: 'vectors' | 'texts';
  /** The shard being received (−1 once all are done). */
  shard: number;
  shardsDone: number;
  shards: number;
  /** Bytes of the shards to fetch this run: received so far (resumed bytes included) and expected in all. */
  bytesDone: number;
  bytesTotal: number;
  /** Bytes per second over this run's downloads; undefined until a second has passed. */
  bytesPerSecond?: number;
  secondsLeft?: number;
}

export interface RefusedShard {
  shard: number;
  reason: ShardProblem | 'http';
  message: string;
}

export interface ShardFetchResult {
  /** Shards downloaded and stored by this run. */
  fetched: number[];
  /** Shards already complete in the store. */
  present: number[];
  /** Shards refused (their items need the device's own embeddings): reason and message. */
  refused: RefusedShard[];
  /** Bytes received over the network by this run. */
  bytesReceived: number;
}

export interface ShardFetchOptions {
  catalogUrl: string;
  /** The shards' expected model, catalog fingerprint, item count and dimension (a row's size). */
  expected: ShardExpectation & { totalItems: number; dimension: number };
  store: VectorStore;
  perShard?: number;
  /** Only these shards (default: all). */
  only?: readonly number[];
  fetch?: typeof fetch;
  /** navigator.storage.estimate (default); undefined quota: not checked. */
  estimate?: () => Promise<{ usage?: number; quota?: number }>;
  onProgress?: (progress: ShardProgress) => void;
  /** Each stored shard's rows: the caller compares the text hashes with its items' and embeds those that differ. */
  onRows?: (rows: { shard: number; itemStart: number; textHashes: string[] }) => void;
  signal?: AbortSignal;
  now?: () => number;
  /** A request that receives nothing for this long is asked again (scale-download.ts STALL_MS). */
  stallMs?: number;
  /** A storage call between shards that has not settled after this long stops the run (scale-download.ts STORAGE_CALL_MS). */
  storageMs?: number;
  /**
   * What the download after this one will store (a columns catalog's texts: scale-quota.ts rowShardsToStore),
   * asked only when vector shards are to come: counted in the same quota check, before the first byte, so
   * that the vectors are not stored for the texts to find no room after them. The refusal names both.
   */
  alsoStoring?: () => Promise<StillToStore | undefined>;
}

/** Not enough storage for the download: nothing was downloaded. */
export class QuotaError extends Error {
  override name = 'QuotaError';
  constructor(
    readonly needed: number,
    readonly available: number,
    what = "the catalog's vectors",
  ) {
    super(
      `Not enough storage for ${what}: ${formatBytes(needed)} needed, ${formatBytes(available)} free. Free some space (or let the site store more), then try again.`,
    );
  }
}

export function formatBytes(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(1)} GB`;
  if (bytes >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(1)} MB`;
  return `${Math.ceil(bytes / 1024)} KB`;
}

/** A shard file's size before its header is known: payload + a header allowance (the JSON is < 1 KB). */
const HEADER_ALLOWANCE = 1024;
const shardBytes = (itemCount: number, dimension: number) => itemCount * (8 + 4 + dimension) + HEADER_ALLOWANCE;
/** Headroom kept free beyond the bytes counted: the browser's own bookkeeping and the history's growth. */
const QUOTA_MARGIN = 1.1;

export async function fetchShards(options: ShardFetchOptions): Promise<ShardFetchResult> {
  const { store, expected, catalogUrl } = options;
  const fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
  const plan = planShards(expected.totalItems, options.perShard);
  const wanted = plan.filter((p) => !options.only || options.only.includes(p.shard));
  const done = store.done;
  const present = wanted.filter((p) => done.has(p.shard)).map((p) => p.shard);
  const todo = wanted.filter((p) => !done.has(p.shard));

  // Quota: the rows file is already at full size (VectorStore.open), so what grows is one shard's
  // .part file at a time, plus the rows' blocks as they are first written (counted in full: a
  // browser may count the file's size or its written blocks).
  const estimate = options.estimate ?? (typeof navigator !== 'undefined' && navigator.storage?.estimate ? () => navigator.storage.estimate() : undefined);
  // The texts that follow (alsoStoring) add their bytes, and their largest file where it is the larger
  // `.part`: the vectors' `.part` files are gone by the time theirs is written.
  if (estimate && todo.length > 0) {
    const { usage = 0, quota } = await estimate();
    if (quota !== undefined) {
      const texts = await options.alsoStoring?.();
      const largest = Math.max(texts?.largest ?? 0, ...todo.map((p) => shardBytes(p.itemCount, expected.dimension)));
      const rows = todo.reduce((sum, p) => sum + p.itemCount * (4 + expected.dimension), 0);
      const needed = Math.ceil((rows + (texts?.bytes ?? 0) + largest) * QUOTA_MARGIN);
      const available = Math.max(0, quota - usage);
      if (needed > available) throw new QuotaError(needed, available, texts ? "the catalog's vectors and texts" : undefined);
    }
  }

  const refused: RefusedShard[] = [];
  const plannedBytes = new Map(todo.map((p) => [p.shard, shardBytes(p.itemCount, expected.dimension)]));
  const expectation = (shard: number): ShardExpectation => ({ ...expected, shard });
  const run = await downloadShards({
    shards: todo.map((p) => p.shard),
    url: (shard) => shardUrl(catalogUrl, expected.modelId, shard),
    directory: store.directory,
    partName,
    ledger: store,
    fetch: fetchImpl,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.stallMs !== undefined ? { stallMs: options.stallMs } : {}),
    ...(options.storageMs !== undefined ? { storageMs: options.storageMs } : {}),
    ...(options.now ? { now: options.now } : {}),
    checkHead: (shard, head) => headerArrived(head, expectation(shard), shardUrl(catalogUrl, expected.modelId, shard)),
    plannedBytes: (shard) => plannedBytes.get(shard)!,
    store: async (shard, bytes) => {
      const decoded = await decodeShard(bytes, expectation(shard), shardUrl(catalogUrl, expected.modelId, shard));
      store.writeRows(decoded.header.itemStart, decoded.codes, decoded.scales);
      store.markDone(shard);
      options.onRows?.({ shard, itemStart: decoded.header.itemStart, textHashes: decoded.textHashes });
    },
    refused: (error): error is Error => error instanceof ShardError || error instanceof HttpError,
    onRefused: (shard, error) => refused.push({ shard, reason: error instanceof ShardError ? error.reason : 'http', message: error.message }),
    onProgress: ({ stored, ...progress }) => options.onProgress?.({ ...progress, shardsDone: present.length + stored, shards: wanted.length }),
  });
  return { fetched: run.fetched, present, refused, bytesReceived: run.bytesReceived };
}

/** Whether a shard's header has arrived and is the one expected (false: too few bytes yet); throws a ShardError to refuse it. */
function headerArrived(head: Uint8Array, expectation: ShardExpectation, url: string): boolean {
  try {
    readShardHeader(head, expectation, url);
    return true;
  } catch (error) {
    // Too few bytes yet for the header: wait for more (a truncated file fails in decodeShard).
    if (error instanceof ShardError && error.reason === 'truncated') return false;
    throw error;
  }
}

export type { ShardHeader };
