/**
 * Secure aggregation of u32 vectors (mod 2^32): Bonawitz et al., "Practical Secure Aggregation for Privacy-Preserving
 * Machine Learning" (CCS 2017), with the sparse neighbour graph of SecAgg+ (Bell et al., CCS 2020); this class is the
 * semi-honest protocol, the consistency round that guards against a lying server is consistency.ts.
 *
 * What is hand-written here: the protocol's state machine (which message a device may send when, what it checks
 * before answering, what the server checks before decoding) and the unmasking arithmetic. Everything cryptographic
 * comes from maintained, audited packages: X25519 (@noble/curves), HKDF-SHA256 / SHA-256 (@noble/hashes), Shamir
 * sharing over GF(2^8) (shamir-secret-sharing), AES-GCM and AES-CTR (WebCrypto). The neighbour graph is in graph.ts,
 * the degree and per-neighbourhood threshold (and their guarantees) in params.ts.
 *
 * Round, for device i with neighbours N(i) (graph.ts):
 *  1. keys:    i makes two X25519 pairs (encryption c_i, mask s_i) and a 32-byte self-mask seed b_i; it advertises the
 *              public keys and SHA-256 commitment to b_i.
 *  2. shares:  i Shamir-splits b_i and s_i^SK (threshold t_local) to its k neighbours, each pair of shares sealed with
 *              AES-256-GCM under HKDF(ECDH(c_i, c_j)); the server only relays ciphertexts.
 *  3. masked:  i uploads y_i = x_i + PRG(b_i) + sum_{j in R(i), j>i} PRG(s_ij) - sum_{j in R(i), j<i} PRG(s_ij) mod 2^32,
 *              R(i) = the neighbours whose shares reached i, s_ij = HKDF(ECDH(s_i, s_j), roundId, i, j).
 *  4. unmask:  told the survivors S (uploaded y) and the dropped D, i (if in S, if |S| >= t, if S is connected in the
 *              graph, once only) returns its shares of b_j for neighbours j in S and of s_j^SK for neighbours j in D -
 *              never both kinds for the same device.
 *  Server: sum of y over S, minus PRG(b_i) for each i in S (b_i rebuilt from >= t_local shares, checked against its
 *  commitment), minus the pairwise masks every survivor still carries with a dropped neighbour j (s_j^SK rebuilt,
 *  checked by recomputing its public key). Fewer than t survivors, too few shares or a failed check: SecAggError.
 *
 * Trust model and limits (for the threat-model docs):
 *  - Honest-but-curious server: it learns the sum over the survivors and nothing else, unless it colludes with
 *    t_local or more of one device's neighbours (params.ts: 8 of 20 at n=30, 10 of 28 at n=100, 14 of 40 at
 *    n=1000). Colluding devices also strip the masks they share with a device; if they cut the honest survivors'
 *    graph in pieces, the server learns each piece's sum (the Harary graph is k-connected: never with fewer than k).
 *  - A malicious server: this class alone does not stop one that tells different devices different survivor lists
 *    (it could collect both kinds of shares of one device). The consistency round (Bonawitz et al. §4's active
 *    variant) does: consistency.ts, run by the service (phase 'consistency') and the app's device before `unmask`
 *    (engine/secagg-device.ts). Still the server's: the roundId and the indices, hence the graph.
 *  - Devices: each step at most once, in order; shares and masks bound to (roundId, from, to). A device can send
 *    any vector it likes (no norm proof here). Lying in its shares never yields a wrong sum: a bad share is left out
 *    when the secret has a spare share, otherwise (or with two bad shares of one secret) the round is abandoned.
 *  - Network observers see sizes and timing only (the service's TLS); shares are end-to-end encrypted between devices.
 */
import { combine, split } from 'shamir-secret-sharing';
import { isConnected, sharedGraph } from './graph';
import {
  KEY_BYTES,
  SHARE_BYTES,
  cryptoRng,
  equalBytes,
  openShares,
  pairwiseSeed,
  publicKeyOf,
  type Rng,
  sealShares,
  seedCommitment,
  selfMaskKey,
} from './keys';
import { SecAggError, type RoundParams, localThreshold, validateParams } from './params';
import { addMasks } from './prg';

export { SecAggError, type RoundParams, defaultNeighbours, defaultThreshold, localThreshold, roundParams, validateParams } from './params';
export { neighbourGraph, isConnected } from './graph';

export interface AdvertisedKeys {
  index: number;
  encryptionPublicKey: Uint8Array;
  maskPublicKey: Uint8Array;
  /** SHA-256 commitment to the device's self-mask seed b_i (keys.ts `seedCommitment`). */
  seedCommitment: Uint8Array;
}
export interface EncryptedShare {
  from: number;
  to: number;
  ciphertext: Uint8Array;
}
export interface IndexedShare {
  of: number;
  share: Uint8Array;
}
export interface UnmaskShares {
  from: number;
  /** Shares of b_j, for surviving neighbours j. */
  seedShares: IndexedShare[];
  /** Shares of s_j^SK, for dropped neighbours j whose shares this device received. */
  keyShares: IndexedShare[];
}

/** 'sharing' and 'masking': a step in progress, so a second concurrent call is refused rather than run twice. */
type ClientPhase = 'keys' | 'sharing' | 'shared' | 'masking' | 'masked' | 'unmasked';

function checkKeys(params: RoundParams, all: readonly AdvertisedKeys[]): void {
  if (all.length !== params.cohortSize) throw new SecAggError(`expected ${params.cohortSize} advertised keys, got ${all.length}`);
  const seen = new Set<string>();
  all.forEach((keys, i) => {
    if (keys.index !== i) throw new SecAggError(`advertised keys must be in index order (position ${i} holds device ${keys.index})`);
    for (const [name, bytes] of [
      ['encryptionPublicKey', keys.encryptionPublicKey],
      ['maskPublicKey', keys.maskPublicKey],
      ['seedCommitment', keys.seedCommitment],
    ] as const) {
      if (!(bytes instanceof Uint8Array) || bytes.length !== KEY_BYTES) throw new SecAggError(`device ${i}: ${name} must be ${KEY_BYTES} bytes`);
    }
    // A repeated key would make two devices' masks or envelopes coincide: refuse rather than reason about it.
    for (const bytes of [keys.encryptionPublicKey, keys.maskPublicKey]) {
      const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
      if (seen.has(hex)) throw new SecAggError(`device ${i} advertises a public key another device already uses`);
      seen.add(hex);
    }
  });
}

/** Survivor/dropped lists as sets, checked: integers in the cohort, no repeats, disjoint. */
function checkLists(n: number, survivors: readonly number[], dropped: readonly number[]): { S: Set<number>; D: Set<number> } {
  const S = new Set<number>();
  const D = new Set<number>();
  for (const [list, set, name] of [
    [survivors, S, 'survivors'],
    [dropped, D, 'dropped'],
  ] as const) {
    for (const j of list) {
      if (!Number.isInteger(j) || j < 0 || j >= n) throw new SecAggError(`${name}: ${j} is not a device of this round`);
      if (set.has(j)) throw new SecAggError(`${name}: device ${j} is listed twice`);
      set.add(j);
    }
  }
  for (const j of D) if (S.has(j)) throw new SecAggError(`device ${j} is listed both as a survivor and as dropped`);
  return { S, D };
}

/** One device's side of a round. A new client (new keys, new seed) for every round: nothing is reused. */
export class SecAggClient {
  private phase: ClientPhase = 'keys';
  private params: RoundParams | undefined;
  private graph: readonly (readonly number[])[] = [];
  private keys: readonly AdvertisedKeys[] = [];
  /** Decrypted shares this device holds, by the neighbour they belong to. */
  private held = new Map<number, { seedShare: Uint8Array; keyShare: Uint8Array }>();

  private constructor(
    private currentIndex: number,
    private readonly encryptionSecretKey: Uint8Array,
    private readonly maskSecretKey: Uint8Array,
    private readonly seed: Uint8Array,
    private readonly rng: Rng,
  ) {}

  /** Makes the device's keys and seed. `rng` (default: crypto.getRandomValues) is for keys, seed and nonces; Shamir polynomials always use the platform CSPRNG. */
  static async create(index: number, rng: Rng = cryptoRng): Promise<SecAggClient> {
    if (!Number.isInteger(index) || index < 0) throw new SecAggError(`device index must be a non-negative integer, got ${index}`);
    return new SecAggClient(index, rng(KEY_BYTES), rng(KEY_BYTES), rng(KEY_BYTES), rng);
  }

  /** This device's index in the round (registration order). */
  get index(): number {
    return this.currentIndex;
  }

  /**
   * Sets the index the service assigned when it registered this device's keys (a device advertises its keys before
   * it knows its index). Only before shareKeys: the index is bound into every share and mask from then on.
   */
  assignIndex(index: number): void {
    this.expect('keys', 'assign an index');
    if (!Number.isInteger(index) || index < 0) throw new SecAggError(`device index must be a non-negative integer, got ${index}`);
    this.currentIndex = index;
  }

  advertise(): AdvertisedKeys {
    return {
      index: this.index,
      encryptionPublicKey: publicKeyOf(this.encryptionSecretKey),
      maskPublicKey: publicKeyOf(this.maskSecretKey),
      seedCommitment: seedCommitment(this.seed),
    };
  }

  private expect(phase: ClientPhase, action: string): RoundParams {
    if (this.phase !== phase || (phase !== 'keys' && !this.params)) {
      throw new SecAggError(`cannot ${action} now: this device is past that step or not there yet (step: ${this.phase})`);
    }
    return this.params as RoundParams;
  }

  /** Step 2: sealed shares of b_i and s_i^SK, one per neighbour. Checks the round's parameters and that its own keys are the ones listed. */
  async shareKeys(params: RoundParams, all: readonly AdvertisedKeys[]): Promise<EncryptedShare[]> {
    this.expect('keys', 'share keys');
    validateParams(params);
    checkKeys(params, all);
    if (this.index >= params.cohortSize) throw new SecAggError(`device ${this.index} is not in a cohort of ${params.cohortSize}`);
    const mine = all[this.index]!;
    const own = this.advertise();
    if (!equalBytes(mine.encryptionPublicKey, own.encryptionPublicKey) || !equalBytes(mine.maskPublicKey, own.maskPublicKey) || !equalBytes(mine.seedCommitment, own.seedCommitment)) {
      throw new SecAggError(`the keys listed for device ${this.index} are not this device's`);
    }
    const graph = sharedGraph(params);
    const neighbours = graph[this.index]!;
    const tLocal = localThreshold(params);
    // The checks above are synchronous; from here on, once only, even if it fails half-way: two sharings of the same
    // secret would double the shares a coalition can gather.
    this.phase = 'sharing';
    const [seedShares, keyShares] = await Promise.all([split(this.seed, neighbours.length, tLocal), split(this.maskSecretKey, neighbours.length, tLocal)]);
    const out = await Promise.all(
      neighbours.map(async (j, m) => ({
        from: this.index,
        to: j,
        ciphertext: await sealShares(this.encryptionSecretKey, all[j]!.encryptionPublicKey, params.roundId, this.index, j, seedShares[m]!, keyShares[m]!, this.rng),
      })),
    );
    this.params = params;
    this.graph = graph;
    this.keys = all;
    this.phase = 'shared';
    return out;
  }

  /**
   * Step 3: y = x + PRG(b_i) ± PRG(s_ij) over the neighbours whose shares arrived (`received`: those addressed to this
   * device). Once only: two masked uploads under the same masks would reveal their difference.
   */
  async maskInput(input: Uint32Array, received: readonly EncryptedShare[]): Promise<Uint32Array> {
    const params = this.expect('shared', 'mask an input');
    this.phase = 'masking';
    let held: Map<number, { seedShare: Uint8Array; keyShare: Uint8Array }>;
    try {
      held = await this.openReceived(params, input, received);
    } catch (error) {
      this.phase = 'shared'; // nothing was masked yet: the device may try again with the right shares
      throw error;
    }
    this.held = held;
    const y = new Uint32Array(input);
    const pairwise = await Promise.all(
      [...held.keys()].map(async (j) => ({
        seed: await pairwiseSeed(this.maskSecretKey, this.keys[j]!.maskPublicKey, params.roundId, this.index, j),
        sign: j > this.index ? (1 as const) : (-1 as const),
      })),
    );
    await addMasks(y, [{ seed: selfMaskKey(this.seed, params.roundId), sign: 1 }, ...pairwise]);
    this.phase = 'masked';
    return y;
  }

  /** Checks and decrypts the shares handed to this device. */
  private async openReceived(params: RoundParams, input: Uint32Array, received: readonly EncryptedShare[]) {
    if (!(input instanceof Uint32Array) || input.length !== params.vectorLength) {
      throw new SecAggError(`the input must be a Uint32Array of length ${params.vectorLength}`);
    }
    const neighbours = new Set(this.graph[this.index]!);
    const held = new Map<number, { seedShare: Uint8Array; keyShare: Uint8Array }>();
    for (const share of received) {
      if (share.to !== this.index) throw new SecAggError(`a share addressed to device ${share.to} was handed to device ${this.index}`);
      if (!neighbours.has(share.from)) throw new SecAggError(`device ${share.from} is not a neighbour of device ${this.index}`);
      if (held.has(share.from)) throw new SecAggError(`two shares from device ${share.from}`);
      held.set(share.from, await openShares(this.encryptionSecretKey, this.keys[share.from]!.encryptionPublicKey, params.roundId, share.from, this.index, share.ciphertext));
    }
    const tLocal = localThreshold(params);
    if (held.size < tLocal) {
      // Bonawitz's round-2 abort: with fewer, this device's own seed could not be rebuilt later anyway.
      throw new SecAggError(`only ${held.size} of this device's neighbours shared keys; at least ${tLocal} must`);
    }
    return held;
  }

  /**
   * Step 4: shares of b_j for surviving neighbours and of s_j^SK for dropped ones. Once only, and only if this device
   * is a survivor, there are >= t survivors and they form one connected piece of the graph (so what the server can
   * decode is a sum over >= t devices, not a smaller group's), and every neighbour whose shares it holds is listed.
   */
  unmask(survivors: readonly number[], dropped: readonly number[]): UnmaskShares {
    const params = this.expect('masked', 'unmask');
    const { S, D } = checkLists(params.cohortSize, survivors, dropped);
    if (!S.has(this.index)) throw new SecAggError(`device ${this.index} uploaded its masked vector but is not listed as a survivor`);
    if (S.size < params.threshold) throw new SecAggError(`only ${S.size} survivors; this round needs ${params.threshold} to decode`);
    if (!isConnected(this.graph, [...S])) throw new SecAggError('the survivors do not form one connected group in the neighbour graph');
    const seedShares: IndexedShare[] = [];
    const keyShares: IndexedShare[] = [];
    for (const [j, shares] of this.held) {
      if (S.has(j)) seedShares.push({ of: j, share: shares.seedShare });
      else if (D.has(j)) keyShares.push({ of: j, share: shares.keyShare });
      else throw new SecAggError(`neighbour ${j} shared keys but is listed neither as a survivor nor as dropped`);
    }
    for (const j of S) {
      if (j !== this.index && this.graph[this.index]!.includes(j) && !this.held.has(j)) {
        throw new SecAggError(`neighbour ${j} is listed as a survivor but its shares never reached device ${this.index}`);
      }
    }
    this.phase = 'unmasked';
    this.held = new Map();
    return { from: this.index, seedShares, keyShares };
  }
}

/** The server's arithmetic: pure, no I/O. The service persists the inputs and calls `decode` (or `correction`). */
export class SecAggServer {
  readonly graph: readonly (readonly number[])[];
  readonly localThreshold: number;

  constructor(
    readonly params: RoundParams,
    private readonly keys: readonly AdvertisedKeys[],
  ) {
    validateParams(params);
    checkKeys(params, keys);
    this.graph = sharedGraph(params);
    this.localThreshold = localThreshold(params);
  }

  /**
   * What to subtract (mod 2^32) from the sum of the survivors' masked vectors to get the sum of their inputs.
   * `shared` (optional, recommended): the devices whose shares the server relayed (U2). Without it, a non-survivor j
   * counts as having shared iff the answering survivors hold shares of it, and an undecidable case is refused.
   */
  async correction(survivors: readonly number[], unmask: readonly UnmaskShares[], shared?: ReadonlySet<number>): Promise<Uint32Array> {
    const { cohortSize: n, threshold: t, vectorLength: L, roundId } = this.params;
    const { S } = checkLists(n, survivors, []);
    if (S.size < t) throw new SecAggError(`only ${S.size} devices uploaded masked vectors; this round needs ${t} to decode`);

    const seedSharesOf = new Map<number, Uint8Array[]>();
    const keySharesOf = new Map<number, Uint8Array[]>();
    const keyGivers = new Map<number, Set<number>>();
    const answered = new Set<number>();
    for (const message of unmask) {
      const i = message.from;
      if (!S.has(i)) throw new SecAggError(`unmask shares from device ${i}, which is not a survivor`);
      if (answered.has(i)) throw new SecAggError(`two unmask messages from device ${i}`);
      answered.add(i);
      const neighbours = new Set(this.graph[i]!);
      const seenOf = new Set<number>();
      for (const [list, wantSurvivor, into] of [
        [message.seedShares, true, seedSharesOf],
        [message.keyShares, false, keySharesOf],
      ] as const) {
        for (const { of: j, share } of list) {
          if (!neighbours.has(j)) throw new SecAggError(`device ${i} sent a share of device ${j}, which is not its neighbour`);
          if (seenOf.has(j)) throw new SecAggError(`device ${i} sent two shares of device ${j}`);
          seenOf.add(j);
          if (S.has(j) !== wantSurvivor) {
            throw new SecAggError(`device ${i} sent a ${wantSurvivor ? 'seed' : 'mask-key'} share of device ${j}, which ${wantSurvivor ? 'dropped' : 'survived'}`);
          }
          if (!(share instanceof Uint8Array) || share.length !== SHARE_BYTES) throw new SecAggError(`device ${i}: a share must be ${SHARE_BYTES} bytes`);
          const shares = into.get(j) ?? [];
          shares.push(share);
          into.set(j, shares);
          if (!wantSurvivor) keyGivers.set(j, (keyGivers.get(j) ?? new Set()).add(i));
        }
      }
    }

    const corr = new Uint32Array(L);
    const selfMasks: { seed: Uint8Array; sign: 1 | -1 }[] = [];
    for (const i of S) {
      const seed = await this.rebuild(
        seedSharesOf.get(i) ?? [],
        `the self-mask seed of device ${i}`,
        (secret) => equalBytes(seedCommitment(secret), this.keys[i]!.seedCommitment),
        'its commitment',
      );
      selfMasks.push({ seed: selfMaskKey(seed, roundId), sign: 1 });
    }
    await addMasks(corr, selfMasks);

    for (let j = 0; j < n; j++) {
      if (S.has(j)) continue;
      const survivingNeighbours = this.graph[j]!.filter((i) => S.has(i));
      if (survivingNeighbours.length === 0) continue;
      const givers = keyGivers.get(j) ?? new Set<number>();
      const answeringNeighbours = survivingNeighbours.filter((i) => answered.has(i));
      let didShare: boolean;
      if (shared) {
        didShare = shared.has(j);
        if (!didShare && givers.size > 0) throw new SecAggError(`shares of device ${j} were sent, but it is not among the devices that shared keys`);
      } else {
        if (answeringNeighbours.length === 0) {
          throw new SecAggError(`cannot tell whether dropped device ${j} shared keys: none of its surviving neighbours answered`);
        }
        if (givers.size > 0 && givers.size < answeringNeighbours.length) {
          throw new SecAggError(`inconsistent unmask answers about dropped device ${j}: some neighbours hold its shares, others do not`);
        }
        didShare = givers.size > 0;
      }
      if (!didShare) continue; // its neighbours never masked with it
      const secretKey = await this.rebuild(
        keySharesOf.get(j) ?? [],
        `the mask key of dropped device ${j}`,
        (secret) => equalBytes(publicKeyOf(secret), this.keys[j]!.maskPublicKey),
        'its public key',
      );
      // Survivor i added +PRG(s_ij) if j > i, -PRG(s_ij) if j < i: subtract exactly that.
      const pairwise = await Promise.all(
        survivingNeighbours.map(async (i) => ({
          seed: await pairwiseSeed(secretKey, this.keys[i]!.maskPublicKey, roundId, j, i),
          sign: j > i ? (1 as const) : (-1 as const),
        })),
      );
      await addMasks(corr, pairwise);
    }
    return corr;
  }

  /**
   * Rebuilds a secret from its shares and checks it against what the device published (commitment or public key).
   * All shares first; if that fails the check and there is a spare share, each one left out in turn, so a single
   * tampered share costs a few extra interpolations instead of the round. Anything worse: SecAggError, never a wrong
   * secret (the check is binding).
   */
  private async rebuild(shares: Uint8Array[], what: string, isRight: (secret: Uint8Array) => boolean, against: string): Promise<Uint8Array> {
    if (shares.length < this.localThreshold) {
      throw new SecAggError(`too few shares to rebuild ${what}: ${shares.length} of the ${this.localThreshold} needed`);
    }
    const attempt = async (subset: Uint8Array[]): Promise<Uint8Array | undefined> => {
      try {
        const secret = await combine(subset);
        return isRight(secret) ? secret : undefined;
      } catch {
        return undefined; // malformed (e.g. a repeated x coordinate)
      }
    };
    const secret = await attempt(shares);
    if (secret) return secret;
    if (shares.length > this.localThreshold) {
      for (let leave = 0; leave < shares.length; leave++) {
        const found = await attempt(shares.filter((_, m) => m !== leave));
        if (found) return found;
      }
    }
    throw new SecAggError(`${what}, rebuilt from its neighbours' shares, does not match ${against} (shares were tampered with)`);
  }


  /**
   * The exact sum (mod 2^32) of the survivors' inputs. `masked`: each survivor's masked vector, or their sum (the
   * service sums from its database in batches) with the survivors' indices.
   */
  async decode(
    masked: ReadonlyMap<number, Uint32Array> | { sum: Uint32Array; survivors: readonly number[] },
    unmask: readonly UnmaskShares[],
    shared?: ReadonlySet<number>,
  ): Promise<Uint32Array> {
    const L = this.params.vectorLength;
    let sum: Uint32Array;
    let survivors: number[];
    if (masked instanceof Map) {
      survivors = [...masked.keys()];
      sum = new Uint32Array(L);
      for (const [i, y] of masked) {
        if (!(y instanceof Uint32Array) || y.length !== L) throw new SecAggError(`the masked vector of device ${i} must be ${L} u32 entries`);
        for (let e = 0; e < L; e++) sum[e] = (sum[e]! + y[e]!) >>> 0;
      }
    } else {
      const given = masked as { sum: Uint32Array; survivors: readonly number[] };
      if (!(given.sum instanceof Uint32Array) || given.sum.length !== L) throw new SecAggError(`the sum must be ${L} u32 entries`);
      survivors = [...given.survivors];
      sum = new Uint32Array(given.sum);
    }
    const corr = await this.correction(survivors, unmask, shared);
    for (let e = 0; e < L; e++) sum[e] = (sum[e]! - corr[e]!) >>> 0;
    return sum;
  }
}
