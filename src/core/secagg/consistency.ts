/**
 * The consistency round of Bonawitz et al. (CCS 2017, §4, the actively secure variant), against a server that
 * tells different devices different survivor lists (so that it could collect, for one device, its neighbours'
 * shares of its self-mask seed from some and of its mask key from others, and unmask its input alone).
 *
 * Each device advertises an Ed25519 signing key with its round keys. After the masked phase, every survivor
 * signs the survivor and dropped lists it was told (canonical bytes bound to the round id); the server relays
 * the signatures; a device sends its unmask shares only if at least t signatures, from distinct devices
 * listed as survivors, are relayed for exactly the lists it signed itself, and a random sample of them
 * (CONSISTENCY_SAMPLE, all when fewer) verifies. Since the threshold t is more than half the cohort and an honest
 * device signs one pair of lists per round, two different lists cannot both gather t honest signatures: a server
 * that tries must forge some, and the device's sample finds one but with a probability that falls exponentially in
 * the sample's size (bound at CONSISTENCY_SAMPLE). (Colluding devices can sign both; the margin is then t minus the
 * colluders, as in Bonawitz et al.'s analysis.)
 *
 * Cryptography: Ed25519 from @noble/curves (audited; verification strict, RFC 8032, not ZIP-215). Hand-written
 * here: the message layout and the counting. Wire: the signing key travels with the round's keys, the signature
 * and the relayed signatures in messages.ts; the service's phase 'consistency' (server/aggregator.ts) collects
 * and checks them, the device (engine/secagg-device.ts) signs, then checks before it unmasks.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { cryptoRng, type Rng } from './keys';
import { SecAggError } from './params';

export const SIGNING_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;

const LABEL = new TextEncoder().encode('secagg/v1/consistency\0');

/** The signed bytes: label, round id, then the sorted survivor and dropped lists (u32 big-endian, each with its length). */
export function consistencyMessage(roundId: string, survivors: readonly number[], dropped: readonly number[]): Uint8Array {
  const id = new TextEncoder().encode(roundId);
  const s = [...survivors].sort((a, b) => a - b);
  const d = [...dropped].sort((a, b) => a - b);
  const out = new Uint8Array(LABEL.length + 4 + id.length + 4 * (2 + s.length + d.length));
  const view = new DataView(out.buffer);
  out.set(LABEL);
  let at = LABEL.length;
  view.setUint32(at, id.length);
  out.set(id, at + 4);
  at += 4 + id.length;
  for (const list of [s, d]) {
    view.setUint32(at, list.length);
    at += 4;
    for (const j of list) {
      view.setUint32(at, j);
      at += 4;
    }
  }
  return out;
}

/**
 * Throws SecAggError unless `key` is an Ed25519 public key worth counting: 32 bytes, a canonical encoding of a
 * curve point, not of small order (such a key "verifies" signatures nobody made, so one device could sign
 * anything without its secret key).
 */
export function checkSigningKey(key: Uint8Array, what = 'signingPublicKey'): void {
  if (!(key instanceof Uint8Array) || key.length !== SIGNING_KEY_BYTES) throw new SecAggError(`${what} must be ${SIGNING_KEY_BYTES} bytes`);
  let smallOrder = true;
  try {
    smallOrder = ed25519.Point.fromBytes(key, false).isSmallOrder();
  } catch {
    throw new SecAggError(`${what} is not an Ed25519 public key`);
  }
  if (smallOrder) throw new SecAggError(`${what} is a small-order Ed25519 point, not a usable public key`);
}

/** Whether `signature` is `key`'s over these lists (strict RFC 8032 verification; malformed input is false). */
export function verifySurvivorSignature(
  key: Uint8Array,
  signature: Uint8Array,
  roundId: string,
  survivors: readonly number[],
  dropped: readonly number[],
): boolean {
  return verifyMessage(key, signature, consistencyMessage(roundId, survivors, dropped));
}

function verifyMessage(key: Uint8Array, signature: Uint8Array, message: Uint8Array): boolean {
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_BYTES || !(key instanceof Uint8Array) || key.length !== SIGNING_KEY_BYTES)
    return false;
  try {
    return ed25519.verify(signature, message, key, { zip215: false });
  } catch {
    return false;
  }
}

export interface SurvivorSignature {
  /** The signing device's index. */
  from: number;
  signature: Uint8Array;
}

/** A device's signing key for one round (new every round, like its other keys); signs one pair of lists at most. */
export class SurvivorSigner {
  private signed: Uint8Array | undefined;

  private constructor(private readonly secretKey: Uint8Array) {}

  static create(rng: Rng = cryptoRng): SurvivorSigner {
    return new SurvivorSigner(rng(SIGNING_KEY_BYTES));
  }

  get publicKey(): Uint8Array {
    return ed25519.getPublicKey(this.secretKey);
  }

  /** Signs the lists this device was told. Once per round: signing two different lists is what the check relies on no honest device doing. */
  sign(index: number, roundId: string, survivors: readonly number[], dropped: readonly number[]): SurvivorSignature {
    const message = consistencyMessage(roundId, survivors, dropped);
    if (this.signed && !equal(this.signed, message)) throw new SecAggError('this device already signed different survivor lists in this round');
    this.signed = message;
    return { from: index, signature: ed25519.sign(message, this.secretKey) };
  }

  /** The lists signed (their message), if any. */
  get signedMessage(): Uint8Array | undefined {
    return this.signed;
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * How many relayed signatures a device verifies (a uniformly random sample, drawn on the device after the relay
 * arrived). Verifying all of them costs n Ed25519 verifications per device (about 1.1 s at n = 943 in Node); a
 * sample keeps the device's cost constant in n. Why a sample suffices, and why checking only the graph neighbours'
 * signatures does not (the neighbour graph is a ring, which a lying server can cut into two arcs), is in
 * docs/secure-aggregation.md ("The consistency round at scale"). In short: a server that tells two groups of
 * devices different lists must forge at least 2t − n − c of the ≥ 2t signatures it relays (c: devices it controls,
 * which sign both; each honest device signs once), out of at most n per list, so a device that checks s random ones
 * in each group passes with probability at most exp(−s·(2t − n − c)/n): e^−42.7 (≈ 2^−61) for s = 128, t = ⌈2n/3⌉,
 * c = 0, and e^−21.3 with c = n/6.
 */
export const CONSISTENCY_SAMPLE = 128;

/** `count` distinct indices below `n`, uniformly at random (partial Fisher–Yates on rejection-sampled u32s). */
export function sampleIndices(n: number, count: number, rng: Rng = cryptoRng): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  const take = Math.min(n, Math.max(0, count));
  for (let i = 0; i < take; i++) {
    const range = n - i;
    const limit = Math.floor(0x1_0000_0000 / range) * range;
    let x: number;
    do {
      const b = rng(4);
      x = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
    } while (x >= limit);
    const j = i + (x % range);
    const tmp = order[i]!;
    order[i] = order[j]!;
    order[j] = tmp;
  }
  return order.slice(0, take);
}

/**
 * Throws SecAggError unless `signatures` hold at least `threshold` signatures over exactly these lists, from
 * distinct devices listed as survivors with distinct keys, the lists are the ones `signer` signed, and every one of
 * a random sample of `sample` signatures (all of them when there are fewer) verifies. Every relayed signature is
 * checked for its form and attribution; any sampled one that does not verify is refused outright (the server relayed
 * something no honest device sent). Returns how many signatures were counted.
 */
export function checkConsistency(options: {
  roundId: string;
  threshold: number;
  survivors: readonly number[];
  dropped: readonly number[];
  /** Each device's advertised signing key, by index. */
  signingKeys: ReadonlyMap<number, Uint8Array>;
  signatures: readonly SurvivorSignature[];
  /** This device's signer: the lists must be the ones it signed. */
  signer: SurvivorSigner;
  /** How many signatures to verify (default CONSISTENCY_SAMPLE; Infinity: all). */
  sample?: number;
  /** The sample's randomness (default: the platform's CSPRNG; the server must not predict it). */
  rng?: Rng;
}): number {
  const message = consistencyMessage(options.roundId, options.survivors, options.dropped);
  const own = options.signer.signedMessage;
  if (!own) throw new SecAggError('this device has not signed the survivor lists yet');
  if (!equal(own, message)) throw new SecAggError('the survivor lists differ from the ones this device signed: the server told devices different lists');
  const survivors = new Set(options.survivors);
  const seen = new Set<number>();
  // One key counted once: two indices listed with the same key would let one device's signature count twice.
  const keysSeen = new Set<string>();
  const counted: { from: number; key: Uint8Array; signature: Uint8Array }[] = [];
  for (const { from, signature } of options.signatures) {
    if (!survivors.has(from)) throw new SecAggError(`a consistency signature from device ${from}, which is not listed as a survivor`);
    if (seen.has(from)) throw new SecAggError(`two consistency signatures from device ${from}`);
    const key = options.signingKeys.get(from);
    if (!key || key.length !== SIGNING_KEY_BYTES) throw new SecAggError(`device ${from} advertised no signing key`);
    const hex = Array.from(key, (b) => b.toString(16).padStart(2, '0')).join('');
    if (keysSeen.has(hex)) throw new SecAggError(`device ${from}'s signing key is also listed for another device`);
    keysSeen.add(hex);
    if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_BYTES)
      throw new SecAggError(`device ${from}: a signature must be ${SIGNATURE_BYTES} bytes`);
    seen.add(from);
    counted.push({ from, key, signature });
  }
  if (seen.size < options.threshold) {
    throw new SecAggError(`only ${seen.size} devices signed these survivor lists; at least ${options.threshold} must before this device unmasks`);
  }
  const sample = options.sample ?? CONSISTENCY_SAMPLE;
  const picked = sample >= counted.length ? counted.map((_, i) => i) : sampleIndices(counted.length, sample, options.rng);
  for (const i of picked.sort((a, b) => a - b)) {
    const { from, key, signature } = counted[i]!;
    if (!verifyMessage(key, signature, message)) throw new SecAggError(`device ${from}'s consistency signature does not verify over these lists`);
  }
  return seen.size;
}
