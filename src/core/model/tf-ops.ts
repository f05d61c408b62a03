/** TF.js pieces the trainers share: gradients written out for the WASM backend, variables, constants. */
import * as tf from '@tensorflow/tfjs';

/** The value of a scalar tensor, which is disposed of (also when the read fails, as on a lost device). */
export async function readAndDispose(scalar: tf.Scalar): Promise<number> {
  try {
    return (await scalar.data())[0]!;
  } finally {
    scalar.dispose();
  }
}

/** Gather rows with a gradient through scatterND: tfjs-backend-wasm has no UnsortedSegmentSum, which tf.gather's gradient needs. */
export function gatherRows(params: tf.Tensor, indices: tf.Tensor1D): tf.Tensor {
  const gather = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const p = inputs[0] as tf.Tensor;
    return {
      value: tf.gather(p, indices),
      gradFunc: (dy: tf.Tensor) => tf.scatterND(tf.expandDims(indices, 1), dy, p.shape),
    };
  });
  return gather(params);
}

/**
 * a·b whose gradients are untransposed matmuls too (dA = dy·transpose(b), dB = transpose(a)·dy): TF.js's
 * own gradient uses transposed matmuls, about ten times slower on tfjs-backend-wasm; the explicit
 * transposes are of the small operands.
 */
export function plainMatMul(a: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  const product = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, y, save] = inputs as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
    save([x, y]); // customGrad frees what a gradient needs unless it is saved
    return {
      value: tf.matMul(x, y),
      gradFunc: (dy: tf.Tensor, [a, b]: tf.Tensor[]) => [tf.matMul(dy as tf.Tensor2D, tf.transpose(b!)), tf.matMul(tf.transpose(a!), dy as tf.Tensor2D)],
    };
  });
  return product(a, b) as tf.Tensor2D;
}

/**
 * −Σ targets ⊙ log softmax(logits) (rows: users), with the gradient softmax·rowsum(targets) − targets
 * written out. One softmax kernel serves the value and the gradient: a row's log-normaliser is
 * max(x) − log(max(softmax(x))) (the largest probability is ≥ 1/items, so its log is exact enough),
 * which avoids an elementwise exp and log over batch×items (slow, unvectorised kernels on wasm).
 */
export function softmaxCrossEntropy(logits: tf.Tensor, targets: tf.Tensor): tf.Scalar {
  const loss = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, save] = inputs as [tf.Tensor2D, tf.GradSaveFunc];
    const rowWeights = tf.sum(targets, 1, true);
    const probabilities = tf.softmax(x);
    const logNormaliser = tf.sub(tf.max(x, 1, true), tf.log(tf.max(probabilities, 1, true)));
    save([probabilities, rowWeights]);
    return {
      value: tf.sub(tf.sum(tf.mul(rowWeights, logNormaliser)), tf.sum(tf.mul(targets, x))),
      gradFunc: (dy: tf.Tensor, [p, weights]: tf.Tensor[]) => tf.mul(dy, tf.sub(tf.mul(p!, weights!), targets)),
    };
  });
  return loss(logits) as tf.Scalar;
}

/** A constant tensor of a row-major rows×columns array, transposed when asked. */
export function constant(values: Float32Array, shape: [number, number], transpose: boolean): tf.Tensor2D {
  if (!transpose) return tf.tensor2d(values, shape);
  return tf.tidy(() => tf.transpose(tf.tensor2d(values, shape)));
}

/** a (rows×inner) · b (inner×columns), row-major. */
export function multiplyRows(a: Float32Array, rows: number, inner: number, b: Float32Array, columns: number): Float32Array {
  const out = new Float32Array(rows * columns);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < inner; j++) {
      const x = a[r * inner + j]!;
      if (x === 0) continue;
      for (let t = 0; t < columns; t++) out[r * columns + t]! += x * b[j * columns + t]!;
    }
  }
  return out;
}

/**
 * A variable holding `values`. The tensor it is made from is disposed: a variable shares its data, so
 * keeping that tensor would keep the data alive after the variable is disposed (an n×d leak per run).
 */
export function variableFrom(values: Float32Array, shape: number[], trainable: boolean): tf.Variable {
  const initial = tf.tensor(values, shape);
  const variable = tf.variable(initial, trainable);
  initial.dispose();
  return variable;
}
