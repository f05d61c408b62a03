/**
 * `npx tsx cli/bench-federated.ts --validation --central-epochs 0 --sim-central W,q,b:6`: the simulation's model trained
 *   centrally (diagnostic, docs/secure-aggregation.md "Closing the ε = 8 gap").
 * `npm run bench -- federated [--data DIR] [--rounds R] [--fraction F] [--epsilons inf,8,4,1]
 *   [--max-participations K] [--server-lr η] [--shrink james-stein|none] [--shared W,q,b]
 *   [--clip-shares W:1,*:0|none] [--server-keep W|all] [--validation] [--central-epochs 0]
 *   [--json FILE] [--svg FILE] [--seed S]`
 * `npm run bench -- federated --secure-agg [--secure-rounds 5] [--secure-epsilons inf,8,1] [--curve-epsilons 16,4,2]
 *   [--secure-per-epsilon "1:shared=W+b,shrink=james-stein,rounds=4;2:…"] [--dropout-consistency on|off]
 *   [--secure-shared W,q,b] [--secure-server-lr 120] [--secure-clip 0.5] [--secure-shrink rows|james-stein|none]
 *   [--sum-noise protocol|gaussian] [--dropout-check 0.3] [--cost-devices 42] [--validation] [--json FILE]
 *   [--secure-svg FILE] [--secure-local-train W,q,b] [--secure-local-epochs 10] [--secure-clip-shares W+b:0.5,q:0.5]
 *   [--secure-q-rows M] [--row-threshold 0] [--server-opt sgd|momentum|adam]`:
 *   the same simulation with secure aggregation and distributed noise (issue 20; cli/secure-agg/bench.ts),
 *   beside the central models and this file's local-noise runs at their defaults (same seeds, same split).
 * `npm run bench -- federated --secure-agg --verifiable [--verifiable-workers 2] [--secure-epsilons 8,1] …`: the same with every
 *   round's sum through the verifiable mode (two aggregators, PINE reports checked for every device, the noise at the
 *   aggregators; cli/secure-agg/verifiable-sum.ts), z from that mode's accountant (docs/secure-aggregation.md
 *   "The verifiable mode's accuracy (stop 36)").
 *
 * Defaults (chosen at ε = 8 on --validation, never on the test items): every device takes part once
 * (K = 1) in one round of all 943 devices; the export is the app's (W, q, b, clipped by group with W
 * taking the whole norm budget C, σ·C noise on every coordinate); the server applies only W, in the
 * catalog's top-32 principal text directions. Why: under local noise the per-item tensors (q, b) of a
 * 943-user population never rise above the noise (docs/benchmarks.md), while the W update, a few
 * thousand coordinates that every device pushes in a similar direction, does.
 *
 * Federated simulation on MovieLens-100K (leave-one-out split): every user is a device that holds only
 * its own training interactions. Each round samples a fraction of the devices; each starts from the
 * current global shared parameters (W, q, b), fits its user vector against them, trains locally on its
 * own data, and exports Δ = local − global clipped to C with N(0, (σC)²) on every coordinate
 * (privatizeDelta); the server averages (fedAvg onto zeros), shrinks the mean towards zero by how much
 * of it is noise (James–Stein, post-processing: cli/federated-sim/shrink.ts) and adds η times it. After every round every user fits its own
 * vector against the new global model (shared parameters frozen, as a device would) and the held-out
 * item is ranked among 99 sampled unseen items: HR@10 and NDCG@10.
 *
 * Privacy accounting (user-level, add/remove relation, δ = 1e-5): a device exports at most K times
 * (--max-participations, its own export budget, enforced by the sampler), and σ is chosen with
 * noiseForEpsilon so that K Gaussian releases stay within ε. This is the worst case over the rounds a
 * device can take part in; no amplification by sampling is credited, so the true ε is lower.
 *
 * Compute: local training is plain typed-array SGD (cli/federated-sim/local-sgd.ts), not TF.js (a TF.js
 * graph per client costs more than its ~100 interactions). W is handled in the coordinates of the
 * catalog's top-k principal directions (public: they come from the item texts, not from any user):
 * a client's W delta has the same norm in those coordinates, and the noise a device adds to all d×512
 * entries of W, once projected by the server onto these directions (post-processing), is i.i.d.
 * N(0, (σC)²) on the d×k reduced entries, which is what the simulation draws. The central model is
 * trained with the project's own trainBpr (TF.js) on all training data.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { noiseForEpsilon } from '../src/core/federated/accountant';
import { fedAvg, type WeightedDelta } from '../src/core/federated/aggregate';
import { itemDeltaScores, rocAuc } from '../src/core/federated/attack';
import { clipToNorm, privatizeDelta } from '../src/core/federated/delta';
import { add, scale, subtract, zerosLike, type ParamSet } from '../src/core/federated/params';
import { seededUniform } from '../src/core/random';
import { multiplyTransposed } from '../src/core/vector';
import { rowsByUser } from '../src/core/eval/data';
import { heldOutRank, hitAtK, ndcgOfRank } from '../src/core/eval/metrics';
import { leaveOneOutSplit, subset, type LeaveOneOutSplit } from '../src/core/eval/splits';
import type { InteractionData } from '../src/core/eval/data';
import { HybridModel } from '../src/core/model/hybrid';
import { principalDirections } from '../src/core/model/pca';
import { SOFTMAX_DEFAULTS, trainBpr, trainSoftmax } from '../src/core/model/train';
import { cachedEmbeddings, readMovieLens100k } from './data/readers';
import { useNodeBackend } from './data/tf-node';
import { clientUniform, cloneShared, fitUserVector, itemVectors, trainLocal, type ModelShape, type SharedParams } from './federated-sim/local-sgd';
import { clipByGroups, parseClipShares, type ClipShares } from '../src/core/federated/group-clip';
import { jamesSteinShrink } from './federated-sim/shrink';
import { lineChartSvg, type ChartSeries } from './federated-sim/svg-chart';
import { loadUseLiteFromDisk } from './node-models';
import { FEDERATED_OPTIONS } from './federated-sim/options';
import { parsePerEpsilon } from './secure-agg/per-epsilon';

const { values: args } = parseArgs({
  options: {
    ...FEDERATED_OPTIONS,
    /**
     * With --secure-agg: every round's sum through the verifiable mode instead of the masked one (cli/secure-agg/verifiable-sum.ts:
     * the app's encoding, a PINE report per device, both aggregators' checks and noise). Its defaults: --secure-epsilons 8,1
     * (unless given); no noise-simulated curve, dropout check, attack, cost round, softmax reference, local-noise rows or SVG
     * (those are the masked mode's).
     */
    verifiable: { type: 'boolean', default: false },
    /** Worker threads for the verifiable mode's devices (0: the main thread). */
    'verifiable-workers': { type: 'string', default: '2' },
  },
});

const DELTA = 1e-5;
const seed = Number(args.seed);
const rounds = Number(args.rounds);
const fraction = Number(args.fraction);
const maxParticipations = Number(args['max-participations']);
const clipNorm = Number(args.clip ?? 1);
const shrink = args.shrink ?? 'james-stein';
const serverLearningRate = Number(args['server-lr']);
const factors = Number(args.factors);
const textDim = Number(args['text-dim']);
const epsilons = args.epsilons!.split(',').map((e) => (e.trim() === 'inf' ? Infinity : Number(e)));
const clipShares = args['clip-shares'] && args['clip-shares'] !== 'none' ? parseClipShares(args['clip-shares']) : null;
const sharedNames = args.shared!.split(',').map((name) => name.trim());
if (!sharedNames.every((name) => ['W', 'q', 'b'].includes(name))) throw new RangeError('--shared takes names among W, q, b');
const localSgd = { epochs: Number(args['local-epochs']), learningRate: Number(args['local-lr']), l2: Number(args.l2) };
const fitSgd = { epochs: Number(args['fit-epochs']), learningRate: Number(args['fit-lr']), l2: Number(args.l2) };
for (const [flag, value] of Object.entries({ rounds, fraction, maxParticipations, clipNorm, factors, textDim })) {
  if (!(value > 0 && Number.isFinite(value))) throw new RangeError(`--${flag} must be a positive number`);
}
const serverKeep = args['server-keep'] && args['server-keep'] !== 'all' ? args['server-keep'].split(',').map((name) => name.trim()) : sharedNames;
if (!serverKeep.every((name) => sharedNames.includes(name))) throw new RangeError('--server-keep takes names among --shared');
if (shrink !== 'james-stein' && shrink !== 'none' && !(shrink === 'rows' && args['secure-agg']))
  throw new RangeError('--shrink is james-stein or none (rows: --secure-agg only)');
if (fraction > 1) throw new RangeError('--fraction must be at most 1');

const started = performance.now();
const seconds = (): string => ((performance.now() - started) / 1000).toFixed(0);

// ── data: one device per user, holding only its own training interactions ──────────────────────────
const data = await readMovieLens100k(args.data!);
const userCount = data.userIds.length;
const itemCount = data.itemIds.length;
// The encoder (first run only: the embeddings are cached) and the central model run on TF.js wasm.
await useNodeBackend('wasm');
const { embeddings, fromCache } = await cachedEmbeddings(() => loadUseLiteFromDisk(), 'use-lite-512', 512, data.itemTexts);
const embeddingDim = 512;
const testSplit = leaveOneOutSplit(data, 99, seed);
const fullTrain = subset(data, testSplit.train);
/** With --validation: the same procedure once more on the training data (the test items stay unseen and are never candidates). */
function validationSplit(): { split: LeaveOneOutSplit; train: InteractionData } {
  const inner = leaveOneOutSplit(fullTrain, 99, seed + 1);
  const testItemOf = new Map(testSplit.test.map((row) => [data.users[row]!, data.items[row]!]));
  const resample = seededUniform(seed + 2);
  const byUser = rowsByUser(fullTrain, userCount);
  inner.test.forEach((row, t) => {
    const user = fullTrain.users[row]!;
    const banned = new Set(byUser[user]!.map((r) => fullTrain.items[r]!));
    const testItem = testItemOf.get(user);
    if (testItem !== undefined) banned.add(testItem);
    const candidates = inner.candidates[t]!;
    const used = new Set(candidates);
    for (let c = 0; c < candidates.length; c++) {
      if (candidates[c] !== testItem) continue;
      let item: number;
      do item = Math.floor(resample() * itemCount);
      while (banned.has(item) || used.has(item));
      candidates[c] = item;
      used.add(item);
    }
  });
  return { split: inner, train: subset(fullTrain, inner.train) };
}
const validation = args.validation ? validationSplit() : null;
const split = validation ? validation.split : testSplit;
const evalSource = validation ? fullTrain : data;
const train = validation ? validation.train : fullTrain;
const devicePositives: Int32Array[] = rowsByUser(train, userCount).map((rows) => Int32Array.from(rows, (row) => train.items[row]!));
const deviceSeen: Set<number>[] = devicePositives.map((items) => new Set(items));
const testUsers = split.test.map((row) => evalSource.users[row]!);
const testItems = split.test.map((row) => evalSource.items[row]!);
console.error(
  `ml-100k: ${userCount} devices, ${itemCount} items, ${train.users.length} training interactions; embeddings ${fromCache ? 'from cache' : 'computed'}`,
);

// Reduced text coordinates: the catalog's top-k principal directions (orthonormal rows), k ≥ d.
const basis = principalDirections(embeddings, itemCount, embeddingDim, textDim, 1).basis; // k×D
const reducedText = multiplyTransposed(embeddings, itemCount, embeddingDim, basis, textDim);
const shape: ModelShape = { itemCount, factors, textDim };

/** The model a device starts with when there is no global model: W = top-d principal directions, q = 0, b = 0. */
function textOnlyGlobal(): SharedParams {
  const W = new Float32Array(factors * textDim);
  for (let f = 0; f < factors; f++) W[f * textDim + f] = 1;
  return { W, q: new Float32Array(itemCount * factors), b: new Float32Array(itemCount) };
}

/** The exported tensors (--shared): what a device's delta and the server's average cover. */
const toParamSet = (p: SharedParams): ParamSet => {
  const all: ParamSet = {
    W: { shape: [factors, textDim], values: p.W },
    q: { shape: [itemCount, factors], values: p.q },
    b: { shape: [itemCount], values: p.b },
  };
  return Object.fromEntries(sharedNames.map((name) => [name, all[name]!]));
};
const withParamSet = (base: SharedParams, p: ParamSet): SharedParams => ({
  W: p.W?.values ?? base.W,
  q: p.q?.values ?? base.q,
  b: p.b?.values ?? base.b,
});

// ── evaluation: every device fits its own vector against the frozen global, then LOO ranking ─────────
interface Metrics {
  hr: number;
  ndcg: number;
}

function evaluateWith(userVector: (user: number) => Float32Array, vectors: Float32Array, biases: Float32Array): Metrics {
  let hr = 0;
  let ndcg = 0;
  testUsers.forEach((user, t) => {
    const u = userVector(user);
    const score = (item: number): number => {
      let s = biases[item]!;
      for (let f = 0; f < factors; f++) s += u[f]! * vectors[item * factors + f]!;
      return s;
    };
    const rank = heldOutRank(score(testItems[t]!), Array.from(split.candidates[t]!, score));
    hr += hitAtK(rank, 10);
    ndcg += ndcgOfRank(rank, 10);
  });
  return { hr: hr / testUsers.length, ndcg: ndcg / testUsers.length };
}

function deviceFittedMetrics(vectors: Float32Array, biases: Float32Array): Metrics {
  // The same seed per user every round, so rounds differ only by the global model.
  return evaluateWith(
    (user) => fitUserVector(vectors, biases, factors, devicePositives[user]!, deviceSeen[user]!, { ...fitSgd, uniform: clientUniform(seed, -1, user) }),
    vectors,
    biases,
  );
}

// ── central baseline: trainBpr on all training data (TF.js), same model and d ───────────────────────
const centralEpochs = Number(args['central-epochs']);
/** --central-epochs 0 skips the central model (quick hyperparameter sweeps on the validation split). */
async function centralBaseline(): Promise<{ own: Metrics; fitted: Metrics }> {
  if (centralEpochs === 0) return { own: { hr: NaN, ndcg: NaN }, fitted: { hr: NaN, ndcg: NaN } };
  const centralModel = new HybridModel({ itemIds: data.itemIds, embeddings, embeddingDim, factors, seed: 1 });
  const central = await trainBpr(
    centralModel,
    { userCount, users: train.users, items: train.items, weights: new Float32Array(train.users.length).fill(1) },
    { epochs: centralEpochs, batchSize: 1024, learningRate: 0.01, l2: 1e-4, useText: true, seed },
  );
  const centralVectors = centralModel.itemVectors();
  return {
    own: evaluateWith((user) => central.userVectors.subarray(user * factors, (user + 1) * factors), centralVectors, centralModel.b),
    fitted: deviceFittedMetrics(centralVectors, centralModel.b),
  };
}
const { own: centralOwn, fitted: centralFitted } = await centralBaseline();

/**
 * The second reference line of the secure-aggregation bench: the softmax hybrid the app ships
 * (trainSoftmax with SOFTMAX_DEFAULTS, text on, d as above), on the same training data, with the user
 * vectors it trained. The quality bench's loo row also weights targets by recency; this one does not.
 */
const SOFTMAX_REFERENCE = `trainSoftmax, SOFTMAX_DEFAULTS (${SOFTMAX_DEFAULTS.epochs} epochs, L2 ${SOFTMAX_DEFAULTS.l2}), d = ${factors}, uniform target weights`;
async function centralSoftmaxHybrid(): Promise<Metrics> {
  const model = new HybridModel({ itemIds: data.itemIds, embeddings, embeddingDim, factors, seed: 1 });
  const result = await trainSoftmax(
    model,
    { userCount, users: train.users, items: train.items, weights: new Float32Array(train.users.length).fill(1) },
    { ...SOFTMAX_DEFAULTS, useText: true, seed },
  );
  const metrics = evaluateWith((user) => result.userVectors.subarray(user * factors, (user + 1) * factors), model.itemVectors(), model.b);
  console.error(`central softmax hybrid: NDCG@10 ${metrics.ndcg.toFixed(4)} [${seconds()} s]`);
  return metrics;
}
const centralBest = centralOwn.ndcg >= centralFitted.ndcg ? centralOwn : centralFitted;
console.error(
  `central (trainBpr, ${centralEpochs} epochs): NDCG@10 ${centralOwn.ndcg.toFixed(4)} with its trained user vectors, ` +
    `${centralFitted.ndcg.toFixed(4)} with device-fitted vectors [${seconds()} s]`,
);

// ── one federated run ────────────────────────────────────────────────────────────────────────────────
interface ClientUpdate {
  client: number;
  /** Δ before clipping and noise, kept for the attack. */
  raw: ParamSet;
}

/** What one device does in a round: fit u against the global, train locally, return local − global. */
function localUpdate(
  global: SharedParams,
  globalVectors: Float32Array,
  client: number,
  round: number,
  trained: readonly string[] = sharedNames,
  sgd = localSgd,
): ClientUpdate {
  const uniform = clientUniform(seed, round, client);
  const positives = devicePositives[client]!;
  const seen = deviceSeen[client]!;
  const user = fitUserVector(globalVectors, global.b, factors, positives, seen, { ...fitSgd, uniform });
  const local = cloneShared(global);
  trainLocal(local, user, reducedText, shape, positives, seen, {
    ...sgd,
    uniform,
    trainProjection: trained.includes('W'),
    trainResiduals: trained.includes('q'),
  });
  return { client, raw: subtract(toParamSet(local), toParamSet(global)) };
}

/** k distinct clients among the eligible ones, uniformly (partial Fisher–Yates). */
function sampleClients(eligible: number[], count: number, uniform: () => number): number[] {
  const pool = [...eligible];
  const k = Math.min(count, pool.length);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(uniform() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, k);
}

interface RunResult {
  epsilon: number;
  noiseMultiplier: number;
  perRound: Metrics[];
  /** Participations per device at the end (max must be ≤ K). */
  maxParticipationsSeen: number;
  /** Per round, the James–Stein factor applied to each tensor's mean update. */
  shrinkFactors: Record<string, number>[];
  meanPreClipNorm: number;
  clippedShare: number;
  final: SharedParams;
}

const cohort = Math.max(1, Math.round(fraction * userCount));

function runFederated(epsilon: number): RunResult {
  const noiseMultiplier = Number.isFinite(epsilon) ? noiseForEpsilon(epsilon, DELTA, maxParticipations) : 0;
  let global = textOnlyGlobal();
  const participations = new Int32Array(userCount);
  const sampler = seededUniform(seed + 7); // the same cohorts for every ε, so the curves differ only by the noise
  const noise = seededUniform(seed + 1000 + Math.round(Number.isFinite(epsilon) ? epsilon * 100 : 0));
  const perRound: Metrics[] = [deviceFittedMetrics(itemVectors(global, reducedText, shape), global.b)];
  let normSum = 0;
  let clipped = 0;
  const shrinkFactors: Record<string, number>[] = [];
  let updates = 0;
  for (let round = 1; round <= rounds; round++) {
    const eligible = Array.from({ length: userCount }, (_, u) => u).filter((u) => participations[u]! < maxParticipations);
    const clients = sampleClients(eligible, cohort, sampler);
    const globalVectors = itemVectors(global, reducedText, shape);
    const globalSet = toParamSet(global);
    const deltas: WeightedDelta[] = [];
    for (const client of clients) {
      participations[client]!++;
      const { raw } = localUpdate(global, globalVectors, client, round);
      const exported = exportDelta(raw, noiseMultiplier, noise);
      normSum += exported.local.preClipNorm;
      if (exported.local.preClipNorm > clipNorm) clipped++;
      updates++;
      // Weight 1 per device: weighting by history length would raise one user's sensitivity above C.
      deltas.push({ weight: 1, params: exported.delta });
    }
    // The mean update (fedAvg onto zeros), denoised knowing its per-coordinate noise variance (σC)²/m, times the server learning rate.
    const received = fedAvg(zerosLike(globalSet), deltas);
    const mean: ParamSet = Object.fromEntries(serverKeep.map((name) => [name, received[name]!]));
    const kept: ParamSet = Object.fromEntries(serverKeep.map((name) => [name, globalSet[name]!]));
    const noiseVariance = (noiseMultiplier * clipNorm) ** 2 / deltas.length;
    const shrunk = shrink === 'james-stein' ? jamesSteinShrink(mean, noiseVariance) : { params: mean, factors: {} };
    shrinkFactors.push(shrunk.factors);
    global = withParamSet(global, add(kept, scale(shrunk.params, serverLearningRate)));
    const metrics = deviceFittedMetrics(itemVectors(global, reducedText, shape), global.b);
    perRound.push(metrics);
    console.error(
      `  ε=${epsilon} σ=${noiseMultiplier.toFixed(3)} round ${round}: ${clients.length} clients, NDCG@10 ${metrics.ndcg.toFixed(4)}, HR@10 ${metrics.hr.toFixed(4)}, ` +
        `shrink ${Object.entries(shrunk.factors)
          .map(([name, f]) => `${name} ${f.toFixed(2)}`)
          .join(' ')} [${seconds()} s]`,
    );
  }
  return {
    epsilon,
    noiseMultiplier,
    perRound,
    maxParticipationsSeen: Math.max(...participations),
    shrinkFactors,
    meanPreClipNorm: normSum / Math.max(1, updates),
    clippedShare: clipped / Math.max(1, updates),
    final: global,
  };
}

/**
 * What leaves a device, by the app's own code path: privatizeDelta clips Δ to C (per group with
 * --clip-shares, as settings.clipShares makes the app do) and adds N(0, (σC)²) to every coordinate.
 * σ = 0 (ε = ∞): the same clipping, no noise (privatizeDelta refuses σ = 0 on purpose).
 */
function exportDelta(
  raw: ParamSet,
  noiseMultiplier: number,
  noise: () => number,
  shares: ClipShares | null = clipShares,
): { delta: ParamSet; local: { preClipNorm: number } } {
  if (noiseMultiplier > 0) {
    // privatizeDelta(local, global) with global = 0: the delta is already local − global (re-adding global would only round it).
    const { delta, local } = privatizeDelta(raw, zerosLike(raw), { clipNorm, noiseMultiplier, clipShares: shares ?? undefined, uniform: noise });
    return { delta, local: { preClipNorm: local.preClipNorm } };
  }
  const { clipped, norm } = shares ? clipByGroups(raw, clipNorm, shares) : clipToNorm(raw, clipNorm);
  return { delta: clipped, local: { preClipNorm: norm } };
}

/**
 * The attack's score for item i: how much the exported delta changes that item's vector and bias,
 * ‖ΔW·ẽ_i + Δq_i‖² + Δb_i², square-rooted. With q and b only this is the row-norm attack of
 * itemDeltaScores; with W in the delta it also catches the items whose text directions W moved
 * towards (a W-only update has no per-item rows, but it still says something about the items).
 */
function itemEffectScores(delta: ParamSet): Float64Array {
  const W = delta.W?.values;
  const scores = W ? itemVectors({ W, q: delta.q?.values ?? new Float32Array(itemCount * factors), b: new Float32Array(itemCount) }, reducedText, shape) : null;
  const fromRows = delta.q || delta.b ? itemDeltaScores(delta, { rows: delta.q ? ['q'] : [], entries: delta.b ? ['b'] : [] }) : null;
  const out = new Float64Array(itemCount);
  for (let i = 0; i < itemCount; i++) {
    if (!scores) {
      out[i] = fromRows![i]!;
      continue;
    }
    let sq = delta.b ? delta.b.values[i]! ** 2 : 0;
    for (let f = 0; f < factors; f++) sq += scores[i * factors + f]! ** 2;
    out[i] = Math.sqrt(sq);
  }
  return out;
}

if (args['sim-central']) {
  const [namesText, epochsText] = args['sim-central'].split(':');
  const names = namesText!.split(',').map((name) => name.trim());
  const epochs = Number(epochsText ?? '5');
  const global = textOnlyGlobal();
  const userVectors = Array.from({ length: userCount }, () => new Float32Array(factors));
  const uniform = seededUniform(seed + 4242);
  const order = Array.from({ length: userCount }, (_, u) => u);
  for (let epoch = 1; epoch <= epochs; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(uniform() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (const user of order) {
      trainLocal(global, userVectors[user]!, reducedText, shape, devicePositives[user]!, deviceSeen[user]!, {
        ...localSgd,
        epochs: 1,
        uniform,
        trainProjection: names.includes('W'),
        trainResiduals: names.includes('q'),
      });
    }
    const vectors = itemVectors(global, reducedText, shape);
    const fitted = deviceFittedMetrics(vectors, global.b);
    const own = evaluateWith((user) => userVectors[user]!, vectors, global.b);
    console.log(
      `sim-central ${names.join(',')} k=${textDim} epoch ${epoch}: device-fitted NDCG@10 ${fitted.ndcg.toFixed(4)} HR@10 ${fitted.hr.toFixed(4)}; own vectors ${own.ndcg.toFixed(4)} [${seconds()} s]`,
    );
  }
  process.exit(0);
}

if (args['secure-agg']) {
  const secureShared = args['secure-shared']!.split(',').map((name) => name.trim());
  const secureClip = Number(args['secure-clip'] ?? args.clip ?? 0.5);
  if (!(secureClip > 0)) throw new RangeError('--secure-clip must be positive');
  const secureShrink = args['secure-shrink'] ?? args.shrink ?? 'rows';
  if (secureShrink !== 'rows' && secureShrink !== 'james-stein' && secureShrink !== 'none')
    throw new RangeError('--secure-shrink is rows, james-stein or none');
  if (!secureShared.every((name) => sharedNames.includes(name))) throw new RangeError('--secure-shared takes names among --shared');
  const secureLocalTrain = args['secure-local-train']!.split(',').map((name) => name.trim());
  if (!secureLocalTrain.every((name) => sharedNames.includes(name))) throw new RangeError('--secure-local-train takes names among --shared');
  const secureLocalSgd = {
    ...localSgd,
    epochs: args['secure-local-epochs'] ? Number(args['secure-local-epochs']) : localSgd.epochs,
    learningRate: args['secure-local-lr'] ? Number(args['secure-local-lr']) : localSgd.learningRate,
  };
  const serverOptimizer = args['server-opt'];
  if (serverOptimizer !== 'sgd' && serverOptimizer !== 'momentum' && serverOptimizer !== 'adam') throw new RangeError('--server-opt is sgd, momentum or adam');
  if (args['dropout-consistency'] !== 'on' && args['dropout-consistency'] !== 'off') throw new RangeError('--dropout-consistency is on or off');
  const perEpsilon = parsePerEpsilon(args['secure-per-epsilon'] ?? '');
  for (const [epsilon, s] of perEpsilon) {
    if (s.shared && !s.shared.every((name) => sharedNames.includes(name)))
      throw new RangeError(`--secure-per-epsilon: ε = ${epsilon} exports names outside --shared`);
  }
  const { secureAggBench } = await import('./secure-agg/bench');
  const verifiable = Boolean(args.verifiable);
  const given = (name: string): boolean => process.argv.some((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  const secureEpsilons = verifiable && !given('secure-epsilons') ? '8,1' : args['secure-epsilons']!;
  const verifiableWorkers = Number(args['verifiable-workers']);
  if (!(Number.isInteger(verifiableWorkers) && verifiableWorkers >= 0)) throw new RangeError('--verifiable-workers must be a non-negative integer');
  const centralSoftmax = args['secure-softmax'] && centralEpochs > 0 && !verifiable ? await centralSoftmaxHybrid() : null; // --central-epochs 0: sweeps skip both
  await secureAggBench(
    {
      userCount,
      itemCount,
      factors,
      textDim,
      seed,
      delta: DELTA,
      validation: Boolean(validation),
      deviceSeen,
      textOnlyGlobal,
      // Every shared tensor: each ε's run exports its own part of them (devices still train W, q and b locally, as in the app).
      toParamSet,
      withParamSet,
      vectorsOf: (p) => itemVectors(p, reducedText, shape),
      localUpdate: (global, vectors, client, round) => localUpdate(global, vectors, client, round, secureLocalTrain, secureLocalSgd),
      deviceFittedMetrics,
      itemEffectScores,
      central: { bpr: { own: centralOwn, fitted: centralFitted, epochs: centralEpochs }, softmax: centralSoftmax, softmaxSettings: SOFTMAX_REFERENCE },
      localNoise: (epsilon) => {
        const r = runFederated(epsilon);
        return { noiseMultiplier: r.noiseMultiplier, final: r.perRound.at(-1)! };
      },
      localNoiseSettings: `${rounds} round of ${cohort} devices, K = ${maxParticipations}, clip shares ${args['clip-shares']}, server keeps ${serverKeep.join(', ')}, lr ${serverLearningRate}`,
    },
    {
      base: {
        shared: secureShared,
        shrink: secureShrink,
        rounds: Number(args['secure-rounds']),
        clipNorm: secureClip,
        serverLearningRate: Number(args['secure-server-lr']),
      },
      perEpsilon,
      epsilons: secureEpsilons.split(',').map((e) => (e.trim() === 'inf' ? Infinity : Number(e))),
      curveEpsilons: args['curve-epsilons'] && !verifiable ? args['curve-epsilons'].split(',').map(Number) : [],
      serverOptimizer: { kind: serverOptimizer, momentum: Number(args['server-momentum']), tau: Number(args['server-adam-tau']) },
      rowThreshold: Number(args['row-threshold']),
      qRows: args['secure-q-rows'] === 'all' ? null : Number(args['secure-q-rows']),
      clipShares: args['secure-clip-shares'] && args['secure-clip-shares'] !== 'none' ? parseClipShares(args['secure-clip-shares']) : null,
      localTraining: `${args['secure-clip-shares'] !== 'none' ? `clip shares ${args['secure-clip-shares']}; ` : ''}devices train ${secureLocalTrain.join(', ')} locally (${secureLocalSgd.epochs} epochs, lr ${secureLocalSgd.learningRate})`,
      sumNoise: verifiable ? 'verifiable' : args['sum-noise'] === 'gaussian' ? 'gaussian' : 'protocol',
      verifiableWorkers,
      dropoutCheck: verifiable ? 0 : Number(args['dropout-check']),
      dropoutConsistency: args['dropout-consistency'] !== 'off',
      attackClients: verifiable ? 0 : Number(args['attack-clients']),
      costDevices: verifiable ? 0 : Number(args['cost-devices']),
      // The app's export (src/core/model/hybrid.ts getParams) over the shipped goodbooks model: W 32×512, q 10,000×32, b 10,000.
      appDeltaLength: 32 * 512 + 10_000 * 32 + 10_000,
      appDeltaLayout: 'W 32×512 + q 10,000×32 + b 10,000 of the shipped goodbooks-10k model',
      localNoiseEpsilons: verifiable ? [] : epsilons.filter((e) => e === 8 || e === 1),
      ...(args.json ? { json: args.json } : {}),
      ...(args['secure-svg'] && !verifiable ? { svg: args['secure-svg'] } : {}),
      started,
    },
  );
  // The local-noise report below is this mode's comparison rows already; TF.js would keep the process alive.
  process.exit(0);
}

const runs: RunResult[] = [];
for (const epsilon of epsilons) runs.push(runFederated(epsilon));

// ── privacy check: membership attack on single exported deltas ───────────────────────────────────────
const attackClients = sampleClients(
  Array.from({ length: userCount }, (_, u) => u),
  Number(args['attack-clients']),
  seededUniform(seed + 99),
);
const attackBase = (runs.find((r) => !Number.isFinite(r.epsilon)) ?? runs[0]!).final;
const attackVectors = itemVectors(attackBase, reducedText, shape);
const attackUpdates = attackClients.map((client) => localUpdate(attackBase, attackVectors, client, rounds + 1));
const attackSigmas = [0, Number(args['attack-sigma']), ...runs.filter((r) => r.noiseMultiplier > 0).map((r) => r.noiseMultiplier)];
/** Each σ with the bench's clip shares, plus the app's default export (σ = --attack-sigma, one global clip) when the shares differ. */
const attackSettings: { sigma: number; shares: ClipShares | null; label: string }[] = [...new Set(attackSigmas)].map((sigma) => ({
  sigma,
  shares: clipShares,
  label: '',
}));
if (clipShares) attackSettings.push({ sigma: Number(args['attack-sigma']), shares: null, label: ' (one global clip: the app default)' });
const attack = attackSettings.map(({ sigma, shares, label }) => {
  const noise = seededUniform(seed + 5000);
  const aucs = attackUpdates.map(({ client, raw }) => {
    const exported = exportDelta(raw, sigma, noise, shares).delta;
    return rocAuc(itemEffectScores(exported), deviceSeen[client]!);
  });
  return { sigma, label, meanAuc: aucs.reduce((a, b) => a + b, 0) / aucs.length, aucs };
});

// ── report ───────────────────────────────────────────────────────────────────────────────────────────
const label = (epsilon: number): string => (Number.isFinite(epsilon) ? `ε = ${epsilon}` : 'ε = ∞ (no noise)');
const lines: string[] = [];
lines.push(
  `\nMovieLens-100K, leave-one-out (held-out item among 99 unseen), ${userCount} devices, ${rounds} rounds, ${cohort} devices per round ` +
    `(fraction ${fraction}), each device exports at most K = ${maxParticipations} times; C = ${clipNorm}, δ = ${DELTA}, d = ${factors}, ` +
    `W in the top-${textDim} principal directions; local: ${localSgd.epochs} epochs of SGD (lr ${localSgd.learningRate}, L2 ${localSgd.l2}); ` +
    `devices train ${sharedNames.join(', ')}; clip shares ${args['clip-shares']}; the server applies ${serverKeep.join(', ')}; ` +
    `server learning rate ${serverLearningRate}, server denoising ${shrink}; ${validation ? 'VALIDATION split' : 'test split'}; seed ${seed}.\n`,
);
lines.push(`| round | ${runs.map((r) => `${label(r.epsilon)} (σ = ${r.noiseMultiplier.toFixed(2)})`).join(' | ')} |`);
lines.push(`|---:|${runs.map(() => '---:').join('|')}|`);
for (let round = 0; round <= rounds; round++) {
  lines.push(`| ${round} | ${runs.map((r) => r.perRound[round]!.ndcg.toFixed(4)).join(' | ')} |`);
}
lines.push(`| central | ${runs.map(() => centralBest.ndcg.toFixed(4)).join(' | ')} |`);
lines.push('\nNDCG@10 per round (round 0: the text-only starting model).\n');
lines.push('| setting | σ | final NDCG@10 | final HR@10 | % of central NDCG@10 | mean ‖Δ‖ before clip | clipped |');
lines.push('|---|---:|---:|---:|---:|---:|---:|');
lines.push(
  `| central, trained user vectors (trainBpr, ${centralEpochs} epochs) | – | ${centralOwn.ndcg.toFixed(4)} | ${centralOwn.hr.toFixed(4)} | – | – | – |`,
);
lines.push(`| central, device-fitted user vectors | – | ${centralFitted.ndcg.toFixed(4)} | ${centralFitted.hr.toFixed(4)} | – | – | – |`);
for (const r of runs) {
  const last = r.perRound.at(-1)!;
  lines.push(
    `| federated, ${label(r.epsilon)} | ${r.noiseMultiplier.toFixed(3)} | ${last.ndcg.toFixed(4)} | ${last.hr.toFixed(4)} | ` +
      `${((100 * last.ndcg) / centralBest.ndcg).toFixed(1)} % | ${r.meanPreClipNorm.toFixed(3)} | ${(100 * r.clippedShare).toFixed(0)} % |`,
  );
}
lines.push(`\n"% of central" divides by the better central figure (${centralBest.ndcg.toFixed(4)}).\n`);
lines.push(
  `Membership attack (item i scored by how much the exported delta moves it, ‖[ΔW·ẽ_i + Δq_i, Δb_i]‖), one export per device, ${attackClients.length} devices, C = ${clipNorm}:\n`,
);
lines.push('| σ | mean ROC AUC | per device |');
lines.push('|---:|---:|---|');
for (const a of attack)
  lines.push(`| ${a.sigma === 0 ? '0 (no noise)' : a.sigma.toFixed(3)}${a.label} | ${a.meanAuc.toFixed(4)} | ${a.aucs.map((x) => x.toFixed(3)).join(', ')} |`);
lines.push(`\nTotal wall time: ${seconds()} s.`);
console.log(lines.join('\n'));

const palette = ['#1f77b4', '#2ca02c', '#ff7f0e', '#d62728', '#9467bd', '#8c564b'];
const series: ChartSeries[] = runs.map((r, index) => ({
  name: `${label(r.epsilon)}${r.noiseMultiplier > 0 ? ` (σ ${r.noiseMultiplier.toFixed(2)})` : ''}`,
  points: r.perRound.map((m, round) => [round, m.ndcg] as const),
  color: palette[index % palette.length]!,
}));
series.push({
  name: 'central (trainBpr)',
  points: [
    [0, centralBest.ndcg],
    [rounds, centralBest.ndcg],
  ],
  color: '#000000',
  dashed: true,
});
series.push({
  name: '90 % of central',
  points: [
    [0, 0.9 * centralBest.ndcg],
    [rounds, 0.9 * centralBest.ndcg],
  ],
  color: '#888888',
  dashed: true,
});
if (args.svg) {
  await mkdir(dirname(args.svg), { recursive: true });
  await writeFile(
    args.svg,
    lineChartSvg({
      title: `Federated BPR on MovieLens-100K: NDCG@10 per round (K = ${maxParticipations}, δ = 1e-5)`,
      xLabel: 'round',
      yLabel: 'NDCG@10 (leave-one-out)',
      series,
    }),
  );
}
if (args.json) {
  await writeFile(
    args.json,
    JSON.stringify(
      {
        settings: {
          rounds,
          fraction,
          cohort,
          maxParticipations,
          clipNorm,
          clipShares,
          shared: sharedNames,
          serverKeep,
          delta: DELTA,
          factors,
          textDim,
          localSgd,
          fitSgd,
          serverLearningRate,
          validation: Boolean(validation),
          seed,
        },
        central: { trainedUserVectors: centralOwn, deviceFittedUserVectors: centralFitted, epochs: centralEpochs },
        federated: runs.map((r) => ({
          epsilon: Number.isFinite(r.epsilon) ? r.epsilon : null,
          noiseMultiplier: r.noiseMultiplier,
          perRound: r.perRound,
          maxParticipationsSeen: r.maxParticipationsSeen,
          shrinkFactors: r.shrinkFactors,
          meanPreClipNorm: r.meanPreClipNorm,
          clippedShare: r.clippedShare,
        })),
        attack: { clients: attackClients, results: attack },
        wallTimeSeconds: (performance.now() - started) / 1000,
      },
      null,
      2,
    ),
  );
}
