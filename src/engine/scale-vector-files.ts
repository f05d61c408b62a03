/**
 * A scale path's vector files for one (catalog, model): the rows' store, the hashes file, and the hashes it holds
 * read (8 MB at 1,000,000 items). ScalePath.open opens them, or takes them opened earlier (`filesOpening`): the
 * kept columns' record names the catalog's fingerprint and size (`startColumns`' `record`), so a returning visit
 * could open them while the 57 MB and the database are still being read. Not wired in startup.ts: at stop 37 an
 * early open made 2 of 5 measured reloads at 1M never show a feed (docs/scale.md, "Stop 37: the returning visit").
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

/**
 * The files opened early when they are those of `identity`; else closed (undefined). An early open that failed
 * (another tab holds the files) is undefined too: the caller opens them again and reports that failure.
 */
export async function earlyFilesFor(opening: Promise<VectorFiles | undefined> | undefined, identity: VectorIdentity): Promise<VectorFiles | undefined> {
  const files = await opening?.catch(() => undefined);
  if (!files) return undefined;
  const { modelId, catalogFingerprint, totalItems, dimension } = files.identity;
  if (
    modelId === identity.modelId &&
    catalogFingerprint === identity.catalogFingerprint &&
    totalItems === identity.totalItems &&
    dimension === identity.dimension
  )
    return files;
  closeVectorFiles(files);
  return undefined;
}
