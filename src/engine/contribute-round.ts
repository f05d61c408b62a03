/**
 * What the Contributor (contribute.ts) and each mode's round (contribute-masked.ts, contribute-verifiable.ts) share:
 * the round's view of the Contributor, the masked protocol's binding, the shared delta and its base's hash. Its own
 * module so that the rounds and the Contributor do not import each other.
 */
import { flatten, type ParamSet } from '../core/federated/params';
import type { SharedModelState } from '../core/federated/client';
import type { PromisedNoise } from '../core/deployment';
import { sha256Hex } from '../core/federated/format';
import type { ContributionState } from './api';
import type { SettingsUpdate } from './settings-keys';
import { ContributionError, type AggregatorClient, type RoundClient, type RoundNoise } from './aggregator-client';

/** While the model is still starting (nothing to contribute yet). */
export const IDLE_POLL_MS = 10_000;

/**
 * What the engine reports: ContributionState and the lifetime ε budget (core/secagg/budget.ts). Spent is
 * `epsilon`, the next round's ε `epsilonNext`; the round is joined only while epsilonNext ≤ epsilonBudget.
 */
export type ContributionReport = ContributionState & { epsilonBudget: number };

export interface DeviceProtocol {
  createClient(): Promise<RoundClient>;
  /** Clip, rotate, round, add this device's share of the noise: the u32 vector summed under the masks. */
  encodeForSum(delta: Float32Array, noise: RoundNoise, rotationSeed: Uint8Array): Uint32Array;
  encodedLength(length: number): number;
  /** ε of `rounds` rounds of this mechanism at δ. */
  epsilon(noise: RoundNoise, rounds: number, delta: number, dimension: number): number;
}

/** What a mode's round needs from the Contributor (contribute-masked.ts, contribute-verifiable.ts). */
export interface RoundContext {
  signal: AbortSignal;
  pollMs: number;
  /** The noise the deployment promised for this mode. */
  promised: PromisedNoise;
  state(): ContributionReport;
  publish(change: Partial<ContributionState>): void;
  sharedState(): SharedModelState | undefined;
  refreshContents(): void;
  /** The lifetime budget allows one more round at this σ (else it says why and the round is skipped). */
  mayJoin(multiplier: number): Promise<boolean>;
  /** The stored settings (readSetting checks a value). */
  settings(): Promise<Readonly<Record<string, unknown>>>;
  /** Records one more round at this σ (and `also`): before the update leaves. */
  recordRound(multiplier: number, also?: SettingsUpdate): Promise<void>;
  importLatest(client: AggregatorClient, prefix: string, roundId: string | undefined): Promise<void>;
  /** Whether this device already took the published model for this round (true); marks it taken otherwise. */
  caughtUp(roundId: string): boolean;
}

/** Refuses a round (or collection) for another model or catalog than this app's; `whose` names the service's rounds. */
export function checkSameModel(shared: SharedModelState, round: { modelId: string; catalogFingerprint: string }, whose: string): void {
  if (round.modelId !== shared.modelId || round.catalogFingerprint !== shared.catalogFingerprint) {
    throw new ContributionError(
      `${whose} are for model ${round.modelId} and catalog ${round.catalogFingerprint}; this app runs ${shared.modelId} on ${shared.catalogFingerprint}`,
    );
  }
}

/** Δ = local − global over every shared tensor. u is not among them (SharedModelState never holds it). */
export function sharedDelta(state: SharedModelState): Float32Array {
  const local = flatten(state.local);
  const global = flatten(state.global);
  if (local.length !== global.length) throw new ContributionError('the local and global shared parameters differ in size');
  const delta = new Float32Array(local.length);
  for (let i = 0; i < delta.length; i++) delta[i] = local[i]! - global[i]!;
  return delta;
}

/** SHA-256 of the flattened global parameters: the round's baseModelSha256 (the global file's payloadSha256). */
export function baseSha256(global: ParamSet): Promise<string> {
  // flatten's array is new, so its buffer holds exactly its values.
  return sha256Hex(new Uint8Array(flatten(global).buffer));
}
