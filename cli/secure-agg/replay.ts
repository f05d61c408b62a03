/** Seeded randomness of the secure-aggregation bench, so that a run replays (never production: the service and devices draw their own). */
import { seededUniform, type Uniform } from '../../src/core/federated/random';

/** The ε the distributed noise still holds with as few as 2/3 of the cohort surviving. */
export const DROPOUT_TOLERANCE = 1 / 3;

export function rotationSeedFor(seed: number, epsilonIndex: number, round: number): Uint8Array {
  // Public and per round in the real service (GET /v1/round); seeded here so a run replays.
  const uniform = seededUniform((seed * 7919 + epsilonIndex * 131 + round) >>> 0);
  return Uint8Array.from({ length: 32 }, () => Math.floor(uniform() * 256));
}

/** Per-device randomness for encodeForSum's rounding and noise share (seeded: a replayable run, never production). */
export function deviceRng(seed: number, epsilonIndex: number, round: number, device: number): Uniform {
  return seededUniform((seed * 1_000_003 + epsilonIndex * 100_003 + round * 10_007 + device * 7 + 12345) >>> 0);
}
