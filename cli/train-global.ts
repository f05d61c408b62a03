/**
 * `npm run train-global -- --interactions FILE.csv (--catalog FILE.json | --items FILE.csv) --out FILE
 *    [--trainer softmax|bpr] [--epochs N] [--factors D] [--backend wasm|cpu] [--lr X] [--l2 X] [--text-only]`
 *
 * Trains a publisher's global model (W, q, b, ranker defaults) from many users' interactions
 * (CSV: user,item,value,time) with the same TF.js code the device uses, and writes it as a
 * versioned global-model file (src/core/federated/format.ts) that the app can load with the catalog.
 * The trainer is trainSoftmax (multinomial likelihood over every item; its defaults are the settings
 * the quality bench chose on validation data, docs/benchmarks.md) unless `--trainer bpr` asks for
 * trainBpr (3 epochs, lr 0.01 unless given).
 * Item embeddings come from USE Lite in Node (cached under .cache/).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parseCatalog } from '../src/core/catalog';
import { parseInteractionCsv } from '../src/core/eval/data';
import { encodeModelFile } from '../src/core/federated/format';
import { HybridModel } from '../src/core/model/hybrid';
import { catalogFingerprint, modelIdFor, PERSONAL_FACTORS } from '../src/core/model/identity';
import { USE_LITE_ID } from '../src/engine/encoder-ids';
import { SOFTMAX_DEFAULTS, trainBpr, trainSoftmax } from '../src/core/model/train';
import { cachedEmbeddings } from './data/readers';
import { useNodeBackend } from './data/tf-node';
import { loadUseLiteFromDisk } from './node-models';

const { values: args } = parseArgs({
  options: {
    interactions: { type: 'string' },
    catalog: { type: 'string' },
    items: { type: 'string' },
    out: { type: 'string', default: 'global-model.bin' },
    trainer: { type: 'string', default: 'softmax' },
    epochs: { type: 'string' },
    factors: { type: 'string', default: String(PERSONAL_FACTORS) },
    lr: { type: 'string' },
    l2: { type: 'string' },
    backend: { type: 'string', default: 'wasm' },
    'text-only': { type: 'boolean', default: false },
    seed: { type: 'string', default: '42' },
  },
});

function fail(message: string): never {
  console.error(`train-global: ${message}`);
  process.exit(2);
}

if (!args.interactions) fail('--interactions FILE is required (CSV with columns user,item,value,time)');
if (!args.catalog && !args.items) fail('--catalog FILE.json or --items FILE.csv is required');
if (args.trainer !== 'softmax' && args.trainer !== 'bpr') fail(`--trainer is softmax or bpr, not '${args.trainer}'`);

// Items: from a catalog file (the app's format) or a CSV with columns item,text.
let itemsCsv: string;
if (args.catalog) {
  const catalog = parseCatalog(JSON.parse(await readFile(args.catalog, 'utf8')));
  const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;
  itemsCsv = ['item,text', ...catalog.items.map((item) => `${quote(item.id)},${quote(item.text)}`)].join('\n');
} else {
  itemsCsv = await readFile(args.items!, 'utf8');
}
const data = parseInteractionCsv(await readFile(args.interactions, 'utf8'), itemsCsv);
if (data.users.length === 0) fail('no interaction refers to an item of the catalog');
console.error(`${data.userIds.length} users, ${data.itemIds.length} items, ${data.users.length} interactions`);

await useNodeBackend(args.backend === 'cpu' ? 'cpu' : 'wasm');
const { embeddings } = await cachedEmbeddings(() => loadUseLiteFromDisk(), USE_LITE_ID, 512, data.itemTexts);
const factors = Number(args.factors);
const model = new HybridModel({ itemIds: data.itemIds, embeddings, embeddingDim: 512, factors, seed: Number(args.seed) });
const textOnly = args['text-only'];
const bpr = args.trainer === 'bpr';
console.error(`trainer: ${bpr ? 'trainBpr' : 'trainSoftmax'}`);
await (bpr ? trainBpr : trainSoftmax)(
  model,
  {
    userCount: data.userIds.length,
    users: data.users,
    items: data.items,
    weights: new Float32Array(data.users.length).fill(1),
  },
  {
    epochs: args.epochs ? Number(args.epochs) : bpr ? 3 : SOFTMAX_DEFAULTS.epochs,
    ...(args.lr || bpr ? { learningRate: Number(args.lr ?? 0.01) } : {}),
    ...(args.l2 ? { l2: Number(args.l2) } : {}),
    seed: Number(args.seed),
    trainResiduals: !textOnly,
    onEpoch: ({ epoch, epochs, loss }) => console.error(`epoch ${epoch}/${epochs}: loss ${loss.toFixed(4)}`),
  },
);
// The app imports a global model only for its own encoder, factor count and catalog (ids in order).
const fingerprint = catalogFingerprint(data.itemIds);
const bytes = await encodeModelFile(
  { kind: 'global', modelId: modelIdFor(USE_LITE_ID, factors), catalogFingerprint: fingerprint, contributors: data.userIds.length },
  model.getParams(),
);
await writeFile(args.out!, bytes);
console.error(`wrote ${args.out} (${(bytes.byteLength / 1e6).toFixed(1)} MB; model ${modelIdFor(USE_LITE_ID, factors)}, catalog fingerprint ${fingerprint.slice(0, 12)}…)`);
