/**
 * Where a large catalog's files live on the device (issue 21): the engine's view of OPFS, which catalogs
 * take the scale path, and their removal on erase (tried again while other tabs release them).
 * Split from engine/scale.ts, which re-exports these.
 */
import { SHARD_ITEMS } from '../core/index/shards';
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
