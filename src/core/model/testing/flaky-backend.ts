/**
 * For tests: a TF.js backend that is the cpu backend under another name, with a switch that makes its
 * kernels throw, as a lost WebGPU device makes every later operation fail. Lets Node tests exercise the
 * recovery paths of training without a GPU.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendFailure } from '../train';

export interface FlakyBackend {
  name: string;
  /** Kernel calls so far (all kernels). */
  readonly calls: number;
  /** From the `n`-th kernel call from now (1 = the next one) every call throws, until heal(). */
  failAfter(n: number, message?: string): void;
  heal(): void;
  /** How many calls threw. */
  readonly failures: number;
}

let registered: FlakyBackend | undefined;

/** Registers (once) and returns the flaky backend "flaky-cpu"; it is not made active. */
export function flakyBackend(): FlakyBackend {
  if (registered) return registered;
  const name = 'flaky-cpu';
  let calls = 0;
  let failFrom = Number.POSITIVE_INFINITY;
  let failures = 0;
  let message = 'device lost (injected)';
  tf.registerBackend(name, tf.findBackendFactory('cpu'), -1);
  for (const kernel of tf.getKernelsForBackend('cpu')) {
    const inner = kernel.kernelFunc;
    tf.registerKernel({
      ...kernel,
      backendName: name,
      kernelFunc: ((args: Parameters<typeof inner>[0]) => {
        calls++;
        if (calls >= failFrom) {
          failures++;
          throw new Error(message);
        }
        return inner(args);
      }) as typeof inner,
    });
  }
  registered = {
    name,
    get calls() {
      return calls;
    },
    get failures() {
      return failures;
    },
    failAfter(n, text = 'device lost (injected)') {
      failFrom = calls + n;
      message = text;
    },
    heal() {
      failFrom = Number.POSITIVE_INFINITY;
    },
  };
  return registered;
}

/**
 * Runs `train` on the flaky backend with its kernels failing from the `failAfter`-th call on; the
 * onBackendFailure handed to `train` records each failure and moves training to cpu, as the app moves
 * it to the next backend. The flaky backend is healed afterwards.
 */
export async function trainThroughFailure<T>(
  failAfter: number,
  train: (onBackendFailure: (failure: BackendFailure) => Promise<void>) => Promise<T>,
): Promise<{ result: T; failures: BackendFailure[] }> {
  const flaky = flakyBackend();
  await tf.setBackend(flaky.name);
  const failures: BackendFailure[] = [];
  flaky.failAfter(failAfter);
  try {
    const result = await train(async (failure) => {
      failures.push(failure);
      await tf.setBackend('cpu');
    });
    return { result, failures };
  } finally {
    flaky.heal();
  }
}

/** Largest absolute difference between two equally long arrays. */
export const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);
