/** PINE's parameters and error bounds (soundness per try, completeness): see pine-circuit.ts for the argument. */

/** A private-use algorithm id (the VDAF draft reserves 0xFFFF0000 and up): not the draft's PINE codepoint. */
export const PINE_ALGORITHM_ID = 0xffff0001;

export const DEFAULT_REPETITIONS = 128;
export const DEFAULT_ALLOWED_FAILURES = 8;
/** α: an honest check fails with probability ≤ 2e^(−α²) (9.6·10⁻⁶ at 3.5). */
export const DEFAULT_ALPHA = 3.5;

export function bitLength(n: bigint): number {
  let bits = 0;
  for (let v = n; v > 0n; v >>= 1n) bits++;
  return bits;
}

/** Bits b1 of V_k: the smallest b1 with 2^(b1−1) − 1 ≥ α·√N. */
export function wraparoundBits(normBound: bigint, alpha: number): number {
  const need = alpha * Math.sqrt(Number(normBound));
  let b1 = 1;
  while (2 ** (b1 - 1) - 1 < need) b1++;
  return b1;
}

/** log2 of P[Bin(n, p) ≥ k] (exact sum, in log space). */
export function log2BinomialTail(n: number, p: number, k: number): number {
  const logC = (m: number): number => {
    let s = 0;
    for (let i = 1; i <= m; i++) s += Math.log(n - m + i) - Math.log(i);
    return s;
  };
  let max = -Infinity;
  const terms: number[] = [];
  for (let j = k; j <= n; j++) {
    const t = logC(j) + j * Math.log(p) + (n - j) * Math.log1p(-p);
    terms.push(t);
    max = Math.max(max, t);
  }
  if (terms.length === 0) return -Infinity;
  return (max + Math.log(terms.reduce((s, t) => s + Math.exp(t - max), 0))) / Math.LN2;
}

export interface PineErrors {
  /** log2 of the chance a report with some |x_i| > w is accepted, per try (the wraparound checks). */
  log2Soundness: number;
  /** η: the chance one check fails for an honest x, ≤ 2e^(−α²). */
  checkFailure: number;
  /** log2 of the chance an honest device fails more than allowedFailures checks (and does not send). */
  log2Completeness: number;
}

export function pineErrors(repetitions: number, allowedFailures: number, alpha: number): PineErrors {
  const eta = Math.min(1, 2 * Math.exp(-alpha * alpha));
  return {
    log2Soundness: log2BinomialTail(repetitions, 0.5, repetitions - allowedFailures),
    checkFailure: eta,
    log2Completeness: log2BinomialTail(repetitions, eta, allowedFailures + 1),
  };
}
