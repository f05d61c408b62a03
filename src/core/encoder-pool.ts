/**
 * Several copies of one encoder, each in a worker of its own, sharing every batch: how a WASM runtime
 * that cannot use threads here gets more than one core. TF.js's WASM backend runs one thread
 * (engine/backend.ts), and so does ONNX Runtime Web where the page is not cross-origin isolated.
 * Measured in Chromium on 2 cores (`npm run bench -- encoders`, docs/models.md): USE Lite on 2 copies 87-99
 * items/s against 56-63 on one. Where ONNX Runtime can thread, one copy on every core does as well as
 * two copies of one thread at the app's batches (MiniLM q8: 82.5 against 80.2) with half the memory.
 *
 * A request of one run or less (a query) goes to the least busy copy, so a query typed while the
 * catalog embeds does not wait behind a whole batch when another copy is free.
 */
import { RUN_SIZE, type SentenceEncoder } from './encoder';
import type { TextRole } from './encoder-registry';

/** How long after the user's last action batches stay on one copy (EncoderPool.userActive). */
export const USER_ACTIVE_MS = 3000;

/** An encoder that may own a worker to end. */
export type PoolMember = SentenceEncoder & { dispose?(): void };

/** Copies of an encoder, and WASM threads per copy, for a device. */
export interface PoolPlan {
  copies: number;
  threads: number;
}

/** At most this many logical cores go to the encoder (the page and the engine's worker need the rest on big machines). */
export const MAX_ENCODER_CORES = 4;
/**
 * At most this many copies: each holds the whole model and its runtime's memory (measured in Chromium,
 * per encoder worker: USE Lite on TF.js wasm 93-104 MB, MiniLM q8 on ONNX Runtime 124 MB).
 */
export const MAX_ENCODER_COPIES = 2;
/** Below this much device memory (navigator.deviceMemory, in GiB, as coarsely rounded as the browser reports it), one copy. */
export const MIN_MEMORY_GIB_FOR_COPIES = 4;

/**
 * How to run a WASM encoder on `cores` logical cores (at most MAX_ENCODER_CORES of them): where the
 * runtime can thread (ONNX Runtime, and only when cross-origin isolated: threads need
 * SharedArrayBuffer), one copy with a thread per core; where it cannot (TF.js; ONNX Runtime in a host
 * page that is not isolated), up to MAX_ENCODER_COPIES copies of one thread. A device that says it has
 * little memory (`memoryGiB`, when the browser tells) gets one copy.
 */
export function encoderPoolPlan(cores: number, canThread: boolean, memoryGiB?: number): PoolPlan {
  const budget = Math.max(1, Math.min(Math.floor(cores) || 1, MAX_ENCODER_CORES));
  if (canThread) return { copies: 1, threads: budget };
  const copies = memoryGiB !== undefined && memoryGiB < MIN_MEMORY_GIB_FOR_COPIES ? 1 : Math.min(MAX_ENCODER_COPIES, budget);
  return { copies, threads: 1 };
}

export class EncoderPool<Member extends PoolMember = PoolMember> implements SentenceEncoder {
  readonly id: string;
  readonly dimension: number;
  private readonly members: Member[] = [];
  /** Requests in flight per member, for routing a request that is not split. */
  private readonly busy = new Map<Member, number>();
  /** Copies taken out of the pool while busy: ended when their last request settles. */
  private readonly retiring = new Set<Member>();
  private disposed = false;
  /** Copies still loading (grow). */
  private readonly loading: Promise<void>[] = [];
  /** How the copies beyond the first were started, to start them again after standBy. */
  private growth?: { count: number; start: () => Promise<Member>; onError?: (error: unknown) => void };
  private standingBy = false;
  /** Counts stand-bys: a copy that finishes loading after one (started before it) is not wanted. */
  private epoch = 0;
  /** Until then (clock time), batches go to the first copy only: the user is acting (userActive). */
  private quietUntil = -Infinity;

  constructor(
    first: Member,
    /** Texts per model run (the members' own run size: a member is given whole runs). */
    private readonly runSize = RUN_SIZE,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.id = first.id;
    this.dimension = first.dimension;
    this.add(first);
  }

  /** The copies, in the order they joined. */
  get copies(): readonly Member[] {
    return this.members;
  }

  /** A copy that finished loading after the pool started: it takes part from the next batch on. */
  add(member: Member): void {
    if (member.id !== this.id || member.dimension !== this.dimension) {
      throw new Error(`${member.id} (${member.dimension}-d) cannot join a pool of ${this.id} (${this.dimension}-d)`);
    }
    if (this.disposed) {
      member.dispose?.();
      return;
    }
    this.members.push(member);
    this.busy.set(member, 0);
  }

  /**
   * Starts `count` more copies with `start`, adding each as it loads; the pool serves meanwhile. A
   * copy that fails to load is left out (`onError` hears why): the pool works with those it has.
   * Resolves when every start has settled.
   */
  grow(count: number, start: () => Promise<Member>, onError?: (error: unknown) => void): Promise<void> {
    this.growth = { count: (this.growth?.count ?? 0) + count, start, ...(onError ? { onError } : {}) };
    const epoch = this.epoch;
    const growing = Promise.all(
      Array.from({ length: count }, async () => {
        try {
          const member = await start();
          // The pool stood by while it loaded (and may have resumed with copies of its own): not needed.
          if (epoch !== this.epoch) member.dispose?.();
          else this.add(member);
        } catch (error) {
          onError?.(error);
        }
      }),
    ).then(() => undefined);
    this.loading.push(growing);
    return growing;
  }

  /** Resolves when every copy asked for so far has joined or failed (benchmarks time a full pool). */
  async settled(): Promise<void> {
    await Promise.all(this.loading);
  }

  /**
   * For USER_ACTIVE_MS from now, a batch runs on the first copy alone, which leaves the other cores to
   * the engine's answer and another copy free for a query (a request of one run still goes to the least
   * busy copy). With every core reading, a Like or a search while the catalog was read on two cores
   * took longer (`npm run bench -- browser`, docs/benchmarks.md runs AE).
   */
  userActive(): void {
    this.quietUntil = this.now() + USER_ACTIVE_MS;
  }

  async embedBatch(texts: readonly string[], role?: TextRole): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    const copies = this.now() < this.quietUntil ? 1 : this.members.length;
    const shares = shareRuns(texts, this.runSize, copies);
    if (shares.length === 1) return this.run(texts.length > this.runSize ? this.members[0] : this.leastBusy(), texts, role);
    const members = [...this.members];
    const vectors = new Array<Float32Array>(texts.length);
    await Promise.all(
      shares.map(async (indices, member) => {
        const embedded = await this.run(
          members[member],
          indices.map((index) => texts[index]!),
          role,
        );
        indices.forEach((index, k) => (vectors[index] = embedded[k]!));
      }),
    );
    return vectors;
  }

  /**
   * The model is no longer the one in use (kept so that switching back is quick): every copy but the
   * first is ended, which frees its memory (~100 MB each), and started again by resume.
   */
  standBy(): void {
    if (this.standingBy || this.disposed) return;
    this.standingBy = true;
    this.epoch++;
    for (const member of this.members.splice(1)) this.retire(member);
  }

  resume(): void {
    if (!this.standingBy || this.disposed) return;
    this.standingBy = false;
    const growth = this.growth;
    if (!growth) return;
    this.growth = undefined;
    void this.grow(growth.count - (this.members.length - 1), growth.start, growth.onError);
  }

  /** Ends every copy, and any that finishes loading later. */
  dispose(): void {
    this.disposed = true;
    for (const member of this.members.splice(0)) this.retire(member);
  }

  /** Ends a copy taken out of the pool, at once if idle, else when its requests settle (a worker ended mid-request would never answer). */
  private retire(member: Member): void {
    if ((this.busy.get(member) ?? 0) === 0) {
      this.busy.delete(member);
      member.dispose?.();
    } else this.retiring.add(member);
  }

  private leastBusy(): Member | undefined {
    let best: Member | undefined;
    for (const member of this.members) if (!best || this.busy.get(member)! < this.busy.get(best)!) best = member;
    return best;
  }

  private async run(member: Member | undefined, texts: readonly string[], role?: TextRole): Promise<Float32Array[]> {
    if (!member) throw new Error('The text model was closed');
    this.busy.set(member, (this.busy.get(member) ?? 0) + 1);
    try {
      return await member.embedBatch(texts, role);
    } finally {
      const left = this.busy.get(member)! - 1;
      this.busy.set(member, left);
      if (left === 0 && this.retiring.delete(member)) this.retire(member);
    }
  }
}

/**
 * Splits a batch between `members` encoders: the texts sorted by length and cut into runs of
 * `runSize` (as each member would cut them itself: see embedInLengthSortedRuns), each run, longest
 * first, given to the member with the least work so far (a run costs about its size times its longest
 * text, padding included). A share lists indices into `texts` in ascending length, so the member's own
 * sort keeps the runs as cut here. One share per member that has work; a batch of one run is not split.
 */
export function shareRuns(texts: readonly string[], runSize: number, members: number): number[][] {
  if (members <= 1 || texts.length <= runSize) return [texts.map((_, index) => index)];
  const order = texts.map((_, index) => index).sort((a, b) => texts[a]!.length - texts[b]!.length);
  const runs: number[][] = [];
  for (let start = 0; start < order.length; start += runSize) runs.push(order.slice(start, start + runSize));
  const shares: number[][][] = Array.from({ length: Math.min(members, runs.length) }, () => []);
  const load = new Array<number>(shares.length).fill(0);
  for (let r = runs.length - 1; r >= 0; r--) {
    const run = runs[r]!;
    let target = 0;
    for (let member = 1; member < load.length; member++) if (load[member]! < load[target]!) target = member;
    shares[target]!.unshift(run);
    load[target]! += run.length * Math.max(1, texts[run[run.length - 1]!]!.length);
  }
  return shares.map((share) => share.flat());
}
