/**
 * A scale path's vector files for one (catalog, model): the rows' store, the hashes file, and the hashes it holds
 * read (8 MB at 1,000,000 items), as ScalePath.open opens them. (Opening them before the catalog is read was tried
 * at stop 37 and taken out: 2 of 5 measured reloads at 1M never showed a feed; docs/scale.md, "Stop 37: the
 * returning visit".)
 */
import { VectorStore, vectorDirectory, type SyncFile, type VectorIdentity } from '../storage/opfs-vectors';
import type { ScaleStorage } from './scale-files';
import { HASHES_FILE, readStoredHashes } from './scale-hashes';

export interface VectorFiles {
  identity: VectorIdentity;
  store: VectorStore;
  hashes: SyncFile;
  /** The hashes file's bytes: the text hash of each stored row (scale-hashes.ts). */
  stored: Uint8Array;
}

/** Opens the store and the hashes file of `identity` and reads the hashes; nothing is left open if it fails. */
export async function openVectorFiles(storage: ScaleStorage, identity: VectorIdentity): Promise<VectorFiles> {
  let store: VectorStore | undefined;
  let hashes: SyncFile | undefined;
  try {
    const dir = await storage.directory(vectorDirectory(identity.catalogFingerprint, identity.modelId));
    store = await VectorStore.open(dir, identity);
    hashes = (await dir.open(HASHES_FILE, true))!;
    return { identity, store, hashes, stored: readStoredHashes(hashes, identity.totalItems, store.rebuilt !== undefined) };
  } catch (error) {
    store?.close();
    hashes?.close();
    throw error;
  }
}

export function closeVectorFiles(files: VectorFiles): void {
  files.store.close();
  files.hashes.close();
}
