import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bitLength, BoundedL2VecSum, Prio3L2VecSum } from './l2';
import { aggregateOutputShares, buildReport, combineAggregates, entryBound, makeVdaf, uploadSizes, VerifyRejected, type VerifiableParams } from './prio';
import { forgedVdaf, verifyBoth, verifyKey, verifyRound } from './testing';

// 24 entries of 6 bits (x ∈ [−32, 32)), ‖x‖² ≤ 1,000 (‖x‖ ≤ 31.6): one entry may nearly fill the range, but not
// every entry can (24·32² = 24,576 would pass a range check alone).
const P: VerifiableParams = { length: 24, bits: 6, normBound: 1_000 };
const B = entryBound(P.bits);
const N = P.normBound!;
const NB = bitLength(BigInt(N));

const squaredNorm = (x: readonly number[]) => x.reduce((s, v) => s + v * v, 0);

/** The encoding an honest device would send for x, with the slack bits of `slack` (any integer, even a lie). */
function encoding(x: readonly number[], slack: bigint, bits = P.bits): bigint[] {
  const out = x.flatMap((v) => Array.from({ length: bits }, (_, j) => BigInt(((v + B) >> j) & 1)));
  for (let j = 0; j < NB; j++) out.push((slack >> BigInt(j)) & 1n);
  return out;
}

/** A vector of norm² exactly `target` (greedy: fill entries with the largest square that fits). */
function vectorWithSquaredNorm(target: number): number[] {
  const x = Array<number>(P.length).fill(0);
  let left = target;
  for (let i = 0; i < P.length && left > 0; i++) {
    let v = Math.min(B - 1, Math.floor(Math.sqrt(left)));
    while (v * v > left) v--;
    x[i] = i % 2 ? -v : v;
    left -= v * v;
  }
  expect(squaredNorm(x)).toBe(target);
  return x;
}

const sumOf = (vectors: readonly number[][]) => Array.from({ length: P.length }, (_, j) => vectors.reduce((s, v) => s + v[j]!, 0));

describe('Prio3L2VecSum: the verifiable mode with a norm check', () => {
  it('is the L2 circuit with the stated sizes (nb slack bits; the helper only seeds)', async () => {
    const vdaf = makeVdaf(P);
    expect(vdaf).toBeInstanceOf(Prio3L2VecSum);
    const circuit = (vdaf.flp as unknown as { circuit: BoundedL2VecSum }).circuit;
    expect(circuit.measurementLen).toBe(P.length * P.bits + NB);
    expect(circuit.normBits).toBe(10); // 1,000 < 2^10
    const report = await buildReport(P, vectorWithSquaredNorm(N));
    expect(report.leader.length).toBe(uploadSizes(P, vdaf).leader);
    expect(report.helper.length).toBe(96);
  });

  it('accepts honest devices up to ‖x‖² = N exactly and sums them exactly', async () => {
    const vdaf = makeVdaf(P);
    // ‖x‖² = N, N − 1, 0, and one entry at −31 (961): near the bound in L2, and in L∞
    const vectors = [vectorWithSquaredNorm(N), vectorWithSquaredNorm(N - 1), Array<number>(P.length).fill(0), [-31, ...Array<number>(P.length - 1).fill(0)]];
    const { sum, rejected } = await verifyRound(P, vdaf, await Promise.all(vectors.map((v) => buildReport(P, v, vdaf))));
    expect(rejected).toEqual([]);
    expect(Array.from(sum)).toEqual(sumOf(vectors));
  });

  it('with chunks that do not divide the encoding (padded last calls of both gadgets): honest accepted, a lying norm rejected', async () => {
    const params: VerifiableParams = { ...P, chunkLength: 7, normChunkLength: 5 }; // 154 bits / 7 = 22 calls, 24 / 5 → 5 calls
    const vdaf = makeVdaf(params);
    const circuit = (vdaf.flp as unknown as { circuit: BoundedL2VecSum }).circuit;
    expect(circuit.gadgetCalls).toEqual([Math.ceil((P.length * P.bits + NB) / 7), 5]);
    const x = vectorWithSquaredNorm(N);
    const honest = await buildReport(params, x, vdaf);
    const liar = makeVdaf(params);
    const over = vectorWithSquaredNorm(N + 1);
    (liar.flp as { encode: (m: number[]) => bigint[] }).encode = () => encoding(over, 0n);
    const forged = await buildReport(params, x, liar);
    const key = verifyKey();
    const [a, b] = await verifyBoth(vdaf, key, honest);
    const sum = combineAggregates(params, vdaf, aggregateOutputShares(vdaf, [a]), aggregateOutputShares(vdaf, [b]), 1);
    expect(Array.from(sum)).toEqual(x);
    await expect(verifyBoth(vdaf, key, forged)).rejects.toThrow(VerifyRejected);
  });

  it('the honest device refuses ‖x‖² = N + 1, and an entry outside [−B, B)', async () => {
    await expect(buildReport(P, vectorWithSquaredNorm(N + 1))).rejects.toThrow(RangeError);
    await expect(buildReport(P, [-B, ...Array<number>(P.length - 1).fill(0)])).rejects.toThrow(RangeError); // 1,024 > N
    await expect(buildReport(P, [B, ...Array<number>(P.length - 1).fill(0)])).rejects.toThrow(RangeError);
  });

  it('rejects a tampering device: norm past N with a lying slack, entries out of range, a bigger bound, forged bits', async () => {
    const vdaf = makeVdaf(P);
    const honest = vectorWithSquaredNorm(400);
    const far = Array.from({ length: P.length }, (_, j) => (j % 2 ? B - 1 : -B)); // the range check's extreme: ‖x‖² = 23,832
    const over = vectorWithSquaredNorm(N + 1);
    const field = vdaf.flp.field;
    const forgeries: bigint[][] = [
      encoding(far, 0n), // ‖x‖² ≫ N, claims slack 0
      encoding(over, 0n), // one past N, claims slack 0
      encoding(over, (1n << BigInt(NB)) - 1n), // claims the largest slack
      encoding(honest, BigInt(N - 400) + 1n), // an honest vector with a slack that lies by one
      encoding(honest, 0n), // …or claims to sit at the bound
    ];
    // slack "bits" that are not bits: N − ‖x‖² made negative by a bit of −1 (p − 1), for a vector past the bound
    const negativeSlack = encoding(over, 0n);
    negativeSlack[P.length * P.bits] = field.modulus - 1n; // slack = −1 ⇒ Σ x² + s − N = 0 in the field
    forgeries.push(negativeSlack);
    // an entry "bit" of 2 (out of range) in a vector that otherwise passes
    const outOfRange = encoding(honest, BigInt(N - 400));
    outOfRange[P.bits - 1] = 2n;
    forgeries.push(outOfRange);
    const reports = [await buildReport(P, honest, vdaf)];
    for (const f of forgeries) reports.push(await buildReport(P, honest, forgedVdaf(P, f)));
    // a device whose own copy has a bigger bound with the same bit length (1,023): its report of ‖x‖² = 1,023
    const bigger = new Prio3L2VecSum({
      length: P.length,
      bits: P.bits,
      normBound: 1_023n,
      chunkLength: vdaf.chunkLength,
      normChunkLength: (vdaf as Prio3L2VecSum).normChunkLength,
    });
    reports.push(await buildReport(P, vectorWithSquaredNorm(1_023), bigger));
    const { sum, rejected } = await verifyRound(P, vdaf, reports);
    expect(rejected).toEqual(Array.from({ length: reports.length - 1 }, (_, i) => i + 1));
    expect(Array.from(sum)).toEqual(honest); // nothing of them reaches the sum
  });

  it('property: any vector with ‖x‖² ≤ N is accepted and sums exactly; any with ‖x‖² > N is rejected whatever slack it claims', async () => {
    const vdaf = makeVdaf(P);
    const entry = fc.integer({ min: -B, max: B - 1 });
    // half the vectors shrunk (entries ÷ 6: ‖x‖² ≤ 24·6² < N), the others mostly past the bound
    const vector = fc
      .tuple(fc.array(entry, { minLength: P.length, maxLength: P.length }), fc.boolean())
      .map(([x, shrink]) => (shrink ? x.map((v) => (v / 6) | 0) : x));
    await fc.assert(
      fc.asyncProperty(vector, fc.bigInt({ min: 0n, max: (1n << BigInt(NB)) - 1n }), async (x, claimedSlack) => {
        const norm = squaredNorm(x);
        if (norm <= N) {
          const { sum, rejected } = await verifyRound(P, vdaf, [await buildReport(P, x, vdaf)]);
          expect(rejected).toEqual([]);
          expect(Array.from(sum)).toEqual(x);
        } else {
          await expect(buildReport(P, x, vdaf)).rejects.toThrow(RangeError);
          const { sum, rejected } = await verifyRound(P, vdaf, [await buildReport(P, x, forgedVdaf(P, encoding(x, claimedSlack)))]);
          expect(rejected).toEqual([0]);
          expect(Array.from(sum)).toEqual(Array<number>(P.length).fill(0));
        }
      }),
      {
        numRuns: 40,
        examples: [
          [vectorWithSquaredNorm(N), 0n],
          [vectorWithSquaredNorm(N + 1), 0n],
        ],
      },
    );
  }, 60_000);

  it('the constructor refuses a bound, length and bits that could wrap around the field', () => {
    expect(() => new BoundedL2VecSum(4, 6, 0n, 8, 4)).toThrow(RangeError);
    expect(() => new BoundedL2VecSum(2 ** 22, 30, 1n << 126n, 8, 4)).toThrow(RangeError);
  });
});
