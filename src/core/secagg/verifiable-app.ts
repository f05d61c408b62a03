/**
 * The app's task in the verifiable mode (issue 20; docs/secure-aggregation.md "Verifiable mode in the app"): what
 * the device (engine/contribute-verifiable.ts) and the two aggregators (server/verifiable/) derive from the same
 * few public numbers — the shared delta's length and the noise the deployment promises — so that they agree on
 * every parameter of the proof without sending them separately:
 *
 * - the norm check (PINE, verifiable/pine.ts; on Field64 with two proofs since stop 38) at 10 bits, noise added by the AGGREGATORS (`placement:
 *   'aggregators'`: the norm check needs it, a device's noise share would be far past Δ₂), so an accepted report
 *   moves the sum by at most √N/γ_v ≈ 1.009·C at the app's delta (verifiable/encode.ts verifiableBound);
 * - each aggregator adds N_Z(0, (γ_v·z·C)²) to its aggregate share: ε holds while either is honest, and the
 *   accountant counts one such share (verifiable/encode.ts accountingSettings);
 * - the collection's rotation seed: SHA-256 of a label and the collection's base model (public, fixed before any
 *   device encodes, different for every base; the masked mode draws one per round instead, equally public).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { distributedEpsilon } from './accountant';
import { accountingSettings, aggregatorNoiseStddev, verifiableParams, type VerifiableSettings } from './verifiable/encode';
import type { PineField } from './verifiable/pine-params';
import type { VerifiableParams } from './verifiable/prio';

/** Bits of the range an honest entry is scaled to (γ_v): 10 keeps the rounding's inflation at 1.009·C (encode.ts's table). */
export const APP_VERIFIABLE_BITS = 10;

/**
 * PINE's field for the app's task (pine-params.ts PINE_FIELDS): Field128 with one proof (algorithm 0xFFFF0001), or
 * Field64 with two independent proofs (0xFFFF0002, stop 38: about half the upload, soundness ≈ 2^−105.8 per try from
 * the proofs and 2^−87.5 from the wraparound checks). Both aggregators and the device derive it from here. Field64
 * since stop 38: the e2e's verifiable phase, the services' and the device's tests passed with it.
 */
export const APP_VERIFIABLE_FIELD: PineField = 'field64';

/** The noise a collection announces: C and z of the sum (each aggregator adds z·C on its own). */
export interface VerifiableNoise {
  clipNorm: number;
  noiseMultiplier: number;
}

export function appVerifiableSettings(noise: VerifiableNoise, bits = APP_VERIFIABLE_BITS, field: PineField = APP_VERIFIABLE_FIELD): VerifiableSettings {
  return {
    // The cohort does not enter with the noise at the aggregators (γ_v and the accountant ignore it there).
    noise: { clipNorm: noise.clipNorm, noiseMultiplier: noise.noiseMultiplier, expectedCohort: 1, dropoutTolerance: 0, bits: 32 },
    bits,
    placement: 'aggregators',
    normCheck: true,
    field,
  };
}

export interface AppVerifiableTask {
  settings: VerifiableSettings;
  /** The proof's parameters: the padded encoded length, the bits, N. */
  params: VerifiableParams;
  /** σ each aggregator adds to its aggregate share, integer units. */
  noiseStddev: number;
}

/** The task for a shared delta of `deltaLength` floats. */
export function appVerifiableTask(
  deltaLength: number,
  noise: VerifiableNoise,
  bits = APP_VERIFIABLE_BITS,
  field: PineField = APP_VERIFIABLE_FIELD,
): AppVerifiableTask {
  const settings = appVerifiableSettings(noise, bits, field);
  return { settings, params: verifiableParams(settings, deltaLength), noiseStddev: aggregatorNoiseStddev(settings, deltaLength) };
}

/** ε (at δ) of `rounds` collections joined with this noise, for a delta of `deltaLength`. */
export function appVerifiableEpsilon(noise: VerifiableNoise, rounds: number, delta: number, deltaLength: number): number {
  return distributedEpsilon(accountingSettings(appVerifiableSettings(noise), deltaLength), rounds, delta, deltaLength);
}

const LABEL = new TextEncoder().encode('private-recs verifiable rotation v1:');

/** The rotation seed of the collection that starts from the model whose payload SHA-256 (hex) is `baseSha256`. */
export function collectionRotationSeed(baseSha256: string): Uint8Array {
  const text = new TextEncoder().encode(baseSha256);
  const input = new Uint8Array(LABEL.length + text.length);
  input.set(LABEL);
  input.set(text, LABEL.length);
  return sha256(input);
}

/** A collection's id: the first 16 hex digits of its base model's SHA-256 (the published model's "round"). */
export function collectionId(baseSha256: string): string {
  return baseSha256.slice(0, 16);
}
