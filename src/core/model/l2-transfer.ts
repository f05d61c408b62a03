import type { SoftmaxTrainOptions } from './train';

/**
 * Carrying trainSoftmax's L2 settings from the data they were chosen on to a training set of another
 * size. trainSoftmax's loss is a mean over a batch's interactions while its L2 terms have a fixed size
 * per step, so the same L2 weighs more against the data the more data each user has; a MAP estimate
 * weighs its prior as 1/N of the summed likelihood. Settings chosen with N₁ training interactions are
 * therefore multiplied by N₁/N for N (docs/benchmarks.md, "L2 transfer", has the nested validation that
 * checked it). trainBpr needs none: its L2 is paid per training pair, so it grows with the data by itself.
 */
export function l2TransferFactor(chosenWithInteractions: number, trainingInteractions: number): number {
  if (!(chosenWithInteractions > 0 && trainingInteractions > 0)) throw new RangeError('interaction counts must be positive');
  return chosenWithInteractions / trainingInteractions;
}

/** The options with every L2 (on u, q, W and the history encoder's p) multiplied by `factor`; the rest unchanged. */
export function withL2Scaled<T extends SoftmaxTrainOptions>(options: T, factor: number): T {
  if (factor === 1) return options;
  const scale = (x: number | undefined): number | undefined => (x === undefined ? undefined : x * factor);
  return {
    ...options,
    l2: scale(options.l2),
    l2Projection: scale(options.l2Projection),
    l2Users: scale(options.l2Users),
    ...(options.userFromHistory ? { userFromHistory: { ...options.userFromHistory, l2: scale(options.userFromHistory.l2) } } : {}),
  };
}
