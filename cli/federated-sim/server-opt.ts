/**
 * The server's step on the round's mean update (pseudo-gradient Δ̄ = mean of local − global), from
 * Reddi et al., "Adaptive Federated Optimization" (ICLR 2021): FedAvg (x += η Δ̄), FedAvgM
 * (v = β v + Δ̄, x += η v) and FedAdam (m = β₁ m + (1 − β₁) Δ̄, v = β₂ v + (1 − β₂) Δ̄², x += η m / (√v + τ),
 * no bias correction, as in the paper). All three read only the released, denoised mean, so they are
 * post-processing and cost no privacy. Written here because it is a few lines on plain typed arrays.
 */
import { paramNames, type ParamSet } from '../../src/core/federated/params';

export interface ServerOptimizerSettings {
  kind: 'sgd' | 'momentum' | 'adam';
  /** β of FedAvgM (also FedAdam's β₁). */
  momentum: number;
  /** FedAdam's τ. */
  tau: number;
  /** FedAdam's β₂. */
  beta2?: number;
}

export interface ServerOptimizer {
  /** The new global tensors (fresh arrays; `global` is not modified). */
  step(global: ParamSet, meanUpdate: ParamSet, learningRate: number): ParamSet;
}

export function serverOptimizer(settings: ServerOptimizerSettings): ServerOptimizer {
  const first = new Map<string, Float64Array>();
  const second = new Map<string, Float64Array>();
  const beta1 = settings.momentum;
  const beta2 = settings.beta2 ?? 0.99;
  const state = (map: Map<string, Float64Array>, name: string, length: number): Float64Array => {
    let s = map.get(name);
    if (!s) map.set(name, (s = new Float64Array(length)));
    return s;
  };
  return {
    step(global, meanUpdate, learningRate) {
      const out: ParamSet = {};
      for (const name of paramNames(global)) {
        const { shape, values } = global[name]!;
        const delta = meanUpdate[name]?.values;
        const next = Float32Array.from(values);
        if (delta) {
          if (delta.length !== values.length) throw new RangeError(`update ${name} has ${delta.length} values, the model ${values.length}`);
          if (settings.kind === 'sgd') {
            for (let j = 0; j < next.length; j++) next[j]! += learningRate * delta[j]!;
          } else if (settings.kind === 'momentum') {
            const v = state(first, name, next.length);
            for (let j = 0; j < next.length; j++) {
              v[j] = beta1 * v[j]! + delta[j]!;
              next[j]! += learningRate * v[j]!;
            }
          } else {
            const m = state(first, name, next.length);
            const v = state(second, name, next.length);
            for (let j = 0; j < next.length; j++) {
              m[j] = beta1 * m[j]! + (1 - beta1) * delta[j]!;
              v[j] = beta2 * v[j]! + (1 - beta2) * delta[j]! ** 2;
              next[j]! += (learningRate * m[j]!) / (Math.sqrt(v[j]!) + settings.tau);
            }
          }
        }
        out[name] = { shape: [...shape], values: next };
      }
      return out;
    },
  };
}
