/**
 * Origin-wide storage beyond our database: Cache Storage (the service worker's caches) and the
 * browser's quota estimate. Works in a window and in a worker.
 */
import { deleteDatabase } from './db';

/**
 * Entries and bytes in Cache Storage. Sizes come from each response's Content-Length (every file we
 * serve has one) and only otherwise from its body: reading every body would mean reading the whole
 * app shell and the 28 MB model each time the Privacy panel refreshes (once per recorded event).
 */
export async function cacheStorageTotals(): Promise<{ count: number; bytes: number }> {
  if (typeof caches === 'undefined') return { count: 0, bytes: 0 };
  let count = 0;
  let bytes = 0;
  // Where the browser refuses this origin's storage (a blocked third-party frame), there is nothing to count.
  const names = await caches.keys().catch(() => [] as string[]);
  for (const name of names) {
    for (const response of await (await caches.open(name)).matchAll()) {
      count++;
      const declared = Number(response.headers.get('content-length'));
      bytes += Number.isInteger(declared) && declared > 0 ? declared : (await response.blob()).size;
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
