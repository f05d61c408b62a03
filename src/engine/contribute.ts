/**
 * "Contribute to the shared model": the device's side of a secure-aggregation round with the
 * deployment's aggregator (COMMON HTTP API, server/). Runs in the engine's worker, only while the user's
 * consent is on and the build names an aggregator (core/deployment.ts; the CSP allows exactly that origin).
 *
 * One round: wait for a round in its 'keys' phase → check it is for this model, this catalog and this
 * device's copy of the shared model, and that its noise is at least what the user was shown → send the
 * round's public keys ('keys') → encrypted shares of the mask seeds to the neighbours ('shares') → the
 * masked, noised, quantized change of the shared parameters ('masked': local − global of W, q, b and the
 * ranker; never u, events or queries) → its signature over the survivor and dropped lists the service gives
 * ('consistency') → the survivors' signatures, checked: at least t over exactly the lists it signed, else it
 * refuses to go on (a service that told devices different lists could otherwise unmask one device's change)
 * → the shares that let the server remove the masks of the survivors and of the devices that dropped
 * ('unmask') → import the published global model through the same path
 * as "Import model update" (core/federated/client.ts readGlobalModel), and wait for the next round.
 *
 * The cryptography and the noise are not here: `DeviceProtocol` binds them (engine/secagg-device.ts binds
 * helper A's SecAggClient and helper B's encodeForSum; the tests bind fakes). This file is the device's
 * state machine over HTTP, written by hand: no maintained package speaks this service's API; the requests
 * and the answers' schemas are aggregator-client.ts.
 */
import { flatten, paramNames, type ParamSet } from '../core/federated/params';
import type { SharedModelState } from '../core/federated/client';
import type { PromisedNoise } from '../core/deployment';
import { sha256Hex } from '../core/federated/format';
import { budgetStatus, type BudgetStatus } from '../core/secagg/budget';
import { z } from '../core/schema';
import type { ContributionState } from './api';
import {
  AggregatorClient,
  base64UrlDecode,
  ContributionError,
  DEFAULT_POLL_MS,
  registeredSchema,
  latestSchema,
  RoundAbandoned,
  roundSchema,
  sleep,
  type RoundClient,
  type RoundInfo,
  type RoundNoise,
} from './aggregator-client';
import { readSetting, SETTING_CONTRIBUTE, SETTING_ROUNDS, type SettingsUpdate } from './settings-keys';

export { SETTING_CONTRIBUTE, SETTING_ROUNDS } from './settings-keys';
export { base64UrlDecode, ContributionError, type RoundClient, type RoundNoise } from './aggregator-client';

/**
 * What the engine reports: ContributionState and the lifetime ε budget (core/secagg/budget.ts). Spent is
 * `epsilon`, the next round's ε `epsilonNext`; the round is joined only while epsilonNext ≤ epsilonBudget.
 */
export type ContributionReport = ContributionState & { epsilonBudget: number };

export interface DeviceProtocol {
  createClient(): Promise<RoundClient>;
  /** Clip, rotate, round, add this device's share of the noise: the u32 vector summed under the masks. */
  encodeForSum(delta: Float32Array, noise: RoundNoise, rotationSeed: Uint8Array): Uint32Array;
  encodedLength(length: number): number;
  /** ε of `rounds` rounds of this mechanism at δ. */
  epsilon(noise: RoundNoise, rounds: number, delta: number, dimension: number): number;
}

export interface ContributorDeps {
  origin: string;
  promised: PromisedNoise;
  /** The cryptography and noise, loaded only where an aggregator is configured (a chunk of its own). */
  loadProtocol(): Promise<DeviceProtocol>;
  fetch: typeof fetch;
  /** The shared parameters now (local and the global they started from); undefined while the model starts. */
  sharedState(): SharedModelState | undefined;
  /** The "Import model update" path: validates the file, swaps the shared model in; a bad file changes nothing. */
  importGlobal(bytes: Uint8Array, source: string): Promise<{ contributors?: number }>;
  readSettings(): Promise<Readonly<Record<string, unknown>>>;
  /** Writes the consent and the rounds' record (settings-keys.ts). */
  putSettings(values: SettingsUpdate): Promise<void>;
  report(state: ContributionReport): void;
  /** Milliseconds between polls of a round's phase (short in tests). */
  pollMs?: number;
  /** Wait after a failure before trying again. */
  retryMs?: number;
}

/** δ of the reported ε (the federated export's default). */
export const CONTRIBUTION_DELTA = 1e-5;

/** While the model is still starting (nothing to contribute yet). */
const IDLE_POLL_MS = 10_000;
/** Rounds a device joins at most: its record (one σ per round) is a setting, an array of at most 1,000 values. */
const MAX_ROUNDS = 1000;
/** The Web Lock one tab's engine holds while it contributes. */
const CONTRIBUTION_LOCK = 'private-recs-contribute';

/** The σ of each round joined (settings), the longer of the stored and the known record: ε is never undercounted. */
function roundsJoined(settings: Readonly<Record<string, unknown>>, known: readonly number[]): number[] {
  const stored = readSetting(settings, SETTING_ROUNDS) ?? [];
  return stored.length >= known.length ? stored : [...known];
}
const DEFAULT_RETRY_MS = 15_000;

/** Δ = local − global over every shared tensor. u is not among them (SharedModelState never holds it). */
export function sharedDelta(state: SharedModelState): Float32Array {
  const local = flatten(state.local);
  const global = flatten(state.global);
  if (local.length !== global.length) throw new ContributionError('the local and global shared parameters differ in size');
  const delta = new Float32Array(local.length);
  for (let i = 0; i < delta.length; i++) delta[i] = local[i]! - global[i]!;
  return delta;
}

/** SHA-256 of the flattened global parameters: the round's baseModelSha256 (the global file's payloadSha256). */
export function baseSha256(global: ParamSet): Promise<string> {
  // flatten's array is new, so its buffer holds exactly its values.
  return sha256Hex(new Uint8Array(flatten(global).buffer));
}

/**
 * Drives rounds while consent is on. `start()` / `stop()` follow the toggle; `state` is what the Privacy
 * panel shows. Never sends anything before `start()`, and nothing after `stop()` (the fetches in flight
 * are aborted).
 */
export class Contributor {
  private controller: AbortController | undefined;
  private running: Promise<void> | undefined;
  private state: ContributionReport;
  private joinedMultipliers: number[] = [];
  private contents: { name: string; shape: number[] }[] = [];
  private protocol!: DeviceProtocol;
  private readonly api: AggregatorClient;

  constructor(private readonly deps: ContributorDeps) {
    this.api = new AggregatorClient(deps);
    this.state = {
      origin: deps.origin,
      enabled: false,
      stage: 'off',
      roundsJoined: 0,
      epsilon: 0,
      epsilonNext: 0,
      delta: CONTRIBUTION_DELTA,
      clipNorm: deps.promised.clipNorm,
      noiseMultiplier: deps.promised.noiseMultiplier,
      epsilonBudget: deps.promised.lifetimeEpsilon,
      contents: [],
    };
  }

  /** Reads the remembered consent and rounds; starts if the consent was on. Sends nothing when off. */
  async load(): Promise<void> {
    this.protocol = await this.deps.loadProtocol();
    const settings = await this.deps.readSettings();
    this.joinedMultipliers = roundsJoined(settings, []);
    this.refreshContents();
    if (readSetting(settings, SETTING_CONTRIBUTE) === true) this.start();
    else this.publish({});
  }

  async setEnabled(on: boolean): Promise<void> {
    // Remembered first: a reload in between must not contribute without (or against) the user's choice.
    await this.deps.putSettings({ [SETTING_CONTRIBUTE]: on });
    if (on) this.start();
    else await this.stop();
  }

  snapshot(): ContributionReport {
    return this.state;
  }

  /** The shapes shown in "what is sent" (after the model opened or changed). */
  refreshContents(): void {
    const shared = this.deps.sharedState();
    if (shared) this.contents = paramNames(shared.local).map((name) => ({ name, shape: [...shared.local[name]!.shape] }));
    this.publish({});
  }

  private start(): void {
    if (this.controller) return;
    const controller = new AbortController();
    this.controller = controller;
    this.publish({ enabled: true, stage: 'waiting', message: undefined });
    this.running = this.oneTabAtATime(controller.signal);
  }

  /**
   * Two tabs of the app share one history and one model: both joining rounds would send the same change
   * twice (one person counted as two) and race on the record of rounds joined (undercounting ε). A Web
   * Lock lets one tab's engine contribute at a time; the others wait for it (e.g. until that tab closes).
   */
  private async oneTabAtATime(signal: AbortSignal): Promise<void> {
    const locks = (globalThis.navigator as (Navigator & { locks?: LockManager }) | undefined)?.locks;
    if (!locks) return this.loop(signal);
    await locks
      .request(CONTRIBUTION_LOCK, { signal }, () => this.loop(signal))
      .catch((error: unknown) => {
        if (!signal.aborted) throw error;
      });
  }

  async stop(): Promise<void> {
    const controller = this.controller;
    this.controller = undefined;
    controller?.abort(new ContributionError('contribution turned off'));
    await this.running?.catch(() => undefined);
    this.running = undefined;
    this.publish({ enabled: false, stage: 'off', message: undefined });
  }

  /** ε (at CONTRIBUTION_DELTA) of rounds with these noise multipliers, with the promised noise's other settings. */
  private epsilonOf(multipliers: readonly number[]): number {
    if (multipliers.length === 0) return 0;
    const dimension = this.contents.reduce((n, c) => n + c.shape.reduce((a, b) => a * b, 1), 0);
    // Rounds may have used different σ: the smallest (the weakest noise) bounds them all from above.
    return this.protocol.epsilon(
      { ...this.promisedNoise(), noiseMultiplier: Math.min(...multipliers) },
      multipliers.length,
      CONTRIBUTION_DELTA,
      Math.max(1, dimension),
    );
  }

  /** The lifetime budget after the rounds joined, asked about one more round at `multiplier` (default: the promised σ). */
  private budget(multiplier = this.deps.promised.noiseMultiplier, joined: readonly number[] = this.joinedMultipliers): BudgetStatus {
    return budgetStatus(this.deps.promised.lifetimeEpsilon, joined, multiplier, (m) => this.epsilonOf(m));
  }

  private publish(change: Partial<ContributionState>): void {
    const budget = this.budget();
    this.state = {
      ...this.state,
      ...change,
      roundsJoined: this.joinedMultipliers.length,
      epsilon: budget.spent,
      epsilonNext: budget.next,
      epsilonBudget: budget.limit,
      contents: this.contents,
    };
    this.deps.report(this.state);
  }

  private promisedNoise(): RoundNoise {
    const { clipNorm, noiseMultiplier, expectedCohort, dropoutTolerance } = this.deps.promised;
    return { clipNorm, noiseMultiplier, expectedCohort, dropoutTolerance, bits: 32 };
  }

  private async loop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if (!this.budget().allowsNext) {
        // Spent: no more rounds, and no more requests at all (not even polls) until the consent is turned off.
        this.publish({ stage: 'waiting', message: budgetMessage(this.budget()) });
        await sleep(2 ** 31 - 1, signal).catch(() => undefined);
        continue;
      }
      try {
        await this.oneRound(signal);
      } catch (error) {
        if (signal.aborted) return;
        this.publish({ stage: 'error', message: error instanceof Error ? error.message : String(error) });
        await sleep(this.deps.retryMs ?? DEFAULT_RETRY_MS, signal).catch(() => undefined);
      }
    }
  }

  /** The round this device last took the published model for (it tries to join that round once more, not more). */
  private caughtUpFor: string | undefined;

  private async oneRound(signal: AbortSignal): Promise<void> {
    const poll = this.deps.pollMs ?? DEFAULT_POLL_MS;
    this.publish({ stage: this.state.stage === 'done' ? 'done' : 'waiting', message: this.state.stage === 'error' ? undefined : this.state.message });
    // 1. A round that is taking keys, and a model to contribute from.
    let round: RoundInfo;
    let shared: SharedModelState | undefined;
    for (;;) {
      shared = this.deps.sharedState();
      if (shared) {
        round = await this.api.json('/v1/round', roundSchema, signal);
        if (round.phase === 'keys' && round.roundId !== this.state.roundId) break;
      }
      // At the pace of a round's phases: a round takes keys from its first registration for one phase's length only.
      await sleep(shared ? poll : Math.max(poll, IDLE_POLL_MS), signal);
    }
    this.refreshContents();
    if (round.modelId !== shared.modelId || round.catalogFingerprint !== shared.catalogFingerprint) {
      throw new ContributionError(
        `the aggregator's rounds are for model ${round.modelId} and catalog ${round.catalogFingerprint}; this app runs ${shared.modelId} on ${shared.catalogFingerprint}`,
      );
    }
    this.checkNoise(round.noise);
    // The lifetime budget, with this round's σ and the record as stored now (another tab or an imported data
    // file may have lengthened it): checked before the keys, so a round that would exceed it gets nothing.
    this.joinedMultipliers = roundsJoined(await this.deps.readSettings(), this.joinedMultipliers);
    const budget = this.budget(round.noise.noiseMultiplier);
    if (!budget.allowsNext) {
      this.publish({ stage: 'waiting', message: budgetMessage(budget) });
      return;
    }
    if (this.joinedMultipliers.length >= MAX_ROUNDS) {
      // The record ε is computed from is one setting of at most 1,000 values (storage checks it on read).
      throw new ContributionError(`this device has joined ${this.joinedMultipliers.length} rounds, the most it keeps a record of: not joining more`);
    }
    if ((await baseSha256(shared.global)) !== round.baseModelSha256) {
      // Another starting point: this device's change would be added to the wrong model. Take the published
      // model first (through the import path), then look at this round again: it is usually the round's
      // starting point, and a device that skipped the round would stay a round behind for as long as the
      // others complete rounds without it. Once per round: if the model still differs, a later round.
      if (this.caughtUpFor === round.roundId) {
        this.publish({ stage: 'waiting', roundId: round.roundId, message: 'This device took the shared model first; it joins the next round.' });
        return;
      }
      this.caughtUpFor = round.roundId;
      await this.importLatest(signal, undefined);
      this.publish({ stage: 'waiting', message: 'This device took the shared model first; it joins the next round that starts from it.' });
      return;
    }
    const delta = sharedDelta(shared);
    const expectedLength = this.protocol.encodedLength(delta.length);
    if (round.vectorLength !== expectedLength) {
      throw new ContributionError(`the round sums vectors of ${round.vectorLength} values; this model's change has ${expectedLength}`);
    }
    const id = encodeURIComponent(round.roundId);
    // 2. Keys.
    const client = await this.protocol.createClient();
    const { index, token } = await this.api.json(`/v1/rounds/${id}/keys`, registeredSchema, signal, { method: 'POST', body: client.keysBody() });
    client.setIndex(index);
    this.publish({ stage: 'keys', roundId: round.roundId, message: undefined });
    try {
      // 3. Shares of the mask seeds, encrypted to each neighbour.
      await this.api.waitFor(round.roundId, 'shares', signal);
      const keys = await this.api.json(`/v1/rounds/${id}/keys`, z.unknown(), signal, { token });
      await this.api.json(`/v1/rounds/${id}/shares`, z.unknown(), signal, { method: 'POST', body: await client.sharesBody(keys), token });
      this.publish({ stage: 'shares' });
      // 4. The masked vector. ε is recorded before it leaves: a failure after sending must not undercount it.
      await this.api.waitFor(round.roundId, 'masked', signal);
      const received = await this.api.json(`/v1/rounds/${id}/shares`, z.unknown(), signal, { token });
      const input = this.protocol.encodeForSum(delta, round.noise, base64UrlDecode(round.rotationSeed));
      const body = await client.maskedBody(input, received);
      // Read again: an import of the user's data file may have brought a longer record (the lock keeps other tabs out).
      this.joinedMultipliers = [...roundsJoined(await this.deps.readSettings(), this.joinedMultipliers), round.noise.noiseMultiplier];
      await this.deps.putSettings({ [SETTING_ROUNDS]: this.joinedMultipliers });
      await this.api.json(`/v1/rounds/${id}/masked`, z.unknown(), signal, { method: 'POST', body, token });
      this.publish({ stage: 'masked' });
      // 5. Consistency: sign the survivor and dropped lists as the service gives them to this device.
      await this.api.waitFor(round.roundId, 'consistency', signal);
      const survivors = await this.api.json(`/v1/rounds/${id}/survivors`, z.unknown(), signal, { token });
      await this.api.json(`/v1/rounds/${id}/signature`, z.unknown(), signal, { method: 'POST', body: client.signatureBody(survivors), token });
      // 6. Unmasking, only if enough survivors signed the same lists: shares for the survivors' self-masks and the
      // dropped neighbours' pairwise masks.
      await this.api.waitFor(round.roundId, 'unmask', signal);
      const signatures = await this.api.json(`/v1/rounds/${id}/signatures`, z.unknown(), signal, { token });
      let unmask: unknown;
      try {
        unmask = client.unmaskBody(signatures);
      } catch (error) {
        throw new ContributionError(
          `This device refused to unmask its change in round ${round.roundId}: ${error instanceof Error ? error.message : String(error)}. Nothing that removes its masks was sent.`,
        );
      }
      await this.api.json(`/v1/rounds/${id}/unmask`, z.unknown(), signal, { method: 'POST', body: unmask, token });
      this.publish({ stage: 'unmask' });
      // 7. The published model.
      await this.api.waitFor(round.roundId, 'done', signal);
      await this.importLatest(signal, round.roundId);
    } catch (error) {
      if (error instanceof RoundAbandoned) {
        this.publish({ stage: 'waiting', lastRound: { roundId: round.roundId, outcome: 'abandoned' }, message: error.message });
        return;
      }
      throw error;
    }
  }

  /** Refuses a round whose noise is weaker than the deployment promised the user (its ε would be larger). */
  private checkNoise(noise: RoundNoise): void {
    const promised = this.promisedNoise();
    if (noise.noiseMultiplier < promised.noiseMultiplier || noise.dropoutTolerance < promised.dropoutTolerance) {
      throw new ContributionError(
        `the round's noise (σ = ${noise.noiseMultiplier}, dropouts tolerated ${noise.dropoutTolerance.toFixed(2)}) is weaker than this deployment promised (σ = ${promised.noiseMultiplier}, ${promised.dropoutTolerance.toFixed(2)}): not joining`,
      );
    }
  }

  /** GET /v1/models/latest → the import path. `roundId`: the round it must come from. */
  private async importLatest(signal: AbortSignal, roundId: string | undefined): Promise<void> {
    this.publish({ stage: 'importing' });
    const latest = await this.api.json('/v1/models/latest.json', latestSchema, signal);
    if (roundId !== undefined && latest.round !== roundId) throw new ContributionError(`the aggregator published round ${latest.round}, not ${roundId}`);
    const response = await this.api.request('/v1/models/latest', signal);
    if (!response.ok) throw new ContributionError(`GET /v1/models/latest: ${response.status}`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    const result = await this.deps.importGlobal(bytes, latest.round === null ? 'the shared starting model' : `the shared model of round ${latest.round}`);
    this.refreshContents();
    this.publish({
      stage: 'done',
      roundId: roundId ?? this.state.roundId,
      ...(latest.round === null
        ? {}
        : {
            lastRound: {
              roundId: latest.round,
              outcome: 'imported' as const,
              ...(result.contributors !== undefined ? { contributors: result.contributors } : {}),
            },
          }),
    });
  }
}

function budgetMessage(budget: BudgetStatus): string {
  return `Joining another round would take this device to ε = ${budget.next.toFixed(2)}, past its lifetime budget of ε = ${budget.limit} (spent: ${budget.spent.toFixed(2)}): not joining more rounds.`;
}
