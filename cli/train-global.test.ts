import 'fake-indexeddb/auto';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { decodeModelFile } from '../src/core/federated/format';
import { catalogFingerprint, modelIdFor } from '../src/core/model/identity';
import { USE_LITE_ID } from '../src/engine/encoder-ids';
import { PersonalModel } from '../src/engine/personal-model';
import { Storage } from '../src/storage/db';

const run = promisify(execFile);

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
      const { stderr } = await run('npx', ['tsx', 'cli/train-global.ts', '--interactions', join(dir, 'interactions.csv'), '--items', join(dir, 'items.csv'), '--out', out, '--epochs', '10', '--backend', 'cpu'], { timeout: 120_000 });
      expect(stderr).toContain('trainer: trainSoftmax'); // the default: the quality bench's winner
      const bytes = new Uint8Array(await readFile(out));
      const { header, params } = await decodeModelFile(bytes);
      expect(header).toMatchObject({ kind: 'global', modelId: modelIdFor(USE_LITE_ID), catalogFingerprint: catalogFingerprint(ids), contributors: 6 });
      // trainSoftmax's defaults: no free bias (popularity goes through the text), residuals learned.
      expect(params.b!.values.every((x) => x === 0)).toBe(true);
      expect(params.q!.values.some((x) => Math.abs(x) > 1e-3)).toBe(true);

      // The app's own model for this catalog imports it (any embeddings of the right width will do).
      const storage = await Storage.open(`train-global-${Date.now()}`);
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
});
