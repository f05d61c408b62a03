/** The secure-aggregation bench's report: the table, the curve (SVG) and the JSON, from the runs' results. */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { layoutOf } from '../../src/core/federated/params';
import { encodedLength, type DistributedNoiseSettings, type EncodingReport } from '../../src/core/secagg/encode';
import { defaultNeighbours, defaultThreshold, localThreshold } from '../../src/core/secagg/params';
import type { ServerOptimizerSettings } from '../federated-sim/server-opt';
import { lineChartSvg, type ChartSeries } from '../federated-sim/svg-chart';
import type { AppCost } from './app-cost';
import type { Metrics, SecureBenchContext, SecureBenchOptions } from './bench';
import { describeSettings, type SecureRunSettings } from './per-epsilon';
import { DROPOUT_TOLERANCE } from './replay';
import type { SecureRoundResult } from './secure-sum';
import type { VerifiableRoundFigures } from './verifiable-sum';

export interface SecureRun {
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
  /** Per round, with --verifiable: the verifiable mode's figures (verifiable-sum.ts). */
  verifiable?: VerifiableRoundFigures[];
}

/** The dropout check: a round's devices dropping after their masked upload, decoded again. */
export interface DropoutCheck {
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
}

export interface AttackResult {
  epsilon: number;
  noiseMultiplier: number;
  sumCheck: { norm: number; bound: number; headroomInC: number };
  targets: number;
  itemAucIn: number;
  itemAucOut: number;
  pairedGain: number;
  membershipAuc: number;
  itemIn: number[];
  itemOut: number[];
}

export interface SecureBenchResults {
  runs: SecureRun[];
  /** Curve points with the sum's noise simulated. */
  simulated: SecureRun[];
  local: { epsilon: number; noiseMultiplier: number; final: Metrics }[];
  dropout: DropoutCheck | null;
  /** The run whose last round the dropout check replayed. */
  checkRun: SecureRun | undefined;
  attack: AttackResult[];
  attackTargets: number[];
  cost: AppCost | null;
}

const SUM_NOISE: Record<SecureBenchOptions['sumNoise'], string> = {
  protocol: 'the protocol run for every device (encodeForSum → simulateRound → decodeSum)',
  verifiable:
    "the VERIFIABLE mode run for every device (the app's task: encodeForVerifiable, 10 bits, a PINE report with the norm check; both aggregators " +
    'verify every report, each adds N_Z(0, (γ_v·z·C)²) to its aggregate share; combineAggregates → decodeVerifiableSum; z from appVerifiableEpsilon)',
  gaussian: 'SIMULATED Gaussian (sweep mode, not a reported figure)',
};

function optimizerLabel(o: ServerOptimizerSettings): string {
  if (o.kind === 'sgd') return 'server step: FedAvg (x += η·mean)';
  if (o.kind === 'momentum') return `server step: FedAvgM (β = ${o.momentum})`;
  return `server step: FedAdam (β₁ = ${o.momentum}, β₂ = ${o.beta2 ?? 0.99}, τ = ${o.tau})`;
}

export async function reportSecureBench(ctx: SecureBenchContext, options: SecureBenchOptions, results: SecureBenchResults): Promise<void> {
  const { runs, simulated, local, dropout, checkRun, attack, attackTargets, cost } = results;
  const { userCount, seed } = ctx;
  const cohort = userCount;
  const protocolOn = options.sumNoise === 'protocol';
  const seconds = (): string => ((performance.now() - options.started) / 1000).toFixed(0);
  const label = (epsilon: number): string => (Number.isFinite(epsilon) ? `ε = ${epsilon}` : 'ε = ∞ (no noise)');
  const centralBpr = Math.max(ctx.central.bpr.own.ndcg, ctx.central.bpr.fitted.ndcg);
  const pct = (x: number, of: number): string => `${((100 * x) / of).toFixed(1)} %`;
  const lines: string[] = [];
  lines.push(
    `\nSecure aggregation with distributed noise, MovieLens-100K leave-one-out (${ctx.validation ? 'VALIDATION split' : 'test split'}), ${userCount} devices, ` +
      `every device in each round of its ε (K = rounds), one global clip C, ` +
      `δ = ${ctx.delta}, dropout tolerance 1/3; ${options.localTraining}; server: FedAvg mean of the decoded sum, denoised, ${optimizerLabel(options.serverOptimizer)}; ` +
      `sum noise: ${SUM_NOISE[options.sumNoise]}; seed ${seed}.\n`,
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
      `| ${r.verifiable ? 'verifiable mode' : 'secure aggregation'}, ${label(r.epsilon)} | ${r.noiseMultiplier.toFixed(3)} | ${Number.isFinite(r.epsilonReported) ? r.epsilonReported.toFixed(2) : '∞'} | ${f.ndcg.toFixed(4)} | ${f.hr.toFixed(4)} | ` +
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
  for (const r of runs.filter((run) => run.verifiable?.length)) {
    const rows = r.verifiable!;
    const mean = (f: (v: VerifiableRoundFigures) => number): number => rows.reduce((a, v) => a + f(v), 0) / rows.length;
    lines.push(
      `\nVerifiable mode, ${label(r.epsilon)}, on the simulation's delta (${r.length} values → ${encodedLength(r.length)} entries), ${cohort} devices per round, ${rows.length} rounds: ` +
        `reports accepted ${rows.map((v) => `${v.accepted}/${v.devices}`).join(', ')}; σ per aggregator ${rows[0]!.noiseStddev.toFixed(1)} (integer units); entries clamped ${rows.reduce((a, v) => a + v.clamped, 0)}; ` +
        `mean round wall ${(mean((v) => v.wallMs) / 1000).toFixed(1)} s; per device: encode ${mean((v) => v.encodeMsPerDevice).toFixed(0)} ms, prove ${mean((v) => v.proveMsPerDevice).toFixed(0)} ms, ` +
        `both aggregators ${mean((v) => v.verifyMsPerDevice).toFixed(0)} ms, upload ${Math.round(mean((v) => v.uploadBytesPerDevice))} bytes.`,
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
        title: `Secure aggregation, MovieLens-100K: NDCG@10 vs ε (δ = 1e-5, ${userCount} devices, per-ε settings)`,
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
            ...(r.verifiable ? { verifiable: r.verifiable } : {}),
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
