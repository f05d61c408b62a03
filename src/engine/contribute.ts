/**
 * "Contribute to the shared model": the device's consent, its lifetime ε budget and the record of rounds
 * joined, the loop over rounds and the import of the published model, for either mode the deployment names
 * (core/deployment.ts; the CSP allows exactly its origins): the MASKED mode's rounds with one aggregator
 * (contribute-masked.ts) or the VERIFIABLE mode's collections with a leader and a helper
 * (contribute-verifiable.ts). With both named, the user chooses (remembered). Runs in the engine's worker, only
 * while the user's consent is on.
 *
 * The masked mode's round:
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
 * helper A's SecAggClient and helper B's encodeForSum; verifiable-device.ts the PINE report). These files are
 * the device's state machine over HTTP, written by hand: no maintained package speaks these services' API; the
 * requests and the answers' schemas are aggregator-client.ts.
 */
import { paramNames } from '../core/federated/params';
import type { SharedModelState } from '../core/federated/client';
import type { PromisedNoise } from '../core/deployment';
import { budgetStatus, type BudgetStatus } from '../core/secagg/budget';
import type { ContributionMode, ContributionState } from './api';
import { AggregatorClient, ContributionError, DEFAULT_POLL_MS, latestSchema, sleep, type RoundNoise } from './aggregator-client';
import { maskedRound } from './contribute-masked';
import { type ContributionReport, type DeviceProtocol, type RoundContext } from './contribute-round';
import { verifiableRound, type VerifiableDeps, type VerifiableProtocol } from './contribute-verifiable';
import { readSetting, SETTING_CONTRIBUTE, SETTING_CONTRIBUTE_MODE, SETTING_ROUNDS, type SettingsUpdate } from './settings-keys';

export { SETTING_CONTRIBUTE, SETTING_CONTRIBUTE_MODE, SETTING_ROUNDS } from './settings-keys';
export type { VerifiableDeps, VerifiableProtocol } from './contribute-verifiable';
export { baseSha256, sharedDelta, type ContributionReport, type DeviceProtocol, type RoundContext } from './contribute-round';
export { base64UrlDecode, ContributionError, type RoundClient, type RoundNoise } from './aggregator-client';

export interface ContributorDeps {
  /** The masked mode's aggregator (absent: the deployment names only a verifiable pair). */
  origin?: string;
  /** The noise the masked mode's deployment promises (the verifiable pair has its own). */
  promised: PromisedNoise;
  /** The masked mode's cryptography and noise, loaded only where an aggregator is configured (a chunk of its own). */
  loadProtocol?(): Promise<DeviceProtocol>;
  /** The verifiable pair, where the deployment names one. */
  verifiable?: VerifiableDeps;
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
  private protocol: DeviceProtocol | undefined;
  private verifiableProtocol: VerifiableProtocol | undefined;
  private readonly api: AggregatorClient;
  private readonly verifiableClients: { leader: AggregatorClient; helper: AggregatorClient } | undefined;
  /** The mode this device joins: the user's choice where the deployment names both. */
  private mode: ContributionMode;

  constructor(private readonly deps: ContributorDeps) {
    if (!deps.origin && !deps.verifiable) throw new Error('the deployment names no aggregator');
    this.api = new AggregatorClient({ ...deps, origin: deps.origin ?? '' });
    const pair = deps.verifiable;
    this.verifiableClients = pair && {
      leader: new AggregatorClient({ ...deps, origin: pair.leader }),
      helper: new AggregatorClient({ ...deps, origin: pair.helper }),
    };
    this.mode = deps.origin ? 'masked' : 'verifiable';
    this.state = {
      ...(deps.origin ? { origin: deps.origin } : {}),
      ...(deps.verifiable ? { verifiable: { leader: deps.verifiable.leader, helper: deps.verifiable.helper } } : {}),
      mode: this.mode,
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
    // Both where both are named: ε over a record of rounds in either mode is the larger of the two mechanisms'.
    this.protocol = await this.deps.loadProtocol?.();
    this.verifiableProtocol = await this.deps.verifiable?.loadProtocol();
    const settings = await this.deps.readSettings();
    const chosen = readSetting(settings, SETTING_CONTRIBUTE_MODE);
    if (chosen && this.modeAvailable(chosen)) this.mode = chosen;
    this.joinedMultipliers = roundsJoined(settings, []);
    this.refreshContents();
    if (readSetting(settings, SETTING_CONTRIBUTE) === true) this.start();
    else this.publish({});
  }

  /** On or off, and (where the deployment names both) the mode. Changing the mode ends the round in progress. */
  async setEnabled(on: boolean, mode: ContributionMode = this.mode): Promise<void> {
    if (!this.modeAvailable(mode)) throw new Error(`this app's deployment names no ${mode === 'masked' ? 'masked aggregator' : 'verifiable pair'}`);
    // Remembered first: a reload in between must not contribute without (or against) the user's choice.
    await this.deps.putSettings({ [SETTING_CONTRIBUTE]: on, [SETTING_CONTRIBUTE_MODE]: mode });
    if (mode !== this.mode) {
      await this.stop();
      this.mode = mode;
      this.publish({ mode, roundId: undefined });
    }
    if (on) this.start();
    else await this.stop();
  }

  private modeAvailable(mode: ContributionMode): boolean {
    return mode === 'masked' ? this.deps.origin !== undefined : this.deps.verifiable !== undefined;
  }

  private promised(): PromisedNoise {
    return this.mode === 'verifiable' ? this.deps.verifiable!.promised : this.deps.promised;
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
    const noiseMultiplier = Math.min(...multipliers);
    const dim = Math.max(1, dimension);
    return Math.max(
      this.protocol?.epsilon({ ...this.promisedNoise(), noiseMultiplier }, multipliers.length, CONTRIBUTION_DELTA, dim) ?? 0,
      this.verifiableProtocol?.epsilon({ clipNorm: this.promised().clipNorm, noiseMultiplier }, multipliers.length, CONTRIBUTION_DELTA, dim) ?? 0,
    );
  }

  /** The lifetime budget after the rounds joined, asked about one more round at `multiplier` (default: the promised σ). */
  private budget(multiplier = this.promised().noiseMultiplier, joined: readonly number[] = this.joinedMultipliers): BudgetStatus {
    return budgetStatus(this.promised().lifetimeEpsilon, joined, multiplier, (m) => this.epsilonOf(m));
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
      clipNorm: this.promised().clipNorm,
      noiseMultiplier: this.promised().noiseMultiplier,
      contents: this.contents,
    };
    this.deps.report(this.state);
  }

  private promisedNoise(): RoundNoise {
    const { clipNorm, noiseMultiplier, expectedCohort, dropoutTolerance } = this.promised();
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
  caughtUpFor: string | undefined;

  /** One round (or collection) of the mode the user chose. */
  private oneRound(signal: AbortSignal): Promise<void> {
    const context = this.context(signal);
    return this.mode === 'verifiable'
      ? verifiableRound(context, this.verifiableClients!, this.verifiableProtocol!)
      : maskedRound(context, this.api, this.protocol!);
  }

  private context(signal: AbortSignal): RoundContext {
    return {
      signal,
      pollMs: this.deps.pollMs ?? DEFAULT_POLL_MS,
      state: () => this.state,
      publish: (change) => this.publish(change),
      sharedState: () => this.deps.sharedState(),
      refreshContents: () => this.refreshContents(),
      mayJoin: (multiplier) => this.mayJoin(multiplier),
      settings: () => this.deps.readSettings(),
      recordRound: (multiplier, also) => this.recordRound(multiplier, also),
      promised: this.promised(),
      importLatest: (client, prefix, roundId) => this.importLatest(client, prefix, signal, roundId),
      caughtUp: (roundId) => {
        if (this.caughtUpFor === roundId) return true;
        this.caughtUpFor = roundId;
        return false;
      },
    };
  }

  /**
   * The lifetime budget with this round's σ and the record as stored now (another tab or an imported data file may
   * have lengthened it): checked before anything is sent, so a round that would exceed it gets nothing.
   */
  private async mayJoin(multiplier: number): Promise<boolean> {
    this.joinedMultipliers = roundsJoined(await this.deps.readSettings(), this.joinedMultipliers);
    const budget = this.budget(multiplier);
    if (!budget.allowsNext) {
      this.publish({ stage: 'waiting', message: budgetMessage(budget) });
      return false;
    }
    if (this.joinedMultipliers.length >= MAX_ROUNDS) {
      // The record ε is computed from is one setting of at most 1,000 values (storage checks it on read).
      throw new ContributionError(`this device has joined ${this.joinedMultipliers.length} rounds, the most it keeps a record of: not joining more`);
    }
    return true;
  }

  /** ε is recorded before the update leaves: a failure after sending must not undercount it. */
  private async recordRound(multiplier: number, also: SettingsUpdate = {}): Promise<void> {
    // Read again: an import of the user's data file may have brought a longer record (the lock keeps other tabs out).
    this.joinedMultipliers = [...roundsJoined(await this.deps.readSettings(), this.joinedMultipliers), multiplier];
    await this.deps.putSettings({ ...also, [SETTING_ROUNDS]: this.joinedMultipliers });
  }

  /**
   * GET `prefix`/models/latest → the import path. `roundId`: the round (or collection) it must come from. The masked
   * service's prefix is /v1, the verifiable leader's /v1/verifiable.
   */
  private async importLatest(client: AggregatorClient, prefix: string, signal: AbortSignal, roundId: string | undefined): Promise<void> {
    this.publish({ stage: 'importing' });
    const latest = await client.json(`${prefix}/models/latest.json`, latestSchema, signal);
    if (roundId !== undefined && latest.round !== roundId) throw new ContributionError(`the aggregator published round ${latest.round}, not ${roundId}`);
    const response = await client.request(`${prefix}/models/latest`, signal);
    if (!response.ok) throw new ContributionError(`GET ${prefix}/models/latest: ${response.status}`);
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
