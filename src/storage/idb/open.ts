/** Opening the database (running the migrations it needs), and deleting it. */
import { openDB, wrap, type OpenDBCallbacks } from 'idb';
import { DB_NAME, DB_VERSION, MIGRATIONS, type RecsDatabase, type RecsSchema, type UpgradeTransaction } from './schema';

export interface OpenOptions {
  /** Another tab holds an older version open and has not let go yet. */
  onBlocked?: () => void;
  /** This connection was closed so that another tab could upgrade or erase the database. */
  onClosedForOtherTab?: () => void;
  /** The browser closed the connection on its own (the database was evicted or deleted, the disk failed). */
  onTerminated?: () => void;
  /**
   * The IndexedDB to open it in, when not the global one: a Storage Access handle's (Chromium's
   * `requestStorageAccess({ indexedDB: true })` gives the page a factory of its own).
   */
  factory?: IDBFactory;
}

/** Opens (creating or upgrading) the database `name`; a newer tab's upgrade or erase closes it (see `blocking`). */
export async function openDatabase(name: string, options: OpenOptions): Promise<RecsDatabase> {
  const open = options.factory ? openDBIn(options.factory) : openDB<RecsSchema>;
  const db = await open(name, DB_VERSION, {
    upgrade(database, oldVersion, newVersion, transaction) {
      for (let version = oldVersion + 1; version <= (newVersion ?? DB_VERSION); version++) {
        MIGRATIONS[version - 1]!(database, transaction);
      }
      void transaction.objectStore('meta').put(newVersion ?? DB_VERSION, 'schemaVersion');
    },
    blocked: () => options.onBlocked?.(),
    blocking: () => {
      // A newer tab wants to upgrade (or erase): step aside instead of blocking it.
      db.close();
      options.onClosedForOtherTab?.();
    },
    terminated: () => options.onTerminated?.(),
  });
  return db;
}

/** idb's openDB, in the given IndexedDB instead of the global one (same events, same wrapping). */
function openDBIn(factory: IDBFactory) {
  return (name: string, version: number, { blocked, upgrade, blocking, terminated }: OpenDBCallbacks<RecsSchema>): Promise<RecsDatabase> => {
    const request = factory.open(name, version);
    const opening = wrap(request) as Promise<RecsDatabase>;
    request.addEventListener('upgradeneeded', (event) => {
      upgrade?.(wrap(request.result) as RecsDatabase, event.oldVersion, event.newVersion, wrap(request.transaction!) as unknown as UpgradeTransaction, event);
    });
    request.addEventListener('blocked', (event) => blocked?.(event.oldVersion, (event as IDBVersionChangeEvent).newVersion, event as IDBVersionChangeEvent));
    opening
      .then((db) => {
        if (terminated) db.addEventListener('close', () => terminated());
        if (blocking) db.addEventListener('versionchange', (event) => blocking(event.oldVersion, event.newVersion, event));
      })
      .catch(() => undefined);
    return opening;
  };
}

/** Deletes the whole database. Other tabs' connections close themselves (see `blocking`). */
export async function deleteDatabase(name = DB_NAME): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const request = indexedDB.deleteDatabase(name);
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error ?? new Error('could not delete the database'));
  });
}
