/**
 * One round of the federated bench in the verifiable mode (`--secure-agg --verifiable`; issue 20,
 * docs/secure-aggregation.md "The verifiable mode's accuracy (stop 36)"): every device's float delta goes
 * through what the app does in this mode (src/core/secagg/verifiable-app.ts: the norm check, 10 bits, noise
 * at the aggregators) — encodeForVerifiable (clip, ×γ_v, rotate, conditional rounding, clamp), a real PINE
 * report (buildReport: shares and proof) — then both aggregators' steps on every report (prepareInit each,
 * the leader's decision prepareMessage — the FLP check and the wraparound checks — and prepareFinish each), a
 * rejected report dropped; each aggregator sums its output shares and adds N_Z(0, (γ_v·z·C)²) to its aggregate
 * share (addAggregatorNoise, as server/verifiable does); the collector combines the two and decodes
 * (decodeVerifiableSum). Nothing here is proof or noise code: it wires the core's modules, in the order the
 * app and the two services run them, and checks the result.
 *
 * The check, every round: the combined integer sum must equal the plain sum of the ACCEPTED devices'
 * encoded vectors plus the two aggregators' noise vectors, entry for entry (the simulation holds all of them;
 * the aggregators do not).
 *
 * Devices can be spread over worker threads (verifiable-sum-worker.ts): each worker runs the device and both
 * aggregators' per-report steps for its devices and returns the two partial aggregate shares (field elements,
 * so the totals are the same whichever worker summed what) and its devices' plain sum.
 */
import type { Worker } from 'node:worker_threads';
import { seededUniform, type Uniform } from '../../src/core/federated/random';
import { discreteGaussianSampler, discreteGaussianVariance } from '../../src/core/secagg/noise';
import { appVerifiableEpsilon, appVerifiableTask, type AppVerifiableTask } from '../../src/core/secagg/verifiable-app';
import { decodeVerifiableSum, encodeForVerifiable, verifiableScale } from '../../src/core/secagg/verifiable/encode';
import {
  addAggregatorNoise,
  aggregateOutputShares,
  buildReport,
  combineAggregates,
  makeVdaf,
  outputShareSum,
  VerifyRejected,
  type Report,
  type VerifiableParams,
  type VerifiableVdaf,
} from '../../src/core/secagg/verifiable/prio';
import { verifyBoth } from '../../src/core/secagg/verifiable/testing';
import { tsxWorker } from '../tsx-worker';
import { deviceRng, rotationSeedFor } from './replay';

/** What every device and both aggregators of a round agree on (all public but the verify key, the aggregators'). */
export interface VerifiableRoundSetup {
  /** The shared delta's length (floats). */
  length: number;
  clipNorm: number;
  noiseMultiplier: number;
  rotationSeed: Uint8Array;
  /** The two aggregators' shared verify key (16 bytes). */
  verifyKey: Uint8Array;
  /** For the devices' seeded rounding (replay.ts deviceRng): the bench's seed, ε index and round. */
  seed: number;
  epsilonIndex: number;
  round: number;
}

/** A tampering device in the tests: its report instead of the honest one (null: honest). In-process only. */
export type Forge = (device: number, encoded: Int32Array, params: VerifiableParams) => Promise<Report | null>;

export interface SliceResult {
  /** Devices (their indices in the round) whose report both aggregators accepted, and those dropped. */
  accepted: number[];
  rejected: number[];
  /** Each aggregator's sum of its accepted output shares (encoded in the task's field), null when none was accepted. */
  leader: Uint8Array | null;
  helper: Uint8Array | null;
  /** Σ of the accepted devices' encoded vectors (the check's reference). */
  plainSum: Float64Array;
  clamped: number;
  encodeMs: number;
  proveMs: number;
  /** Both aggregators' work on the slice's reports: prepareInit ×2, the decision, prepareFinish ×2. */
  verifyMs: number;
  uploadBytes: number;
}

const vdafs = new Map<string, VerifiableVdaf>();
function vdafFor(params: VerifiableParams): VerifiableVdaf {
  const key = `${params.length}/${params.bits}/${params.normBound}`;
  let vdaf = vdafs.get(key);
  if (!vdaf) vdafs.set(key, (vdaf = makeVdaf(params)));
  return vdaf;
}

export function taskOf(setup: Pick<VerifiableRoundSetup, 'length' | 'clipNorm' | 'noiseMultiplier'>): AppVerifiableTask {
  return appVerifiableTask(setup.length, { clipNorm: setup.clipNorm, noiseMultiplier: setup.noiseMultiplier });
}

/** The devices `devices` (indices into the round) with deltas `deltas`: encode, prove, both aggregators verify. */
export async function proveAndVerify(
  setup: VerifiableRoundSetup,
  devices: readonly number[],
  deltas: readonly Float32Array[],
  forge?: Forge,
): Promise<SliceResult> {
  const task = taskOf(setup);
  const vdaf = vdafFor(task.params);
  const d = task.params.length;
  const out: SliceResult = {
    accepted: [],
    rejected: [],
    leader: null,
    helper: null,
    plainSum: new Float64Array(d),
    clamped: 0,
    encodeMs: 0,
    proveMs: 0,
    verifyMs: 0,
    uploadBytes: 0,
  };
  const leaderShares: bigint[][] = [];
  const helperShares: bigint[][] = [];
  for (const [i, device] of devices.entries()) {
    const delta = deltas[i]!;
    if (delta.length !== setup.length) throw new RangeError(`device ${device}'s delta has ${delta.length} entries, expected ${setup.length}`);
    const t0 = performance.now();
    const { values, clamped } = encodeForVerifiable(delta, task.settings, setup.rotationSeed, deviceRng(setup.seed, setup.epsilonIndex, setup.round, device));
    const t1 = performance.now();
    const report = (await forge?.(device, values, task.params)) ?? (await buildReport(task.params, values, vdaf));
    const t2 = performance.now();
    out.clamped += clamped;
    out.uploadBytes += report.leader.length + report.helper.length;
    try {
      const [leader, helper] = await verifyBoth(vdaf, setup.verifyKey, report);
      leaderShares.push(leader);
      helperShares.push(helper);
      out.accepted.push(device);
      for (let j = 0; j < d; j++) out.plainSum[j]! += values[j]!;
    } catch (error) {
      if (!(error instanceof VerifyRejected)) throw error;
      out.rejected.push(device);
    }
    out.encodeMs += t1 - t0;
    out.proveMs += t2 - t1;
    out.verifyMs += performance.now() - t2;
  }
  if (leaderShares.length) {
    out.leader = aggregateOutputShares(vdaf, leaderShares);
    out.helper = aggregateOutputShares(vdaf, helperShares);
  }
  return out;
}

/** The sum of aggregate shares in the task's field (bytes); zeros when there are none. */
function addShares(vdaf: VerifiableVdaf, parts: readonly (Uint8Array | null)[], d: number): Uint8Array {
  const total = outputShareSum(vdaf, d);
  for (const part of parts) if (part) total.add(part);
  return total.finish();
}

/** Worker threads, each running proveAndVerify on its part of a round's devices (verifiable-sum-worker.ts). */
export class VerifiablePool {
  private readonly workers: Worker[];
  constructor(size: number) {
    this.workers = Array.from({ length: size }, () => tsxWorker(new URL('./verifiable-sum-worker.ts', import.meta.url)));
  }
  get size(): number {
    return this.workers.length;
  }
  run(index: number, setup: VerifiableRoundSetup, devices: number[], deltas: Float32Array[]): Promise<SliceResult> {
    const worker = this.workers[index]!;
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        worker.off('message', onMessage);
        worker.off('error', onError);
      };
      const onMessage = (m: { ok?: SliceResult; error?: string }) => {
        cleanup();
        if (m.ok) resolve(m.ok);
        else reject(new Error(`verifiable worker ${index}: ${m.error}`));
      };
      const onError = (e: Error) => {
        cleanup();
        reject(e);
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.postMessage({ setup, devices, deltas });
    });
  }
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

export interface VerifiableRoundOptions {
  /** Worker threads for the devices (absent or size 0: in this thread). */
  pool?: VerifiablePool | null;
  /** Seeds of the two aggregators' noise (seeded so that a run replays; the services draw theirs from crypto). */
  noiseRng: [Uniform, Uniform];
  forge?: Forge;
}

export interface VerifiableRoundResult {
  /** The decoded float sum of the accepted devices' clipped deltas plus both aggregators' noise. */
  sum: Float32Array;
  /** combineAggregates' integer sum (encoded length). */
  integerSum: Float64Array;
  accepted: number[];
  rejected: number[];
  /** Each aggregator's noise vector (integer units, encoded length). */
  noise: [Float64Array, Float64Array];
  noiseStddev: number;
  clamped: number;
  encodeMsPerDevice: number;
  proveMsPerDevice: number;
  /** Both aggregators together, per report. */
  verifyMsPerDevice: number;
  uploadBytesPerDevice: number;
  /** Noise, combine, check and decode, ms. */
  collectMs: number;
  wallMs: number;
}

export async function verifiableRound(
  deltas: readonly Float32Array[],
  setup: VerifiableRoundSetup,
  options: VerifiableRoundOptions,
): Promise<VerifiableRoundResult> {
  const started = performance.now();
  const n = deltas.length;
  if (n === 0) throw new RangeError('a round needs at least one device');
  const task = taskOf(setup);
  const vdaf = vdafFor(task.params);
  const d = task.params.length;
  const pool = options.pool && options.pool.size > 0 ? options.pool : null;
  if (pool && options.forge) throw new RangeError('a forged report runs in this thread only');
  const indices = Array.from({ length: n }, (_, i) => i);
  let slices: SliceResult[];
  if (!pool) slices = [await proveAndVerify(setup, indices, deltas, options.forge)];
  else {
    const parts = pool.size;
    const bounds = Array.from({ length: parts + 1 }, (_, p) => Math.round((p * n) / parts));
    slices = await Promise.all(
      Array.from({ length: parts }, (_, p) => {
        const devices = indices.slice(bounds[p], bounds[p + 1]);
        return pool.run(
          p,
          setup,
          devices,
          devices.map((i) => deltas[i]!),
        );
      }),
    );
  }
  const collectStarted = performance.now();
  const accepted = slices.flatMap((s) => s.accepted);
  const rejected = slices.flatMap((s) => s.rejected);
  // Each aggregator: its aggregate share, then its own noise on it (the app's services: addAggregatorNoise).
  const noise: [Float64Array, Float64Array] = [new Float64Array(d), new Float64Array(d)];
  const noisy = (['leader', 'helper'] as const).map((who, a) => {
    const sample = discreteGaussianSampler(task.noiseStddev, options.noiseRng[a]!);
    const drawn = noise[a]!;
    let j = 0;
    return addAggregatorNoise(
      vdaf,
      addShares(
        vdaf,
        slices.map((s) => s[who]),
        d,
      ),
      () => (drawn[j++] = sample()),
    );
  });
  const integerSum = combineAggregates(task.params, vdaf, noisy[0]!, noisy[1]!, accepted.length);
  for (let j = 0; j < d; j++) {
    let expected = noise[0][j]! + noise[1][j]!;
    for (const s of slices) expected += s.plainSum[j]!;
    if (integerSum[j] !== expected)
      throw new Error(`round ${setup.round}: the aggregators' sum differs from the accepted reports' plain sum plus noise at entry ${j}`);
  }
  const sum = decodeVerifiableSum(integerSum, task.settings, setup.rotationSeed, setup.length);
  const total = (f: (s: SliceResult) => number) => slices.reduce((a, s) => a + f(s), 0);
  return {
    sum,
    integerSum,
    accepted,
    rejected,
    noise,
    noiseStddev: task.noiseStddev,
    clamped: total((s) => s.clamped),
    encodeMsPerDevice: total((s) => s.encodeMs) / n,
    proveMsPerDevice: total((s) => s.proveMs) / n,
    verifyMsPerDevice: total((s) => s.verifyMs) / n,
    uploadBytesPerDevice: total((s) => s.uploadBytes) / n,
    collectMs: performance.now() - collectStarted,
    wallMs: performance.now() - started,
  };
}

/**
 * z for a target ε over `rounds` collections: the smallest z (to 10⁻⁴ relative) whose appVerifiableEpsilon — the
 * accountant the app and the services use for this mode (one aggregator's share of σ = γ_v·z·C, on the rounded
 * bound Δ₂ at γ_v) — is ≤ ε. Bisection on z: ε falls as z rises (γ_v does not depend on z with the noise at the
 * aggregators).
 */
export function verifiableNoiseMultiplier(epsilon: number, delta: number, rounds: number, clipNorm: number, length: number): number {
  const at = (z: number) => appVerifiableEpsilon({ clipNorm, noiseMultiplier: z }, rounds, delta, length);
  let low = 1e-3;
  let high = 1;
  while (at(high) > epsilon) {
    high *= 2;
    if (high > 1e6) throw new RangeError(`no z reaches ε = ${epsilon}`);
  }
  if (at(low) <= epsilon) return low;
  while (high - low > 1e-4 * high) {
    const mid = (low + high) / 2;
    if (at(mid) > epsilon) low = mid;
    else high = mid;
  }
  return high;
}

/** Per-coordinate variance of the decoded sum's noise (float units): both aggregators' σ², plus each accepted device's rounding (≤ 1/4). */
export function verifiableSumNoiseVariance(setup: Pick<VerifiableRoundSetup, 'length' | 'clipNorm' | 'noiseMultiplier'>, accepted: number): number {
  const sigma = taskOf(setup).noiseStddev;
  const gamma = verifiableGamma(setup);
  return (2 * discreteGaussianVariance(sigma) + 0.25 * accepted) / (gamma * gamma);
}

export function verifiableGamma(setup: Pick<VerifiableRoundSetup, 'length' | 'clipNorm'>): number {
  // γ_v does not depend on z with the noise at the aggregators.
  return verifiableScale(taskOf({ ...setup, noiseMultiplier: 1 }).settings, setup.length);
}

/** The aggregators' noise seeds for a round (seeded: a replayable run, never production). */
export function aggregatorNoiseRng(seed: number, epsilonIndex: number, round: number): [Uniform, Uniform] {
  const base = (seed * 524_287 + epsilonIndex * 8_191 + round * 127) >>> 0;
  return [seededUniform((base + 1) >>> 0), seededUniform((base + 2) >>> 0)];
}

/** The round's verify key (seeded here; the services share a random one). */
export function benchVerifyKey(seed: number, epsilonIndex: number, round: number): Uint8Array {
  const uniform = seededUniform((seed * 31_337 + epsilonIndex * 997 + round * 13 + 7) >>> 0);
  return Uint8Array.from({ length: 16 }, () => Math.floor(uniform() * 256));
}

/** What the bench keeps of a verifiable round (report.ts, the JSON): the round's figures, its devices counted. */
export type VerifiableRoundFigures = Omit<VerifiableRoundResult, 'sum' | 'integerSum' | 'noise' | 'accepted' | 'rejected'> & {
  devices: number;
  accepted: number;
  rejected: number;
};

/** A bench round: the seeded rotation, verify key and noise of (seed, ε index, round), the devices over `pool`. */
export async function verifiableBenchRound(
  deltas: readonly Float32Array[],
  at: Omit<VerifiableRoundSetup, 'rotationSeed' | 'verifyKey'>,
  pool: VerifiablePool | null,
): Promise<{ sum: Float32Array; figures: VerifiableRoundFigures }> {
  const setup: VerifiableRoundSetup = {
    ...at,
    rotationSeed: rotationSeedFor(at.seed, at.epsilonIndex, at.round),
    verifyKey: benchVerifyKey(at.seed, at.epsilonIndex, at.round),
  };
  const r = await verifiableRound(deltas, setup, { pool, noiseRng: aggregatorNoiseRng(at.seed, at.epsilonIndex, at.round) });
  const { sum, accepted, rejected, noise: _noise, integerSum: _integerSum, ...rest } = r;
  return { sum, figures: { devices: deltas.length, accepted: accepted.length, rejected: rejected.length, ...rest } };
}

export function describeVerifiableRound(v: VerifiableRoundFigures): string {
  return (
    `verifiable: ${v.accepted}/${v.devices} reports accepted, σ per aggregator ${v.noiseStddev.toFixed(0)}, clamped ${v.clamped}, ` +
    `round ${(v.wallMs / 1000).toFixed(1)} s (per device: encode ${v.encodeMsPerDevice.toFixed(0)} ms, prove ${v.proveMsPerDevice.toFixed(0)} ms, both aggregators ${v.verifyMsPerDevice.toFixed(0)} ms)`
  );
}
