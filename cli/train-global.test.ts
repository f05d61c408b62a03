import 'fake-indexeddb/auto';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CATALOG_FORMAT, CATALOG_VERSION } from '../src/core/catalog';
import { parseGoodbooksRatings, splitGoodbooksUsers } from '../src/core/eval/goodbooks';
import { decodeModelFile } from '../src/core/federated/format';
import { catalogFingerprint, modelIdFor } from '../src/core/model/identity';
import { decodeShippedGlobal } from '../src/core/model/shipped-global';
import { USE_LITE_ID } from '../src/engine/encoder-ids';
import { PersonalModel } from '../src/engine/personal-model';
import { IndexedDbStore } from '../src/storage/db';

const run = promisify(execFile);
/** The CLI as `npm run train-global` runs it (tsx), without npx's own Node start (about 1.5 s a run here). */
const trainGlobal = (args: string[]) => run(process.execPath, ['--import', 'tsx', 'cli/train-global.ts', ...args], { timeout: 120_000 });

describe('cli train-global', () => {
  it('trains on interactions and writes a global model the app accepts for its catalog', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'train-global-'));
    try {
      const texts = ['A dragon and a wizard', 'Magic school', 'The last dragon', 'Robots on Mars', 'A space station', 'Love in Paris', 'A war diary', 'The wizard king'];
      const ids = texts.map((_, i) => `b${i + 1}`);
      await writeFile(join(dir, 'items.csv'), ['item,text', ...ids.map((id, i) => `${id},"${texts[i]}"`)].join('\n'));
      // Two tastes: fantasy readers and space readers.
      const rows = ['user,item,value,time'];
      for (let u = 0; u < 6; u++) for (const item of u % 2 ? ['b4', 'b5'] : ['b1', 'b2', 'b3', 'b8']) rows.push(`u${u},${item},1,${rows.length}`);
      await writeFile(join(dir, 'interactions.csv'), rows.join('\n'));
      const out = join(dir, 'global.bin');
      const { stderr } = await trainGlobal(['--interactions', join(dir, 'interactions.csv'), '--items', join(dir, 'items.csv'), '--out', out, '--epochs', '10', '--backend', 'cpu']);
      expect(stderr).toContain('trainer: trainSoftmax'); // the default: the quality bench's winner
      const bytes = new Uint8Array(await readFile(out));
      const { header, params } = await decodeModelFile(bytes);
      expect(header).toMatchObject({ kind: 'global', modelId: modelIdFor(USE_LITE_ID), catalogFingerprint: catalogFingerprint(ids), contributors: 6 });
      // trainSoftmax's defaults: no free bias (popularity goes through the text), residuals learned.
      expect(params.b!.values.every((x) => x === 0)).toBe(true);
      expect(params.q!.values.some((x) => Math.abs(x) > 1e-3)).toBe(true);

      // The app's own model for this catalog imports it (any embeddings of the right width will do).
      const storage = await IndexedDbStore.open(`train-global-${Date.now()}`);
      const { model } = await PersonalModel.open({
        storage,
        encoderId: USE_LITE_ID,
        itemIds: ids,
        embeddings: Float32Array.from({ length: ids.length * 512 }, (_, i) => Math.cos(i)),
        embeddingDim: 512,
        catalogFingerprint: catalogFingerprint(ids),
      });
      await model.importGlobal(bytes, 'global.bin');
      expect(model.status().globalSource).toBe('imported from “global.bin”');
      storage.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it('--ratings: trains on the train readers of the split only, validates, and writes the compact shipped file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'train-global-ratings-'));
    try {
      const titles = ['A dragon and a wizard', 'Magic school', 'The last dragon', 'Robots on Mars', 'A space station', 'Love in Paris', 'A war diary', 'The wizard king'];
      const ids = titles.map((_, i) => String(i + 1));
      const catalog = { format: CATALOG_FORMAT, version: CATALOG_VERSION, name: 'tiny-books', items: titles.map((title, i) => ({ id: ids[i], title, text: title })) };
      await writeFile(join(dir, 'tiny-books.json'), JSON.stringify(catalog));
      // 60 readers of two tastes; sorted by book as goodbooks' file is. Fantasy readers dislike book 6.
      const rows: string[] = [];
      for (let u = 1; u <= 60; u++) {
        const liked = u % 2 ? ['1', '2', '3', '8'] : ['4', '5'];
        for (const book of liked) rows.push(`${book},${u},5`);
        if (u % 2) rows.push(`6,${u},1`);
      }
      rows.sort((a, b) => Number(a.split(',')[0]) - Number(b.split(',')[0]));
      const ratingsCsv = ['book_id,user_id,rating', ...rows].join('\n');
      await writeFile(join(dir, 'ratings.csv'), ratingsCsv);
      const { stdout, stderr } = await trainGlobal(['--ratings', join(dir, 'ratings.csv'), '--catalog', join(dir, 'tiny-books.json'), '--epochs', '10', '--validate', '6', '--dislike-weight', '0.5', '--backend', 'cpu']);
      expect(stderr).toContain('48 train (48 with a like), 6 validation, 6 test (not read)');
      const figures = JSON.parse(stdout.trim().split('\n').at(-1)!) as { validation: { readers: number; 'HR@10': number } };
      expect(figures.validation.readers).toBe(6);
      // Without --out: beside the catalog, named by the model id.
      const bytes = new Uint8Array(await readFile(join(dir, 'tiny-books.hybrid-use-lite-512-d32_1.global')));
      const { header, params } = await decodeShippedGlobal(bytes);
      const split = splitGoodbooksUsers(parseGoodbooksRatings(ratingsCsv));
      expect(header).toMatchObject({
        modelId: modelIdFor(USE_LITE_ID),
        catalogFingerprint: catalogFingerprint(ids),
        catalog: 'tiny-books',
        readers: split.train.length,
        description: `trained on ${split.train.length} readers of tiny-books`,
        itemCount: 8,
        factors: 32,
        embeddingDim: 512,
      });
      expect(header.training).toMatchObject({ trainer: 'trainSoftmax', epochs: 10, dislikeWeight: 0.5, 'validation readers': 6 });
      expect(params.q!.values.some((x) => Math.abs(x) > 1e-3)).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
