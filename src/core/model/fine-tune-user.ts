/**
 * The periodic fine-tune over one user's local history on the device: trainBpr or trainSoftmax for a
 * single user, W fixed (it is shared).
 */
import type { EventKind } from '../events';
import { EVENT_WEIGHTS } from './bpr';
import type { HybridModel } from './hybrid';
import { trainBpr, trainSoftmax } from './train';
import type { BackendFailure, EpochProgress } from './train-options';

export interface HistoryEvent {
  kind: EventKind;
  item: number;
}

export interface FineTuneOptions {
  epochs?: number;
  learningRate?: number;
  l2?: number;
  seed?: number;
  /** Items shown and skipped: explicit negatives (the BPR objective; the softmax one has every item in its normaliser). */
  skipped?: readonly number[];
  /** Also fine-tune the local copy of q and b (default true; the BPR objective only). */
  updateItems?: boolean;
  /**
   * 'bpr' (default): sampled pairs against skipped, disliked and random items, as the online steps.
   * 'softmax': u alone, with trainSoftmax's multinomial likelihood over every item (the objective the
   * global model was trained with), the item side fixed; a dislike is a negative target. On
   * MovieLens-100K's Recommenders validation split it ranks as well as the centrally trained user
   * vectors (docs/benchmarks.md, "On the device").
   */
  objective?: 'bpr' | 'softmax';
  /**
   * The softmax objective only: the history is in time order, and an event's weight decays with how
   * many events came after it, × floor + (1 − floor)·2^(−r/halfLife) (the quality bench's target
   * recency). Default USER_SOFTMAX_DEFAULTS.recency; null: every event by its kind alone.
   */
  recency?: { halfLife: number; floor: number } | null;
  onEpoch?: (progress: EpochProgress) => void | Promise<void>;
  signal?: AbortSignal;
  /** See TrainOptions.onBackendFailure: resume on another backend after a failure, keeping the epochs done. */
  onBackendFailure?: (failure: BackendFailure) => Promise<void>;
}

/**
 * The periodic fine-tune over one user's whole local history: W stays fixed (it is shared), u is
 * trained, and by default the local q and b too. Returns the new user vector (the input is untouched)
 * and the loss per epoch for the "Model" panel's chart.
 */
export async function fineTuneUser(
  model: HybridModel,
  user: Float32Array,
  history: readonly HistoryEvent[],
  options: FineTuneOptions = {},
): Promise<{ user: Float32Array; losses: number[] }> {
  const positives = history.filter((event) => event.kind !== 'dislike');
  if (positives.length === 0) return { user: Float32Array.from(user), losses: [] };
  if (options.objective === 'softmax') return fineTuneUserSoftmax(model, user, history, options);
  const negatives = [...history.filter((event) => event.kind === 'dislike').map((event) => event.item), ...(options.skipped ?? [])];
  const updateItems = options.updateItems ?? true;
  const result = await trainBpr(
    model,
    {
      userCount: 1,
      users: new Int32Array(positives.length),
      items: Int32Array.from(positives, (event) => event.item),
      weights: Float32Array.from(positives, (event) => EVENT_WEIGHTS[event.kind]),
      explicitNegatives: [negatives],
    },
    {
      epochs: options.epochs ?? 30,
      batchSize: 256,
      learningRate: options.learningRate ?? 0.05,
      l2: options.l2 ?? 1e-3,
      seed: options.seed ?? 7,
      useText: true,
      trainProjection: false,
      trainResiduals: updateItems,
      trainBiases: updateItems,
      trainUsers: true,
      initialUsers: Float32Array.from(user),
      explicitNegativeRate: 0.5,
      ...(options.onEpoch ? { onEpoch: options.onEpoch } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onBackendFailure ? { onBackendFailure: options.onBackendFailure } : {}),
    },
  );
  return { user: result.userVectors, losses: result.losses };
}

/**
 * Defaults of fineTuneUser's softmax objective, chosen on MovieLens-100K validation splits
 * (docs/benchmarks.md, "On the device", has the figures): epochs, learning rate and L2 each against
 * their neighbours; recency (the central trainer's target recency on the temporal protocols) helps the
 * next-item protocol and costs a little on the random split, where there is no "next".
 */
export const USER_SOFTMAX_DEFAULTS = { epochs: 40, learningRate: 0.1, l2: 0.2, recency: { halfLife: 10, floor: 0.25 } } as const;

/**
 * fineTuneUser with the softmax objective: trainSoftmax for one user, only u trained. Dislikes are
 * negative targets, their total held to half the positives' so the likelihood keeps a maximum.
 */
async function fineTuneUserSoftmax(
  model: HybridModel,
  user: Float32Array,
  history: readonly HistoryEvent[],
  options: FineTuneOptions,
): Promise<{ user: Float32Array; losses: number[] }> {
  const recency = options.recency === undefined ? USER_SOFTMAX_DEFAULTS.recency : options.recency;
  if (recency && !(recency.halfLife > 0 && recency.floor >= 0 && recency.floor <= 1)) throw new RangeError('recency needs halfLife > 0 and floor in [0, 1]');
  const weights = history.map(
    (event, index) =>
      EVENT_WEIGHTS[event.kind] * (recency ? recency.floor + (1 - recency.floor) * Math.pow(2, -(history.length - 1 - index) / recency.halfLife) : 1),
  );
  const positiveWeight = weights.reduce((sum, w, k) => (history[k]!.kind === 'dislike' ? sum : sum + w), 0);
  const dislikeWeight = weights.reduce((sum, w, k) => (history[k]!.kind === 'dislike' ? sum + w : sum), 0);
  const dislikeScale = dislikeWeight > 0 ? Math.min(1, (0.5 * positiveWeight) / dislikeWeight) : 0;
  const result = await trainSoftmax(
    model,
    {
      userCount: 1,
      users: new Int32Array(history.length),
      items: Int32Array.from(history, (event) => event.item),
      weights: Float32Array.from(history, (event, k) => (event.kind === 'dislike' ? -dislikeScale : 1) * weights[k]!),
    },
    {
      epochs: options.epochs ?? USER_SOFTMAX_DEFAULTS.epochs,
      batchSize: 1,
      learningRate: options.learningRate ?? USER_SOFTMAX_DEFAULTS.learningRate,
      l2: options.l2 ?? USER_SOFTMAX_DEFAULTS.l2,
      seed: options.seed ?? 7,
      useText: true,
      trainProjection: false,
      trainResiduals: false,
      trainBiases: false,
      trainUsers: true,
      initialUsers: Float32Array.from(user),
      ...(options.onEpoch ? { onEpoch: options.onEpoch } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onBackendFailure ? { onBackendFailure: options.onBackendFailure } : {}),
    },
  );
  return { user: result.userVectors, losses: result.losses };
}
