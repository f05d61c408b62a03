/**
 * The default catalog's shipped global model (public/catalog/goodbooks-10k.<model>.global, built by
 * `npm run train-global -- --ratings ../shared/data/goodbooks-10k/ratings-v1.csv --catalog public/catalog/goodbooks-10k.json`):
 * it decodes, belongs to the catalog and the app's model, stays small, and ranks real readers better
 * than the text-only model a device would otherwise start from. Skipped where the file, the catalog's
 * precomputed embeddings or the ratings are missing (a checkout without ../shared).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parseCatalogText } from '../src/core/catalog';
import { parseGoodbooksRatings, rowsPerUser, splitGoodbooksUsers } from '../src/core/eval/goodbooks';
import { evaluateCases, likeCounts, readerCases, type ReaderCase } from '../src/core/eval/held-out';
import { seededUniform, shuffleInPlace } from '../src/core/random';
import { textHash } from '../src/core/hash';
import { encoderText } from '../src/core/item-text';
import { fitUserSoftmax } from '../src/core/model/fit-user';
import { HybridModel } from '../src/core/model/hybrid';
import { catalogFingerprint, modelIdFor, PERSONAL_FACTORS } from '../src/core/model/identity';
import { decodeShippedGlobal, shippedGlobalUrl } from '../src/core/model/shipped-global';
import { decodePrebuilt, prebuiltEmbeddingsUrl, prebuiltRow, prebuiltRowsByHash } from '../src/core/prebuilt-embeddings';
import { USE_LITE_ID } from '../src/engine/encoder-ids';

const CATALOG = 'public/catalog/goodbooks-10k.json';
const FILE = shippedGlobalUrl(CATALOG, modelIdFor(USE_LITE_ID));
const EMBEDDINGS = prebuiltEmbeddingsUrl(CATALOG, USE_LITE_ID);
const RATINGS = '../shared/data/goodbooks-10k/ratings-v1.csv';

describe.skipIf(!existsSync(FILE))('the shipped global model of the default catalog', () => {
  it('decodes, belongs to this catalog and the app model, and is small', async () => {
    const bytes = new Uint8Array(await readFile(FILE));
    expect(bytes.length).toBeLessThan(1_000_000);
    const { header, params } = await decodeShippedGlobal(bytes, FILE);
    const catalog = parseCatalogText(await readFile(CATALOG, 'utf8'));
    expect(header.modelId).toBe(modelIdFor(USE_LITE_ID));
    expect(header.catalogFingerprint).toBe(catalogFingerprint(catalog.items.map((item) => item.id)));
    expect(header).toMatchObject({ itemCount: catalog.items.length, factors: PERSONAL_FACTORS, embeddingDim: 512 });
    expect(header.description).toMatch(/^trained on [\d,]+ readers of goodbooks-10k$/);
    // Learned, not the text-only start: the residuals carry what the readers taught it.
    expect(params.q!.values.some((x) => Math.abs(x) > 0.05)).toBe(true);
  });

  it.skipIf(!existsSync(EMBEDDINGS) || !existsSync(RATINGS))(
    "ranks validation readers' last like better than the text-only model and popularity",
    async () => {
      const catalog = parseCatalogText(await readFile(CATALOG, 'utf8'));
      const itemIds = catalog.items.map((item) => item.id);
      const prebuilt = decodePrebuilt(new Uint8Array(await readFile(EMBEDDINGS)));
      const rows = prebuiltRowsByHash(prebuilt);
      const embeddings = new Float32Array(itemIds.length * 512);
      let missing = 0;
      catalog.items.forEach((item, i) => {
        const row = rows.get(textHash(encoderText(item)));
        if (row === undefined) missing++;
        else embeddings.set(prebuiltRow(prebuilt, row), i * 512);
      });
      expect(missing).toBe(0);
      const shipped = new HybridModel({ itemIds, embeddings, embeddingDim: 512, factors: PERSONAL_FACTORS, W: new Float32Array(PERSONAL_FACTORS * 512) });
      shipped.setParams((await decodeShippedGlobal(new Uint8Array(await readFile(FILE)))).params);
      const textOnly = new HybridModel({ itemIds, embeddings, embeddingDim: 512, factors: PERSONAL_FACTORS });

      const table = parseGoodbooksRatings(await readFile(RATINGS, 'utf8'));
      const split = splitGoodbooksUsers(table);
      const perUser = rowsPerUser(table);
      const indexById = new Map(itemIds.map((id, i) => [id, i]));
      // A random sample (train-global's: seed 1): the lowest user indices are the file's first, heavy readers of the most popular books.
      const order = Int32Array.from(split.validation);
      shuffleInPlace(order, seededUniform(1));
      const cases = readerCases(table, perUser, [...order], indexById).slice(0, 150);
      // u fitted to the reader's likes with the trainer's objective (its exact maximiser: fast, no TF.js).
      const fitted = (model: HybridModel) => (reader: ReaderCase) => {
        const likes = reader.history.filter((event) => event.kind === 'like').map((event) => event.item);
        const { user } = fitUserSoftmax(model.itemVectors(), model.b, model.factors, likes, likes.map(() => 1), { l2: 20 });
        return model.scoreAll(user);
      };
      const popularity = likeCounts(table, perUser, split.train, indexById, itemIds.length);
      const [withFile, withoutFile, popular] = [await evaluateCases(cases, fitted(shipped)), await evaluateCases(cases, fitted(textOnly)), await evaluateCases(cases, () => popularity)];
      expect(withFile.readers).toBe(150);
      expect(withFile['HR@10']).toBeGreaterThan(withoutFile['HR@10']);
      expect(withFile['NDCG@10']).toBeGreaterThan(withoutFile['NDCG@10']);
      expect(withFile['HR@10']).toBeGreaterThan(popular['HR@10']);
    },
    180_000,
  );
});
