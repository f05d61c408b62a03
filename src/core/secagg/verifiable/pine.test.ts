import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Buffer } from 'buffer';
import { Prio3Pine } from './pine';
import { PineCircuit } from './pine-circuit';
import { inverseNtt } from './pine-flp';
import { bitLength, flpLog2Soundness, PINE64_ALGORITHM_ID, PINE_ALGORITHM_ID, PINE_FIELDS, pineErrors, wraparoundBits } from './pine-params';
import { wraparoundDots, wraparoundVector } from './pine-wraparound';
import {
  buildReport,
  decodeUpload,
  entryBound,
  makeVdaf,
  uploadSizes,
  verifiableAlgorithmId,
  VerifyRejected,
  type Report,
  type VerifiableParams,
} from './prio';
import { forgedPine, verifyBoth, verifyKey, verifyRound } from './testing';

// 24 entries, x = y − B with B = 32 (bits 6, the offset only: PINE checks no entry's range), ‖x‖² ≤ 1,000
const BASE: VerifiableParams = { length: 24, bits: 6, normBound: 1_000 };
const B = entryBound(BASE.bits);
const N = BASE.normBound!;

const squaredNorm = (x: readonly number[]) => x.reduce((s, v) => s + v * v, 0);
const sumOf = (vectors: readonly number[][]) => Array.from({ length: BASE.length }, (_, j) => vectors.reduce((s, v) => s + v[j]!, 0));
const zeros = () => Array<number>(BASE.length).fill(0);

/** A vector of norm² exactly `target` (greedy: fill entries with the largest square that fits). */
function vectorWithSquaredNorm(target: number): number[] {
  const x = zeros();
  let left = target;
  for (let i = 0; i < BASE.length && left > 0; i++) {
    let v = Math.min(B - 1, Math.floor(Math.sqrt(left)));
    while (v * v > left) v--;
    x[i] = i % 2 ? -v : v;
    left -= v * v;
  }
  expect(squaredNorm(x)).toBe(target);
  return x;
}

function circuitOf(vdaf: ReturnType<typeof makeVdaf>): PineCircuit {
  if (!(vdaf instanceof Prio3Pine)) throw new Error('not PINE');
  return vdaf.circuit;
}

/** y = x + B as field elements (any integers, also far outside [−B, B)). */
function prefixOf(x: readonly bigint[], q: bigint): bigint[] {
  return x.map((v) => (((v + BigInt(B)) % q) + q) % q);
}

// Field128 with one proof (PINE_ALGORITHM_ID) and Field64 with two (PINE64_ALGORITHM_ID, stop 38): the same tests.
describe.each(['field128', 'field64'] as const)('Prio3Pine (%s): the verifiable mode’s norm check (PINE)', (field) => {
  const P: VerifiableParams = { ...BASE, field };

  it('has the stated layout and sizes: d field elements, nb slack bits, r·(b1 + 1) check bits, r elements; the helper only seeds', async () => {
    const vdaf = makeVdaf(P);
    const c = circuitOf(vdaf);
    expect(c.normBits).toBe(bitLength(BigInt(N)));
    expect(c.checkBits).toBe(wraparoundBits(BigInt(N), c.alpha));
    expect(2 ** (c.checkBits - 1) - 1).toBeGreaterThanOrEqual(c.alpha * Math.sqrt(N));
    expect(c.measurementLen).toBe(P.length + c.normBits + c.repetitions * (c.checkBits + 1) + c.repetitions);
    const report = await buildReport(P, vectorWithSquaredNorm(N), vdaf);
    expect(report.leader.length).toBe(uploadSizes(P, vdaf).leader);
    const [size, proofs, id] = field === 'field64' ? [8, 2, PINE64_ALGORITHM_ID] : [16, 1, PINE_ALGORITHM_ID];
    expect([vdaf.id, vdaf.proofs, c.field.encodedSize]).toEqual([id, proofs, size]);
    expect(report.leader.length).toBe(16 + 64 + size * (c.measurementLen + proofs * vdaf.flp.proofLen) + 16);
    expect(report.helper.length).toBe(16 + 64 + 48);
  });

  it('the errors at the defaults (r = 128, 8 failures allowed, α = 3.5): soundness ≤ 2^−87 per try, completeness error < 2^−100', () => {
    const c = circuitOf(makeVdaf(P));
    const e = pineErrors(c.repetitions, c.repetitions - c.passes, c.alpha);
    expect(e.log2Soundness).toBeLessThan(-87);
    expect(e.log2Soundness).toBeGreaterThan(-89);
    expect(e.checkFailure).toBeCloseTo(2 * Math.exp(-12.25), 12);
    expect(e.log2Completeness).toBeLessThan(-100);
  });

  it('the wraparound vectors: entries −1, 0, +1 with probability ≈ 1/4, 1/2, 1/4; the limb dot products are exact', () => {
    const seed = crypto.getRandomValues(new Uint8Array(16));
    const z = wraparoundVector(seed, 3, 40_000);
    const count = (t: number) => z.reduce((s, v) => s + (v === t ? 1 : 0), 0) / z.length;
    expect(count(-1)).toBeCloseTo(0.25, 1);
    expect(count(0)).toBeCloseTo(0.5, 1);
    expect(count(1)).toBeCloseTo(0.25, 1);
    const f = new PineCircuit({ length: 1, offset: 0n, normBound: 1n, repetitions: 1, allowedFailures: 0, alpha: 1, chunkLength: 1, normChunkLength: 1, field })
      .field;
    const q = f.modulus;
    fc.assert(
      fc.property(fc.array(fc.bigInt({ min: 0n, max: q - 1n }), { minLength: 1, maxLength: 50 }), (v) => {
        const { dots, zSums } = wraparoundDots(f, seed, 3, v, v.length);
        for (let k = 0; k < 3; k++) {
          const zk = wraparoundVector(seed, k, v.length);
          const exact = v.reduce((s, e, i) => s + BigInt(zk[i]!) * e, 0n);
          expect(dots[k]).toBe(((exact % q) + q) % q);
          expect(zSums[k]).toBe(zk.reduce((s, t) => s + t, 0));
        }
      }),
      { numRuns: 30 },
    );
  });

  it('inverseNtt is the package’s field.interpolate at the p-th roots of unity', () => {
    const f = circuitOf(makeVdaf(P)).field;
    for (const p of [2, 4, 16, 64]) {
      const alpha = f.exp(f.generator, f.genOrder / BigInt(p));
      const roots = Array.from({ length: p }, (_, k) => f.exp(alpha, BigInt(k)));
      const values = Array.from({ length: p }, () => f.randomElement());
      expect(inverseNtt(f, alpha, p)(values)).toEqual(f.interpolate(roots, values));
    }
  });

  it('accepts honest devices up to ‖x‖² = N exactly and sums them exactly', async () => {
    const vdaf = makeVdaf(P);
    const vectors = [vectorWithSquaredNorm(N), vectorWithSquaredNorm(N - 1), zeros(), [-31, ...zeros().slice(1)], [-B + 1, -5, ...zeros().slice(2)]];
    const { sum, rejected } = await verifyRound(P, vdaf, await Promise.all(vectors.map((v) => buildReport(P, v, vdaf))));
    expect(rejected).toEqual([]);
    expect(Array.from(sum)).toEqual(sumOf(vectors));
  });

  it('the honest device refuses ‖x‖² = N + 1 (and buildReport any entry outside [−B, B))', async () => {
    await expect(buildReport(P, vectorWithSquaredNorm(N + 1))).rejects.toThrow(RangeError);
    await expect(buildReport(P, [B, ...zeros().slice(1)])).rejects.toThrow(RangeError);
  });

  it('rejects a norm past N whatever slack it claims, and lying claims about the checks', async () => {
    const vdaf = makeVdaf(P);
    const honest = vectorWithSquaredNorm(400);
    const over = vectorWithSquaredNorm(N + 1);
    const far = Array.from({ length: P.length }, (_, j) => (j % 2 ? B - 1 : -B)); // ‖x‖² = 23,832
    /** honest check results, with the slack claim `slack` (a lie unless N − ‖x‖²) */
    const withSlack = (slack: bigint) => (prefix: readonly bigint[], seed: Uint8Array, c: PineCircuit) => [
      ...c.slackBits(slack),
      ...c.wraparoundEncoding(prefix, seed).encoding,
    ];
    const reports: Report[] = [await buildReport(P, honest, vdaf)];
    for (const [x, slack] of [
      [far, 0n],
      [over, 0n],
      [over, (1n << BigInt(bitLength(BigInt(N)))) - 1n],
      [honest, BigInt(N - 400) + 1n],
      [honest, 0n],
    ] as const)
      reports.push(await buildReport(P, x, forgedPine(P, { checks: withSlack(slack) })));
    // slack "bits" that are not bits: a bit of −1 makes the slack −1, so Σ x² + s − N = 0 for ‖x‖² = N + 1
    reports.push(
      await buildReport(
        P,
        over,
        forgedPine(P, {
          checks: (prefix, seed, c) => {
            const bits = c.slackBits(0n);
            bits[0] = c.field.modulus - 1n;
            return [...bits, ...c.wraparoundEncoding(prefix, seed).encoding];
          },
        }),
      ),
    );
    // an honest vector whose check claims lie: a pass claimed with a V_k off by one; a g_k of 2
    const lie = (edit: (enc: bigint[], c: PineCircuit) => void) =>
      forgedPine(P, {
        checks: (prefix, seed, c) => {
          const enc = [...c.slackBits(BigInt(N) - c.squaredNorm(prefix)), ...c.wraparoundEncoding(prefix, seed).encoding];
          edit(enc, c);
          return enc;
        },
      });
    reports.push(
      await buildReport(
        P,
        honest,
        lie((enc) => (enc[bitLength(BigInt(N))] = 1n - enc[bitLength(BigInt(N))]!)),
      ),
    );
    reports.push(
      await buildReport(
        P,
        honest,
        lie((enc, c) => (enc[c.normBits + c.checkBits] = 2n)),
      ),
    );
    const { sum, rejected } = await verifyRound(P, vdaf, reports);
    expect(rejected).toEqual(Array.from({ length: reports.length - 1 }, (_, i) => i + 1));
    expect(Array.from(sum)).toEqual(honest); // nothing of them reaches the sum
  }, 60_000);

  it('rejects wraparound attacks: entries near q/2 or a fourth root of unity, whose ‖x‖² wraps to ≤ N mod q', async () => {
    const vdaf = makeVdaf(P);
    const c = circuitOf(vdaf);
    const ff = c.field;
    const q = ff.modulus;
    const omega = ff.exp(ff.generator, ff.genOrder / 4n); // ω² = −1
    expect(ff.mul(omega, omega)).toBe(q - 1n);
    const honest = vectorWithSquaredNorm(300).map(BigInt);
    // x = (ω, 1, 0, …) + honest on the other entries: Σ x² ≡ ω² + 1 + ‖h‖² = ‖h‖² mod q, far under N
    const wrapped = [omega, 1n, ...honest.slice(2)];
    const wrappedNorm = wrapped.reduce((s, v) => ff.add(s, ff.mul(v, v)), 0n);
    expect(wrappedNorm).toBe(honest.slice(2).reduce((s, v) => s + v * v, 0n));
    // x_0 = (q − 1)/2 (≈ q/2) and x_1 with x_1² ≡ small − x_0²: take x_1 = √(−x_0²) = ω·x_0
    const half = (q - 1n) / 2n;
    const nearHalf = [half, ff.mul(omega, half), ...honest.slice(2)];
    const attacks = [wrapped, nearHalf];
    const reports: Report[] = [];
    for (const x of attacks) {
      const prefix = prefixOf(x, q);
      const squares = x.reduce((s, v) => ff.add(s, ff.mul(((v % q) + q) % q, ((v % q) + q) % q)), 0n);
      expect(squares).toBeLessThanOrEqual(BigInt(N)); // the sum check alone would pass it
      const slack = BigInt(N) - squares;
      // (a) the honest encoder's claims (the true passes: about half, fewer than r_pass)
      reports.push(
        await buildReport(P, zeros(), forgedPine(P, { prefix, checks: (p, seed, cc) => [...cc.slackBits(slack), ...cc.wraparoundEncoding(p, seed).encoding] })),
      );
      // (b) r_pass passes claimed, S_k = 0, V_k the low bits of Y_k + 2^(b1−1): the affine check fails
      // (c) r_pass passes claimed with S_k = what makes the affine check hold: g_k·S_k ≠ 0
      for (const mode of ['v', 's'] as const)
        reports.push(
          await buildReport(
            P,
            zeros(),
            forgedPine(P, {
              prefix,
              checks: (p, seed, cc) => {
                const { y, passed } = cc.wraparoundEncoding(p, seed);
                expect(passed).toBeLessThan(cc.passes);
                expect(passed).toBeGreaterThan(cc.repetitions / 8); // ≤ 1/2 each (1/4 for two huge entries)
                const shift = 1n << BigInt(cc.checkBits - 1);
                const bits: bigint[] = [];
                const s: bigint[] = [];
                y.forEach((yk, k) => {
                  const claim = k < cc.passes;
                  const target = (((yk + shift) % q) + q) % q;
                  const v = claim ? target & ((1n << BigInt(cc.checkBits)) - 1n) : 0n;
                  for (let j = 0; j < cc.checkBits; j++) bits.push((v >> BigInt(j)) & 1n);
                  bits.push(claim ? 1n : 0n);
                  s.push(claim ? (mode === 'v' ? 0n : ff.sub(target, v)) : target);
                });
                return [...cc.slackBits(slack), ...bits, ...s];
              },
            }),
          ),
        );
    }
    const { sum, rejected } = await verifyRound(P, vdaf, reports);
    expect(rejected).toEqual(reports.map((_, i) => i));
    expect(Array.from(sum)).toEqual(zeros());
  }, 60_000);

  it('rejects a public share whose wraparound parts were changed, for either aggregator', async () => {
    const vdaf = makeVdaf(P);
    const key = verifyKey();
    const report = await buildReport(P, vectorWithSquaredNorm(500), vdaf);
    await expect(verifyBoth(vdaf, key, report)).resolves.toHaveLength(2);
    const flip = (bytes: Uint8Array, at: number) => {
      const out = Uint8Array.from(bytes);
      out[at] = out[at]! ^ 1;
      return out;
    };
    const wrLeaderAt = 16 + 2 * 16; // nonce, two joint-randomness parts, then the wraparound parts
    const wrHelperAt = wrLeaderAt + 16;
    for (const tampered of [
      { leader: flip(report.leader, wrLeaderAt), helper: report.helper }, // the leader's own part: its local check
      { leader: report.leader, helper: flip(report.helper, wrHelperAt) }, // the helper's own part: its local check
      { leader: report.leader, helper: flip(report.helper, wrLeaderAt) }, // the other's part: the two seeds differ
      { leader: flip(report.leader, wrHelperAt), helper: report.helper },
    ])
      await expect(verifyBoth(vdaf, key, tampered)).rejects.toThrow(VerifyRejected);
    expect(Buffer.from(report.leader.subarray(wrLeaderAt, wrHelperAt + 16))).toEqual(Buffer.from(report.helper.subarray(wrLeaderAt, wrHelperAt + 16)));
  }, 60_000);

  it('property: any x with ‖x‖² ≤ N is accepted and sums exactly; any with ‖x‖² > N is rejected whatever slack it claims', async () => {
    const vdaf = makeVdaf(P);
    const entry = fc.integer({ min: -B, max: B - 1 });
    const vector = fc
      .tuple(fc.array(entry, { minLength: P.length, maxLength: P.length }), fc.boolean())
      .map(([x, shrink]) => (shrink ? x.map((v) => (v / 6) | 0) : x));
    await fc.assert(
      fc.asyncProperty(vector, fc.bigInt({ min: 0n, max: (1n << BigInt(bitLength(BigInt(N)))) - 1n }), async (x, claimedSlack) => {
        if (squaredNorm(x) <= N) {
          const { sum, rejected } = await verifyRound(P, vdaf, [await buildReport(P, x, vdaf)]);
          expect(rejected).toEqual([]);
          expect(Array.from(sum)).toEqual(x);
        } else {
          await expect(buildReport(P, x, vdaf)).rejects.toThrow(RangeError);
          const forger = forgedPine(P, { checks: (p, seed, c) => [...c.slackBits(claimedSlack), ...c.wraparoundEncoding(p, seed).encoding] });
          const { sum, rejected } = await verifyRound(P, vdaf, [await buildReport(P, x, forger)]);
          expect(rejected).toEqual([0]);
          expect(Array.from(sum)).toEqual(zeros());
        }
      }),
      {
        numRuns: 25,
        examples: [
          [vectorWithSquaredNorm(N), 0n],
          [vectorWithSquaredNorm(N + 1), 0n],
        ],
      },
    );
  }, 120_000);

  it('the constructor refuses parameters where d·w² + 2^nb could wrap the field, and bad counts', () => {
    const base = { length: 4, offset: 32n, normBound: 100n, repetitions: 8, allowedFailures: 1, alpha: 3.5, chunkLength: 4, normChunkLength: 2, field };
    expect(() => new PineCircuit(base)).not.toThrow();
    expect(() => new PineCircuit({ ...base, normBound: 0n })).toThrow(RangeError);
    expect(() => new PineCircuit({ ...base, allowedFailures: 8 })).toThrow(RangeError);
    expect(() => new PineCircuit({ ...base, length: 2 ** 21, normBound: 1n << 100n })).toThrow(RangeError);
    // d·w² ≈ 2^66: inside Field128, past Field64's q/2 = 2^63
    const wide = () => new PineCircuit({ ...base, length: 2 ** 20, normBound: 1n << 40n });
    if (field === 'field64') expect(wide).toThrow(RangeError);
    else expect(wide).not.toThrow();
  });
});

describe('Prio3Pine on Field64: two independent proofs, both checked', () => {
  const P: VerifiableParams = { ...BASE, field: 'field64' };
  const size = 8;

  /** The leader's upload with its proofs share replaced (the proofs lie after the nonce, the public share and the measurement share). */
  function withLeaderProofs(vdaf: Prio3Pine, leader: Uint8Array, edit: (proofs: bigint[]) => void): Uint8Array {
    const at = 16 + 64 + size * vdaf.flp.measurementLen;
    const length = vdaf.proofs * vdaf.flp.proofLen;
    const proofs = vdaf.bytes.decode(leader.subarray(at, at + size * length));
    edit(proofs);
    const out = Uint8Array.from(leader);
    out.set(vdaf.bytes.encode(proofs), at);
    return out;
  }

  it('rejects a report whose first or second proof alone is wrong, naming the proof', async () => {
    const vdaf = makeVdaf(P) as Prio3Pine;
    const key = verifyKey();
    const report = await buildReport(P, vectorWithSquaredNorm(N), vdaf);
    await expect(verifyBoth(vdaf, key, report)).resolves.toHaveLength(2);
    const q = vdaf.bytes.modulus;
    for (const proof of [0, 1])
      for (const element of [0, vdaf.flp.proofLen - 1]) {
        const leader = withLeaderProofs(vdaf, report.leader, (proofs) => {
          const i = proof * vdaf.flp.proofLen + element;
          proofs[i] = (proofs[i]! + 1n) % q;
        });
        await expect(verifyBoth(vdaf, key, { leader, helper: report.helper })).rejects.toThrow(new RegExp(`proof ${proof + 1} of 2`));
      }
  });

  it('rejects the first proof repeated as the second: each proof is checked under its own joint randomness', async () => {
    const vdaf = makeVdaf(P) as Prio3Pine;
    const key = verifyKey();
    const report = await buildReport(P, vectorWithSquaredNorm(500), vdaf);
    const helperProofs = (await decodeUpload(vdaf, 1, report.helper)).inputShare.proofsShare;
    const len = vdaf.flp.proofLen;
    const field = vdaf.flp.field;
    // leader₂ := leader₁ + helper₁ − helper₂, so that the two shares of proof 2 add up to proof 1
    const leader = withLeaderProofs(vdaf, report.leader, (proofs) => {
      for (let i = 0; i < len; i++) proofs[len + i] = field.sub(field.add(proofs[i]!, helperProofs[i]!), helperProofs[len + i]!);
    });
    await expect(verifyBoth(vdaf, key, { leader, helper: report.helper })).rejects.toThrow(/proof 2 of 2/);
  });

  it('reports of one field are refused by aggregators of the other (a clear size error), and the ids differ', async () => {
    const v64 = makeVdaf(P);
    const v128 = makeVdaf(BASE);
    expect(v64.id).not.toBe(v128.id);
    expect(verifiableAlgorithmId(P)).toBe(PINE64_ALGORITHM_ID);
    expect(verifiableAlgorithmId(BASE)).toBe(PINE_ALGORITHM_ID);
    const key = verifyKey();
    const x = vectorWithSquaredNorm(300);
    await expect(verifyBoth(v128, key, await buildReport(P, x, v64))).rejects.toThrow(/upload has \d+ bytes, expected/);
    await expect(verifyBoth(v64, key, await buildReport(BASE, x, v128))).rejects.toThrow(/upload has \d+ bytes, expected/);
  });

  it('soundness per try at the app’s delta: ≈ 2^−52.9 for one Field64 proof, ≈ 2^−105.8 for two (below the wraparound checks’ 2^−87.3); Field128’s one proof < 2^−116', () => {
    // the app's task at its delta (346,384 floats → 347,136 encoded entries, N = 4,973,414; docs/secure-aggregation.md)
    const c = new PineCircuit({
      length: 347_136,
      offset: 512n,
      normBound: 4_973_414n,
      repetitions: 128,
      allowedFailures: 8,
      alpha: 3.5,
      chunkLength: 1,
      normChunkLength: 1,
      field: 'field64',
    });
    const pairs = c.normBits + c.repetitions * (c.checkBits + 1) + c.repetitions;
    const one = flpLog2Soundness(c.field.modulus, pairs, c.repetitions, 1);
    const two = flpLog2Soundness(c.field.modulus, pairs, c.repetitions, PINE_FIELDS.field64.proofs);
    expect(one).toBeGreaterThan(-53.5);
    expect(one).toBeLessThan(-52.5);
    expect(two).toBeCloseTo(2 * one, 10);
    expect(two).toBeLessThan(pineErrors(128, 8, 3.5).log2Soundness);
    expect(flpLog2Soundness(PINE_FIELDS.field128.bytes.modulus, pairs, 128, PINE_FIELDS.field128.proofs)).toBeLessThan(-116);
  });
});
