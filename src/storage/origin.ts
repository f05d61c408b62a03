/**
 * Origin-wide storage beyond our database: Cache Storage (the service worker's caches) and the
 * browser's quota estimate. Works in a window and in a worker.
 */
import { deleteDatabase } from './db';

export async function cacheStorageTotals(): Promise<{ count: number; bytes: number }> {
  if (typeof caches === 'undefined') return { count: 0, bytes: 0 };
  let count = 0;
  let bytes = 0;
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      const response = await cache.match(request);
      count++;
      bytes += response ? (await response.clone().arrayBuffer()).byteLength : 0;
    }
  }
  return { count, bytes };
}

export async function storageEstimate(): Promise<{ usage: number; quota: number } | undefined> {
  const estimate = await navigator.storage?.estimate?.().catch(() => undefined);
  return estimate?.quota ? { usage: estimate.usage ?? 0, quota: estimate.quota } : undefined;
}

/** "Erase all my data": the database and every Cache Storage cache of this origin. */
export async function eraseOriginData(): Promise<void> {
  await deleteDatabase();
  if (typeof caches !== 'undefined') await Promise.all((await caches.keys()).map((name) => caches.delete(name)));
}
