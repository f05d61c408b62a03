import { describe, expect, it } from 'vitest';
import type { SyncDirectory } from '../storage/opfs-vectors';
import { ScalePath, type ScaleStorage } from './scale';
import { openVectorFiles } from './scale-vector-files';
import { catalogOf, dim, hooks, modelId, n, publish, storage } from './testing/scale-fixture';

/** The fixture's storage, counting the files opened (each a round trip to the browser in OPFS). */
function counted(s: ScaleStorage & { dirs: Map<string, SyncDirectory> }) {
  const opened: string[] = [];
  return {
    opened,
    storage: {
      ...s,
      directory: async (path: readonly string[]) => {
        const dir = await s.directory(path);
        return { ...dir, open: (name: string, create: boolean) => (opened.push(`${path.join('/')}/${name}`), dir.open(name, create)) };
      },
    },
  };
}

describe('the vector files opened before the catalog is in (a returning visit)', () => {
  it('are the ones ScalePath.open uses when they are its catalog’s and model’s: opened once, the same stale rows', async () => {
    const published = catalogOf();
    const { files } = await publish(published);
    const s = storage();
    const first = await ScalePath.open(s, published, modelId, dim, []);
    await first.prepare(hooks(files, []));
    first.close();
    // Two texts changed since the publisher's build: their stored rows are stale, found from the hashes read early.
    const catalog = catalogOf([10, 20]);
    const { opened, storage: watched } = counted(s);
    const identity = { modelId, catalogFingerprint: catalog.fingerprint(), totalItems: n, dimension: dim };
    const early = openVectorFiles(watched, identity);
    await early;
    const before = opened.length;
    const path = await ScalePath.open(watched, catalog, modelId, dim, [], undefined, early);
    expect(opened.length).toBe(before);
    expect(path.unindexed()).toEqual([10, 20]);
    expect(path.storedRows()).toBe(n - 2);
    path.close();
    // Closed with the path: a later start opens them again.
    const again = await ScalePath.open(s, catalog, modelId, dim, []);
    expect(again.unindexed()).toEqual([10, 20]);
    again.close();
  });

  it('opened for another model, or failed, are not used: closed, and the files opened as before', async () => {
    const catalog = catalogOf();
    const { files } = await publish(catalog);
    const s = storage();
    const first = await ScalePath.open(s, catalog, modelId, dim, []);
    await first.prepare(hooks(files, []));
    first.close();
    const other = openVectorFiles(s, { modelId: 'other-model', catalogFingerprint: catalog.fingerprint(), totalItems: n, dimension: dim });
    const path = await ScalePath.open(s, catalog, modelId, dim, [], undefined, other);
    expect(path.unindexed()).toEqual([]);
    // The other model's files were closed: they open again (a sync handle is exclusive).
    const otherDir = [...s.dirs.entries()].find(([key]) => key.endsWith('.other-model'))![1];
    expect((otherDir as SyncDirectory & { held: Set<string> }).held.size).toBe(0);
    path.close();
    const failed = Promise.reject(new Error('held by another tab'));
    const reopened = await ScalePath.open(s, catalog, modelId, dim, [], undefined, failed);
    expect(reopened.unindexed()).toEqual([]);
    reopened.close();
  });
});
