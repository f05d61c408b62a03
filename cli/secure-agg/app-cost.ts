/** The cost round at the app's delta length: bytes a device uploads and its compute, measured through the protocol. */
import { gaussianSource, seededUniform } from '../../src/core/federated/random';
import { encodedLength, type DistributedNoiseSettings } from '../../src/core/secagg/encode';
import { defaultNeighbours } from '../../src/core/secagg/params';
import type { SecureBenchOptions } from './bench';
import { DROPOUT_TOLERANCE, deviceRng, rotationSeedFor } from './replay';
import { secureRound, type SecureRoundResult } from './secure-sum';

export interface AppCost {
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
  /** 32-bit plaintext delta (4 bytes per value) + protocolBytes: the reference. */
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
export async function appCost(options: SecureBenchOptions, seed: number, cohortForDegree: number): Promise<AppCost> {
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
