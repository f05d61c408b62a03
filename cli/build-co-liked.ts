/**
 * `npm run co-liked -- [--ratings FILE.csv] [--catalog FILE.json] [--neighbours N] [--method ease|cosine]
 *   [--lambda L] [--out FILE]`
 *
 * Builds a catalog's "readers who liked X also liked" neighbours (core/model/co-liked.ts): EASE's
 * item-item weights (the default, and the shipped file; core/model/ease.ts, λ = --lambda, 20 chosen on
 * validation readers in docs/benchmarks.md), computed by cli/python/ease.py with numpy
 * (`apt-get install python3-numpy`: a minute or two, where core/model/ease.ts's TypeScript reference
 * would take over an hour at 10,000 books), or with --method cosine cosine item-kNN (seconds). From
 * goodbooks-10k's ratings: the train users of the 80/10/10 split only (splitGoodbooksUsers, the split
 * the global model and the product bench use; validation and test readers are never read), a rating
 * ≥ 4 a like. Writes `<catalog>.co-liked` beside the catalog unless --out says otherwise. Rebuild the
 * default catalog's file:
 *   npm run co-liked -- --ratings ../shared/data/goodbooks-10k/ratings-v1.csv --catalog public/catalog/goodbooks-10k.json
 */
import { readFile, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { parseCatalogText } from '../src/core/catalog';
import { LIKE_MIN_RATING, parseGoodbooksRatings, rowsPerUser, splitGoodbooksUsers } from '../src/core/eval/goodbooks';
import { buildCoLiked, coLikedUrl, encodeCoLiked } from '../src/core/model/co-liked';
import { catalogFingerprint } from '../src/core/model/identity';
import { easeWithNumpy } from './ease-numpy';

const { values: args } = parseArgs({
  options: {
    ratings: { type: 'string', default: '../shared/data/goodbooks-10k/ratings-v1.csv' },
    catalog: { type: 'string', default: 'public/catalog/goodbooks-10k.json' },
    neighbours: { type: 'string', default: '100' },
    method: { type: 'string', default: 'ease' },
    lambda: { type: 'string', default: '20' },
    out: { type: 'string' },
  },
});

const started = performance.now();
const catalog = parseCatalogText(await readFile(args.catalog!, 'utf8'));
const itemIds = catalog.items.map((item) => item.id);
const indexById = new Map(itemIds.map((id, index) => [id, index]));
const table = parseGoodbooksRatings(await readFile(args.ratings!, 'utf8'));
const rows = rowsPerUser(table);
const split = splitGoodbooksUsers(table);
const likes = split.train.map((user) =>
  rows[user]!.filter((row) => table.ratings[row]! >= LIKE_MIN_RATING)
    .map((row) => indexById.get(table.books[row]!))
    .filter((item): item is number => item !== undefined),
);
const neighbours = Number(args.neighbours);
if (!Number.isInteger(neighbours) || neighbours < 1 || neighbours > 1000) throw new Error('--neighbours must be an integer in 1..1000');
const n = itemIds.length;
let built: { ids: Uint32Array; similarities: Float32Array };
let description: string;
if (args.method === 'ease') {
  const lambda = Number(args.lambda);
  if (!(lambda > 0)) throw new Error('--lambda must be a positive number');
  built = await easeWithNumpy(likes, n, lambda, neighbours);
  description = `readers who liked it also liked (EASE, λ = ${lambda}): ${split.train.length.toLocaleString('en-US')} goodbooks-10k readers`;
} else if (args.method === 'cosine') {
  built = buildCoLiked(likes, n, neighbours);
  description = `readers who liked it also liked: ${split.train.length.toLocaleString('en-US')} goodbooks-10k readers`;
} else throw new Error(`--method must be ease or cosine, not ${args.method}`);
const bytes = await encodeCoLiked(
  {
    catalogFingerprint: catalogFingerprint(itemIds),
    catalog: basename(args.catalog!),
    readers: split.train.length,
    description,
  },
  { ...built, itemCount: itemIds.length, neighbours },
);
const out = args.out ?? `public${coLikedUrl(`/catalog/${basename(args.catalog!)}`)}`;
await writeFile(out, bytes);
console.log(`${out}: ${itemIds.length} items × ${neighbours} neighbours from ${split.train.length} train readers, ${(bytes.length / 1e6).toFixed(2)} MB (${((performance.now() - started) / 1000).toFixed(0)} s)`);
