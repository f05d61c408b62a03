/**
 * One federated round through secure aggregation, as the benchmark runs it for every simulated device:
 * each device's float delta goes through helper B's encodeForSum (clip to C, randomized Hadamard
 * rotation, conditional randomized rounding to integers mod 2^32, plus the device's share of the
 * distributed discrete Gaussian), then helper A's simulateRound runs the whole protocol (keys, encrypted
 * seed shares, pairwise and self masks, unmasking with Shamir shares, dropouts), and the server decodes
 * the integer sum with decodeSum into the float SUM of the clipped deltas plus noise. Nothing here is
 * protocol or noise code: it wires the two modules together, times them and checks the result.
 *
 * The check: the protocol's output must equal, bit for bit, the plain mod-2^32 sum of the survivors'
 * encoded vectors (which the simulation can compute because it holds every input; a real server
 * cannot). Every round of the benchmark asserts it, so "the masks cancel" is checked on every round of
 * real data, not only in unit tests.
 */
import { decodeSum, encodeForSum, encodedLength, type DistributedNoiseSettings } from '../../src/core/secagg/encode';
import { simulateRound } from '../../src/core/secagg/simulate';
import type { Uniform } from '../../src/core/federated/random';

/** Σ vectors[i] mod 2^32 over `include` (all when absent): what the masked protocol must output. */
export function plainSumMod32(vectors: readonly Uint32Array[], include?: ReadonlySet<number>): Uint32Array {
  if (vectors.length === 0) throw new RangeError('no vectors to sum');
  const length = vectors[0]!.length;
  const sum = new Uint32Array(length);
  vectors.forEach((vector, index) => {
    if (include && !include.has(index)) return;
    if (vector.length !== length) throw new RangeError(`vector ${index} has ${vector.length} entries, the first ${length}`);
    for (let j = 0; j < length; j++) sum[j] = (sum[j]! + vector[j]!) >>> 0;
  });
  return sum;
}

/** Index of the first entry where a and b differ, −1 when equal (and same length). */
export function firstDifference(a: Uint32Array, b: Uint32Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let j = 0; j < a.length; j++) if (a[j] !== b[j]) return j;
  return -1;
}

export interface SecureRoundOptions {
  roundId: string;
  /** Devices (indices into `deltas`) that go silent after their masked upload. */
  dropAfterMasked?: ReadonlySet<number>;
  /** SecAgg+ degree k (default: A's defaultNeighbours of the cohort size). */
  neighbours?: number;
  /** Per-device randomness for encodeForSum's rounding and noise share (seeded in the bench so a run replays). */
  encodeRng?: (device: number) => Uniform;
}

export interface SecureRoundResult {
  /** The decoded float sum of the survivors' clipped deltas plus the sum's noise (length of a delta). */
  sum: Float32Array;
  /** The protocol's integer output (encoded length), for extra checks (e.g. the attack's neighbouring sum). */
  integerSum: Uint32Array;
  /** The devices' encoded vectors, same order as `deltas`. */
  encoded: Uint32Array[];
  survivors: number[];
  /** From simulateRound: bytes one device sends over the whole protocol (keys, shares, masked vector, unmask shares). */
  bytesUpPerDevice: number;
  /** From simulateRound: the same, step by step (maskedBinary: the masked vector as a raw body, 4 bytes per entry). */
  bytesUp: { keys: number; shares: number; masked: number; maskedBinary: number; unmask: number };
  /** From simulateRound: the server's decoding time, ms. */
  serverMs: number;
  /** From simulateRound: one device's protocol compute (key agreement, shares, mask expansion), ms. */
  protocolMsPerDevice: number;
  /** encodeForSum per device (clip, rotate, round, noise share), ms, mean over the devices. */
  encodeMsPerDevice: number;
  /** decodeSum once, ms. */
  decodeMs: number;
  /** Wall time of the whole round (encode + protocol + check + decode), ms. */
  wallMs: number;
}

export async function secureRound(
  deltas: readonly Float32Array[],
  settings: DistributedNoiseSettings,
  rotationSeed: Uint8Array,
  options: SecureRoundOptions,
): Promise<SecureRoundResult> {
  const started = performance.now();
  if (deltas.length === 0) throw new RangeError('a round needs at least one device');
  const length = deltas[0]!.length;
  const encoded: Uint32Array[] = [];
  const encodeStarted = performance.now();
  deltas.forEach((delta, device) => {
    if (delta.length !== length) throw new RangeError(`device ${device}'s delta has ${delta.length} entries, the first ${length}`);
    const rng = options.encodeRng?.(device);
    encoded.push(rng === undefined ? encodeForSum(delta, settings, rotationSeed) : encodeForSum(delta, settings, rotationSeed, rng));
  });
  const encodeMsPerDevice = (performance.now() - encodeStarted) / deltas.length;
  if (encoded[0]!.length !== encodedLength(length)) throw new Error(`encodeForSum gave ${encoded[0]!.length} entries, encodedLength says ${encodedLength(length)}`);
  const round = await simulateRound(encoded, {
    roundId: options.roundId,
    ...(options.dropAfterMasked ? { dropAfterMasked: options.dropAfterMasked } : {}),
    ...(options.neighbours !== undefined ? { neighbours: options.neighbours } : {}),
  });
  const expected = plainSumMod32(encoded, new Set(round.survivors));
  const at = firstDifference(round.sum, expected);
  if (at >= 0) throw new Error(`round ${options.roundId}: the protocol's sum differs from the survivors' plain sum at entry ${at}`);
  const decodeStarted = performance.now();
  const sum = decodeSum(round.sum, settings, rotationSeed, length);
  const decodeMs = performance.now() - decodeStarted;
  return {
    sum,
    integerSum: round.sum,
    encoded,
    survivors: round.survivors,
    bytesUpPerDevice: round.bytesUpPerDevice,
    bytesUp: round.bytesUp,
    serverMs: round.serverMs,
    protocolMsPerDevice: round.msPerDevice,
    encodeMsPerDevice,
    decodeMs,
    wallMs: performance.now() - started,
  };
}
