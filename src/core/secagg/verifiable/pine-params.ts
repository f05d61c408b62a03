/** PINE's parameters and error bounds (soundness per try, completeness): see pine-circuit.ts for the argument. */
import { FIELD128_BYTES, FIELD64_BYTES, type FieldBytes } from './field-bytes';

/** A private-use algorithm id (the VDAF draft reserves 0xFFFF0000 and up): not the draft's PINE codepoint. Field128, one proof. */
export const PINE_ALGORITHM_ID = 0xffff0001;
/** The Field64 PINE (stop 38): the same circuit and wire layout, 8-byte elements, two independent proofs. */
export const PINE64_ALGORITHM_ID = 0xffff0002;

/** The field a PINE report is shared and proved in. */
export type PineField = 'field128' | 'field64';

export interface PineFieldChoice {
  algorithmId: number;
  bytes: FieldBytes;
  /**
   * Independent FLP proofs (each with its own joint randomness, prove randomness and query randomness, all checked by
   * both aggregators). Field64 needs two: the joint randomness is Fiat–Shamir over the shares, so a device can retry
   * offline, and one proof's error per try (flpLog2Soundness, ≈ 2^−52.9 at the app's length) is too large against
   * 2^40 tries; two give ≈ 2^−105.8 per try, below the wraparound checks' 2^−87.3.
   */
  proofs: number;
}

export const PINE_FIELDS: Readonly<Record<PineField, PineFieldChoice>> = {
  field128: { algorithmId: PINE_ALGORITHM_ID, bytes: FIELD128_BYTES, proofs: 1 },
  field64: { algorithmId: PINE64_ALGORITHM_ID, bytes: FIELD64_BYTES, proofs: 2 },
};

/**
 * log2 of the chance, per try, that the FLP accepts an encoding on which some term of the circuit is nonzero, for
 * `proofs` independent proofs: per proof the joint randomness (ρ, r_w, r_n, r_c) hits a root of the circuit's output
 * as a polynomial in one of them (degrees `mulPairs` in ρ, `repetitions` in r_w, 1 in r_n and r_c; union bound:
 * (mulPairs + repetitions + 2)/q), and the proofs' joint randomness is independent. The query randomness (from the
 * aggregators' secret verify key, not grindable offline) adds ≈ (gadget degree·calls + 1)/q per proof, not counted
 * here (pine-circuit.ts).
 */
export function flpLog2Soundness(modulus: bigint, mulPairs: number, repetitions: number, proofs: number): number {
  return proofs * (Math.log2(mulPairs + repetitions + 2) - Math.log2(Number(modulus)));
}

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
