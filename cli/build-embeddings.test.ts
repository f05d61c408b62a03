import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { textHash } from '../src/core/hash';
import { decodePrebuilt, prebuiltRow } from '../src/core/prebuilt-embeddings';
import { cosine } from '../src/core/vector';
import { testCatalog, WordCountEncoder } from '../src/engine/testing/harness';
import { buildPrebuiltEmbeddings, type BuildProgress } from './build-embeddings';

describe('catalog --embeddings', () => {
  it('writes one row per distinct valid text next to the catalog, each the encoder’s vector for that text', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'prebuilt-'));
    const catalogPath = join(dir, 'books.json');
    const items = [
      { id: '1', title: 'Dragon magic' },
      { id: '2', title: 'Space robot' },
      { id: '3', title: 'Dragon magic' }, // same text as 1: one row serves both
      { id: '4', title: '' }, // invalid: the app skips it, so does the build
    ];
    await writeFile(catalogPath, testCatalog(items));
    const encoder = new WordCountEncoder();
    const progress: BuildProgress[] = [];
    const built = await buildPrebuiltEmbeddings({ catalogPath, encoder, onProgress: (p) => progress.push(p) });

    expect(built.path).toBe(join(dir, 'books.word-count-test.emb'));
    const file = decodePrebuilt(new Uint8Array(await readFile(built.path)));
    expect(file.modelId).toBe('word-count-test');
    expect(file.dimension).toBe(encoder.dimension);
    expect(file.catalog).toBe('Test catalog');
    expect(file.textHashes).toEqual([textHash('Dragon magic'), textHash('Space robot')]);
    const expected = await encoder.embedBatch(['Dragon magic', 'Space robot']);
    expected.forEach((vector, row) => expect(cosine(vector, prebuiltRow(file, row))).toBeGreaterThan(0.9999));
    expect(progress.at(-1)).toMatchObject({ done: 2, total: 2 });
  });
});
