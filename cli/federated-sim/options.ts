/**
 * The command-line options of cli/bench-federated.ts (`npm run bench -- federated [--secure-agg]`): the local-noise
 * simulation's and, under --secure-agg, the secure-aggregation bench's. Their defaults and why are documented here.
 */
import { DEFAULT_PER_EPSILON } from '../secure-agg/per-epsilon';

export const FEDERATED_OPTIONS = {
  data: { type: 'string', default: '../shared/data/ml-100k' },
  rounds: { type: 'string', default: '1' },
  fraction: { type: 'string', default: '1' },
  epsilons: { type: 'string', default: 'inf,8,4,1' },
  'max-participations': { type: 'string', default: '1' },
  /** The local-noise export's clip C (default 1); with --secure-agg and no --secure-clip, also the secure runs'. */
  clip: { type: 'string' },
  'local-epochs': { type: 'string', default: '5' },
  'local-lr': { type: 'string', default: '0.05' },
  /** Chosen at ε = 8 on the validation split (W only, one round of all devices): k = 32: 20 → NDCG@10 0.160, 40 → 0.157; k = 64: 5 → 0.151, 20 → 0.158, 60 → 0.156. */
  'server-lr': { type: 'string', default: '20' },
  'fit-epochs': { type: 'string', default: '10' },
  'fit-lr': { type: 'string', default: '0.1' },
  l2: { type: 'string', default: '0.01' },
  factors: { type: 'string', default: '32' },
  'text-dim': { type: 'string', default: '32' },
  'central-epochs': { type: 'string', default: '3' },
  'attack-clients': { type: 'string', default: '20' },
  'attack-sigma': { type: 'string', default: '5' },
  /**
   * Clip groups and their shares of C² (settings.clipShares in the app), e.g. "W+q:0.5,b:0.5"; "none" for
   * one global clip. Default: W takes the whole norm budget, the rest is exported as pure noise.
   */
  'clip-shares': { type: 'string', default: 'W:1,*:0' },
  /** Which shared tensors the devices train and export (the others stay at the global value). */
  shared: { type: 'string', default: 'W,q,b' },
  /**
   * Which averaged tensors the server applies ("all": every one it receives). A tensor whose clip share is 0
   * arrives as pure noise; dropping it is post-processing, and spares the 3-SD test its false positives.
   */
  'server-keep': { type: 'string', default: 'W' },
  /** Server-side denoising of the averaged update: james-stein (post-processing, no privacy cost) or none. */
  shrink: { type: 'string' },
  json: { type: 'string' },
  svg: { type: 'string', default: 'docs/federated-curve.svg' },
  seed: { type: 'string', default: '42' },
  /**
   * Evaluate on a validation split instead of the test users' held-out items: each user's latest
   * *training* interaction is held out (ranked among 99 items the user never interacted with, the
   * test item excluded) and the devices train on the rest. Hyperparameters are chosen this way,
   * never on the test items.
   */
  validation: { type: 'boolean', default: false },
  /** Secure aggregation with distributed noise (cli/secure-agg/bench.ts); the options below apply to it only. */
  'secure-agg': { type: 'boolean', default: false },
  /**
   * The secure runs' defaults (stop 30), chosen on --validation with --sum-noise gaussian at ε = 8
   * (docs/secure-aggregation.md, "Closing the ε = 8 gap"): devices export W, q and b, the server shrinks q row by
   * row (James–Stein per item), 5 rounds, 10 local epochs, C = 0.5, server lr 120; the protocol itself at that
   * length then gave 0.3308 on the test split, 93.7 % of central BPR (docs). Before: W, b, 3 rounds, 5 epochs,
   * C = 1, lr 60. ε = 1 collapses with these (q's rows are noise at z = 9): it runs its own settings, chosen on
   * validation, through --secure-per-epsilon (cli/secure-agg/per-epsilon.ts), so one run covers ∞, 8 and 1.
   */
  'secure-rounds': { type: 'string', default: '5' },
  'secure-epsilons': { type: 'string', default: 'inf,8,1' },
  /** Each ε's own settings over the flags above, default: per-epsilon.ts DEFAULT_PER_EPSILON ('' for none). */
  'secure-per-epsilon': { type: 'string', default: DEFAULT_PER_EPSILON },
  /** The dropout check's round also runs the consistency round (signed survivor lists, sampled check). */
  'dropout-consistency': { type: 'string', default: 'on' },
  /** More points of the ε curve, with the sum's noise simulated instead of the protocol run (the protocol costs ~1 CPU-minute a round). */
  'curve-epsilons': { type: 'string', default: '16,4,2' },
  'secure-server-lr': { type: 'string', default: '120' },
  /** protocol: every device runs encodeForSum and the protocol (the reported figures); gaussian: the sum's noise simulated (sweeps). */
  'sum-noise': { type: 'string', default: 'protocol' },
  'secure-svg': { type: 'string', default: 'docs/secure-aggregation-curve.svg' },
  'secure-softmax': { type: 'boolean', default: true },
  'dropout-check': { type: 'string', default: '0.3' },
  /** What the secure runs' devices export (among --shared). */
  'secure-shared': { type: 'string', default: 'W,q,b' },
  'cost-devices': { type: 'string', default: '42' },
  /** What the secure runs' devices train locally (the rest stays at the global value); among --shared. */
  'secure-local-train': { type: 'string', default: 'W,q,b' },
  'secure-local-epochs': { type: 'string', default: '10' },
  /** The secure runs' clip C (default: --clip when given, else 0.5). */
  'secure-clip': { type: 'string' },
  /** The secure runs' server denoising: rows (James–Stein per row of q, per tensor for the rest), james-stein or none (default: --shrink when given, else rows). */
  'secure-shrink': { type: 'string' },
  /** Per-group clipping of the secure runs' deltas, e.g. "W+b:0.5,q:0.5" ("none": encodeForSum's one global clip). */
  'secure-clip-shares': { type: 'string', default: 'none' },
  /** The secure runs export q for this many items only (the highest published b; "all": every row). */
  'secure-q-rows': { type: 'string', default: 'all' },
  /** --shrink rows: how many noise standard deviations a row's squared norm must clear to be kept. */
  'row-threshold': { type: 'string', default: '0' },
  'secure-local-lr': { type: 'string' },
  /** The server's optimizer on the (denoised) mean update: sgd (FedAvg), momentum (FedAvgM), adam (FedAdam, Reddi et al. 2021). */
  'server-opt': { type: 'string', default: 'sgd' },
  'server-momentum': { type: 'string', default: '0.9' },
  /** FedAdam's adaptivity τ (the ε of Adam; Reddi et al. tune it in 1e-3…1). */
  'server-adam-tau': { type: 'string', default: '1e-3' },
  /**
   * Diagnostic: train the simulation's own model centrally (the same typed-array SGD, loss and
   * parametrisation, one pass over every user per epoch, user vectors kept) and print NDCG@10 per epoch:
   * "W,b:5" trains W and b for 5 epochs. Shows how much of the federated gap is the model (k, no q) and
   * how much the federated procedure.
   */
  'sim-central': { type: 'string' },
} as const;
