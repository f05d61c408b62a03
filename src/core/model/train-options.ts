/**
 * The trainers' data, options and results (trainBpr, trainSoftmax and the asymmetric model's history
 * encoder), with trainSoftmax's defaults. Types only, besides SOFTMAX_DEFAULTS: no TF.js here.
 */

export interface TrainingData {
  userCount: number;
  /** Positive interactions, one per index: user, item and how much it counts (EVENT_WEIGHTS, ratings…). */
  users: Int32Array;
  items: Int32Array;
  weights: Float32Array;
  /** Per user, items that are explicit negatives (disliked, shown and skipped). */
  explicitNegatives?: readonly (readonly number[])[];
  /**
   * Items random negatives are drawn from (default: every item). Evaluation of cold-start items
   * restricts it to items seen in training, so a held-out item never receives a gradient.
   */
  negativePool?: Int32Array;
  /**
   * The asymmetric model (`userFromHistory`) only: each interaction's weight in the user's encoded
   * input, e.g. decayed with its age so recent events count more (default: `weights`). The targets
   * keep `weights`.
   */
  inputWeights?: Float32Array;
}

export interface EpochProgress {
  epoch: number;
  epochs: number;
  /** Mean weighted BPR loss over the epoch's pairs, plus the L2 penalty (what the optimizer minimises). */
  loss: number;
}

export interface TrainOptions {
  epochs: number;
  batchSize?: number;
  learningRate?: number;
  /** L2 on the rows a batch touches (u, q, b) and on W. */
  l2?: number;
  seed?: number;
  /** false: plain BPR-MF, v_i = q_i (W is set to zero). */
  useText?: boolean;
  trainProjection?: boolean;
  trainResiduals?: boolean;
  trainBiases?: boolean;
  trainUsers?: boolean;
  /** Chance of taking an explicit negative (when the user has any) rather than a random unseen item. */
  explicitNegativeRate?: number;
  /** W is trained inside the top-k principal subspace of the embeddings (k = this), which makes a step ~4× cheaper at D = 512. */
  subspace?: number;
  /** Initial user vectors (userCount×d); default small seeded Gaussian values. */
  initialUsers?: Float32Array;
  /** Initial scale of q when it starts at zero and there is no text (MF needs asymmetry to start). */
  initScale?: number;
  onEpoch?: (progress: EpochProgress) => void | Promise<void>;
  signal?: AbortSignal;
  /**
   * Called when a TF.js operation fails mid-training (a lost WebGPU device, a kernel that throws). It
   * should make another backend active (tf.setBackend) and resolve; training then resumes there from
   * the last completed epoch without losing it (see trainBpr). Reject, or leave the failed backend
   * active, to stop with the error. Costs a read-back of the state after every epoch; without it a
   * failure ends training and leaves the model untouched.
   */
  onBackendFailure?: (failure: BackendFailure) => Promise<void>;
}

/**
 * Options of trainSoftmax. `batchSize` counts users (each batch scores its users against every item);
 * `explicitNegativeRate` and `TrainingData.explicitNegatives` do not apply: every item the user did not
 * interact with is a negative, weighted by its predicted probability.
 */
export interface SoftmaxTrainOptions extends Omit<TrainOptions, 'explicitNegativeRate' | 'epochs'> {
  /** Default: SOFTMAX_DEFAULTS.epochs (every option left out takes SOFTMAX_DEFAULTS' value, if it has one). */
  epochs?: number;
  /** L2 on W (SOFTMAX_DEFAULTS: 1e-4). */
  l2Projection?: number;
  /**
   * The learning rate over the epochs: 'constant' (default), or 'cosine': epoch e (0-based) of E runs at
   * learningRate · (1 + cos(π·e/E)) / 2, from the full rate down toward 0.
   */
  schedule?: 'constant' | 'cosine';
  /** L2 on the user vectors (default: `l2`); `l2` then applies to q. */
  l2Users?: number;
  /**
   * Frequency-scaled L2 on the item rows q_i (and p_i): item i's penalty is multiplied by
   * f_i = (c_i + 1)^β / mean_j (c_j + 1)^β, c_i its training interactions, so the mean weight stays 1
   * and `l2` keeps its scale. β > 0 pulls popular items' rows harder (what per-occurrence SGD
   * regularisation does), β < 0 rare ones' (they lean on their text). Default 0: uniform.
   */
  l2FrequencyPower?: number;
  /**
   * The asymmetric model: no free user vectors; a user's vector is computed from their history,
   *   u = (Σ_{j∈I_u} w_uj)^−α · Σ_{j∈I_u} w_uj · y_j,   y_j = W'·e_j + p_j
   * with a second projection W' (trained in the same subspace as W, starting from W) and a second
   * residual table p (starting at 0). On a device u then follows from the history after every event
   * (`userFromHistory`). The result's `historyEncoder` holds W', p and the y_j.
   */
  userFromHistory?: HistoryEncoderOptions;
}

export interface HistoryEncoderOptions {
  /** α of the normalisation (Σ w)^−α: 0.5 as Mult-DAE's L2-normalised input, 1 a mean. Default 0.5. */
  alpha?: number;
  /**
   * Chance that a history item is left out of a training step's input (it stays in the step's
   * targets), drawn per user and step, as Mult-DAE's input dropout: the model must predict items
   * from the others rather than copy its input. Default 0.
   */
  dropout?: number;
  /**
   * The target weight, relative to the others, of the history items a step kept in its input (κ):
   * 1 (the default) trains every history item as a target, as Mult-DAE; 0 only the dropped ones, so
   * the model is asked only what a ranking asks, items it was not shown, never to copy its input.
   */
  keptTargetWeight?: number;
  /** L2 on p (default: the options' `l2`, as on q). */
  l2?: number;
  /**
   * Also a free user vector, added to the encoded one (SVD++-style: u = u_free + (Σ w)^−α Σ w·y_j);
   * u_free is trained as without the encoder. Default false.
   */
  free?: boolean;
  /**
   * A hidden layer of this many tanh units (Mult-DAE's non-linearity): y_j then has `hidden`
   * components and u = M·tanh((Σ w)^−α Σ w·y_j + c), M d×hidden, c a bias; W' (hidden×k in the
   * subspace) starts as [W; small seeded Gaussian rows] and M as [I 0], near the linear encoder; p and c at 0. Needs the text and a
   * trained projection. Default 0: the linear encoder.
   */
  hidden?: number;
}

/** The trained history encoder of the asymmetric model (trainSoftmax with `userFromHistory`). */
export interface HistoryEncoder {
  /** W', d×D row-major. */
  W: Float32Array;
  /** p, itemCount×d. */
  p: Float32Array;
  /** y_j = W'·e_j + p_j, itemCount×d. */
  vectors: Float32Array;
  alpha: number;
  /** With `free`: the free user vectors (userCount×d), the part of `userVectors` not from the history. */
  free?: Float32Array;
  /** With `hidden`: W' is hidden×D, p and the y_j itemCount×hidden, and u = M·tanh(mean-ish of y + c). */
  hidden?: { size: number; M: Float32Array; c: Float32Array };
}

/**
 * trainSoftmax's defaults (options given override them): the settings chosen with the quality bench's
 * --validate mode on MovieLens-100K (validation splits carved from the training data, never the test
 * users; docs/benchmarks.md records the figures). Another catalog may want its own; they are a start.
 */
export const SOFTMAX_DEFAULTS = {
  epochs: 30,
  batchSize: 128,
  learningRate: 0.03,
  /** 0.05 won on the temporal and leave-one-out splits, 0.15 on the Recommenders random split. */
  l2: 0.05,
  l2Projection: 1e-4,
  /**
   * No free per-item bias: popularity then has to come through u·(W·e_i + q_i), so W learns to read
   * it from the text and a new item (q = 0, b = 0) gets a popularity prior; with b free, b takes
   * popularity and new items lose it (the validation runs in docs/benchmarks.md).
   */
  trainBiases: false,
} as const satisfies SoftmaxTrainOptions;

export interface TrainResult {
  /** userCount×d, row-major. */
  userVectors: Float32Array;
  losses: number[];
  /**
   * With `userFromHistory`: the trained history encoder; `userVectors` are then computed from each
   * user's training history (plus the free part, with `free`, which is `historyEncoder.free`).
   */
  historyEncoder?: HistoryEncoder;
}

/** What a caller of trainBpr learns when the active backend failed mid-training. */
export interface BackendFailure {
  /** The TF.js backend that failed (tf.getBackend() at the time). */
  backend: string;
  error: unknown;
  /** The epoch that failed (1-based); training resumes at its start. */
  epoch: number;
  /** Epochs completed and kept (their losses are `losses`). */
  completedEpochs: number;
  losses: number[];
}
