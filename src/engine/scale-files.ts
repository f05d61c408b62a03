/**
 * Where a large catalog's files live on the device (issue 21): the engine's view of OPFS, which catalogs
 * take the scale path, and their removal on erase (tried again while other tabs release them).
 * Split from engine/scale.ts, which re-exports these.
 */
import { columnsHeaderEnd, COLUMNS_PREFIX_BYTES, readColumnsHeader } from '../core/catalog-columns';
import { SHARD_ITEMS } from '../core/index/shards';
import type { StoreUsage } from '../storage/db';
import { columnsDirectory } from '../storage/opfs-columns';
import type { ListedFile } from '../storage/opfs-listing';
import type { CatalogRowFiles } from '../storage/opfs-vectors-rows';
import type { SyncDirectory } from '../storage/opfs-vectors';

/** Catalogs with more items take this path: the publisher shards catalogs above this size (SHARD_ITEMS). */
export const SCALE_MIN_ITEMS = SHARD_ITEMS;

/** The engine's view of OPFS (the worker's; tests pass memory directories). */
export interface ScaleStorage {
  /** A directory of sync files (created when missing). */
  directory(path: readonly string[]): Promise<SyncDirectory>;
  /** Removes every catalog's vectors (erase); rejects while a file is held open (another tab's worker). */
  removeAll(): Promise<void>;
  /** Records that removeAll failed: the next start removes the vectors first (`removePending`). */
  markForRemoval?(): Promise<void>;
  /** At start: removes the vectors an erase left marked, if any; rejects while they are still held open. */
  removePending?(): Promise<void>;
  /** The shards' fetch (default: the global one); tests serve files here. */
  fetch?: typeof fetch;
  /** The files directly in a directory, with their sizes (storage/opfs-listing.ts): the Privacy panel's measure. */
  listFiles?(path: readonly string[]): Promise<ListedFile[]>;
  /** One file, read in parts off the worker's thread (storage/opfs-listing.ts opfsFile): a returning visit's kept columns. */
  file?(path: readonly string[], name: string): Promise<ListedFile | undefined>;
}

/** Whether a catalog takes the scale path: a fetched catalog (its shards lie beside it) above SCALE_MIN_ITEMS items, where OPFS is offered. */
export function takesScalePath(size: number, fetched: boolean, storage: ScaleStorage | undefined): storage is ScaleStorage {
  return fetched && storage !== undefined && size > SCALE_MIN_ITEMS;
}

/** Tries of `removeAll` after an erase, ERASE_RETRY_MS apart, while other tabs release the files. */
const ERASE_TRIES = 20;
const ERASE_RETRY_MS = 250;

/**
 * Erase: removes the catalogs' vectors. Another tab's worker may hold them open (a sync access handle
 * is exclusive); it releases them when it hears the erase ('erased' on the tabs' channel, sent before
 * this runs), so removal is tried again for a few seconds. If they are still held (a tab that does not
 * answer), they are marked and the next start removes them. Says whether they are gone now.
 */
export async function removeVectorFiles(
  storage: ScaleStorage,
  wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
): Promise<boolean> {
  let failure: unknown;
  for (let attempt = 0; attempt < ERASE_TRIES; attempt++) {
    if (attempt > 0) await wait(ERASE_RETRY_MS);
    try {
      await storage.removeAll();
      return true;
    } catch (error) {
      failure = error;
    }
  }
  console.warn('The catalog vectors in OPFS are held open elsewhere; they are removed at the next start:', failure);
  await storage.markForRemoval?.().catch(() => undefined);
  return false;
}

/**
 * The catalogs kept on this device as columns (storage/opfs-columns.ts, `vectors/columns/`: 57 MB at
 * 1,000,000 items): their items (each kept file's header says how many) and the bytes of every file
 * there, records included. Undefined where the storage cannot list its files, or keeps none.
 */
export async function keptCatalogUsage(storage: ScaleStorage): Promise<StoreUsage | undefined> {
  const files = await storage.listFiles?.(columnsDirectory);
  if (!files?.length) return undefined;
  let count = 0;
  for (const file of files) if (file.name.endsWith('.bin')) count += await columnsItems(file);
  return { count, bytes: files.reduce((sum, file) => sum + file.size, 0) };
}

/** Items in a kept columns file, from its header alone; 0 when the header does not check (its bytes still count). */
async function columnsItems(file: ListedFile): Promise<number> {
  try {
    const end = columnsHeaderEnd(await file.read(0, COLUMNS_PREFIX_BYTES));
    return end === undefined ? 0 : readColumnsHeader(await file.read(0, end)).header.itemCount;
  } catch {
    return 0;
  }
}

/** A columns catalog's row shards stored in OPFS (its texts, bylines, tags): the items they hold and their bytes. */
export function storedTexts(files: CatalogRowFiles): StoreUsage {
  const { size, header } = files.columns;
  let count = 0;
  for (let shard = 0; shard < files.shards; shard++) {
    if (files.has(shard)) count += Math.min(header.rowShardItems, size - shard * header.rowShardItems);
  }
  return { count, bytes: files.bytes };
}
