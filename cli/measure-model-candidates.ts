/**
 * `npx tsx cli/measure-model-candidates.ts [--items 100000] [--head 10000] [--runs 30]`
 *
 * The model's own candidates at scale (core/model/model-candidates.ts) in Node: the cost of building the
 * head's v_i once (HeadVectors.build) and of one rank's candidates (the head scored, the text index's search
 * with Wᵀu for 500, the 300 most popular scored, as engine/scale-model.ts asks them), over a seeded catalog of
 * random clustered 512-d rows held in memory as the engine holds them at 100,000 items. Prints medians and p95.
 */
import { parseArgs } from 'node:util';
import { encodeIndexFile, textSignBits } from '../src/core/index/codes-file';
import { mostPopular } from '../src/core/index/pool-rank';
import { int8Rows } from '../src/core/index/rows';
import { encodeSign, signCodebook } from '../src/core/index/sign';
import { HeadVectors, modelCandidates } from '../src/core/model/model-candidates';
import { PARAM_B, PARAM_Q, PARAM_RANKER_BIAS, PARAM_RANKER_WEIGHTS, PARAM_W } from '../src/core/model/hybrid';
import { PoolModel } from '../src/core/model/pool-model';
import { defaultRankerWeights, RANKER_FEATURE_COUNT } from '../src/core/model/ranker';
import { gaussianSource, seededUniform } from '../src/core/random';
import { memoryDirectory, VectorStore } from '../src/storage/opfs-vectors';
import { ScaleSearch, textIndexFrom } from '../src/engine/scale-index';
import { MODEL_POOL, MODEL_TEXT_CANDIDATES } from '../src/engine/scale-model';
import { clusteredInt8Rows } from './clustered-rows';

const { values } = parseArgs({
  options: { items: { type: 'string', default: '100000' }, head: { type: 'string', default: '10000' }, runs: { type: 'string', default: '30' } },
});
const n = Number(values.items);
const headSize = Number(values.head);
const D = 512;
const d = 32;
const normal = gaussianSource(seededUniform(9));
const uniform = seededUniform(10);
const { codes, scales } = clusteredInt8Rows(n, D, 100, 0.3, normal);
const store = await VectorStore.open(memoryDirectory(), { modelId: 'm', catalogFingerprint: 'f', totalItems: n, dimension: D });
store.writeRows(0, codes, scales);
await store.holdMemory();
const book = signCodebook(D, textSignBits(D), 7);
const file = await encodeIndexFile(
  { vectors: 'text', modelId: 'm', catalogFingerprint: 'f' },
  { kind: 'sign', codebook: book, codes: encodeSign(book, int8Rows(codes, scales, D)) },
);
const search = new ScaleSearch({ text: { index: await textIndexFrom(file, { modelId: 'm', catalogFingerprint: 'f', count: n }), rows: store } });
const popularity = Float32Array.from({ length: n }, () => uniform() ** 4);
const head = mostPopular(popularity, headSize);
const params = {
  [PARAM_W]: { shape: [d, D], values: Float32Array.from({ length: d * D }, () => normal() / Math.sqrt(d)) },
  [PARAM_Q]: { shape: [headSize, d], values: Float32Array.from({ length: headSize * d }, () => 0.3 * normal()) },
  [PARAM_B]: { shape: [headSize], values: Float32Array.from(head, (i) => popularity[i]!) },
  [PARAM_RANKER_WEIGHTS]: { shape: [RANKER_FEATURE_COUNT], values: defaultRankerWeights() },
  [PARAM_RANKER_BIAS]: { shape: [1], values: Float32Array.of(0) },
};
const model = new PoolModel(
  params,
  head.map((i) => `i${i}`),
);
model.fitPrior((id) => popularity[Number(id.slice(1))]);
const rowOf = (index: number) => {
  const c = new Int8Array(D);
  const s = new Float32Array(1);
  store.readRows([index], c, s);
  return Float32Array.from(c, (x) => x * s[0]!);
};
let started = performance.now();
const heads = await HeadVectors.build(
  model,
  (id) => Number(id.slice(1)),
  (indices) => indices.map(rowOf),
);
const buildMs = performance.now() - started;
const popular = mostPopular(popularity, 300);
const popularRows = new Map(popular.map((i) => [i, rowOf(i)]));
const times: number[] = [];
for (let run = 0; run < Number(values.runs); run++) {
  const u = Float32Array.from({ length: d }, () => normal());
  started = performance.now();
  modelCandidates({
    model,
    head: heads,
    user: u,
    search: (query, k, exclude) => search.query(query, k, exclude, undefined, (index) => popularRows.get(index)),
    popularity: (index) => popularity[index]!,
    exclude: () => false,
    k: MODEL_POOL,
    textCandidates: MODEL_TEXT_CANDIDATES,
    alsoScore: { items: popular, rowOf: (index) => popularRows.get(index) },
  });
  times.push(performance.now() - started);
}
times.sort((a, b) => a - b);
const at = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))]!.toFixed(1);
console.log(
  `model candidates, ${n} items (rows held), head ${headSize}: head built in ${buildMs.toFixed(0)} ms; per rank median ${at(0.5)} ms, p95 ${at(0.95)} ms (${times.length} ranks)`,
);
