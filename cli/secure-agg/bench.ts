/**
 * `npm run bench -- federated --secure-agg`: the federated simulation of cli/bench-federated.ts with
 * the aggregation replaced by secure aggregation with distributed noise (issue 20). Every round, every
 * participating device's delta goes through encodeForSum (helper B: clip, rotate, quantize, its share of
 * the discrete Gaussian), the whole protocol runs for every device (helper A's simulateRound: keys,
 * encrypted shares, masks, unmasking), the server decodes the sum (decodeSum) and applies the FedAvg
 * mean. The noise multiplier z is chosen per target ε with B's accountant over the rounds a device
 * joins (every device joins every round, so K = rounds), δ = 1e-5.
 *
 * This file holds only the harness: the simulation's model, local training and evaluation are
 * bench-federated.ts's (passed in as a context), the protocol and the noise are A's and B's modules.
 *
 * `--sum-noise gaussian` (sweeps only, never the reported figures) skips the protocol and draws the
 * sum's noise as a continuous Gaussian of the same variance: fast enough to choose the rounds and the
 * server learning rate on the validation split.
 */
import { rocAuc } from '../../src/core/federated/attack';
import { clipToNorm } from '../../src/core/federated/delta';
import { clipByGroups, type ClipShares } from '../../src/core/federated/group-clip';
import { flatten, l2Norm, layoutOf, unflatten, type ParamSet } from '../../src/core/federated/params';
import { gaussianSource, seededUniform } from '../../src/core/federated/random';
import { distributedEpsilon, noiseMultiplierForEpsilon } from '../../src/core/secagg/accountant';
import { checkSum, decodeSum, encodingReport, sumNoiseVariance, type DistributedNoiseSettings } from '../../src/core/secagg/encode';
import { simulateRound } from '../../src/core/secagg/simulate';
import { jamesSteinShrink, jamesSteinShrinkRows } from '../federated-sim/shrink';
import { serverOptimizer, type ServerOptimizerSettings } from '../federated-sim/server-opt';
import type { SharedParams } from '../federated-sim/local-sgd';
import { appVerifiableEpsilon } from '../../src/core/secagg/verifiable-app';
import { appCost } from './app-cost';
import { describeSettings, settingsForEpsilon, type EpsilonOverrides, type SecureRunSettings } from './per-epsilon';
import { gatherRows, topRows, withRows } from './q-rows';
import { DROPOUT_TOLERANCE, deviceRng, rotationSeedFor } from './replay';
import { reportSecureBench, type DropoutCheck, type SecureRun } from './report';
import { firstDifference, plainSumMod32, secureRound } from './secure-sum';
import {
  describeVerifiableRound,
  verifiableBenchRound,
  verifiableNoiseMultiplier,
  VerifiablePool,
  verifiableSumNoiseVariance,
  type VerifiableRoundFigures,
} from './verifiable-sum';

export interface Metrics {
  hr: number;
  ndcg: number;
}

/** What bench-federated.ts hands over: its data, model and evaluation, unchanged. */
export interface SecureBenchContext {
  userCount: number;
  itemCount: number;
  factors: number;
  textDim: number;
  seed: number;
  delta: number;
  validation: boolean;
  deviceSeen: readonly ReadonlySet<number>[];
  textOnlyGlobal(): SharedParams;
  toParamSet(p: SharedParams): ParamSet;
  withParamSet(base: SharedParams, p: ParamSet): SharedParams;
  vectorsOf(p: SharedParams): Float32Array;
  localUpdate(global: SharedParams, vectors: Float32Array, client: number, round: number): { client: number; raw: ParamSet };
  deviceFittedMetrics(vectors: Float32Array, biases: Float32Array): Metrics;
  itemEffectScores(delta: ParamSet): Float64Array;
  /** Central references on the same training data. */
  central: { bpr: { own: Metrics; fitted: Metrics; epochs: number }; softmax: Metrics | null; softmaxSettings: string };
  /** The old local-noise simulation at its chosen defaults (one round of all devices, W only), same seeds and split. */
  localNoise(epsilon: number): { noiseMultiplier: number; final: Metrics };
  localNoiseSettings: string;
}

export interface SecureBenchOptions {
  /** What an ε runs with unless `perEpsilon` overrides it (export, shrink, rounds, clip, server lr). */
  base: SecureRunSettings;
  /** Each ε's own settings, chosen on validation (per-epsilon.ts): one run covers ε = ∞, 8 and 1. */
  perEpsilon: EpsilonOverrides;
  epsilons: number[];
  /** The server's step on the denoised mean (FedAvg, FedAvgM or FedAdam: cli/federated-sim/server-opt.ts). */
  serverOptimizer: ServerOptimizerSettings;
  /**
   * Per-group clipping before encodeForSum (group-clip.ts: the whole delta stays within C, so the noise and ε
   * are those of one global clip); null: encodeForSum's one global clip alone.
   */
  clipShares: ClipShares | null;
  /** Export q for this many items only, those with the highest published b (null: every row). */
  qRows: number | null;
  /** What the devices train locally, for the report. */
  localTraining: string;
  /** With shrink 'rows': a row is kept only if its squared norm exceeds the noise's mean by this many standard deviations. */
  rowThreshold: number;
  /**
   * protocol: the masked mode (encodeForSum → simulateRound → decodeSum); verifiable: the verifiable mode for every
   * device (verifiable-sum.ts: encodeForVerifiable → PINE report → both aggregators verify → their noise → decode);
   * gaussian: the sum's noise simulated (sweeps only).
   */
  sumNoise: 'protocol' | 'gaussian' | 'verifiable';
  /** Worker threads for the verifiable mode's devices (0: the main thread). */
  verifiableWorkers?: number;
  /** Fraction of the cohort that drops after the masked upload in the dropout check. */
  dropoutCheck: number;
  /** Run the consistency round (signed survivor lists, sampled check) in the dropout check's round. */
  dropoutConsistency: boolean;
  attackClients: number;
  /** Devices in the cost round at the app's delta length. */
  costDevices: number;
  /** The app's delta length (W, q, b of the shipped goodbooks model) for the cost figures. */
  appDeltaLength: number;
  appDeltaLayout: string;
  /** Extra ε values for the curve, run with the sum's noise simulated (--sum-noise gaussian's path). */
  curveEpsilons: number[];
  /** ε values whose runs also get the local-noise comparison. */
  localNoiseEpsilons: number[];
  json?: string;
  svg?: string;
  started: number;
}

export async function secureAggBench(ctx: SecureBenchContext, options: SecureBenchOptions): Promise<void> {
  const { userCount, seed } = ctx;
  const seconds = (): string => ((performance.now() - options.started) / 1000).toFixed(0);
  const cohort = userCount; // every device joins every round: K = rounds
  const protocolOn = options.sumNoise === 'protocol';
  const verifiableOn = options.sumNoise === 'verifiable';
  const pool = verifiableOn && (options.verifiableWorkers ?? 0) > 0 ? new VerifiablePool(options.verifiableWorkers!) : null;
  const qRows = options.qRows;

  async function run(epsilon: number, epsilonIndex: number, withProtocol: boolean): Promise<SecureRun> {
    const runSettings = settingsForEpsilon(epsilon, options.base, options.perEpsilon);
    const { rounds, clipNorm } = runSettings;
    const allTensors = ctx.toParamSet(ctx.textOnlyGlobal());
    const modelLayout = layoutOf(Object.fromEntries(runSettings.shared.map((name) => [name, allTensors[name]!])));
    if (qRows !== null && !modelLayout.some((t) => t.name === 'q')) throw new RangeError(`ε = ${epsilon}: q rows need q among the exported tensors`);
    // With qRows the export holds q for that many items only (rows chosen each round from the published b): a fixed length.
    const layout = qRows === null ? modelLayout : modelLayout.map((t) => (t.name === 'q' ? { name: 'q', shape: [qRows, ctx.factors] } : t));
    const length = layout.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
    console.error(`secure ε=${epsilon}: ${describeSettings(runSettings)} (${length} values) [${seconds()} s]`);
    const base = { clipNorm, expectedCohort: cohort, dropoutTolerance: DROPOUT_TOLERANCE, bits: 32 as const };
    // The verifiable mode sizes z with its own accountant (appVerifiableEpsilon: one aggregator's share, γ_v).
    const verifiable = withProtocol && verifiableOn;
    const noiseMultiplier = !Number.isFinite(epsilon)
      ? 0
      : verifiable
        ? verifiableNoiseMultiplier(epsilon, ctx.delta, rounds, clipNorm, length)
        : noiseMultiplierForEpsilon(epsilon, ctx.delta, rounds, base, length);
    const settings: DistributedNoiseSettings = { ...base, noiseMultiplier };
    const epsilonReported = verifiable
      ? appVerifiableEpsilon({ clipNorm, noiseMultiplier }, rounds, ctx.delta, length)
      : distributedEpsilon(settings, rounds, ctx.delta, length);
    const report = encodingReport(settings, length);
    const verifiableRounds: VerifiableRoundFigures[] = [];
    let global = ctx.textOnlyGlobal();
    const perRound: Metrics[] = [ctx.deviceFittedMetrics(ctx.vectorsOf(global), global.b)];
    const shrinkFactors: Record<string, number>[] = [];
    const protocol: SecureRun['protocol'] = [];
    let normSum = 0;
    let clipped = 0;
    let updates = 0;
    let last: SecureRun['last'] = null;
    const gaussian = gaussianSource(seededUniform(seed + 3000 + epsilonIndex));
    const optimizer = serverOptimizer(options.serverOptimizer);
    for (let round = 1; round <= rounds; round++) {
      const clients = Array.from({ length: cohort }, (_, u) => u);
      const vectors = ctx.vectorsOf(global);
      const globalSet = ctx.toParamSet(global);
      const deltas: Float32Array[] = [];
      const rows = qRows === null ? null : topRows(global.b, qRows);
      for (const client of clients) {
        const { raw: all } = ctx.localUpdate(global, vectors, client, round);
        const pick = (name: string): ParamSet[string] => (name === 'q' && qRows !== null ? gatherRows(all.q!, rows ?? [], qRows) : all[name]!);
        const trained: ParamSet = Object.fromEntries(layout.map((t) => [t.name, pick(t.name)])); // what the device exports
        const norm = l2Norm(trained);
        // With clip shares the device clips each group to its part of C first; encodeForSum's global clip is then a no-op.
        const raw = options.clipShares ? clipByGroups(trained, clipNorm, options.clipShares).clipped : trained;
        normSum += norm;
        if (norm > clipNorm) clipped++;
        updates++;
        deltas.push(flatten(raw));
      }
      let sum: Float32Array;
      let survivors: number;
      let noiseVariance: number | null = null;
      if (verifiable) {
        const result = await verifiableBenchRound(deltas, { length, clipNorm, noiseMultiplier, seed, epsilonIndex, round }, pool);
        sum = result.sum;
        survivors = result.figures.accepted;
        noiseVariance = verifiableSumNoiseVariance({ length, clipNorm, noiseMultiplier }, survivors) / survivors ** 2;
        verifiableRounds.push(result.figures);
      } else if (withProtocol) {
        const rotationSeed = rotationSeedFor(seed, epsilonIndex, round);
        const result = await secureRound(deltas, settings, rotationSeed, {
          roundId: `e${epsilonIndex}-r${round}`,
          encodeRng: (device) => deviceRng(seed, epsilonIndex, round, device),
        });
        sum = result.sum;
        survivors = result.survivors.length;
        protocol.push({
          wallMs: result.wallMs,
          encodeMsPerDevice: result.encodeMsPerDevice,
          protocolMsPerDevice: result.protocolMsPerDevice,
          serverMs: result.serverMs,
          decodeMs: result.decodeMs,
          bytesUpPerDevice: result.bytesUpPerDevice,
          bytesUp: result.bytesUp,
          survivors,
        });
        if (round === rounds) last = { round: result, clients, settings, rotationSeed, rows };
      } else {
        // Sweep mode: the clipped sum plus a continuous Gaussian of the sum's variance (no protocol, no quantization).
        sum = new Float32Array(length);
        const sd = Math.sqrt(sumNoiseVariance(settings, deltas.length));
        for (const d of deltas) {
          const { clipped: c } = clipToNorm(unflatten(layout, d), clipNorm);
          const flat = flatten(c);
          for (let j = 0; j < length; j++) sum[j]! += flat[j]!;
        }
        if (sd > 0) for (let j = 0; j < length; j++) sum[j]! += sd * gaussian();
        survivors = deltas.length;
      }
      // FedAvg: the mean of the survivors' deltas (weight 1 each), its per-coordinate noise variance known from the settings.
      const meanFlat = sum.map((x) => x / survivors);
      const mean = unflatten(layout, meanFlat);
      noiseVariance ??= sumNoiseVariance(settings, survivors) / survivors ** 2;
      const shrunk: { params: ParamSet; factors: Record<string, number>; keptRows?: Record<string, number> } =
        runSettings.shrink === 'james-stein'
          ? jamesSteinShrink(mean, noiseVariance)
          : runSettings.shrink === 'rows'
            ? jamesSteinShrinkRows(mean, noiseVariance, ['q'], 3, options.rowThreshold)
            : { params: mean, factors: {} };
      shrinkFactors.push(shrunk.factors);
      const update = qRows === null ? shrunk.params : withRows(shrunk.params, rows, ctx.itemCount);
      global = ctx.withParamSet(global, optimizer.step(globalSet, update, runSettings.serverLearningRate));
      const metrics = ctx.deviceFittedMetrics(ctx.vectorsOf(global), global.b);
      perRound.push(metrics);
      const p = protocol.at(-1);
      const v = verifiableRounds.at(-1);
      console.error(
        `  secure ε=${epsilon} z=${noiseMultiplier.toFixed(3)} round ${round}/${rounds}: NDCG@10 ${metrics.ndcg.toFixed(4)}, HR@10 ${metrics.hr.toFixed(4)}, ` +
          `shrink ${Object.entries(shrunk.factors)
            .map(([name, f]) => `${name} ${f.toFixed(2)}`)
            .join(' ')}` +
          (shrunk.keptRows?.q !== undefined ? ` (q rows kept ${(100 * shrunk.keptRows.q).toFixed(0)} %)` : '') +
          (p && options.sumNoise === 'protocol' ? `, protocol ${(p.wallMs / 1000).toFixed(1)} s (encode ${p.encodeMsPerDevice.toFixed(1)} ms/device)` : '') +
          (v ? `, ${describeVerifiableRound(v)}` : '') +
          ` [${seconds()} s]`,
      );
    }
    return {
      epsilon,
      settings: runSettings,
      layout,
      length,
      noiseMultiplier,
      epsilonReported,
      encoding: report,
      perRound,
      shrinkFactors,
      meanPreClipNorm: normSum / updates,
      clippedShare: clipped / updates,
      protocol,
      last,
      ...(verifiable ? { verifiable: verifiableRounds } : {}),
    };
  }

  const runs: SecureRun[] = [];
  try {
    for (const [index, epsilon] of options.epsilons.entries()) runs.push(await run(epsilon, index, protocolOn || verifiableOn));
  } finally {
    await pool?.close();
  }
  // Extra points of the curve with the sum's noise simulated (same variance, no protocol): cheap, and marked as such.
  const simulated: SecureRun[] = [];
  for (const [index, epsilon] of options.curveEpsilons.entries()) simulated.push(await run(epsilon, 100 + index, false));

  // ── the old local-noise simulation, same seeds and split, for comparison ─────────────────────────────
  const local = options.localNoiseEpsilons.map((epsilon) => ({ epsilon, ...ctx.localNoise(epsilon) }));

  // ── dropout: 30 % of the last round's cohort go silent after their masked upload ─────────────────────
  const checkRun = runs.find((r) => r.epsilon === 8 && r.last) ?? runs.find((r) => r.last);
  let dropout: DropoutCheck | null = null;
  if (checkRun?.last && options.dropoutCheck > 0) {
    const { round, settings, rotationSeed } = checkRun.last;
    const { length } = checkRun;
    const n = round.encoded.length;
    const pick = seededUniform(seed + 31);
    const order = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(pick() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const drop = new Set<number>(order.slice(0, Math.round(options.dropoutCheck * n)));
    const t0 = performance.now();
    // With the consistency round on, the survivors also sign the survivor and dropped lists and check a sample of the
    // relayed signatures before they unmask (consistency.ts): the round the simulation otherwise leaves out.
    const result = await simulateRound(round.encoded, { roundId: 'dropout-check', dropAfterMasked: drop, consistency: options.dropoutConsistency });
    const wallSeconds = (performance.now() - t0) / 1000;
    const survivorsSet = new Set(result.survivors);
    const expected = plainSumMod32(round.encoded, survivorsSet);
    // Devices that dropped after their masked upload are still in the sum (their self-masks are rebuilt from
    // their neighbours' shares): the round must decode to the very sum of the round where nobody dropped.
    const exact = firstDifference(result.sum, expected) < 0 && firstDifference(result.sum, round.integerSum) < 0 && result.survivors.length === n;
    // The decoded float sum against the plain float sum of the survivors' encodings decoded the same way: identical inputs, so 0.
    const decoded = decodeSum(result.sum, settings, rotationSeed, length);
    const reference = decodeSum(expected, settings, rotationSeed, length);
    let maxAbsFloatError = 0;
    for (let j = 0; j < length; j++) maxAbsFloatError = Math.max(maxAbsFloatError, Math.abs(decoded[j]! - reference[j]!));
    dropout = {
      devices: n,
      dropped: drop.size,
      survivors: result.survivors.length,
      exact,
      maxAbsFloatError,
      wallSeconds,
      length,
      consistency: options.dropoutConsistency,
      protocolMsPerDevice: result.msPerDevice,
      serverMs: result.serverMs,
    };
    console.error(
      `dropout check: ${drop.size} of ${n} dropped after the masked upload, ${result.survivors.length} survivors, sum exact: ${exact} [${seconds()} s]`,
    );
  }

  // ── membership attack on what the server sees: the decoded sum of the last round ─────────────────────
  // For each target device the server sees either the real sum (device in) or the sum without it (the
  // neighbouring round: the same other devices, their same noise shares). The attack of the federated
  // issue scores every item by how much the sum moves it and ranks the target's items against the rest
  // (item AUC); the membership test asks whether that item AUC tells "in" from "out" (AUC over targets).
  const attackTargets = (() => {
    const uniform = seededUniform(seed + 99);
    const pool = Array.from({ length: userCount }, (_, u) => u);
    for (let i = 0; i < Math.min(options.attackClients, pool.length); i++) {
      const j = i + Math.floor(uniform() * (pool.length - i));
      [pool[i], pool[j]] = [pool[j]!, pool[i]!];
    }
    return pool.slice(0, options.attackClients);
  })();
  // --attack-clients 0 (sweeps): no targets, no attack (the AUC of an empty set is undefined).
  const attack = runs
    .filter((r) => r.last && attackTargets.length > 0)
    .map((r) => {
      const { round, settings, rotationSeed, clients, rows } = r.last!;
      const { layout, length } = r;
      const scoresOf = (integerSum: Uint32Array): Float64Array => {
        const sum = unflatten(layout, decodeSum(integerSum, settings, rotationSeed, length));
        return ctx.itemEffectScores(qRows === null ? sum : withRows(sum, rows, ctx.itemCount));
      };
      const inScores = scoresOf(round.integerSum);
      const itemIn: number[] = [];
      const itemOut: number[] = [];
      for (const target of attackTargets) {
        const position = clients.indexOf(target);
        if (position < 0) continue;
        const without = round.integerSum.map((x, j) => (x - round.encoded[position]![j]!) >>> 0);
        itemIn.push(rocAuc(inScores, ctx.deviceSeen[target]!));
        itemOut.push(rocAuc(scoresOf(without), ctx.deviceSeen[target]!));
      }
      const membershipAuc = rocAuc([...itemIn, ...itemOut], new Set(itemIn.map((_, i) => i)));
      const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
      const pairedGain = mean(itemIn.map((x, i) => x - itemOut[i]!));
      // The service's only check on what devices send (server/aggregator.ts → checkSum): the decoded sum's norm
      // against the most |survivors| clipped updates plus the noise can reach. The gap is what one tampering device
      // could still add without the round being abandoned, in units of its own clipping bound C.
      const check = checkSum(round.integerSum, settings, round.survivors.length);
      const sumCheck = { norm: check.norm, bound: check.bound, headroomInC: (check.bound - check.norm) / settings.clipNorm };
      return {
        epsilon: r.epsilon,
        noiseMultiplier: r.noiseMultiplier,
        sumCheck,
        targets: itemIn.length,
        itemAucIn: mean(itemIn),
        itemAucOut: mean(itemOut),
        pairedGain,
        membershipAuc,
        itemIn,
        itemOut,
      };
    });

  // ── cost at the app's delta length ───────────────────────────────────────────────────────────────────
  const cost = protocolOn && options.costDevices > 0 ? await appCost(options, seed, cohort) : null;
  if (cost) console.error(`app-delta cost round: ${cost.devices} devices, k = ${cost.neighbours} [${seconds()} s]`);

  await reportSecureBench(ctx, options, { runs, simulated, local, dropout, checkRun, attack, attackTargets, cost });
}
