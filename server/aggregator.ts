/**
 * The aggregation service's rounds: the server side of secure aggregation (SecAgg+ with the
 * distributed discrete Gaussian) driven over a database. Hand-written: the round lifecycle (phases,
 * deadlines, cohort, dropouts, threshold) is this service's own state machine; the cryptography is
 * core/secagg's (SecAggServer), the decoding of the integer sum core/secagg/encode's.
 *
 * Phases and who is expected to answer:
 *   keys    devices register their public keys (index = order of registration) and get a bearer token;
 *           closes at the cohort target, or `phaseSeconds` after the FIRST registration (an empty round
 *           waits without a deadline, so an idle service does not churn through abandoned rounds)
 *   shares  every registered device posts its encrypted Shamir shares for its neighbours (U2 = those that did)
 *   masked  every device of U2 posts its masked vector (U3 = those that did: the survivors)
 *   consistency  every survivor signs the survivor and dropped lists it was told (Ed25519, the key it
 *           registered; core/secagg/consistency.ts); the service checks each signature against the round's
 *           lists before it stores it (U4 = the signers)
 *   unmask  the signatures are relayed; a device unmasks only after checking at least t of them over the
 *           lists it signed (so a server that told devices different lists gets nothing); every signer
 *           posts the shares that remove the masks (U5)
 *   done | abandoned
 * A phase closes when every expected device answered or at its deadline (a timer, and a check on every
 * request). Fewer than the threshold t in U2, U3, U4 or U5: the round is abandoned, never decoded with too
 * few. After a decode: mean delta = decodeSum(sum) / |U3|, new global = old + mean, published, and the
 * next round opens. Every change of phase is one transaction.
 */
import { createHash, randomBytes } from 'node:crypto';
import { flatten } from '../src/core/federated/params';
import { averagedModel, parseGlobalModel, type GlobalModel } from './base-model';
import { NotYet, Refusal } from './errors';
import { SerialQueue } from './lock';
import {
  checkSum,
  decodeSum,
  defaultThreshold,
  encodedLength,
  minimumSurvivors,
  parseKeysBody,
  parseMaskedBody,
  parseSharesBody,
  parseSignatureBody,
  parseUnmaskBody,
  roundParams,
  SecAggServer,
  toBase64Url,
  type DistributedNoiseSettings,
  type RoundParams,
  type UnmaskShares,
  verifySurvivorSignature,
} from './protocol';
import type { SqlRunner } from './storage/sql';
import { encodeKeysResponse, encodeSignaturesResponse, type RegisteredKeys } from '../src/core/secagg/messages';
import { Store, type AnswerPhase, type DeviceRecord, type Phase, type RoundRecord } from './storage/store';

export interface AggregatorConfig {
  /** Registrations that close the keys phase at once. */
  cohort: number;
  /** Fewer registered devices than this at the keys deadline: abandoned (core/secagg's MIN_COHORT is the floor). */
  minCohort: number;
  /** Each phase's length in seconds (the keys phase's counted from its first registration). */
  phaseSeconds: number;
  /**
   * The consistency phase's length, where it differs from phaseSeconds. That phase waits for a survivor that
   * never signs (it left after its masked upload) until its deadline: the others sign within a poll or two of
   * the lists appearing, so an operator (or a test) with devices that poll often can close it sooner than the
   * phases in which devices compute.
   */
  consistencySeconds?: number;
  /** The noise every round's devices add (expectedCohort is the cohort target). */
  noise: Omit<DistributedNoiseSettings, 'expectedCohort' | 'bits'>;
  /** Threshold override; default core/secagg's ceil(2n/3). */
  threshold?: (cohortSize: number) => number;
  /** SecAgg+ degree k (capped at n − 1); default core/secagg's min(n − 1, 4⌈log₂ n⌉). A larger k widens the collusion margin at a device's cost. */
  neighbours?: number;
  now?: () => Date;
  log?: (line: string) => void;
  /** Observes each decoded integer sum (tests and the benchmark check it; never stored). */
  onSum?: (roundId: string, sum: Uint32Array, survivors: readonly number[]) => void;
}

type Round = RoundRecord<DistributedNoiseSettings, RoundParams>;

/** GET /v1/round's answer. */
export interface RoundInfo {
  roundId: string;
  phase: Phase;
  modelId: string;
  catalogFingerprint: string;
  baseModelSha256: string;
  deltaLength: number;
  vectorLength: number;
  noise: DistributedNoiseSettings;
  rotationSeed: string;
  deadlines: Partial<Record<Phase, string>>;
  registered: number;
  cohortTarget: number;
  /** Set from the shares phase on. */
  params: RoundParams | null;
  outcome: string | null;
}

const sha256 = (bytes: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(bytes).digest());

/**
 * The open round as the service knows it between requests: the database stays the record (a restart
 * reloads this from it), but the checks every request makes (token, phase, replay, who answered) read
 * memory, so a device's request costs one short transaction and no reads.
 */
interface Live {
  round: Round;
  registered: number;
  /** SHA-256 (hex) of each device's token → its index. */
  tokens: Map<string, number>;
  /** Hex of every registered public key, signing keys included (a replayed or reused key is refused). */
  publicKeys: Set<string>;
  /** Each device's Ed25519 key for the consistency round. */
  signingKeys: Map<number, Uint8Array>;
  answered: Record<AnswerPhase, Set<number>>;
  /** GET keys' answer, serialized once (it is the same for every device from the shares phase on). */
  keysBody?: string;
  /** GET signatures' answer, serialized once (fixed when the consistency phase closes). */
  signaturesBody?: string;
}

/** The keys as GET keys lists them: every device of a round opened since migration 2 registered a signing key. */
function registeredKeys(devices: readonly DeviceRecord[], roundId: string): RegisteredKeys[] {
  return devices.map((d) => {
    if (!d.signingPublicKey) throw new Refusal(410, `round ${roundId} predates the consistency round: its devices registered no signing keys`, roundId);
    return { ...d, signingPublicKey: d.signingPublicKey };
  });
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');

export class Aggregator {
  private readonly queue = new SerialQueue();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** The global model of the current round, decoded (the delta's base and the next model's starting point). */
  private base!: { id: number; model: GlobalModel };
  private live!: Live;
  private readonly now: () => Date;
  private readonly log: (line: string) => void;

  private constructor(
    readonly store: Store,
    readonly config: AggregatorConfig,
  ) {
    this.now = config.now ?? (() => new Date());
    this.log = config.log ?? ((line) => console.log(line));
  }

  /**
   * Opens the service on a migrated database: the first start stores `base` as the first model and
   * opens round 1; a restart continues the stored round (its deadlines still hold) and ignores `base`.
   */
  static async start(store: Store, config: AggregatorConfig, base: GlobalModel): Promise<Aggregator> {
    if (config.minCohort < 3) throw new RangeError('--min-cohort must be at least 3: fewer devices would let the sum reveal a single update');
    if (config.cohort < config.minCohort) throw new RangeError(`--cohort (${config.cohort}) must be at least --min-cohort (${config.minCohort})`);
    if (config.consistencySeconds !== undefined && !(config.consistencySeconds > 0)) throw new RangeError(`--consistency-seconds (${config.consistencySeconds}) must be above 0`);
    const aggregator = new Aggregator(store, config);
    await aggregator.queue.run(async () => {
      let round = await store.currentRound<DistributedNoiseSettings, RoundParams>(store.db);
      if (!round) {
        round = await store.db.transaction(async (tx) => {
          const id = await store.insertModel(tx, { roundId: null, sha256: base.header.payloadSha256, file: base.file, contributors: 0, publishedAt: aggregator.now() });
          return aggregator.openRound(tx, 1, id, base);
        });
      } else if (round.phase === 'done' || round.phase === 'abandoned') {
        const closed = round;
        round = await store.db.transaction(async (tx) => aggregator.openRound(tx, closed.seq + 1, closed.publishedModelId ?? closed.baseModelId));
      }
      await aggregator.loadBase(round.baseModelId);
      if (aggregator.base.model.header.payloadSha256 !== base.header.payloadSha256) {
        aggregator.log(`the database already holds a model (${aggregator.base.model.header.payloadSha256.slice(0, 12)}…); the base model given was not used`);
      }
      await aggregator.reload();
      await aggregator.advance();
    });
    return aggregator;
  }

  /** Rebuilds the in-memory view of the newest round from the database (at start and after each phase change). */
  private async reload(): Promise<void> {
    const db = this.store.db;
    const round = (await this.store.currentRound<DistributedNoiseSettings, RoundParams>(db))!;
    const devices = await this.store.deviceTokens(db, round.id);
    const answered = async (phase: AnswerPhase) => new Set(await this.store.answered(db, round.id, phase));
    this.live = {
      round,
      registered: devices.length,
      tokens: new Map(devices.map((d) => [hex(d.tokenSha256), d.index])),
      publicKeys: new Set(devices.flatMap((d) => [hex(d.encryptionPublicKey), hex(d.maskPublicKey), ...(d.signingPublicKey ? [hex(d.signingPublicKey)] : [])])),
      signingKeys: new Map(devices.flatMap((d) => (d.signingPublicKey ? [[d.index, d.signingPublicKey] as const] : []))),
      answered: { shares: await answered('shares'), masked: await answered('masked'), signature: await answered('signature'), unmask: await answered('unmask') },
    };
  }

  private async loadBase(modelId: number): Promise<void> {
    if (this.base?.id === modelId) return;
    const record = await this.store.model(this.store.db, modelId);
    if (!record) throw new Error(`model ${modelId} is missing from the database`);
    this.base = { id: modelId, model: await parseGlobalModel(record.file, `stored model ${modelId}`) };
  }

  /** u32 entries of a masked vector (every round has its base model's layout): sizes the upload limit before parsing. */
  get vectorLength(): number {
    return this.live.round.vectorLength;
  }

  private async openRound(tx: SqlRunner, seq: number, baseModelId: number, model?: GlobalModel): Promise<Round> {
    const global = model ?? (this.base?.id === baseModelId ? this.base.model : await parseGlobalModel((await this.store.model(tx, baseModelId))!.file, 'stored model'));
    const deltaLength = flatten(global.params).length;
    const round: Round = {
      // The random part keeps the neighbour graph (derived from the id) unpredictable before the round opens.
      id: `r${seq}-${randomBytes(6).toString('hex')}`,
      seq,
      phase: 'keys',
      baseModelId,
      cohortTarget: this.config.cohort,
      minCohort: this.config.minCohort,
      phaseSeconds: this.config.phaseSeconds,
      noise: { ...this.config.noise, expectedCohort: this.config.cohort, bits: 32 },
      rotationSeed: new Uint8Array(randomBytes(32)),
      deltaLength,
      vectorLength: encodedLength(deltaLength),
      params: null,
      deadline: null,
      deadlines: {},
      survivors: null,
      dropped: null,
      outcome: null,
      publishedModelId: null,
      openedAt: this.now(),
      closedAt: null,
    };
    await this.store.insertRound(tx, round);
    this.log(`round ${round.id} open: cohort ${round.cohortTarget}, ${deltaLength} values (${round.vectorLength} u32 after encoding)`);
    return round;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  /** Waits for the operations queued so far (tests, shutdown). */
  idle(): Promise<void> {
    return this.queue.run(async () => undefined);
  }

  // ── requests ────────────────────────────────────────────────────────────────────────────────

  async roundInfo(): Promise<RoundInfo> {
    return this.queue.run(async () => {
      await this.advance();
      return this.describe(this.live.round);
    });
  }

  /** GET /v1/rounds/:id: the same description for any round, so a device can learn how its round ended. */
  async roundInfoOf(roundId: string): Promise<RoundInfo> {
    return this.queue.run(async () => {
      await this.advance();
      return this.describe(await this.existing(roundId));
    });
  }

  private async describe(round: Round): Promise<RoundInfo> {
    const header = this.base.id === round.baseModelId ? this.base.model.header : (await parseGlobalModel((await this.store.model(this.store.db, round.baseModelId))!.file, 'stored model')).header;
    return {
      roundId: round.id,
      phase: round.phase,
      modelId: header.modelId,
      catalogFingerprint: header.catalogFingerprint,
      baseModelSha256: header.payloadSha256,
      deltaLength: round.deltaLength,
      vectorLength: round.vectorLength,
      noise: round.noise,
      rotationSeed: toBase64Url(round.rotationSeed),
      deadlines: round.deadlines,
      registered: round.id === this.live.round.id ? this.live.registered : await this.store.deviceCount(this.store.db, round.id),
      cohortTarget: round.cohortTarget,
      params: round.params,
      outcome: round.outcome,
    };
  }

  /** POST keys: registers a device; its index is its order of registration. */
  async register(roundId: string, body: unknown): Promise<{ index: number; token: string }> {
    const keys = parseKeysBody(body, roundId);
    return this.queue.run(async () => {
      const round = await this.roundIn(roundId, 'keys', 'public keys');
      const live = this.live;
      const keyHex = [hex(keys.encryptionPublicKey), hex(keys.maskPublicKey), hex(keys.signingPublicKey)];
      if (new Set(keyHex).size < keyHex.length || keyHex.some((k) => live.publicKeys.has(k))) {
        throw new Refusal(409, `these public keys are already registered in round ${roundId} (a replay, or keys reused)`, roundId);
      }
      const token = randomBytes(32).toString('base64url');
      const tokenSha256 = sha256(new TextEncoder().encode(token));
      const at = this.now();
      const index = live.registered;
      const first = index === 0 ? new Date(at.getTime() + round.phaseSeconds * 1000) : null;
      await this.store.db.transaction(async (tx) => {
        await this.store.insertDevice(tx, roundId, { index, ...keys, tokenSha256, registeredAt: at });
        if (first) await this.store.updateRound(tx, roundId, { deadline: first, deadlines: { keys: first.toISOString() } });
      });
      live.registered++;
      live.tokens.set(hex(tokenSha256), index);
      live.signingKeys.set(index, keys.signingPublicKey);
      for (const k of keyHex) live.publicKeys.add(k);
      if (first) Object.assign(round, { deadline: first, deadlines: { keys: first.toISOString() } });
      await this.advance();
      return { index, token };
    });
  }

  /** GET keys: the round's parameters and every registered device's public keys (from the shares phase on), as JSON text. */
  async keysBody(roundId: string): Promise<string> {
    return this.queue.run(async () => {
      await this.advance();
      const round = await this.existing(roundId);
      if (round.phase === 'keys') throw new Refusal(409, `round ${roundId} is still collecting keys; ask again after ${round.deadline?.toISOString() ?? 'its first registration'}`, roundId);
      if (!round.params) throw new Refusal(410, `round ${roundId} was abandoned before its keys were fixed: ${round.outcome ?? ''}`, roundId);
      if (round.phase === 'done' || round.phase === 'abandoned') throw new Refusal(410, `round ${roundId} is finished (${round.phase}); its keys are of no use any more`, roundId);
      const live = round.id === this.live.round.id ? this.live : undefined;
      if (live?.keysBody) return live.keysBody;
      const text = JSON.stringify(encodeKeysResponse(round.params, registeredKeys(await this.store.devices(this.store.db, roundId), roundId)));
      if (live) live.keysBody = text;
      return text;
    });
  }

  async postShares(roundId: string, token: string | undefined, body: unknown): Promise<void> {
    await this.queue.run(async () => {
      const round = await this.roundIn(roundId, 'shares', 'shares');
      const index = this.authenticate(round, token);
      this.refuseReplay(round, index, 'shares');
      const shares = parseSharesBody(body, index, round.params!);
      await this.store.db.transaction(async (tx) => {
        await this.store.insertSubmission(tx, roundId, index, 'shares', this.now());
        await this.store.insertShares(tx, roundId, index, shares);
      });
      this.live.answered.shares.add(index);
      await this.advance();
    });
  }

  /** GET shares: the ciphertexts addressed to the caller (from the masked phase on: all-or-nothing delivery). */
  async sharesFor(roundId: string, token: string | undefined): Promise<{ shares: { from: number; to: number; ciphertext: Uint8Array }[] }> {
    return this.queue.run(async () => {
      await this.advance();
      const round = await this.existing(roundId);
      if (round.phase === 'done' || round.phase === 'abandoned') throw new Refusal(410, `round ${roundId} is finished (${round.phase})`, roundId);
      const index = this.authenticate(round, token);
      if (round.phase === 'keys' || round.phase === 'shares') throw new Refusal(409, `round ${roundId} is in phase '${round.phase}'; shares are delivered from phase 'masked' on`, roundId, index);
      if (!this.live.answered.shares.has(index)) {
        throw new Refusal(403, `device ${index} sent no shares in round ${roundId}, so it is not part of the masked phase`, roundId, index);
      }
      return { shares: await this.store.sharesTo(this.store.db, roundId, index) };
    });
  }

  async postMasked(roundId: string, token: string | undefined, body: unknown): Promise<void> {
    await this.queue.run(async () => {
      const round = await this.roundIn(roundId, 'masked', 'masked vectors');
      const index = this.authenticate(round, token);
      this.refuseReplay(round, index, 'masked');
      if (!this.live.answered.shares.has(index)) {
        throw new Refusal(403, `device ${index} sent no shares in round ${roundId}; its masks would not cancel`, roundId, index);
      }
      const masked = parseMaskedBody(body, round.params!, index);
      await this.store.db.transaction(async (tx) => {
        await this.store.insertSubmission(tx, roundId, index, 'masked', this.now());
        await this.store.insertMasked(tx, roundId, index, new Uint8Array(masked.buffer, masked.byteOffset, masked.byteLength));
      });
      this.live.answered.masked.add(index);
      await this.advance();
    });
  }

  async survivors(roundId: string): Promise<{ survivors: number[]; dropped: number[] }> {
    return this.queue.run(async () => {
      await this.advance();
      const round = await this.existing(roundId);
      if (!round.survivors || !round.dropped) {
        if (round.phase === 'abandoned') throw new Refusal(410, `round ${roundId} was abandoned: ${round.outcome ?? ''}`, roundId);
        throw new Refusal(409, `round ${roundId} is in phase '${round.phase}'; the survivors are known from phase 'consistency' on`, roundId);
      }
      return { survivors: round.survivors, dropped: round.dropped };
    });
  }

  /**
   * POST signature: a survivor's Ed25519 signature over the round's survivor and dropped lists, checked against
   * the key it registered before it is stored (a signature that does not verify would make every honest device
   * refuse to unmask: one device could stop the round).
   */
  async postSignature(roundId: string, token: string | undefined, body: unknown): Promise<void> {
    await this.queue.run(async () => {
      const round = await this.roundIn(roundId, 'consistency', 'signatures of the survivor lists');
      const index = this.authenticate(round, token);
      this.refuseReplay(round, index, 'signature');
      if (!round.survivors!.includes(index)) throw new Refusal(403, `device ${index} is not among round ${roundId}'s survivors; only survivors sign the lists`, roundId, index);
      const { signature } = parseSignatureBody(body, index, roundId);
      const key = this.live.signingKeys.get(index);
      if (!key) throw new Refusal(403, `device ${index} registered no signing key`, roundId, index);
      if (!verifySurvivorSignature(key, signature, roundId, round.survivors!, round.dropped!)) {
        throw new Refusal(400, `signature: device ${index}'s signature does not verify over round ${roundId}'s survivor lists (GET survivors) with the signing key it registered`, roundId, index);
      }
      await this.store.db.transaction(async (tx) => {
        await this.store.insertSubmission(tx, roundId, index, 'signature', this.now());
        await this.store.insertSignature(tx, roundId, index, signature);
      });
      this.live.answered.signature.add(index);
      await this.advance();
    });
  }

  /** GET signatures: every accepted signature over the survivor lists, relayed from phase 'unmask' on, as JSON text. */
  async signaturesBody(roundId: string): Promise<string> {
    return this.queue.run(async () => {
      await this.advance();
      const round = await this.existing(roundId);
      if (round.phase === 'done' || round.phase === 'abandoned') throw new Refusal(410, `round ${roundId} is finished (${round.phase})`, roundId);
      if (round.phase !== 'unmask') throw new Refusal(409, `round ${roundId} is in phase '${round.phase}'; the signatures are relayed from phase 'unmask' on`, roundId);
      const live = this.live;
      live.signaturesBody ??= JSON.stringify(encodeSignaturesResponse(await this.store.signatures(this.store.db, roundId)));
      return live.signaturesBody;
    });
  }

  async postUnmask(roundId: string, token: string | undefined, body: unknown): Promise<void> {
    await this.queue.run(async () => {
      const round = await this.roundIn(roundId, 'unmask', 'unmask shares');
      const index = this.authenticate(round, token);
      this.refuseReplay(round, index, 'unmask');
      const survivors = new Set(round.survivors);
      const dropped = new Set(round.dropped);
      if (!survivors.has(index)) throw new Refusal(403, `device ${index} is not among round ${roundId}'s survivors`, roundId, index);
      if (!this.live.answered.signature.has(index)) throw new Refusal(403, `device ${index} did not sign round ${roundId}'s survivor lists; only signers unmask`, roundId, index);
      const unmask = parseUnmaskBody(body, index, round.params!);
      const check = (list: readonly { of: number }[], allowed: Set<number>, what: string, where: string) => {
        for (const { of } of list) {
          // A seed share of a dropped device or a key share of a survivor would let the sum be unmasked per device: never accepted.
          if (!allowed.has(of)) throw new Refusal(400, `unmask: a ${what} share of device ${of} is not wanted: device ${of} is ${where}`, roundId, index);
        }
      };
      check(unmask.seedShares, survivors, 'seed', 'not a survivor');
      check(unmask.keyShares, dropped, 'key', 'a survivor (its key stays secret)');
      await this.store.db.transaction(async (tx) => {
        await this.store.insertSubmission(tx, roundId, index, 'unmask', this.now());
        await this.store.insertUnmask(tx, roundId, index, [
          ...unmask.seedShares.map(({ of, share }) => ({ of, kind: 'seed' as const, share })),
          ...unmask.keyShares.map(({ of, share }) => ({ of, kind: 'key' as const, share })),
        ]);
      });
      this.live.answered.unmask.add(index);
      await this.advance();
    });
  }

  /** The newest model a round published; 404 before the first (the base model is what devices already hold). */
  async latestModel(): Promise<{ file: Uint8Array; round: string; sha256: string; publishedAt: Date }> {
    const model = await this.store.latestModel(this.store.db);
    if (!model || model.roundId === null) throw new NotYet('no round has published a model yet');
    return { file: model.file, round: model.roundId, sha256: model.sha256, publishedAt: model.publishedAt };
  }

  /** Logs a refusal (console and the refusals table). Never throws: a failing log must not hide the refusal itself. */
  async logRefusal(refusal: Refusal, method: string, path: string): Promise<void> {
    this.log(`refused ${method} ${path} (${refusal.status}): ${refusal.message}`);
    await this.store
      .insertRefusal(this.store.db, { at: this.now(), roundId: refusal.roundId, deviceIndex: refusal.deviceIndex, method, path, status: refusal.status, message: refusal.message })
      .catch((error: unknown) => this.log(`could not log the refusal: ${String(error)}`));
  }

  // ── checks ──────────────────────────────────────────────────────────────────────────────────

  private async existing(roundId: string): Promise<Round> {
    if (roundId === this.live.round.id) return this.live.round;
    const round = await this.store.round<DistributedNoiseSettings, RoundParams>(this.store.db, roundId);
    if (!round) throw new Refusal(404, `there is no round ${roundId}`, null);
    return round;
  }

  /** The round, after any due phase change, if it is in `phase` (only the newest round can be); otherwise a refusal naming where it is. */
  private async roundIn(roundId: string, phase: Phase, what: string): Promise<Round> {
    await this.advance();
    const round = await this.existing(roundId);
    if (round.phase === phase) return round;
    if (round.phase === 'done' || round.phase === 'abandoned') {
      throw new Refusal(410, `round ${roundId} is finished (${round.phase}); ${what} are no longer accepted`, roundId);
    }
    throw new Refusal(409, `round ${roundId} is in phase '${round.phase}'; ${what} are accepted only in phase '${phase}'`, roundId);
  }

  /** The device a bearer token belongs to in the open round (the only one that accepts messages). */
  private authenticate(round: Round, token: string | undefined): number {
    if (!token) throw new Refusal(401, 'missing Authorization: Bearer <token> (the token POST keys returned)', round.id);
    const index = round.id === this.live.round.id ? this.live.tokens.get(hex(sha256(new TextEncoder().encode(token)))) : undefined;
    if (index === undefined) throw new Refusal(401, `this token is not one of round ${round.id}'s (unknown, or from another round)`, round.id);
    return index;
  }

  private refuseReplay(round: Round, index: number, phase: AnswerPhase): void {
    if (this.live.answered[phase].has(index)) {
      throw new Refusal(409, `device ${index} already sent its ${phase} message in round ${round.id}; a second one is refused`, round.id, index);
    }
  }

  // ── phase changes ───────────────────────────────────────────────────────────────────────────

  private schedule(round: Round): void {
    clearTimeout(this.timer);
    if (this.closed || !round.deadline) return;
    const wait = Math.max(0, round.deadline.getTime() - this.now().getTime()) + 10;
    this.timer = setTimeout(() => {
      this.queue.run(() => this.advance()).catch((error: unknown) => this.log(`phase change failed: ${error instanceof Error ? error.stack : String(error)}`));
    }, wait);
    this.timer.unref();
  }

  /** Closes every phase that is due (all answered or past its deadline), opening the next round after a close. Runs in the queue. */
  private async advance(): Promise<void> {
    for (;;) {
      const changed = await this.step(this.live);
      if (!changed) {
        this.schedule(this.live.round);
        return;
      }
      await this.reload();
    }
  }

  private due(round: Round): boolean {
    return round.deadline !== null && this.now().getTime() >= round.deadline.getTime();
  }

  private nextDeadline(round: Round, phase: Phase): { deadline: Date; deadlines: Partial<Record<Phase, string>> } {
    const seconds = phase === 'consistency' ? (this.config.consistencySeconds ?? round.phaseSeconds) : round.phaseSeconds;
    const deadline = new Date(this.now().getTime() + seconds * 1000);
    return { deadline, deadlines: { ...round.deadlines, [phase]: deadline.toISOString() } };
  }

  private async step(live: Live): Promise<boolean> {
    const db = this.store.db;
    const { round } = live;
    switch (round.phase) {
      case 'keys': {
        const registered = live.registered;
        if (registered < round.cohortTarget && !this.due(round)) return false;
        if (registered < round.minCohort) return this.abandon(round, `only ${registered} device(s) registered by the deadline; at least ${round.minCohort} are needed`);
        // The noise is fixed when the round opens (devices may read it at any time), sized for the cohort target: each
        // device adds 1/√n_min of z·C. So the threshold is at least n_min: a sum of fewer devices would carry less noise.
        const floor = minimumSurvivors(round.noise);
        if (registered < floor) return this.abandon(round, `only ${registered} device(s) registered; the noise is sized for at least ${floor} survivors`);
        const threshold = Math.min(registered, Math.max(this.config.threshold?.(registered) ?? defaultThreshold(registered), floor));
        const params = roundParams({
          roundId: round.id,
          cohortSize: registered,
          vectorLength: round.vectorLength,
          threshold,
          ...(this.config.neighbours !== undefined ? { neighbours: Math.min(registered - 1, this.config.neighbours) } : {}),
        });
        await this.store.updateRound(db, round.id, { phase: 'shares', params, ...this.nextDeadline(round, 'shares') });
        this.log(`round ${round.id}: ${registered} devices, threshold ${params.threshold}, ${params.neighbours} neighbours each; phase shares`);
        return true;
      }
      case 'shares': {
        const answered = live.answered.shares.size;
        if (answered < round.params!.cohortSize && !this.due(round)) return false;
        if (answered < round.params!.threshold) return this.abandon(round, `only ${answered} device(s) sent shares; the threshold is ${round.params!.threshold}`);
        await this.store.updateRound(db, round.id, { phase: 'masked', ...this.nextDeadline(round, 'masked') });
        this.log(`round ${round.id}: ${answered} devices sent shares; phase masked`);
        return true;
      }
      case 'masked': {
        const shared = [...live.answered.shares].sort((a, b) => a - b);
        const masked = [...live.answered.masked].sort((a, b) => a - b);
        if (masked.length < shared.length && !this.due(round)) return false;
        if (masked.length < round.params!.threshold) return this.abandon(round, `only ${masked.length} masked vector(s) arrived; the threshold is ${round.params!.threshold}`);
        const dropped = shared.filter((index) => !live.answered.masked.has(index));
        await this.store.updateRound(db, round.id, { phase: 'consistency', survivors: masked, dropped, ...this.nextDeadline(round, 'consistency') });
        this.log(`round ${round.id}: ${masked.length} masked vectors, ${dropped.length} dropped after sharing; phase consistency`);
        return true;
      }
      case 'consistency': {
        const signed = live.answered.signature.size;
        if (signed < round.survivors!.length && !this.due(round)) return false;
        if (signed < round.params!.threshold) return this.abandon(round, `only ${signed} survivor(s) signed the survivor lists; the threshold is ${round.params!.threshold}`);
        await this.store.updateRound(db, round.id, { phase: 'unmask', ...this.nextDeadline(round, 'unmask') });
        this.log(`round ${round.id}: ${signed} survivors signed the survivor lists; phase unmask`);
        return true;
      }
      case 'unmask': {
        const answered = live.answered.unmask.size;
        if (answered < live.answered.signature.size && !this.due(round)) return false;
        if (answered < round.params!.threshold) return this.abandon(round, `only ${answered} survivor(s) sent unmask shares; the threshold is ${round.params!.threshold}`);
        await this.decodeAndPublish(round, live.answered.shares);
        return true;
      }
      case 'done':
      case 'abandoned':
        return false;
    }
  }

  private async abandon(round: Round, reason: string): Promise<true> {
    await this.store.db.transaction(async (tx) => {
      await this.store.updateRound(tx, round.id, { phase: 'abandoned', outcome: reason, deadline: null, closedAt: this.now() });
      await this.store.purgeMessages(tx, round.id);
      await this.openRound(tx, round.seq + 1, round.baseModelId);
    });
    this.log(`round ${round.id} abandoned: ${reason}`);
    return true;
  }

  private async decodeAndPublish(round: Round, shared: ReadonlySet<number>): Promise<void> {
    const db = this.store.db;
    const params = round.params!;
    const survivors = round.survivors!;
    const started = performance.now();
    // The survivors' masked vectors summed a batch at a time: memory O(L), not O(n·L).
    const sum = new Uint32Array(round.vectorLength);
    for await (const { vector } of this.store.maskedVectors(db, round.id, survivors)) {
      const values = new Uint32Array(vector.buffer.slice(vector.byteOffset, vector.byteOffset + vector.byteLength));
      for (let i = 0; i < sum.length; i++) sum[i] = (sum[i]! + values[i]!) >>> 0;
    }
    const rows = await this.store.unmaskShares(db, round.id);
    const byDevice = new Map<number, UnmaskShares>();
    for (const row of rows) {
      let entry = byDevice.get(row.from);
      if (!entry) byDevice.set(row.from, (entry = { from: row.from, seedShares: [], keyShares: [] }));
      (row.kind === 'seed' ? entry.seedShares : entry.keyShares).push({ of: row.of, share: row.share });
    }
    const keys = await this.store.devices(db, round.id);
    let decoded: Uint32Array;
    try {
      const server = new SecAggServer(params, keys);
      decoded = await server.decode({ sum, survivors }, [...byDevice.values()], shared);
    } catch (error) {
      // Inconsistent shares (a tampering device) or a neighbourhood short of its local threshold: never a wrong sum.
      await this.abandon(round, `decoding failed: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    this.config.onSum?.(round.id, decoded, survivors);
    // A norm check of the sum (the server sees nothing else): a device that sent garbage or an unclipped update pushes
    // it past what |U3| clipped devices plus the noise can reach. Such a round is abandoned, not published.
    const check = checkSum(decoded, round.noise, survivors.length);
    if (!check.plausible) {
      await this.abandon(round, `the decoded sum's norm ${check.norm.toPrecision(4)} exceeds ${check.bound.toPrecision(4)}, the most ${survivors.length} clipped updates and the noise can reach: a device sent a vector outside its clipping bound`);
      return;
    }
    await this.loadBase(round.baseModelId);
    const base = this.base.model;
    const deltaSum = decodeSum(decoded, round.noise, round.rotationSeed, round.deltaLength);
    const published = await averagedModel(base, deltaSum, survivors.length, `round ${round.id}'s model`);
    const file = published.file;
    const seconds = ((performance.now() - started) / 1000).toFixed(2);
    const publishedId = await db.transaction(async (tx) => {
      const modelId = await this.store.insertModel(tx, { roundId: round.id, sha256: published.header.payloadSha256, file, contributors: survivors.length, publishedAt: this.now() });
      await this.store.updateRound(tx, round.id, {
        phase: 'done',
        outcome: `decoded the sum of ${survivors.length} devices in ${seconds} s; published model ${published.header.payloadSha256}`,
        publishedModelId: modelId,
        deadline: null,
        closedAt: this.now(),
      });
      await this.store.purgeMessages(tx, round.id);
      await this.openRound(tx, round.seq + 1, modelId, published);
      return modelId;
    });
    this.base = { id: publishedId, model: published };
    this.log(`round ${round.id} done: ${survivors.length} survivors, decoded in ${seconds} s; published ${published.header.payloadSha256.slice(0, 12)}…`);
  }
}
