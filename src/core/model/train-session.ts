/**
 * A training run's state on the active TF.js backend (variables, constants, the optimizer), and its
 * checkpoint read back as arrays: what lets a run resume on another backend after a failure.
 */
import * as tf from '@tensorflow/tfjs';
import { constant, variableFrom } from './tf-ops';

/** The trainable state read back from the backend: enough to resume on another one. */
export interface Checkpoint {
  epochs: number;
  /** W's coordinates in the subspace (d×k), when W is trained. */
  W: Float32Array | null;
  q: Float32Array;
  b: Float32Array;
  u: Float32Array;
  /** The history encoder's W' (subspace coordinates) and p, when trained. */
  yW: Float32Array | null;
  p: Float32Array | null;
  /** The hidden layer's M (d×hidden) and c (hidden), when it has one. */
  M: Float32Array | null;
  c: Float32Array | null;
  /** The optimizer's state (tf.train.Optimizer getWeights: iteration count, then Adam's moments). */
  optimizer: { name: string; shape: number[]; dtype: 'float32' | 'int32'; values: Float32Array | Int32Array }[];
}

export interface Session {
  wVar: tf.Variable | null;
  /** The history encoder's W' (d×k) and p (n×d). */
  yWVar: tf.Variable | null;
  pVar: tf.Variable | null;
  /** The hidden layer's M (d×hidden) and c (hidden×1). */
  mVar: tf.Variable | null;
  cVar: tf.Variable | null;
  qVar: tf.Variable;
  bVar: tf.Variable;
  uVar: tf.Variable;
  /** n×d (BPR) or d×n (softmax). */
  textConstant: tf.Tensor2D | null;
  /** n×k (BPR) or k×n (softmax). */
  reducedEmbeddings: tf.Tensor2D | null;
  /** Softmax with held-out items: 1 for items that may get a gradient, 0 otherwise (n). */
  itemMask: tf.Tensor1D | null;
  /** Per-item L2 weights f_i (n×1), or null for a uniform L2. */
  frequencyWeights: tf.Tensor2D | null;
  /** 0 or −1e9 per item (1×n), added to the logits. */
  logitMask: tf.Tensor2D | null;
  optimizer: tf.AdamOptimizer;
  /** The trained variables, in the optimizer's order. */
  variables: tf.Variable[];
}

/** What a session is built from, besides a checkpoint: shapes, what is trained, and the constants. */
export interface SessionSpec {
  shapes: { W: number[]; q: number[]; b: number[]; u: number[]; yW: number[]; p: number[]; M: number[]; c: number[] };
  trainable: { W: boolean; q: boolean; b: boolean; u: boolean };
  /** The asymmetric model: W' (when W is trained) and p; with a hidden layer, M and c. */
  historyEncoder: boolean;
  hidden: number;
  n: number;
  d: number;
  k: number;
  /** Constants stored items-as-columns (the softmax trainer) rather than as rows (BPR). */
  itemsAsColumns: boolean;
  textConstant: Float32Array | null;
  reducedEmbeddings: Float32Array | null;
  itemMask: Float32Array | null;
  frequencyWeights: Float32Array | null;
  learningRate: number;
}

/** The trainable state on the active backend: variables, constants and the optimizer. */
export async function openSession(spec: SessionSpec, from: Checkpoint): Promise<Session> {
  const { shapes, trainable, n, d, k, itemMask } = spec;
  const session: Session = {
    variables: [],
    wVar: null,
    yWVar: null,
    pVar: null,
    mVar: null,
    cVar: null,
    qVar: variableFrom(from.q, shapes.q, trainable.q),
    bVar: variableFrom(from.b, shapes.b, trainable.b),
    uVar: variableFrom(from.u, shapes.u, trainable.u),
    textConstant: spec.textConstant ? constant(spec.textConstant, [n, d], spec.itemsAsColumns) : null,
    reducedEmbeddings: spec.reducedEmbeddings ? constant(spec.reducedEmbeddings, [n, k], spec.itemsAsColumns) : null,
    itemMask: itemMask ? tf.tensor1d(itemMask) : null,
    // −1e9 on held-out items' logits: exp underflows to 0, so their softmax probability and gradient are exactly 0.
    logitMask: itemMask
      ? tf.tensor2d(
          itemMask.map((x) => (x === 0 ? -1e9 : 0)),
          [1, n],
        )
      : null,
    frequencyWeights: spec.frequencyWeights ? tf.tensor2d(spec.frequencyWeights, [n, 1]) : null,
    optimizer: tf.train.adam(spec.learningRate),
  };
  if (trainable.W) session.wVar = variableFrom(from.W!, shapes.W, true);
  if (spec.historyEncoder) {
    if (trainable.W) session.yWVar = variableFrom(from.yW!, shapes.yW, true);
    session.pVar = variableFrom(from.p!, shapes.p, true);
    if (spec.hidden > 0) {
      session.mVar = variableFrom(from.M!, shapes.M, true);
      session.cVar = variableFrom(from.c!, shapes.c, true);
    }
  }
  // The optimizer's moments follow this order (it matches them to variables by position).
  if (session.wVar) session.variables.push(session.wVar);
  if (session.yWVar) session.variables.push(session.yWVar);
  if (session.pVar) session.variables.push(session.pVar);
  if (session.mVar) session.variables.push(session.mVar);
  if (session.cVar) session.variables.push(session.cVar);
  if (trainable.q) session.variables.push(session.qVar);
  if (trainable.b) session.variables.push(session.bVar);
  if (trainable.u) session.variables.push(session.uVar);
  if (from.optimizer.length > 0) {
    const restored = from.optimizer.map(({ name, shape, dtype, values }) => ({ name, tensor: tf.tensor(values, shape, dtype) }));
    await session.optimizer.setWeights(restored);
    for (const { tensor } of restored) tensor.dispose(); // the optimizer's variables hold their own reference
  }
  return session;
}

/** Reads the state back from the backend (after `epochs` completed epochs). */
export async function readCheckpoint(session: Session, epochs: number): Promise<Checkpoint> {
  const weights = await session.optimizer.getWeights();
  const optimizer: Checkpoint['optimizer'] = [];
  for (const [i, { name, tensor }] of weights.entries()) {
    optimizer.push({ name, shape: [...tensor.shape], dtype: tensor.dtype as 'float32' | 'int32', values: (await tensor.data()) as Float32Array | Int32Array });
    if (i === 0) tensor.dispose(); // the iteration count: a new scalar on every call
  }
  return {
    epochs,
    W: session.wVar ? Float32Array.from((await session.wVar.data()) as Float32Array) : null,
    q: Float32Array.from((await session.qVar.data()) as Float32Array),
    b: Float32Array.from((await session.bVar.data()) as Float32Array),
    u: Float32Array.from((await session.uVar.data()) as Float32Array),
    yW: session.yWVar ? Float32Array.from((await session.yWVar.data()) as Float32Array) : null,
    p: session.pVar ? Float32Array.from((await session.pVar.data()) as Float32Array) : null,
    M: session.mVar ? Float32Array.from((await session.mVar.data()) as Float32Array) : null,
    c: session.cVar ? Float32Array.from((await session.cVar.data()) as Float32Array) : null,
    optimizer,
  };
}

/**
 * Frees a session's tensors; on a lost device freeing may itself fail, which must not hide the real
 * error. Also frees what a step that failed half-way left on TF.js's gradient tape: tfjs-core cleans
 * the tape only when the backward pass completes (dozens of tensors would leak per failure otherwise).
 */
export function disposeSession(session: Session): void {
  const engine = tf.engine() as unknown as { state?: { activeTape?: { saved?: tf.Tensor[] }[] | null; gradientDepth?: number } };
  const tape = engine.state?.gradientDepth === 0 ? engine.state.activeTape : null;
  for (const dispose of [
    ...(tape ?? []).flatMap((node) => (node.saved ?? []).map((t) => () => t.dispose())),
    () => {
      if (tape) engine.state!.activeTape = null;
    },
    () => session.optimizer.dispose(),
    ...[
      session.wVar,
      session.yWVar,
      session.pVar,
      session.mVar,
      session.cVar,
      session.qVar,
      session.bVar,
      session.uVar,
      session.textConstant,
      session.reducedEmbeddings,
      session.itemMask,
      session.logitMask,
      session.frequencyWeights,
    ].map((t) => () => t?.dispose()),
  ]) {
    try {
      dispose();
    } catch {
      // the backend is gone; its memory with it
    }
  }
}

/**
 * One trainer's objective: an epoch's batches planned up front (shuffle, then negatives or dropout
 * seeds), so a failed epoch can be replayed exactly, then run on a session; returns the epoch's mean loss.
 */
export interface Objective<B> {
  plan(): B[];
  run(session: Session, batches: readonly B[]): Promise<number>;
}
