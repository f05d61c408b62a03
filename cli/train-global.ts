/**
 * `npm run train-global -- (--interactions FILE.csv | --ratings FILE.csv) (--catalog FILE.json | --items FILE.csv)
 *    [--out FILE] [--trainer softmax|bpr] [--epochs N] [--factors D] [--backend wasm|cpu] [--lr X] [--l2 X]
 *    [--l2-projection X] [--text-only] [--seed N]
 *    [--init FILE] (start from an earlier model of this catalog: .global or a federated file)
 *    ratings only: [--embeddings FILE.emb] [--dislike-weight X] [--neutral-weight X] [--validate N] [--eval-every N]
 *    [--validate-fit device|newton] [--text-only-baseline] [--split-seed N]`
 *
 * Trains a publisher's global model (W, q, b, ranker defaults) from many users' interactions with the
 * same TF.js code the device uses, and writes it as a file the app loads with the catalog.
 * The trainer is trainSoftmax (multinomial likelihood over every item; its defaults are the settings
 * the quality bench chose on validation data, docs/benchmarks.md) unless `--trainer bpr` asks for
 * trainBpr (3 epochs, lr 0.01 unless given).
 *
 * Two inputs:
 *  - `--interactions`: CSV user,item,value,time; every row is a positive; every user is trained on.
 *  - `--ratings`: goodbooks-10k's ratings (book_id,user_id,rating; src/core/eval/goodbooks.ts). The
 *    users are split 80/10/10 (splitGoodbooksUsers, fixed seed): the model is trained on the train
 *    users only (≥ 4 stars a positive of weight 1, ≤ 2 stars a negative target of `--dislike-weight`,
 *    3 stars of `--neutral-weight`), and `--validate N` ranks N validation readers' last like with
 *    the device's own fit of u (HR@10, NDCG@10, next to popularity and the text-only model the app
 *    starts from without this file). The test users are never read here: they are the product
 *    benchmark's (cli/bench-product.ts).
 *
 * Item embeddings: `--embeddings FILE.emb` (a precomputed file, rows keyed by the hash of the text the
 * encoder reads, core/item-text; by default the catalog's own `<catalog>.use-lite-512.emb` when it
 * exists), with USE Lite in Node for any item it lacks (cached under .cache/).
 *
 * Output: `--out` ending in `.global` writes the compact shipped file (core/model/shipped-global: W,
 * b float16, q int8), anything else the federated float32 file (core/federated/format). With
 * `--ratings` and no `--out`, the shipped file beside the catalog (shippedGlobalUrl). Rebuild the
 * default catalog's file:
 *   npm run train-global -- --ratings ../shared/data/goodbooks-10k/ratings-v1.csv --catalog public/catalog/goodbooks-10k.json
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { parseCatalogText } from '../src/core/catalog';
import { parseInteractionCsv } from '../src/core/eval/data';
import { GOODBOOKS_SPLIT_SEED, DISLIKE_MAX_RATING, LIKE_MIN_RATING, parseGoodbooksRatings, rowsPerUser, splitGoodbooksUsers } from '../src/core/eval/goodbooks';
import { deviceScorer, evaluateCases, likeCounts, newtonScorer, readerCases, type HeldOutMetrics } from '../src/core/eval/held-out';
import { decodeModelFile, encodeModelFile } from '../src/core/federated/format';
import { seededUniform, shuffleInPlace } from '../src/core/random';
import { textHash } from '../src/core/hash';
import { encoderText } from '../src/core/item-text';
import { HybridModel } from '../src/core/model/hybrid';
import { catalogFingerprint, modelIdFor, PERSONAL_FACTORS } from '../src/core/model/identity';
import { decodeShippedGlobal, encodeShippedGlobal, shippedGlobalUrl } from '../src/core/model/shipped-global';
import { SOFTMAX_DEFAULTS, trainBpr, trainSoftmax, type TrainingData } from '../src/core/model/train';
import { decodePrebuilt, prebuiltEmbeddingsUrl, prebuiltRow, prebuiltRowsByHash } from '../src/core/prebuilt-embeddings';
import { USE_LITE_ID } from '../src/engine/encoder-ids';
import { cachedEmbeddings } from './data/readers';
import { useNodeBackend } from './data/tf-node';
import { loadUseLiteFromDisk } from './node-models';

const { values: args } = parseArgs({
  options: {
    interactions: { type: 'string' },
    ratings: { type: 'string' },
    catalog: { type: 'string' },
    items: { type: 'string' },
    embeddings: { type: 'string' },
    out: { type: 'string' },
    trainer: { type: 'string', default: 'softmax' },
    epochs: { type: 'string' },
    factors: { type: 'string', default: String(PERSONAL_FACTORS) },
    lr: { type: 'string' },
    l2: { type: 'string' },
    'l2-projection': { type: 'string' },
    backend: { type: 'string', default: 'wasm' },
    'text-only': { type: 'boolean', default: false },
    seed: { type: 'string', default: '42' },
    'dislike-weight': { type: 'string', default: '0' },
    'neutral-weight': { type: 'string', default: '0' },
    validate: { type: 'string', default: '1000' },
    'split-seed': { type: 'string', default: String(GOODBOOKS_SPLIT_SEED) },
    'text-only-baseline': { type: 'boolean', default: false },
    'eval-every': { type: 'string' },
    init: { type: 'string' },
    'validate-fit': { type: 'string', default: 'device' },
  },
});

function fail(message: string): never {
  console.error(`train-global: ${message}`);
  process.exit(2);
}

if (!args.interactions === !args.ratings) fail('give one of --interactions FILE (CSV user,item,value,time) or --ratings FILE (CSV book_id,user_id,rating)');
if (!args.catalog && !args.items) fail('--catalog FILE.json or --items FILE.csv is required');
if (args.ratings && !args.catalog) fail('--ratings needs --catalog (the shipped file is named after it)');
if (args.trainer !== 'softmax' && args.trainer !== 'bpr') fail(`--trainer is softmax or bpr, not '${args.trainer}'`);
if (args['validate-fit'] !== 'device' && args['validate-fit'] !== 'newton') fail(`--validate-fit is device or newton, not '${args['validate-fit']}'`);
const numberArg = (name: keyof typeof args): number => {
  const value = Number(args[name]);
  if (!Number.isFinite(value)) fail(`--${name} must be a number, not '${args[name]}'`);
  return value;
};

// Items: from a catalog file (the app's format; the text its encoder reads) or a CSV with columns item,text.
const catalog = args.catalog ? parseCatalogText(await readFile(args.catalog, 'utf8')) : undefined;
const itemIds: string[] = [];
const itemTexts: string[] = [];
if (catalog) {
  for (const item of catalog.items) {
    itemIds.push(item.id);
    itemTexts.push(encoderText(item));
  }
} else {
  const quoted = parseInteractionCsv('user,item\n', await readFile(args.items!, 'utf8'));
  itemIds.push(...quoted.itemIds);
  itemTexts.push(...quoted.itemTexts);
}
const indexById = new Map(itemIds.map((id, i) => [id, i]));
const factors = numberArg('factors');
const seed = numberArg('seed');
const modelId = modelIdFor(USE_LITE_ID, factors);

// Training data: every interaction (--interactions), or the train users' ratings (--ratings).
let training: TrainingData;
let userCount: number;
let validate: ((model: HybridModel) => Promise<HeldOutMetrics>) | undefined;
let baselines: Record<string, HeldOutMetrics> = {};
let textOnlyBaseline: (() => Promise<HeldOutMetrics>) | undefined;
if (args.interactions) {
  const itemsCsv = ['item,text', ...itemIds.map((id, i) => `${quote(id)},${quote(itemTexts[i]!)}`)].join('\n');
  const data = parseInteractionCsv(await readFile(args.interactions, 'utf8'), itemsCsv);
  userCount = data.userIds.length;
  training = { userCount, users: data.users, items: data.items, weights: new Float32Array(data.users.length).fill(1) };
} else {
  const table = parseGoodbooksRatings(await readFile(args.ratings!, 'utf8'));
  const split = splitGoodbooksUsers(table, numberArg('split-seed'));
  const rows = rowsPerUser(table);
  const dislikeWeight = numberArg('dislike-weight');
  const neutralWeight = numberArg('neutral-weight');
  const users: number[] = [];
  const items: number[] = [];
  const weights: number[] = [];
  let trained = 0;
  for (const user of split.train) {
    // Dislikes are negative targets, their total held to half the positives' (as the device's fine-tune does), so the likelihood keeps a maximum.
    const own = rows[user]!.flatMap((row) => {
      const item = indexById.get(table.books[row]!);
      const rating = table.ratings[row]!;
      const weight = rating >= LIKE_MIN_RATING ? 1 : rating <= DISLIKE_MAX_RATING ? -dislikeWeight : neutralWeight;
      return item === undefined || weight === 0 ? [] : [{ item, weight }];
    });
    const positive = own.reduce((sum, { weight }) => sum + Math.max(0, weight), 0);
    if (positive === 0) continue;
    const negative = own.reduce((sum, { weight }) => sum + Math.max(0, -weight), 0);
    const negativeScale = negative > 0 ? Math.min(1, (0.5 * positive) / negative) : 1;
    for (const { item, weight } of own) {
      users.push(trained);
      items.push(item);
      weights.push(weight < 0 ? weight * negativeScale : weight);
    }
    trained++;
  }
  userCount = trained;
  training = { userCount, users: Int32Array.from(users), items: Int32Array.from(items), weights: Float32Array.from(weights) };
  console.error(`${table.userIds.length} readers (${table.duplicatesDropped} duplicate ratings dropped): ${split.train.length} train (${trained} with a like), ${split.validation.length} validation, ${split.test.length} test (not read)`);

  const validationCount = numberArg('validate');
  if (validationCount > 0) {
    // A fixed sample of the validation readers: the same for every run, so runs compare.
    const order = Int32Array.from(split.validation);
    shuffleInPlace(order, seededUniform(1));
    const cases = readerCases(table, rows, [...order], indexById).slice(0, validationCount);
    const popularity = likeCounts(table, rows, split.train, indexById, itemIds.length);
    baselines = { popularity: await evaluateCases(cases, () => popularity) };
    const scorer = args['validate-fit'] === 'newton' ? newtonScorer : deviceScorer;
    validate = (model) => evaluateCases(cases, scorer(model));
    textOnlyBaseline = async () => evaluateCases(cases, scorer(new HybridModel({ itemIds, embeddings, embeddingDim: 512, factors, seed })));
  }
}
if (training.users.length === 0) fail('no interaction refers to an item of the catalog');
console.error(`${userCount} users, ${itemIds.length} items, ${training.users.length} interactions`);

await useNodeBackend(args.backend === 'cpu' ? 'cpu' : 'wasm');
const embeddings = await itemEmbeddings();
if (textOnlyBaseline && args['text-only-baseline']) baselines['text-only (the app without this file)'] = await textOnlyBaseline();

const model = new HybridModel({ itemIds, embeddings, embeddingDim: 512, factors, seed });
if (args.init) {
  // Goes on from an earlier model of this catalog (e.g. after the catalog's text, hence e_i, changed).
  const bytes = new Uint8Array(await readFile(args.init));
  const { header, params } = args.init.endsWith('.global') ? await decodeShippedGlobal(bytes, args.init) : await decodeModelFile(bytes, args.init);
  if (header.modelId !== modelId || header.catalogFingerprint !== catalogFingerprint(itemIds)) fail(`--init ${args.init} is for another model or catalog`);
  model.setParams(params);
  console.error(`starting from ${args.init}`);
}
const textOnly = args['text-only'];
const bpr = args.trainer === 'bpr';
const settings = {
  trainer: bpr ? 'trainBpr' : 'trainSoftmax',
  epochs: args.epochs ? numberArg('epochs') : bpr ? 3 : SOFTMAX_DEFAULTS.epochs,
  ...(args.lr || bpr ? { learningRate: Number(args.lr ?? 0.01) } : {}),
  ...(args.l2 ? { l2: numberArg('l2') } : {}),
  ...(args['l2-projection'] ? { l2Projection: numberArg('l2-projection') } : {}),
  ...(args.ratings ? { dislikeWeight: numberArg('dislike-weight'), neutralWeight: numberArg('neutral-weight') } : {}),
};
console.error(`trainer: ${settings.trainer}`);
// `--eval-every N` (with --ratings): the epochs run in rounds of N (each a trainSoftmax call that goes
// on from the last one's u, W, q, b with a fresh optimizer; the same seed, so the same text subspace), validated after each, so
// one run shows the figures at N, 2N, … epochs. The shipped run uses the same rounds as the run chosen.
const rounds = args['eval-every'] ? Math.ceil(settings.epochs / numberArg('eval-every')) : 1;
const started = performance.now();
let users: Float32Array | undefined;
let validation: HeldOutMetrics | undefined;
for (let round = 0, done = 0; round < rounds; round++) {
  const epochs = Math.min(settings.epochs - done, Math.ceil(settings.epochs / rounds));
  const result = await (bpr ? trainBpr : trainSoftmax)(model, training, {
    epochs,
    ...(settings.learningRate !== undefined ? { learningRate: settings.learningRate } : {}),
    ...(settings.l2 !== undefined ? { l2: settings.l2 } : {}),
    ...(settings.l2Projection !== undefined ? { l2Projection: settings.l2Projection } : {}),
    seed,
    trainResiduals: !textOnly,
    ...(users ? { initialUsers: users } : {}),
    onEpoch: ({ epoch, loss }) => console.error(`epoch ${done + epoch}/${settings.epochs}: loss ${loss.toFixed(4)} (${((performance.now() - started) / 1000).toFixed(0)} s)`),
  });
  users = result.userVectors;
  done += epochs;
  if (validate && (round === rounds - 1 || args['eval-every'])) {
    const validationStarted = performance.now();
    validation = await validate(model);
    // One line per validation a sweep can collect (B-train.md).
    console.log(JSON.stringify({ settings: { ...settings, epochs: done, ...(rounds > 1 ? { rounds: round + 1 } : {}) }, trainSeconds: Math.round((validationStarted - started) / 1000), validationSeconds: Math.round((performance.now() - validationStarted) / 1000), validation, ...baselines }));
  }
  // Each round's model too (`<out>.e<epochs>.<ext>`), so the run's best can be shipped.
  if (args['eval-every'] && round < rounds - 1 && args.out) await writeModel(args.out.replace(/(\.[^./]+)?$/, `.e${done}$1`), validation, done);
}

await writeModel(args.out ?? (args.ratings ? shippedGlobalUrl(args.catalog!, modelId) : 'global-model.bin'), validation, settings.epochs);

/** The app imports a global model only for its own encoder, factor count and catalog (ids in order): the header says which. */
async function writeModel(out: string, validation: HeldOutMetrics | undefined, epochs: number): Promise<void> {
  const fingerprint = catalogFingerprint(itemIds);
  const bytes = out.endsWith('.global')
    ? await encodeShippedGlobal(
        {
          modelId,
          catalogFingerprint: fingerprint,
          ...(catalog ? { catalog: catalog.name } : {}),
          readers: userCount,
          description: `trained on ${userCount.toLocaleString('en-US')} readers${args.ratings ? ` of ${catalog?.name ?? basename(args.ratings)}` : ''}`,
          training: {
            ...settings,
            epochs,
            ...(args['eval-every'] ? { rounds: Math.ceil(epochs / Math.ceil(settings.epochs / rounds)) } : {}),
            seed,
            ...(args.ratings ? { splitSeed: numberArg('split-seed') } : {}),
            ...(validation ? { 'validation HR@10': round(validation['HR@10']), 'validation NDCG@10': round(validation['NDCG@10']), 'validation readers': validation.readers, 'validation fit': args['validate-fit']! } : {}),
          },
        },
        model.getParams(),
        // The rows by id as well: a catalog at scale reads them as the model's head (core/model/shipped-head.ts).
        itemIds,
      )
    : await encodeModelFile({ kind: 'global', modelId, catalogFingerprint: fingerprint, contributors: userCount }, model.getParams());
  await writeFile(out, bytes);
  console.error(`wrote ${out} (${(bytes.byteLength / 1e6).toFixed(2)} MB; model ${modelId}, catalog fingerprint ${fingerprint.slice(0, 12)}…)`);
}

function quote(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

function round(x: number): number {
  return Math.round(x * 10000) / 10000;
}

/** e_i for every item: from the precomputed file where it has the item's text, else USE Lite here. */
async function itemEmbeddings(): Promise<Float32Array> {
  const embeddingsFile = args.embeddings ?? (args.catalog ? prebuiltEmbeddingsUrl(args.catalog, USE_LITE_ID) : undefined);
  const out = new Float32Array(itemIds.length * 512);
  const missing: number[] = [];
  if (embeddingsFile && (args.embeddings || existsSync(embeddingsFile))) {
    const file = decodePrebuilt(new Uint8Array(await readFile(embeddingsFile)));
    if (file.modelId !== USE_LITE_ID || file.dimension !== 512) fail(`${embeddingsFile} holds ${file.modelId} (${file.dimension} dimensions), not ${USE_LITE_ID}`);
    const rows = prebuiltRowsByHash(file);
    itemTexts.forEach((text, i) => {
      const row = rows.get(textHash(text));
      if (row === undefined) missing.push(i);
      else out.set(prebuiltRow(file, row), i * 512);
    });
    console.error(`embeddings: ${itemIds.length - missing.length} of ${itemIds.length} from ${embeddingsFile}`);
  } else {
    missing.push(...itemIds.keys());
  }
  if (missing.length > 0) {
    console.error(`embeddings: ${missing.length} items read with USE Lite here`);
    const { embeddings } = await cachedEmbeddings(() => loadUseLiteFromDisk(), USE_LITE_ID, 512, missing.map((i) => itemTexts[i]!));
    missing.forEach((item, k) => out.set(embeddings.subarray(k * 512, (k + 1) * 512), item * 512));
  }
  return out;
}
