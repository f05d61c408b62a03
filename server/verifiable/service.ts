/**
 * One aggregator of the verifiable mode (issue 20, optional; docs/secure-aggregation.md "Verifiable mode"): the
 * LEADER or the HELPER, each its own process with its own database. Devices upload one share to each
 * (src/core/secagg/verifiable/prio.ts); the leader drives the verification of every pending report with the
 * helper (one request per report: the leader's prepare share and its copy of the public share out, the helper's
 * prepare share and decision back; the leader accepts only what both accepted) and, when asked to collect, sums its accepted output shares and asks the helper
 * for its sum over the same reports. The collector's result is the exact sum of the accepted reports (+ the two
 * aggregators' noise when configured). A report that fails the proof, or that the helper never received, is
 * dropped by both. Hand-written (the protocol's state machine; the proof system is @divviup/prio3's).
 *
 * A collection needs at least `minBatch` accepted reports (both aggregators check it: the helper releases no
 * aggregate share over fewer). A share the leader refuses on its own (malformed, or the helper never heard of it)
 * is dropped on the helper too: the leader tells it (POST /v1/verifiable/drop), and the helper drops any share
 * still pending `pendingExpirySeconds` after it arrived (one whose leader upload never came) when it next aggregates.
 *
 * Not here (a real deployment's DAP, draft-ietf-ppm-dap, has them): HPKE encryption of the helper's share
 * through the leader, tasks with their own parameters and lifetimes.
 */
import { pool } from '../../src/core/pool';
import { discreteGaussianSampler } from '../../src/core/secagg/noise';
import {
  addAggregatorNoise,
  combineAggregates,
  makeVdaf,
  outputShareSum,
  prepareFinishEncoded,
  prepareInit,
  prepareMessage,
  reportNonce,
  uploadSizes,
  VerifyRejected,
  type VerifiableParams,
  type VerifiableVdaf,
} from '../../src/core/secagg/verifiable/prio';
import { Refusal } from '../errors';
import type { CollectionModels } from './models';
import { nonceHex, type VerifiableStore } from './store';

export type Role = 'leader' | 'helper';

/** The least accepted reports a collection takes unless the command line says otherwise (--min-batch). */
export const DEFAULT_MIN_BATCH = 10;

export interface VerifiableConfig {
  role: Role;
  taskId: string;
  params: VerifiableParams;
  /** 16 bytes shared by the two aggregators, secret from devices. */
  verifyKey: Uint8Array;
  /** Bearer token the two aggregators present to each other (and the operator to the leader's collect). */
  peerToken: string;
  /** The leader's: the helper's base URL. */
  helperUrl?: string;
  /** σ of the discrete Gaussian each aggregator adds to its aggregate share (integer units); 0: none. */
  noiseStddev?: number;
  /**
   * The app's task (both roles; main.ts --delta-length / --base with --clip-norm, --noise-multiplier): the delta's
   * length and the noise the params and noiseStddev were derived from (core/secagg/verifiable-app.ts), shown in
   * GET /task so that a device can check both aggregators run the task it derives.
   */
  appTask?: { deltaLength: number; clipNorm: number; noiseMultiplier: number };
  /**
   * Fewer accepted reports than this: no collection (both roles check it). Default 1 here (in-process tests);
   * the command line's default is DEFAULT_MIN_BATCH (main.ts --min-batch).
   */
  minBatch?: number;
  /** The helper's: a share still pending this long after it arrived is dropped when it next aggregates. Default 1 h. */
  pendingExpirySeconds?: number;
  /** The leader's: reports verified at once (the leader's step of one overlaps the helper's of another). Default 4. */
  verifyConcurrency?: number;
  /**
   * The leader's: verify each report with the helper as it arrives (in the background, `verifyConcurrency` at once, while
   * the next uploads come in) instead of every pending report at the collect, which then only verifies what is left.
   * The upload is verified from memory, not read back from the database. Default false (main.ts --verify-on-arrival).
   */
  verifyOnArrival?: boolean;
  /**
   * The leader's, with verifyOnArrival: the most upload bytes held in memory for their verification (queued or being
   * verified). An upload that finds them full waits (its device's request with it) for room up to `arrivalWaitMs`;
   * one that finds none by then, or is larger than the cap, is stored only and verified at the collect (read back
   * then). Default 64 MiB.
   */
  arrivalBytes?: number;
  /** See arrivalBytes. Default 30,000 ms. */
  arrivalWaitMs?: number;
  /** The leader's collections and published models for the app (models.ts); without them collect only answers the sum. */
  collections?: CollectionModels;
  now?: () => Date;
  log?: (line: string) => void;
  fetch?: typeof fetch;
}

const b64 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url');
const unb64 = (s: unknown, what: string): Uint8Array => {
  if (typeof s !== 'string' || !/^[A-Za-z0-9_-]*$/.test(s)) throw new Refusal(400, `${what} must be base64url`);
  return new Uint8Array(Buffer.from(s, 'base64url'));
};

/** Bytes 16..48 of an upload: the public share (the two joint-randomness parts) after the nonce. */
const publicShareOf = (upload: Uint8Array) => upload.subarray(16, 48);
const equalBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((v, i) => v === b[i]);

/** The helper's refusal of a peer request (its status); a failed connection is fetch's TypeError instead. */
class PeerRefusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type Aggregation = { add: (share: Uint8Array) => void; finish: () => Uint8Array };

/**
 * The output shares this aggregator accepted since its last collection, summed as they are accepted. Each one is
 * stored in its report's row as well (the database stays the state: a restart loses only this sum), so a collection
 * whose reports are exactly the ones summed here takes this sum instead of reading ≈ 1 MB a report back; any other
 * list (after a restart, with a report accepted while the collection started, or a share dropped after it was
 * accepted) reads the shares back from the database. Memory: one aggregation (a few float64 limbs an entry).
 */
class RunningSum {
  private summed = new Set<string>();
  private valid = true;

  constructor(
    private readonly fresh: () => Aggregation,
    private aggregation = fresh(),
  ) {}

  add(nonce: Uint8Array, outputShare: Uint8Array): void {
    try {
      this.aggregation.add(outputShare);
      this.summed.add(nonceHex(nonce));
    } catch {
      // not summable (its length): the collection reads the stored one back and says why
      this.valid = false;
    }
  }

  /** An accepted share was dropped (the helper, when the leader lost its answer): the sum holds a report no collection will name. */
  drop(nonce: Uint8Array): void {
    if (this.summed.has(nonceHex(nonce))) this.valid = false;
  }

  /**
   * The sum, if it holds exactly these reports' shares; a fresh sum starts either way (the reports named are being
   * collected: a share summed here and not named stays in the database, and the next collection reads it back).
   */
  take(nonces: readonly Uint8Array[]): Aggregation | undefined {
    const exact = this.valid && nonces.length === this.summed.size && nonces.every((n) => this.summed.has(nonceHex(n)));
    const taken = this.aggregation;
    this.aggregation = this.fresh();
    this.summed = new Set();
    this.valid = true;
    return exact ? taken : undefined;
  }
}

export interface Collection {
  reports: number;
  /** Rejected in the collection's pass, and on arrival since the last collection. */
  rejected: number;
  /** Σ x over the accepted reports (+ noise), the padded encoded length. */
  sum: Float64Array;
  /** With collections: the model published from this sum. */
  published?: { collection: string; sha256: string };
}

export class VerifiableAggregator {
  readonly vdaf: VerifiableVdaf;
  readonly uploadBytes: number;
  private readonly now: () => Date;
  private readonly log: (line: string) => void;
  private readonly fetchImpl: typeof fetch;
  readonly minBatch: number;
  private readonly running: RunningSum;
  /**
   * Nonces (hex) whose verification is queued or running on arrival, or running in a collection's pass: neither path
   * starts one the other holds (the helper would refuse the second prepare of a report as already decided).
   */
  private readonly verifying = new Set<string>();
  /** The leader's uploads waiting for their verification on arrival, with the bytes held (queued + being verified). */
  private readonly arrivals: { nonce: Uint8Array; upload: Uint8Array }[] = [];
  private heldBytes = 0;
  private arrivalWorkers = 0;
  private idleWaiters: (() => void)[] = [];
  private roomWaiters: (() => void)[] = [];
  /** Decided on arrival since the last collection (a collection answers them with its own pass's). */
  private arrivalOutcome = { accepted: 0, rejected: 0 };

  constructor(
    readonly store: VerifiableStore,
    readonly config: VerifiableConfig,
  ) {
    if (config.verifyKey.length !== 16) throw new RangeError('the verify key must be 16 bytes');
    if (config.role === 'leader' && !config.helperUrl) throw new Error('the leader needs the helper’s URL');
    if (config.peerToken.length < 16) throw new Error('the peer token must be at least 16 characters');
    this.minBatch = config.minBatch ?? 1;
    if (!(Number.isSafeInteger(this.minBatch) && this.minBatch >= 1)) throw new RangeError('the minimum batch is an integer ≥ 1');
    this.vdaf = makeVdaf(config.params);
    const sizes = uploadSizes(config.params, this.vdaf);
    this.uploadBytes = config.role === 'leader' ? sizes.leader : sizes.helper;
    this.now = config.now ?? (() => new Date());
    this.log = config.log ?? ((line) => console.log(line));
    this.fetchImpl = config.fetch ?? fetch;
    this.running = new RunningSum(() => this.aggregation());
  }

  /** What a device needs to build its report (public). */
  task(): {
    taskId: string;
    role: Role;
    length: number;
    bits: number;
    chunkLength: number;
    normBound?: number;
    normChunkLength?: number;
    uploadBytes: number;
    /** The VDAF's id (PINE on Field128 0xFFFF0001, on Field64 with two proofs 0xFFFF0002): a device refuses another. */
    algorithmId: number;
    field?: VerifiableParams['field'];
    deltaLength?: number;
    clipNorm?: number;
    noiseMultiplier?: number;
  } {
    const { normBound } = this.config.params;
    return {
      ...this.config.appTask,
      taskId: this.config.taskId,
      role: this.config.role,
      length: this.config.params.length,
      bits: this.config.params.bits,
      chunkLength: this.vdaf.chunkLength,
      // the norm check (PINE, pine.ts): a device must use the same N and chunks, or its report is refused
      ...(normBound !== undefined && 'normChunkLength' in this.vdaf ? { normBound, normChunkLength: this.vdaf.normChunkLength } : {}),
      uploadBytes: this.uploadBytes,
      algorithmId: this.vdaf.id,
      // PINE's field when not Field128 (the parameters' own key: prio.ts VerifiableParams.field)
      ...(this.config.params.field === undefined ? {} : { field: this.config.params.field }),
    };
  }

  /**
   * A device's upload to this aggregator: size checked, stored once per nonce (a replay is refused). The leader with
   * collections takes it only for the open one (`collection`: the id the device encoded for).
   */
  async submit(upload: Uint8Array, collection?: string): Promise<void> {
    const open = this.config.collections?.current().collectionId;
    if (open !== undefined && collection !== open)
      throw new Refusal(409, `the open collection is ${open}, not ${collection ?? '(none named)'}: read /v1/verifiable/collection again`);
    if (upload.length !== this.uploadBytes)
      throw new Refusal(400, `a report's upload to the ${this.config.role} is ${this.uploadBytes} bytes for this task (got ${upload.length})`);
    const nonce = reportNonce(upload);
    const fresh = await this.store.insertReport(this.config.taskId, nonce, upload, this.now());
    if (!fresh) throw new Refusal(409, 'a report with this nonce was already received (a replay)');
    if (this.config.role === 'leader' && this.config.verifyOnArrival) await this.arrive(nonce, upload);
  }

  checkPeer(token: string | undefined): void {
    if (token !== this.config.peerToken) throw new Refusal(401, 'this route is for the other aggregator (or the operator) only');
  }

  // ── helper ────────────────────────────────────────────────────────────────────────────────

  /** The helper's prepare step for one report, given the leader's prepare share; returns its own (or a refusal reason). */
  async helperPrepare(body: unknown): Promise<{ prepareShare?: string; accepted?: boolean; rejected?: string; missing?: boolean }> {
    if (this.config.role !== 'helper') throw new Refusal(404, 'only the helper prepares on request');
    const { nonce: n, prepareShare: p, publicShare: ps } = (body ?? {}) as { nonce?: unknown; prepareShare?: unknown; publicShare?: unknown };
    const nonce = unb64(n, 'nonce');
    const leaderShare = unb64(p, 'prepareShare');
    const leaderPublic = unb64(ps, 'publicShare');
    const report = await this.store.report(this.config.taskId, nonce);
    if (!report) {
      // The device never uploaded here (or not yet: the leader verifying on arrival asks again at the collect). The
      // leader drops the report at its collect (nothing to store on this side).
      return { rejected: 'the helper has no upload for this report', missing: true };
    }
    if (report.status !== 'pending') throw new Refusal(409, `the report was already ${report.status} here`);
    if (!equalBytes(publicShareOf(report.upload), leaderPublic)) {
      // The device sent the two aggregators different public shares (DAP relays one copy through the leader).
      const reason = 'the device sent the two aggregators different public shares';
      await this.store.decide(this.config.taskId, nonce, { accepted: false, reason }, this.now());
      return { rejected: reason };
    }
    let mine: Awaited<ReturnType<typeof prepareInit>>;
    try {
      mine = await prepareInit(this.vdaf, this.config.verifyKey, 1, report.upload);
    } catch (error) {
      const reason = error instanceof VerifyRejected ? error.message : String(error);
      await this.store.decide(this.config.taskId, nonce, { accepted: false, reason }, this.now());
      return { rejected: reason };
    }
    const accepted = await this.decide(nonce, mine.state, leaderShare, mine.prepareShare, true);
    return { prepareShare: b64(mine.prepareShare), accepted };
  }

  /** The helper's aggregate share over the reports the leader names (each must be accepted here). */
  async helperAggregate(body: unknown): Promise<{ aggregateShare: string }> {
    if (this.config.role !== 'helper') throw new Refusal(404, 'only the helper answers for its aggregate share');
    const list = (body as { nonces?: unknown } | null)?.nonces;
    if (!Array.isArray(list) || list.length === 0) throw new Refusal(400, 'nonces must be a non-empty list');
    const nonces = list.map((n) => unb64(n, 'a nonce'));
    if (nonces.length < this.minBatch)
      throw new Refusal(409, `a collection needs at least ${this.minBatch} accepted reports (the helper's --min-batch); ${nonces.length} named`);
    const expiry = this.config.pendingExpirySeconds ?? 3600;
    const expired = await this.store.expirePending(
      this.config.taskId,
      new Date(this.now().getTime() - expiry * 1000),
      'expired: the leader never prepared it',
      this.now(),
    );
    if (expired > 0) this.log(`dropped ${expired} share(s) pending over ${expiry} s (the leader never prepared them)`);
    const share = await this.collectShares(nonces).catch((error: unknown) => {
      throw new Refusal(409, `cannot aggregate these reports: ${(error as Error).message}`);
    });
    return { aggregateShare: b64(share) };
  }

  /** The leader refused this report on its own: the helper drops its share too (if still pending here). */
  async helperDrop(body: unknown): Promise<{ dropped: boolean }> {
    if (this.config.role !== 'helper') throw new Refusal(404, 'only the helper drops a share on the leader’s word');
    const { nonce: n, reason } = (body ?? {}) as { nonce?: unknown; reason?: unknown };
    const nonce = unb64(n, 'nonce');
    const why = `the leader refused it: ${typeof reason === 'string' ? reason.slice(0, 500) : 'no reason given'}`;
    // decided: the leader lost this helper's answer; an accepted (not yet collected) share is dropped too.
    const decided = (body as { decided?: unknown }).decided === true;
    const dropped = await this.store.decide(
      this.config.taskId,
      nonce,
      { accepted: false, reason: why },
      this.now(),
      decided ? ['pending', 'accepted'] : ['pending'],
    );
    if (dropped) this.running.drop(nonce);
    return { dropped };
  }

  // ── leader ────────────────────────────────────────────────────────────────────────────────

  /** Verifies every pending report with the helper; returns how many it accepted and rejected. */
  async verifyPending(batch = 100): Promise<{ accepted: number; rejected: number }> {
    if (this.config.role !== 'leader') throw new Refusal(404, 'only the leader drives the verification');
    let accepted = 0;
    let rejected = 0;
    for (;;) {
      const nonces = await this.store.pendingNonces(this.config.taskId, batch);
      if (nonces.length === 0) return { accepted, rejected };
      // A few at once: the leader's prepareInit of one report runs while the helper prepares another.
      const decided = await pool(nonces, (nonce) => this.verifyStored(nonce), this.config.verifyConcurrency ?? 4);
      accepted += decided.filter((d) => d === 'accepted').length;
      rejected += decided.filter((d) => d === 'rejected').length;
      // Some are being verified on arrival: wait for those rather than select them again at once.
      if (decided.includes('skipped')) await this.arrivalsIdle();
    }
  }

  /** A pending report's verification in a collection's pass: its upload read back from the database. */
  private async verifyStored(nonce: Uint8Array): Promise<'accepted' | 'rejected' | 'skipped'> {
    const key = nonceHex(nonce);
    if (this.verifying.has(key)) return 'skipped';
    this.verifying.add(key);
    try {
      const report = await this.store.report(this.config.taskId, nonce);
      // decided on arrival since it was selected
      if (!report || report.status !== 'pending') return 'skipped';
      return (await this.verifyOne(nonce, report.upload, false)) ? 'accepted' : 'rejected';
    } finally {
      this.verifying.delete(key);
    }
  }

  /**
   * Queues a stored upload for its verification on arrival, once the uploads held leave room for it (config.arrivalBytes:
   * the device's request waits, so that the uploads go no faster than their verification); without room within
   * config.arrivalWaitMs it is verified at the collect.
   */
  private async arrive(nonce: Uint8Array, upload: Uint8Array): Promise<void> {
    const cap = this.config.arrivalBytes ?? 64 * 2 ** 20;
    if (upload.length > cap) return; // verified at the collect
    const deadline = performance.now() + (this.config.arrivalWaitMs ?? 30_000);
    while (this.heldBytes + upload.length > cap) {
      const left = deadline - performance.now();
      if (left <= 0) return; // verified at the collect
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.roomWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    const key = nonceHex(nonce);
    if (this.verifying.has(key)) return;
    this.verifying.add(key);
    this.arrivals.push({ nonce, upload });
    this.heldBytes += upload.length;
    while (this.arrivalWorkers < (this.config.verifyConcurrency ?? 4) && this.arrivals.length > 0) {
      this.arrivalWorkers++;
      void this.drainArrivals();
    }
  }

  private async drainArrivals(): Promise<void> {
    for (let next = this.arrivals.shift(); next; next = this.arrivals.shift()) {
      try {
        const outcome = await this.verifyOne(next.nonce, next.upload, true);
        if (outcome !== undefined) this.arrivalOutcome[outcome ? 'accepted' : 'rejected']++;
      } catch (error) {
        this.log(`report ${b64(next.nonce)}: its verification on arrival failed (${(error as Error).message}); the collect verifies it`);
      } finally {
        this.heldBytes -= next.upload.length;
        this.verifying.delete(nonceHex(next.nonce));
        for (const wake of this.roomWaiters.splice(0)) wake();
      }
    }
    if (--this.arrivalWorkers === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  /** Resolves when no upload is queued or being verified on arrival. */
  private arrivalsIdle(): Promise<void> {
    if (this.arrivalWorkers === 0 && this.arrivals.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * One report's verification with the helper, its upload in hand: true accepted, false rejected (on both sides);
   * undefined on arrival when the helper has no share of it yet (still pending here: the collect asks again).
   */
  private async verifyOne(nonce: Uint8Array, upload: Uint8Array, onArrival: boolean): Promise<boolean | undefined> {
    let mine: Awaited<ReturnType<typeof prepareInit>>;
    try {
      mine = await prepareInit(this.vdaf, this.config.verifyKey, 0, upload);
    } catch (error) {
      const reason = (error as Error).message;
      await this.store.decide(this.config.taskId, nonce, { accepted: false, reason }, this.now());
      this.log(`report ${b64(nonce)} rejected by the leader: ${reason}`);
      // The helper drops its share too (else it stays pending there; it expires if this does not arrive).
      await this.peer('/v1/verifiable/drop', { nonce: b64(nonce), reason }).catch((e: unknown) =>
        this.log(`could not tell the helper to drop report ${b64(nonce)}: ${(e as Error).message}`),
      );
      return false;
    }
    const request = { nonce: b64(nonce), prepareShare: b64(mine.prepareShare), publicShare: b64(publicShareOf(upload)) };
    type Answer = { prepareShare?: string; accepted?: boolean; rejected?: string; missing?: boolean };
    let answer: Answer;
    try {
      answer = (await this.peer('/v1/verifiable/prepare', request)) as Answer;
    } catch (error) {
      // A connection that failed (seen under load: ECONNRESET): asked once more. If the helper had decided the first
      // time (its answer lost), it refuses the second; the report is then dropped on both sides, the collection goes on.
      if (!(error instanceof TypeError)) throw error;
      this.log(`report ${b64(nonce)}: the helper's connection failed (${String(error.cause ?? error.message)}); asking again`);
      try {
        answer = (await this.peer('/v1/verifiable/prepare', request)) as Answer;
      } catch (again) {
        if (!(again instanceof PeerRefusal && again.status === 409)) throw again;
        answer = { rejected: 'the helper’s answer was lost (its connection failed) and it had already decided' };
        await this.peer('/v1/verifiable/drop', { nonce: b64(nonce), reason: answer.rejected, decided: true });
      }
    }
    if (!answer.prepareShare && answer.missing === true && onArrival) {
      // the device's helper upload may still come
      this.log(`report ${b64(nonce)}: the helper has no share of it yet; the collect verifies it`);
      return undefined;
    }
    if (!answer.prepareShare) {
      const reason = answer.rejected ?? 'the helper gave no prepare share';
      await this.store.decide(this.config.taskId, nonce, { accepted: false, reason }, this.now());
      this.log(`report ${b64(nonce)} rejected: ${reason}`);
      return false;
    }
    // Accepted only if the helper accepted too: a report accepted on one side only would break the collection.
    return this.decide(nonce, mine.state, mine.prepareShare, unb64(answer.prepareShare, 'the helper’s prepare share'), answer.accepted === true);
  }

  /** Runs the verification, then sums the accepted reports with the helper: the collector's result. */
  async collect(): Promise<Collection> {
    if (this.config.role !== 'leader') throw new Refusal(404, 'only the leader collects');
    const started = performance.now();
    await this.arrivalsIdle();
    const onArrival = this.arrivalOutcome;
    this.arrivalOutcome = { accepted: 0, rejected: 0 };
    if (onArrival.accepted + onArrival.rejected > 0)
      this.log(
        `verified ${onArrival.accepted + onArrival.rejected} reports on arrival since the last collection (the last ones ${((performance.now() - started) / 1000).toFixed(1)} s into the collect): ${onArrival.accepted} accepted, ${onArrival.rejected} rejected`,
      );
    const pass = await this.verifyPending();
    if (pass.accepted + pass.rejected > 0)
      this.log(
        `verified ${pass.accepted + pass.rejected} reports with the helper in ${((performance.now() - started) / 1000).toFixed(1)} s: ${pass.accepted} accepted, ${pass.rejected} rejected`,
      );
    const rejected = pass.rejected + onArrival.rejected;
    const nonces = await this.store.acceptedNonces(this.config.taskId);
    if (nonces.length === 0) throw new Refusal(409, 'no accepted report to collect');
    if (nonces.length < this.minBatch)
      throw new Refusal(
        409,
        `only ${nonces.length} accepted report${nonces.length === 1 ? '' : 's'}: a collection needs at least ${this.minBatch} (--min-batch); nothing was collected or published, the reports wait for the next collect`,
      );
    const helper = (await this.peer('/v1/verifiable/aggregate-share', { nonces: nonces.map(b64) })) as { aggregateShare?: string };
    const helperShare = unb64(helper.aggregateShare, 'the helper’s aggregate share');
    const leaderShare = await this.collectShares(nonces);
    const sum = combineAggregates(this.config.params, this.vdaf, leaderShare, helperShare, nonces.length);
    this.log(`collected ${nonces.length} reports (${rejected} rejected in this pass and on arrival)`);
    const published = await this.config.collections?.publish(sum, nonces.length, this.now());
    if (published) this.log(`published collection ${published.collection}'s model ${published.sha256.slice(0, 12)}…`);
    return { reports: nonces.length, rejected, sum, ...(published ? { published } : {}) };
  }

  // ── both ──────────────────────────────────────────────────────────────────────────────────

  /** Both aggregators compute the same decision from the two prepare shares (prepareMessage is deterministic). */
  private async decide(
    nonce: Uint8Array,
    state: Awaited<ReturnType<typeof prepareInit>>['state'],
    leaderShare: Uint8Array,
    helperShare: Uint8Array,
    peerAccepted: boolean,
  ): Promise<boolean> {
    try {
      const message = await prepareMessage(this.vdaf, leaderShare, helperShare);
      const outputShare = prepareFinishEncoded(this.vdaf, state, message);
      if (!peerAccepted) throw new VerifyRejected('the helper rejected it');
      if (await this.store.decide(this.config.taskId, nonce, { accepted: true, outputShare }, this.now())) this.running.add(nonce, outputShare);
      return true;
    } catch (error) {
      if (!(error instanceof VerifyRejected)) throw error;
      await this.store.decide(this.config.taskId, nonce, { accepted: false, reason: error.message }, this.now());
      this.log(`report ${b64(nonce)} rejected by the ${this.config.role}: ${error.message}`);
      return false;
    }
  }

  /** This aggregator's aggregate share over these accepted reports, marked collected (from the running sum when it holds exactly them). */
  private async collectShares(nonces: readonly Uint8Array[]): Promise<Uint8Array> {
    const summed = this.running.take(nonces);
    const share = await this.store.collect(this.config.taskId, nonces, summed ?? this.aggregation(), this.now(), summed !== undefined);
    this.log(`aggregate share over ${nonces.length} reports: ${summed ? 'summed as they were accepted' : 'output shares read back from the database'}`);
    return share;
  }

  /**
   * This aggregator's sum of output shares, one share at a time (a collection of 1,000 reports at the app's length
   * would otherwise hold every share's field elements at once: gigabytes), plus its noise. The shares are summed as
   * 32-bit limbs and reduced once at the end, in the task's field (prio.ts outputShareSum, field-bytes.ts FieldSum;
   * the package's aggregate, vdaf.aggregate, makes a BigInt per entry per addition).
   */
  private aggregation(): Aggregation {
    const total = outputShareSum(this.vdaf, this.config.params.length);
    return {
      add: (share) => {
        if (share.length !== total.encodedLength) throw new Error(`an output share has ${share.length} bytes, not ${total.encodedLength}`);
        total.add(share);
      },
      finish: () => {
        const share = total.finish();
        const sigma = this.config.noiseStddev ?? 0;
        return sigma > 0 ? addAggregatorNoise(this.vdaf, share, discreteGaussianSampler(sigma)) : share;
      },
    };
  }

  private async peer(path: string, json: unknown): Promise<unknown> {
    const response = await this.fetchImpl(`${this.config.helperUrl}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${this.config.peerToken}` },
      body: JSON.stringify(json),
    });
    const body = (await response.json()) as unknown;
    if (!response.ok) throw new PeerRefusal(response.status, `the helper answered ${response.status} to ${path}: ${JSON.stringify(body)}`);
    return body;
  }

  async logRefusal(refusal: Refusal, method: string, path: string): Promise<void> {
    this.log(`refused ${method} ${path} (${refusal.status}): ${refusal.message}`);
    await this.store
      .logRefusal({ at: this.now(), method, path, status: refusal.status, message: refusal.message })
      .catch((error: unknown) => this.log(`could not log the refusal: ${String(error)}`));
  }
}
