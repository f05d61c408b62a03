/**
 * The element's link to the engine: its worker started and ended, clicks sent to it, and the picks a
 * visit made while the engine kept them in memory only, handed to the next engine after a restart.
 */
import * as Comlink from 'comlink';
import type { EngineApi, EngineConfig, EngineSnapshot } from '../engine/api';
import { startEngineWorker } from './engine-worker';

/** Clicks carried from one engine to the next while they live in memory only (a visit's worth). */
const MEMORY_EVENTS_KEPT = 500;

/** When the engine stopped running: its worker could not start, its worker failed, or the engine did. */
export type FailedDuring = 'start' | 'worker' | 'engine';

export class EngineConnection {
  readonly #onSnapshot: (snapshot: EngineSnapshot) => void;
  readonly #onFailure: (during: FailedDuring, message: string) => void;
  #worker: Worker | undefined;
  #engine: Comlink.Remote<EngineApi> | undefined;
  /** Whether the last snapshot said the picks are stored (false: kept in memory only). */
  #persisted: boolean | undefined;
  /**
   * The items this visit opened while the engine kept its events in memory only (storage refused or
   * lost): a restart (a new catalog or size, the element moved in the page) ends that engine and its
   * memory, so the next engine is given them again once ready. In order, at most MEMORY_EVENTS_KEPT.
   */
  #memoryClicks: string[] = [];
  /** Whether the engine now starting is still to be given #memoryClicks. */
  #replayPending = false;

  /**
   * `onSnapshot`: each snapshot of the engine now running (none of an engine since replaced).
   * `onFailure`: the engine is not running, and why (the message is English).
   */
  constructor(onSnapshot: (snapshot: EngineSnapshot) => void, onFailure: (during: FailedDuring, message: string) => void) {
    this.#onSnapshot = onSnapshot;
    this.#onFailure = onFailure;
  }

  /** The engine now running, if any. */
  get engine(): Comlink.Remote<EngineApi> | undefined {
    return this.#engine;
  }

  start(config: EngineConfig): void {
    let worker: Worker;
    try {
      worker = startEngineWorker();
    } catch (error) {
      // E.g. a host CSP without `worker-src blob:`: say so in the widget, never throw into the host page.
      this.#onFailure('start', error instanceof Error ? error.message : String(error));
      return;
    }
    worker.addEventListener('error', (event) => this.#onFailure('worker', event.message));
    const engine = Comlink.wrap<EngineApi>(worker);
    this.#worker = worker;
    this.#engine = engine;
    this.#replayPending = this.#memoryClicks.length > 0;
    const onSnapshot = (snapshot: EngineSnapshot) => {
      if (engine !== this.#engine) return;
      this.#persisted = snapshot.storage?.persisted;
      this.#replay(snapshot);
      this.#onSnapshot(snapshot);
    };
    engine.start(config, Comlink.proxy(onSnapshot)).catch((error: unknown) => {
      this.#onFailure('engine', error instanceof Error ? error.message : String(error));
    });
  }

  stop(): void {
    this.#engine?.[Comlink.releaseProxy]();
    this.#worker?.terminate();
    this.#engine = undefined;
    this.#worker = undefined;
  }

  setContext(itemId: string | null): void {
    void this.#engine?.setContext(itemId ?? undefined);
  }

  /** A click (or the host's `viewed`) to the engine; kept for the next engine too while it lives in memory only. */
  async recordClick(itemId: string): Promise<void> {
    const engine = this.#engine;
    if (!engine) return;
    const recorded = await engine.record('click', itemId).then(
      () => true,
      () => false, // ids outside the catalog mean nothing here
    );
    if (recorded && engine === this.#engine && this.#persisted === false) {
      this.#memoryClicks.push(itemId);
      if (this.#memoryClicks.length > MEMORY_EVENTS_KEPT) this.#memoryClicks.shift();
    }
  }

  /** Each snapshot of the engine: hands a fresh engine the picks its predecessor held in memory. */
  #replay(snapshot: EngineSnapshot): void {
    if (snapshot.phase !== 'ready') return;
    if (this.#replayPending) {
      this.#replayPending = false;
      const engine = this.#engine;
      const clicks = [...this.#memoryClicks];
      void (async () => {
        for (const itemId of clicks) await engine?.record('click', itemId).catch(() => undefined);
      })();
    } else if (snapshot.storage?.persisted) {
      // Stored now (storage access granted, or a fresh engine that could store them): nothing to carry.
      this.#memoryClicks = [];
    }
  }
}
