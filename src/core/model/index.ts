/**
 * The on-device model's public surface, for the engine (worker) and the CLIs:
 *   HybridModel         parameters W, q, b + ranker; scoreAll(u); getParams()/setParams(params, itemIds?)
 *   onlineStep          after each event: moves u (and optionally touched q/b) in place, milliseconds
 *   fineTuneUser        periodic fine-tune over the local history (TF.js), loss per epoch
 *   trainSoftmax        global training over many users: multinomial likelihood over every item (TF.js, tf.train.adam)
 *   trainBpr            the same parameters trained with sampled BPR pairs (also the fine-tune's loss)
 *   concatModels        an ensemble of hybrid models as one hybrid model (K·d factors, one scoreAll)
 *   rankFeed            filters, query blend, ranker features, feed rules, MMR, explanations (explain.ts)
 */
export { EVENT_WEIGHTS, bprGradient, bprLoss, onlineStep, type OnlineContext, type OnlineEvent, type OnlineStepOptions } from './bpr';
export {
  DEFAULT_FACTORS,
  HybridModel,
  ModelParamsError,
  PARAM_B,
  PARAM_Q,
  PARAM_RANKER_BIAS,
  PARAM_RANKER_WEIGHTS,
  PARAM_W,
  type HybridModelInit,
} from './hybrid';
export { concatModels, concatUsers, type EnsembleMember } from './ensemble';
export { principalDirections } from './pca';
export {
  DEFAULT_RANKER_WEIGHTS,
  LogisticRanker,
  MIN_CLICKS_TO_TRAIN,
  MIN_IMPRESSIONS_TO_TRAIN,
  RANKER_FEATURES,
  type Impression,
} from './ranker';
export { explainPool, MIN_LIKED_SHARE, UserDecomposition } from './explain';
export {
  blendQuery,
  candidateMask,
  lexicalScore,
  mmr,
  rankFeed,
  type Anchor,
  type FeedItem,
  type FeedQuery,
  type FeedRequest,
  type Reason,
} from './ranking';
export {
  encodeUser,
  fineTuneUser,
  SOFTMAX_DEFAULTS,
  trainBpr,
  trainSoftmax,
  type BackendFailure,
  type EpochProgress,
  type FineTuneOptions,
  type HistoryEncoder,
  type HistoryEncoderOptions,
  type HistoryEvent,
  type SoftmaxTrainOptions,
  type TrainingData,
  type TrainOptions,
  type TrainResult,
} from './train';
