/**
 * One device's side of a secure-aggregation round (steps 1–4 of protocol.ts): its keys and seed, the sealed Shamir
 * shares to its neighbours, the masked upload and the unmask answer, each step once and in order.
 */
import { split } from 'shamir-secret-sharing';
import { isConnected, sharedGraph } from './graph';
import { KEY_BYTES, cryptoRng, equalBytes, openShares, pairwiseSeed, publicKeyOf, type Rng, sealShares, seedCommitment, selfMaskKey } from './keys';
import { SecAggError, type RoundParams, localThreshold, validateParams } from './params';
import { addMasks } from './prg';
import { type AdvertisedKeys, type EncryptedShare, type IndexedShare, type UnmaskShares, checkKeys, checkLists } from './round-data';

/** 'sharing' and 'masking': a step in progress, so a second concurrent call is refused rather than run twice. */
type ClientPhase = 'keys' | 'sharing' | 'shared' | 'masking' | 'masked' | 'unmasked';
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
    if (
      !equalBytes(mine.encryptionPublicKey, own.encryptionPublicKey) ||
      !equalBytes(mine.maskPublicKey, own.maskPublicKey) ||
      !equalBytes(mine.seedCommitment, own.seedCommitment)
    ) {
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
        ciphertext: await sealShares(
          this.encryptionSecretKey,
          all[j]!.encryptionPublicKey,
          params.roundId,
          this.index,
          j,
          seedShares[m]!,
          keyShares[m]!,
          this.rng,
        ),
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
      held.set(
        share.from,
        await openShares(this.encryptionSecretKey, this.keys[share.from]!.encryptionPublicKey, params.roundId, share.from, this.index, share.ciphertext),
      );
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
