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
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { rocAuc } from '../../src/core/federated/attack';
import { clipToNorm } from '../../src/core/federated/delta';
import { clipByGroups, type ClipShares } from '../../src/core/federated/group-clip';
import { flatten, l2Norm, layoutOf, unflatten, type ParamSet } from '../../src/core/federated/params';
import { gaussianSource, seededUniform, type Uniform } from '../../src/core/federated/random';
import { distributedEpsilon, noiseMultiplierForEpsilon } from '../../src/core/secagg/accountant';
import {
  checkSum,
  decodeSum,
  encodedLength,
  encodingReport,
  sumNoiseVariance,
  type DistributedNoiseSettings,
  type EncodingReport,
} from '../../src/core/secagg/encode';
import { defaultNeighbours, defaultThreshold, localThreshold } from '../../src/core/secagg/params';
import { simulateRound } from '../../src/core/secagg/simulate';
import { jamesSteinShrink, jamesSteinShrinkRows } from '../federated-sim/shrink';
import { serverOptimizer, type ServerOptimizerSettings } from '../federated-sim/server-opt';
import type { SharedParams } from '../federated-sim/local-sgd';
import { lineChartSvg, type ChartSeries } from '../federated-sim/svg-chart';
import { firstDifference, plainSumMod32, secureRound, type SecureRoundResult } from './secure-sum';
import { describeSettings, settingsForEpsilon, type EpsilonOverrides, type SecureRunSettings } from './per-epsilon';

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
  sumNoise: 'protocol' | 'gaussian';
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

const DROPOUT_TOLERANCE = 1 / 3;

interface SecureRun {
  epsilon: number;
  settings: SecureRunSettings;
  layout: ReturnType<typeof layoutOf>;
  length: number;
  noiseMultiplier: number;
  /** ε the accountant reports for the z used, K rounds (B's distributedEpsilon: quantization included). */
  epsilonReported: number;
  perRound: Metrics[];
  shrinkFactors: Record<string, number>[];
  meanPreClipNorm: number;
  clippedShare: number;
  /** B's figures for these settings (γ, noise per coordinate of the sum, sensitivity after rounding). */
  encoding: EncodingReport;
  /** Per round: protocol figures (absent with --sum-noise gaussian). */
  protocol: {
    wallMs: number;
    encodeMsPerDevice: number;
    protocolMsPerDevice: number;
    serverMs: number;
    decodeMs: number;
    bytesUpPerDevice: number;
    bytesUp: SecureRoundResult['bytesUp'];
    survivors: number;
  }[];
  /** The last round, kept for the attack and the dropout check. */
  last: { round: SecureRoundResult; clients: number[]; settings: DistributedNoiseSettings; rotationSeed: Uint8Array; rows: number[] | null } | null;
}

function rotationSeedFor(seed: number, epsilonIndex: number, round: number): Uint8Array {
  // Public and per round in the real service (GET /v1/round); seeded here so a run replays.
  const uniform = seededUniform((seed * 7919 + epsilonIndex * 131 + round) >>> 0);
  return Uint8Array.from({ length: 32 }, () => Math.floor(uniform() * 256));
}

/** Per-device randomness for encodeForSum's rounding and noise share (seeded: a replayable run, never production). */
function deviceRng(seed: number, epsilonIndex: number, round: number, device: number): Uniform {
  return seededUniform((seed * 1_000_003 + epsilonIndex * 100_003 + round * 10_007 + device * 7 + 12345) >>> 0);
}

export async function secureAggBench(ctx: SecureBenchContext, options: SecureBenchOptions): Promise<void> {
  const { userCount, seed } = ctx;
  const seconds = (): string => ((performance.now() - options.started) / 1000).toFixed(0);
  const cohort = userCount; // every device joins every round: K = rounds
  const protocolOn = options.sumNoise === 'protocol';
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
    const noiseMultiplier = Number.isFinite(epsilon) ? noiseMultiplierForEpsilon(epsilon, ctx.delta, rounds, base, length) : 0;
    const settings: DistributedNoiseSettings = { ...base, noiseMultiplier };
    const epsilonReported = distributedEpsilon(settings, rounds, ctx.delta, length);
    const report = encodingReport(settings, length);
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
      if (withProtocol) {
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
      const noiseVariance = sumNoiseVariance(settings, survivors) / survivors ** 2;
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
      console.error(
        `  secure ε=${epsilon} z=${noiseMultiplier.toFixed(3)} round ${round}/${rounds}: NDCG@10 ${metrics.ndcg.toFixed(4)}, HR@10 ${metrics.hr.toFixed(4)}, ` +
          `shrink ${Object.entries(shrunk.factors)
            .map(([name, f]) => `${name} ${f.toFixed(2)}`)
            .join(' ')}` +
          (shrunk.keptRows?.q !== undefined ? ` (q rows kept ${(100 * shrunk.keptRows.q).toFixed(0)} %)` : '') +
          (p && options.sumNoise === 'protocol' ? `, protocol ${(p.wallMs / 1000).toFixed(1)} s (encode ${p.encodeMsPerDevice.toFixed(1)} ms/device)` : '') +
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
    };
  }

  const runs: SecureRun[] = [];
  for (const [index, epsilon] of options.epsilons.entries()) runs.push(await run(epsilon, index, protocolOn));
  // Extra points of the curve with the sum's noise simulated (same variance, no protocol): cheap, and marked as such.
  const simulated: SecureRun[] = [];
  for (const [index, epsilon] of options.curveEpsilons.entries()) simulated.push(await run(epsilon, 100 + index, false));

  // ── the old local-noise simulation, same seeds and split, for comparison ─────────────────────────────
  const local = options.localNoiseEpsilons.map((epsilon) => ({ epsilon, ...ctx.localNoise(epsilon) }));

  // ── dropout: 30 % of the last round's cohort go silent after their masked upload ─────────────────────
  const checkRun = runs.find((r) => r.epsilon === 8 && r.last) ?? runs.find((r) => r.last);
  let dropout: {
    devices: number;
    dropped: number;
    survivors: number;
    exact: boolean;
    maxAbsFloatError: number;
    wallSeconds: number;
    length: number;
    consistency: boolean;
    protocolMsPerDevice: number;
    serverMs: number;
  } | null = null;
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

  // ── report ───────────────────────────────────────────────────────────────────────────────────────────
  const label = (epsilon: number): string => (Number.isFinite(epsilon) ? `ε = ${epsilon}` : 'ε = ∞ (no noise)');
  const centralBpr = Math.max(ctx.central.bpr.own.ndcg, ctx.central.bpr.fitted.ndcg);
  const pct = (x: number, of: number): string => `${((100 * x) / of).toFixed(1)} %`;
  const lines: string[] = [];
  lines.push(
    `\nSecure aggregation with distributed noise, MovieLens-100K leave-one-out (${ctx.validation ? 'VALIDATION split' : 'test split'}), ${userCount} devices, ` +
      `every device in each round of its ε (K = rounds), one global clip C, ` +
      `δ = ${ctx.delta}, dropout tolerance 1/3; ${options.localTraining}; server: FedAvg mean of the decoded sum, denoised, ${optimizerLabel(options.serverOptimizer)}; ` +
      `sum noise: ${options.sumNoise === 'protocol' ? 'the protocol run for every device (encodeForSum → simulateRound → decodeSum)' : 'SIMULATED Gaussian (sweep mode, not a reported figure)'}; seed ${seed}.\n`,
  );
  lines.push('Each ε with its own settings (chosen on the validation split; cli/secure-agg/per-epsilon.ts):\n');
  for (const r of [...runs, ...simulated]) {
    lines.push(
      `- ${label(r.epsilon)}${runs.includes(r) ? '' : ' (noise simulated)'}: ${describeSettings(r.settings)}; delta ${r.length} values, encoded ${encodedLength(r.length)} u32`,
    );
  }
  const maxRounds = Math.max(...runs.map((r) => r.settings.rounds));
  lines.push(`\n| round | ${runs.map((r) => `${label(r.epsilon)} (z = ${r.noiseMultiplier.toFixed(2)})`).join(' | ')} |`);
  lines.push(`|---:|${runs.map(() => '---:').join('|')}|`);
  for (let round = 0; round <= maxRounds; round++) lines.push(`| ${round} | ${runs.map((r) => r.perRound[round]?.ndcg.toFixed(4) ?? '–').join(' | ')} |`);
  lines.push('\n| model | z | ε reported | NDCG@10 | HR@10 | % of central BPR | % of central softmax hybrid | mean ‖Δ‖ before clip | clipped |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  const soft = ctx.central.softmax;
  lines.push(
    `| central BPR (trainBpr ${ctx.central.bpr.epochs} epochs), trained user vectors | – | – | ${ctx.central.bpr.own.ndcg.toFixed(4)} | ${ctx.central.bpr.own.hr.toFixed(4)} | – | – | – | – |`,
  );
  lines.push(
    `| central BPR, device-fitted user vectors | – | – | ${ctx.central.bpr.fitted.ndcg.toFixed(4)} | ${ctx.central.bpr.fitted.hr.toFixed(4)} | – | – | – | – |`,
  );
  if (soft) lines.push(`| central softmax hybrid (${ctx.central.softmaxSettings}) | – | – | ${soft.ndcg.toFixed(4)} | ${soft.hr.toFixed(4)} | – | – | – | – |`);
  for (const r of runs) {
    const f = r.perRound.at(-1)!;
    lines.push(
      `| secure aggregation, ${label(r.epsilon)} | ${r.noiseMultiplier.toFixed(3)} | ${Number.isFinite(r.epsilonReported) ? r.epsilonReported.toFixed(2) : '∞'} | ${f.ndcg.toFixed(4)} | ${f.hr.toFixed(4)} | ` +
        `${pct(f.ndcg, centralBpr)} | ${soft ? pct(f.ndcg, soft.ndcg) : '–'} | ${r.meanPreClipNorm.toFixed(3)} | ${(100 * r.clippedShare).toFixed(0)} % |`,
    );
  }
  for (const r of simulated) {
    const f = r.perRound.at(-1)!;
    lines.push(
      `| secure aggregation, ${label(r.epsilon)}, noise SIMULATED (curve only) | ${r.noiseMultiplier.toFixed(3)} | ${Number.isFinite(r.epsilonReported) ? r.epsilonReported.toFixed(2) : '∞'} | ${f.ndcg.toFixed(4)} | ${f.hr.toFixed(4)} | ` +
        `${pct(f.ndcg, centralBpr)} | ${soft ? pct(f.ndcg, soft.ndcg) : '–'} | ${r.meanPreClipNorm.toFixed(3)} | ${(100 * r.clippedShare).toFixed(0)} % |`,
    );
  }
  for (const l of local) {
    lines.push(
      `| local noise (${ctx.localNoiseSettings}), ${label(l.epsilon)} | ${l.noiseMultiplier.toFixed(3)} | ${l.epsilon} | ${l.final.ndcg.toFixed(4)} | ${l.final.hr.toFixed(4)} | ${pct(l.final.ndcg, centralBpr)} | ${soft ? pct(l.final.ndcg, soft.ndcg) : '–'} | – | – |`,
    );
  }
  lines.push(`\n"% of central BPR" divides by the better central BPR figure (${centralBpr.toFixed(4)}); targets: ≥ 90 % at ε = 8, ≥ 60 % at ε = 1.`);
  if (dropout) {
    lines.push(
      `\nDropout: ${dropout.dropped} of ${dropout.devices} devices (${pct(dropout.dropped, dropout.devices)}) dropped after the masked upload of the last ε = ${checkRun!.epsilon} round: ` +
        `${dropout.survivors} masked vectors in the sum, which is ${dropout.exact ? 'IDENTICAL to' : 'DIFFERENT from'} the round's sum without dropouts and the plain mod-2^32 sum of the inputs ` +
        `(max float difference after decoding ${dropout.maxAbsFloatError}); ${dropout.length} values → ${encodedLength(dropout.length)} u32; ` +
        `consistency round ${dropout.consistency ? 'RUN (the survivors signed the lists, each checked a sample of the signatures before unmasking)' : 'not run'}; ` +
        `${dropout.wallSeconds.toFixed(1)} s, ${dropout.protocolMsPerDevice.toFixed(0)} ms per device, server ${(dropout.serverMs / 1000).toFixed(1)} s.`,
    );
  }
  if (attack.length) {
    lines.push(
      `\nMembership attack on the decoded sum of the last round (${attackTargets.length} target devices): item AUC = the federated issue's attack (items scored by how much the sum moves them, ‖[ΔW·ẽ_i + Δq_i, Δb_i]‖, the target's items against the rest); membership AUC = how well that item AUC tells the real sum (target in) from the neighbouring sum (target out).\n`,
    );
    lines.push('| ε | z | item AUC, target in | item AUC, target out | mean paired gain | membership AUC (target ≤ 0.55) |');
    lines.push('|---|---:|---:|---:|---:|---:|');
    for (const a of attack)
      lines.push(
        `| ${label(a.epsilon)} | ${a.noiseMultiplier.toFixed(3)} | ${a.itemAucIn.toFixed(4)} | ${a.itemAucOut.toFixed(4)} | ${a.pairedGain.toExponential(2)} | ${a.membershipAuc.toFixed(4)} |`,
      );
    lines.push(
      `\nThe service's norm check of the decoded sum (checkSum), last round: ${attack.map((a) => `${label(a.epsilon)}: ‖sum‖ ${a.sumCheck.norm.toFixed(1)} against the bound ${a.sumCheck.bound.toFixed(1)}, room for one tampering device ≈ ${a.sumCheck.headroomInC.toFixed(0)} C`).join('; ')}.`,
    );
  }
  for (const r of runs.filter((run) => run.protocol.length)) {
    const rows = r.protocol;
    const mean = (f: (p: SecureRun['protocol'][number]) => number): number => rows.reduce((a, p) => a + f(p), 0) / rows.length;
    lines.push(
      `\nProtocol, ${label(r.epsilon)}, on the simulation's delta (${r.length} values → ${encodedLength(r.length)} u32), ${cohort} devices per round ` +
        `(SecAgg+ degree k = ${defaultNeighbours(cohort)}, threshold t = ${defaultThreshold(cohort)}, per-neighbourhood Shamir threshold ` +
        `t_local = ${localThreshold({ cohortSize: cohort, threshold: defaultThreshold(cohort), neighbours: defaultNeighbours(cohort) })}), mean over ${rows.length} rounds: ` +
        `round wall ${(mean((p) => p.wallMs) / 1000).toFixed(1)} s, encodeForSum ${mean((p) => p.encodeMsPerDevice).toFixed(1)} ms/device, protocol ${mean((p) => p.protocolMsPerDevice).toFixed(1)} ms/device, ` +
        `server ${(mean((p) => p.serverMs) / 1000).toFixed(1)} s, decodeSum ${mean((p) => p.decodeMs).toFixed(0)} ms, ${Math.round(mean((p) => p.bytesUpPerDevice))} bytes up per device (JSON).`,
    );
  }
  if (cost) {
    lines.push(
      `\nCost at the app's delta (${options.appDeltaLayout}: ${cost.length} values, encoded ${cost.encodedLength} u32), measured in a round of ${cost.devices} devices ` +
        `with k = ${cost.neighbours} neighbours (the degree at ${cohort} devices), Node ${process.version}:\n`,
    );
    lines.push('| per device | bytes |');
    lines.push('|---|---:|');
    lines.push(`| keys | ${Math.round(cost.bytesUp.keys)} |`);
    lines.push(`| encrypted shares | ${Math.round(cost.bytesUp.shares)} |`);
    lines.push(`| unmask answer | ${Math.round(cost.bytesUp.unmask)} |`);
    lines.push(`| masked vector, raw (4 B per entry) / base64url JSON | ${cost.bytesUp.maskedBinary} / ${Math.round(cost.bytesUp.masked)} |`);
    lines.push(`| total upload, raw masked vector / as the JSON API sends it | ${Math.round(cost.bytesUpBinary)} / ${Math.round(cost.bytesUpJson)} |`);
    lines.push(`| reference: 32-bit plaintext delta (${4 * cost.length}) + keys and shares | ${Math.round(cost.plaintextPlusProtocol)} |`);
    lines.push(
      `\nRatio ${cost.ratioBinary.toFixed(3)} with raw vectors, ${cost.ratioJson.toFixed(3)} with both vectors base64url in JSON (target ≤ 1.2). ` +
        `Device compute in Node: encodeForSum ${cost.encodeMs.toFixed(0)} ms + protocol ${cost.protocolMs.toFixed(0)} ms = ${(cost.encodeMs + cost.protocolMs).toFixed(0)} ms (mean over the ${cost.devices} devices).`,
    );
  }
  lines.push(`\nTotal wall time: ${seconds()} s.`);
  console.log(lines.join('\n'));

  if (options.svg) {
    const finite = [...runs, ...simulated].filter((r) => Number.isFinite(r.epsilon)).sort((a, b) => a.epsilon - b.epsilon);
    const xs = finite.map((r) => Math.log2(r.epsilon));
    const span: [number, number] = [Math.min(...xs), Math.max(...xs)];
    const series: ChartSeries[] = [
      { name: 'secure aggregation', points: finite.map((r) => [Math.log2(r.epsilon), r.perRound.at(-1)!.ndcg] as const), color: '#1f77b4' },
      ...(simulated.length && protocolOn
        ? [
            {
              name: 'of which the protocol ran',
              points: runs
                .filter((r) => Number.isFinite(r.epsilon))
                .sort((a, b) => a.epsilon - b.epsilon)
                .map((r) => [Math.log2(r.epsilon), r.perRound.at(-1)!.ndcg] as const),
              color: '#17becf',
              dashed: true,
            },
          ]
        : []),
    ];
    const localFinite = local.filter((l) => Number.isFinite(l.epsilon)).sort((a, b) => a.epsilon - b.epsilon);
    if (localFinite.length)
      series.push({ name: 'local noise (old)', points: localFinite.map((l) => [Math.log2(l.epsilon), l.final.ndcg] as const), color: '#d62728' });
    const noNoise = runs.find((r) => !Number.isFinite(r.epsilon));
    if (noNoise)
      series.push({ name: 'secure agg., no noise', points: span.map((x) => [x, noNoise.perRound.at(-1)!.ndcg] as const), color: '#2ca02c', dashed: true });
    series.push({ name: 'central BPR', points: span.map((x) => [x, centralBpr] as const), color: '#000000', dashed: true });
    series.push({ name: '90 % of central BPR', points: span.map((x) => [x, 0.9 * centralBpr] as const), color: '#888888', dashed: true });
    series.push({ name: '60 % of central BPR', points: span.map((x) => [x, 0.6 * centralBpr] as const), color: '#bbbbbb', dashed: true });
    if (soft) series.push({ name: 'central softmax hybrid', points: span.map((x) => [x, soft.ndcg] as const), color: '#9467bd', dashed: true });
    await mkdir(dirname(options.svg), { recursive: true });
    await writeFile(
      options.svg,
      lineChartSvg({
        title: `Secure aggregation on MovieLens-100K: NDCG@10 vs ε (δ = 1e-5, all ${userCount} devices every round, each ε its own settings)`,
        xLabel: 'log2 ε',
        yLabel: 'NDCG@10 (leave-one-out)',
        series,
      }),
    );
  }
  if (options.json) {
    await writeFile(
      options.json,
      JSON.stringify(
        {
          settings: {
            cohort,
            delta: ctx.delta,
            dropoutTolerance: DROPOUT_TOLERANCE,
            base: options.base,
            perEpsilon: Object.fromEntries(options.perEpsilon),
            serverOptimizer: options.serverOptimizer,
            localTraining: options.localTraining,
            sumNoise: options.sumNoise,
            validation: ctx.validation,
            seed,
          },
          central: { bpr: ctx.central.bpr, softmax: soft, softmaxSettings: ctx.central.softmaxSettings },
          secure: runs.map((r) => ({
            epsilon: Number.isFinite(r.epsilon) ? r.epsilon : null,
            settings: r.settings,
            length: r.length,
            encodedLength: encodedLength(r.length),
            noiseMultiplier: r.noiseMultiplier,
            epsilonReported: Number.isFinite(r.epsilonReported) ? r.epsilonReported : null,
            perRound: r.perRound,
            final: r.perRound.at(-1),
            ofCentralBpr: r.perRound.at(-1)!.ndcg / centralBpr,
            ofCentralSoftmax: soft ? r.perRound.at(-1)!.ndcg / soft.ndcg : null,
            shrinkFactors: r.shrinkFactors,
            meanPreClipNorm: r.meanPreClipNorm,
            clippedShare: r.clippedShare,
            protocol: r.protocol,
          })),
          simulatedCurve: simulated.map((r) => ({
            epsilon: r.epsilon,
            settings: r.settings,
            noiseMultiplier: r.noiseMultiplier,
            perRound: r.perRound,
            final: r.perRound.at(-1),
            ofCentralBpr: r.perRound.at(-1)!.ndcg / centralBpr,
          })),
          localNoise: { settings: ctx.localNoiseSettings, runs: local },
          dropout,
          attack: { targets: attackTargets, results: attack },
          cost,
          wallTimeSeconds: (performance.now() - options.started) / 1000,
        },
        null,
        2,
      ),
    );
  }
}

/**
 * The `count` items with the highest published bias (ties by index): the rows of q the devices export. The
 * published b is the previous rounds' released sums, so choosing by it is post-processing; before any round
 * (b all zero) no row is chosen.
 */
export function topRows(b: Float32Array, count: number): number[] | null {
  if (b.every((x) => x === 0)) return null;
  return Array.from(b.keys())
    .sort((i, j) => b[j]! - b[i]! || i - j)
    .slice(0, count);
}

/** q's rows `rows` as a count×d tensor (zero rows where `rows` is null: the slots are still sent, as noise). */
function gatherRows(q: ParamSet[string], rows: number[], count: number): ParamSet[string] {
  const d = q.shape[1]!;
  const values = new Float32Array(count * d);
  rows.forEach((item, r) => values.set(q.values.subarray(item * d, (item + 1) * d), r * d));
  return { shape: [count, d], values };
}

/** An exported set with its q rows put back in place (or q left out where no row was chosen: those slots held only noise). */
function withRows(set: ParamSet, rows: number[] | null, itemCount: number): ParamSet {
  const { q, ...rest } = set;
  return rows && q ? { ...rest, q: scatterRows(q, rows, itemCount) } : rest;
}

/** The inverse of gatherRows: a full items×d update with the chosen rows filled in. */
function scatterRows(part: ParamSet[string], rows: number[], itemCount: number): ParamSet[string] {
  const d = part.shape[1]!;
  const values = new Float32Array(itemCount * d);
  rows.forEach((item, r) => values.set(part.values.subarray(r * d, (r + 1) * d), item * d));
  return { shape: [itemCount, d], values };
}

function optimizerLabel(o: ServerOptimizerSettings): string {
  if (o.kind === 'sgd') return 'server step: FedAvg (x += η·mean)';
  if (o.kind === 'momentum') return `server step: FedAvgM (β = ${o.momentum})`;
  return `server step: FedAdam (β₁ = ${o.momentum}, β₂ = ${o.beta2 ?? 0.99}, τ = ${o.tau})`;
}

interface AppCost {
  devices: number;
  /** SecAgg+ degree used: the default for the simulation's cohort, so a device's work is what it would be there. */
  neighbours: number;
  length: number;
  encodedLength: number;
  /** Bytes one device uploads, JSON bodies as in the HTTP API (masked vector base64url), and by step. */
  bytesUpJson: number;
  bytesUp: SecureRoundResult['bytesUp'];
  /** keys + shares + unmask answers: what a device sends besides its masked vector. */
  protocolBytes: number;
  /** Masked vector as a raw body (4 bytes per encoded entry) + protocolBytes. */
  bytesUpBinary: number;
  /** 32-bit plaintext delta (4 bytes per value) + protocolBytes: the issue's reference. */
  plaintextPlusProtocol: number;
  ratioBinary: number;
  /** The same comparison with both vectors base64url in JSON (the API's encoding): 4/3 on each side. */
  ratioJson: number;
  encodeMs: number;
  protocolMs: number;
}

/**
 * Bytes and compute for one device at the app's delta length: a round of `costDevices` devices with
 * random deltas of that length (neither depends on the values), each with the SecAgg+ degree k a device
 * has in a cohort of `cohortForDegree` (its work and its shares grow with k, not with the cohort).
 */
async function appCost(options: SecureBenchOptions, seed: number, cohortForDegree: number): Promise<AppCost> {
  const n = options.costDevices;
  const length = options.appDeltaLength;
  const neighbours = Math.min(defaultNeighbours(cohortForDegree), n % 2 === 0 ? n - 2 : n - 1);
  const gaussian = gaussianSource(seededUniform(seed + 77));
  const settings: DistributedNoiseSettings = { clipNorm: 1, noiseMultiplier: 1, expectedCohort: n, dropoutTolerance: DROPOUT_TOLERANCE, bits: 32 };
  const rotationSeed = rotationSeedFor(seed, 99, 0);
  const deltas = Array.from({ length: n }, () => Float32Array.from({ length }, () => gaussian() * 0.01));
  const result = await secureRound(deltas, settings, rotationSeed, { roundId: 'app-cost', neighbours, encodeRng: (device) => deviceRng(seed, 99, 0, device) });
  const encoded = encodedLength(length);
  const { keys, shares, unmask, masked, maskedBinary } = result.bytesUp;
  const protocolBytes = keys + shares + unmask;
  const plaintextPlusProtocol = 4 * length + protocolBytes;
  return {
    devices: n,
    neighbours,
    length,
    encodedLength: encoded,
    bytesUpJson: result.bytesUpPerDevice,
    bytesUp: result.bytesUp,
    protocolBytes,
    bytesUpBinary: maskedBinary + protocolBytes,
    plaintextPlusProtocol,
    ratioBinary: (maskedBinary + protocolBytes) / plaintextPlusProtocol,
    // masked is the base64url JSON body of the encoded vector; a plaintext body the same way would be ≈ 4/3·4L.
    ratioJson: (masked + protocolBytes) / ((masked * length) / encoded + protocolBytes),
    encodeMs: result.encodeMsPerDevice,
    protocolMs: result.protocolMsPerDevice,
  };
}
