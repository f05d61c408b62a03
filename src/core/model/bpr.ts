/**
 * BPR (Rendle et al., 2009) in plain typed-array math: the loss of one (positive, negative) pair, its
 * gradient, and the online step that runs after every event in milliseconds. The mini-batch trainer
 * for whole histories and many users is train.ts (TF.js); both minimise the same loss.
 */
import type { EventKind } from '../events';
import type { HybridModel } from './hybrid';
import { sigmoid } from './ranker';

/**
 * How much one event of each kind counts as a positive (like > click > view); a dislike is not a
 * weak positive but an explicit negative, with this weight on the pairs it enters.
 */
export const EVENT_WEIGHTS: Readonly<Record<EventKind, number>> = {
  like: 1.0,
  click: 0.5,
  view: 0.1,
  dislike: 1.0,
  // Not an event on an item: each of a chosen genre's most popular books enters the fine-tune as this weak a like.
  genre: 0.3,
};

export interface PairInput {
  user: Float32Array;
  positive: Float32Array;
  negative: Float32Array;
  positiveBias: number;
  negativeBias: number;
}

export interface PairGradient {
  loss: number;
  user: Float32Array;
  positive: Float32Array;
  negative: Float32Array;
  positiveBias: number;
  negativeBias: number;
}

/** x = u·(v_p − v_n) + b_p − b_n: how much more the user should like the positive. */
export function pairMargin({ user, positive, negative, positiveBias, negativeBias }: PairInput): number {
  let x = positiveBias - negativeBias;
  for (let f = 0; f < user.length; f++) x += user[f]! * (positive[f]! - negative[f]!);
  return x;
}

/** −ln σ(x), computed without overflow for large |x|. */
export function bprLoss(input: PairInput): number {
  const x = pairMargin(input);
  return x >= 0 ? Math.log1p(Math.exp(-x)) : -x + Math.log1p(Math.exp(x));
}

/** Loss and its gradient w.r.t. u, v_p, v_n, b_p, b_n (without regularisation). dL/dx = −σ(−x). */
export function bprGradient(input: PairInput): PairGradient {
  const x = pairMargin(input);
  const g = -sigmoid(-x);
  const d = input.user.length;
  const user = new Float32Array(d);
  const positive = new Float32Array(d);
  const negative = new Float32Array(d);
  for (let f = 0; f < d; f++) {
    user[f] = g * (input.positive[f]! - input.negative[f]!);
    positive[f] = g * input.user[f]!;
    negative[f] = -g * input.user[f]!;
  }
  return { loss: bprLoss(input), user, positive, negative, positiveBias: g, negativeBias: -g };
}

export interface OnlineStepOptions {
  learningRate?: number;
  /** L2 on u (and on touched q, b). */
  l2?: number;
  /** Also move the local copy of q and b for the items in the pairs (they become part of this device's delta). */
  updateItems?: boolean;
  /** Passes over the pairs; a few passes make one like visibly move the feed. */
  passes?: number;
}

export interface OnlineEvent {
  kind: EventKind;
  item: number;
}

export interface OnlineContext {
  /** Items shown and skipped recently: the preferred negatives for a positive event. */
  skipped: readonly number[];
  /** Items the user liked or clicked recently: the positives a dislike is paired against. */
  recentPositives: readonly number[];
  /** Random items the user never interacted with (the caller samples them). */
  randomUnseen: readonly number[];
}

/**
 * One online update after an event, in place on `user` (and on model.q / model.b rows when
 * updateItems). Positive events are paired against skipped and random unseen items; a dislike is the
 * negative of pairs against recent positives, or, with none yet, against random unseen items (it
 * should at least rank below the average unseen item). Returns the mean pair loss before the step.
 */
export function onlineStep(model: HybridModel, user: Float32Array, event: OnlineEvent, context: OnlineContext, options: OnlineStepOptions = {}): number {
  const learningRate = options.learningRate ?? 0.1;
  const l2 = options.l2 ?? 0.01;
  const passes = options.passes ?? 3;
  const weight = EVENT_WEIGHTS[event.kind];
  const pairs: [number, number][] = [];
  if (event.kind === 'dislike') {
    const partners = context.recentPositives.length > 0 ? context.recentPositives : context.randomUnseen;
    for (const positive of partners) if (positive !== event.item) pairs.push([positive, event.item]);
  } else {
    for (const negative of [...context.skipped, ...context.randomUnseen]) {
      if (negative !== event.item) pairs.push([event.item, negative]);
    }
  }
  if (pairs.length === 0) return 0;
  const d = model.factors;
  const vectors = model.itemVectors();
  const touched = new Set<number>();
  let firstLoss = 0;
  for (let pass = 0; pass < passes; pass++) {
    let lossSum = 0;
    const userGradient = new Float32Array(d);
    for (const [p, n] of pairs) {
      const input: PairInput = {
        user,
        positive: vectors.subarray(p * d, (p + 1) * d),
        negative: vectors.subarray(n * d, (n + 1) * d),
        positiveBias: model.b[p]!,
        negativeBias: model.b[n]!,
      };
      const gradient = bprGradient(input);
      lossSum += gradient.loss;
      for (let f = 0; f < d; f++) userGradient[f]! += gradient.user[f]!;
      if (options.updateItems) {
        const step = (learningRate * weight) / pairs.length;
        for (let f = 0; f < d; f++) {
          model.q[p * d + f]! -= step * (gradient.positive[f]! + l2 * model.q[p * d + f]!);
          model.q[n * d + f]! -= step * (gradient.negative[f]! + l2 * model.q[n * d + f]!);
        }
        model.b[p]! -= step * (gradient.positiveBias + l2 * model.b[p]!);
        model.b[n]! -= step * (gradient.negativeBias + l2 * model.b[n]!);
        touched.add(p).add(n);
      }
    }
    // Mean over pairs, so the step size does not grow with the number of negatives.
    for (let f = 0; f < d; f++) {
      user[f]! -= learningRate * weight * (userGradient[f]! / pairs.length + l2 * user[f]!);
    }
    if (touched.size > 0) model.invalidate(touched);
    if (pass === 0) firstLoss = lossSum / pairs.length;
  }
  return firstLoss;
}
