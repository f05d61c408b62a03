/**
 * The server's side of a secure-aggregation round (protocol.ts): from the survivors' masked vectors and the unmask
 * answers, the exact sum of their inputs, or SecAggError — never a wrong sum.
 */
import { combine } from 'shamir-secret-sharing';
import { sharedGraph } from './graph';
import { SHARE_BYTES, equalBytes, pairwiseSeed, publicKeyOf, seedCommitment, selfMaskKey } from './keys';
import { SecAggError, type RoundParams, localThreshold, validateParams } from './params';
import { addMasks } from './prg';
import { type AdvertisedKeys, type UnmaskShares, checkKeys, checkLists } from './round-data';

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
            throw new SecAggError(
              `device ${i} sent a ${wantSurvivor ? 'seed' : 'mask-key'} share of device ${j}, which ${wantSurvivor ? 'dropped' : 'survived'}`,
            );
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
