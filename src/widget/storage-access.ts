/**
 * "Remember my picks on this site": the Storage Access API, for a widget in a frame of another site
 * whose browser keeps the frame's storage from it.
 */
import * as Comlink from 'comlink';
import type { EngineApi } from '../engine/api';

/** What asking came to: stored now, refused by the browser or the user, or granted and still not stored. */
export type StorageAccessOutcome = 'persisted' | 'notAllowed' | 'grantedButRefused';

/** In a frame of another page, with the Storage Access API: the only place where asking can help. */
export function canAskForStorageAccess(): boolean {
  return window.parent !== window && typeof document.hasStorageAccess === 'function' && typeof document.requestStorageAccess === 'function';
}

/**
 * Asks the browser for storage access (on the user's click: it needs the gesture), then has the engine
 * (the one running by then: `engine()`) open IndexedDB again and move this visit's picks into it.
 * Chromium takes `{ indexedDB: true }` and gives this page a handle whose IndexedDB is for the page
 * only: the engine runs in a worker, so the page opens the database through the handle and serves it
 * to the worker (storage/bridge.ts, loaded only here). Safari and Firefox take no argument; the
 * worker then opens the frame's own storage.
 */
export async function askForStorageAccess(engine: () => Comlink.Remote<EngineApi> | undefined): Promise<StorageAccessOutcome> {
  let handle: { indexedDB?: IDBFactory } | undefined;
  try {
    const request = document.requestStorageAccess as unknown as (types?: { indexedDB: boolean }) => Promise<unknown>;
    handle = (await (isChromium() ? request.call(document, { indexedDB: true }) : request.call(document))) as typeof handle;
  } catch {
    return 'notAllowed';
  }
  let persisted =
    (await engine()
      ?.retryStorage()
      .catch(() => false)) ?? false;
  if (!persisted && handle?.indexedDB) persisted = await serveThroughHandle(engine(), handle.indexedDB);
  return persisted ? 'persisted' : 'grantedButRefused';
}

/** Opens the database through a Storage Access handle's IndexedDB and hands it to the engine; says whether that worked. */
async function serveThroughHandle(engine: Comlink.Remote<EngineApi> | undefined, factory: IDBFactory): Promise<boolean> {
  if (!engine) return false;
  try {
    const { serveStorage } = await import('../storage/bridge');
    const channel = new MessageChannel();
    await serveStorage(factory, channel.port1);
    return await engine.retryStorage(Comlink.transfer(channel.port2, [channel.port2]));
  } catch (error) {
    console.warn(`private-recs: the storage access handle's IndexedDB did not open: ${error instanceof Error ? error.message : String(error)}`);
    return false;
  }
}

function isChromium(): boolean {
  const brands = (navigator as Navigator & { userAgentData?: { brands?: { brand: string }[] } }).userAgentData?.brands ?? [];
  return brands.some((entry) => entry.brand === 'Chromium');
}
