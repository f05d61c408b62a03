import { Buffer } from 'buffer';
import { describe, expect, it } from 'vitest';
import {
  buildReport,
  decodeUpload,
  defaultChunkLength,
  MAX_PROOF_ELEMENTS,
  entryBound,
  makeVdaf,
  prepareFinish,
  prepareFinishEncoded,
  prepareInit,
  prepareMessage,
  uploadSizes,
  VerifyRejected,
  type Report,
  type VerifiableParams,
} from './prio';
import { encode128 } from './field128';
import { forgedVdaf, verifyBoth, verifyKey, verifyRound } from './testing';

const P: VerifiableParams = { length: 24, bits: 6 };
const B = entryBound(P.bits);

function randomVector(): number[] {
  return Array.from({ length: P.length }, () => Math.floor(Math.random() * 2 * B) - B);
}

function plainSum(vectors: number[][]): number[] {
  return Array.from({ length: P.length }, (_, j) => vectors.reduce((s, v) => s + v[j]!, 0));
}

/** Bits (as field elements) of y = x + B, entry by entry, as Prio3SumVec encodes them. */
function bitsOf(x: number[]): bigint[] {
  return x.flatMap((v) => Array.from({ length: P.bits }, (_, bit) => BigInt(((v + B) >> bit) & 1)));
}

function flipByte(bytes: Uint8Array, at: number): Uint8Array {
  const out = bytes.slice();
  out[at] = out[at]! ^ 1;
  return out;
}

describe('verifiable mode (Prio3SumVec between two aggregators)', () => {
  it('sums honest reports exactly, the range ends included', async () => {
    const vdaf = makeVdaf(P);
    const vectors = [randomVector(), randomVector(), Array<number>(P.length).fill(-B), Array<number>(P.length).fill(B - 1)];
    const reports = await Promise.all(vectors.map((v) => buildReport(P, v, vdaf)));
    const { sum, accepted, rejected } = await verifyRound(P, vdaf, reports);
    expect(rejected).toEqual([]);
    expect(accepted).toBe(4);
    expect(Array.from(sum)).toEqual(plainSum(vectors));
  });

  it('uploads the sizes it states: the helper only seeds', async () => {
    const vdaf = makeVdaf(P);
    const report = await buildReport(P, randomVector(), vdaf);
    const sizes = uploadSizes(P, vdaf);
    expect(report.leader.length).toBe(sizes.leader);
    expect(report.helper.length).toBe(96);
    expect(sizes.helper).toBe(96);
  });

  it('the honest device refuses an entry outside [−B, B) and a wrong length', async () => {
    await expect(buildReport(P, [...randomVector().slice(1), B])).rejects.toThrow(RangeError);
    await expect(buildReport(P, [...randomVector().slice(1), -B - 1])).rejects.toThrow(RangeError);
    await expect(buildReport(P, randomVector().slice(1))).rejects.toThrow(RangeError);
  });

  it('rejects a report with an entry past the bound (a "bit" of 2, proof made honestly over it)', async () => {
    const vdaf = makeVdaf(P);
    const x = randomVector();
    const encoded = bitsOf(x);
    encoded[P.bits - 1] = 2n; // entry 0's top bit = 2: y_0 = old + 2^(b−1), past 2^b − 1 for a high entry
    const bad = await buildReport(P, x, forgedVdaf(P, encoded));
    await expect(verifyBoth(vdaf, verifyKey(), bad)).rejects.toThrow(VerifyRejected);
  });

  it('rejects a "bit" of −1 (the field\'s p − 1), which would make an entry hugely negative', async () => {
    const vdaf = makeVdaf(P);
    const x = Array<number>(P.length).fill(0);
    const encoded = bitsOf(x);
    encoded[0] = vdaf.flp.field.modulus - 1n;
    const bad = await buildReport(P, x, forgedVdaf(P, encoded));
    await expect(verifyBoth(vdaf, verifyKey(), bad)).rejects.toThrow(VerifyRejected);
  });

  it("rejects a tampered share: the leader's measurement share, the leader's proof share, the helper's seeds", async () => {
    const vdaf = makeVdaf(P);
    const key = verifyKey();
    const report = await buildReport(P, randomVector(), vdaf);
    const head = 16 + 32;
    const measurementBytes = 16 * P.length * P.bits;
    const cases: Report[] = [
      { leader: flipByte(report.leader, head), helper: report.helper }, // measurement share, first element
      { leader: flipByte(report.leader, head + measurementBytes + 16), helper: report.helper }, // proof share
      { leader: report.leader, helper: flipByte(report.helper, head) }, // helper's measurement seed
      { leader: report.leader, helper: flipByte(report.helper, head + 16) }, // helper's proof seed
    ];
    for (const c of cases) await expect(verifyBoth(vdaf, key, c)).rejects.toThrow(VerifyRejected);
    // the untouched report still verifies with the same key
    await expect(verifyBoth(vdaf, key, report)).resolves.toHaveLength(2);
  });

  it("rejects a tampered proof: a proof for another vector, with this vector's shares", async () => {
    const vdaf = makeVdaf(P);
    const x = randomVector();
    const other = await buildReport(P, randomVector(), vdaf);
    const mine = await buildReport(P, x, vdaf);
    const head = 16 + 32;
    const m = 16 * P.length * P.bits;
    // my measurement share, the other report's proof share (and its blind, nonce and public share)
    const leader = new Uint8Array(other.leader);
    leader.set(mine.leader.subarray(head, head + m), head);
    await expect(verifyBoth(vdaf, verifyKey(), { leader, helper: other.helper })).rejects.toThrow(VerifyRejected);
    // a proof element changed by +1 in the field (not a byte flip): still rejected
    const bumped = new Uint8Array(mine.leader);
    const at = head + m;
    bumped[at] = (bumped[at]! + 1) & 0xff;
    await expect(verifyBoth(vdaf, verifyKey(), { leader: bumped, helper: mine.helper })).rejects.toThrow(VerifyRejected);
  });

  it('rejects malformed uploads (wrong length, an element outside the field) before any verification', async () => {
    const vdaf = makeVdaf(P);
    const report = await buildReport(P, randomVector(), vdaf);
    await expect(prepareInit(vdaf, verifyKey(), 0, report.leader.subarray(1))).rejects.toThrow(VerifyRejected);
    await expect(prepareInit(vdaf, verifyKey(), 1, report.leader)).rejects.toThrow(VerifyRejected);
    const outside = report.leader.slice();
    outside.fill(0xff, 48, 64); // 2¹²⁸ − 1 > p
    await expect(prepareInit(vdaf, verifyKey(), 0, outside)).rejects.toThrow(VerifyRejected);
  });

  it('a tampering device moves the sum by at most B per entry (B·√L in L2): every stronger attempt is dropped', async () => {
    const vdaf = makeVdaf(P);
    const honest = [randomVector(), randomVector(), randomVector()];
    const honestReports = await Promise.all(honest.map((v) => buildReport(P, v, vdaf)));
    const base = plainSum(honest);
    // the attacker's strongest accepted vector: every entry at an end of the range
    const extreme = Array.from({ length: P.length }, (_, j) => (j % 2 ? B - 1 : -B));
    const accepted = await buildReport(P, extreme, vdaf);
    // attempts past the range, the proof made honestly over the bad encoding: entries of 4B and of −(p−1)/…
    const big = bitsOf(Array<number>(P.length).fill(0)).map((_, i) => (i % P.bits === P.bits - 1 ? 4n : 0n));
    const past = await buildReport(P, Array<number>(P.length).fill(0), forgedVdaf(P, big));
    const negative = bitsOf(Array<number>(P.length).fill(0)).map((v, i) => (i % P.bits === 0 ? vdaf.flp.field.modulus - 1000n : v));
    const under = await buildReport(P, Array<number>(P.length).fill(0), forgedVdaf(P, negative));
    const { sum, accepted: count, rejected } = await verifyRound(P, vdaf, [...honestReports, accepted, past, under]);
    expect(rejected).toEqual([4, 5]);
    expect(count).toBe(4);
    const moved = Array.from(sum, (v, j) => v - base[j]!);
    expect(moved).toEqual(extreme);
    let l2 = 0;
    for (const v of moved) {
      expect(Math.abs(v)).toBeLessThanOrEqual(B);
      l2 += v * v;
    }
    expect(Math.sqrt(l2)).toBeLessThanOrEqual(B * Math.sqrt(P.length));
  });
});

describe('the helper expands its seeds as the package does', () => {
  it('decodeUpload(helper) gives the measurement and proof shares the package sharded', async () => {
    const vdaf = makeVdaf(P);
    const nonce = Buffer.from(crypto.getRandomValues(new Uint8Array(16)));
    const shifted = randomVector().map((v) => v + B);
    const { publicShare, inputShares } = await vdaf.shard(shifted, nonce, Buffer.from(crypto.getRandomValues(new Uint8Array(vdaf.randSize))));
    const upload = Buffer.concat([nonce, vdaf.encodePublicShare(publicShare), vdaf.encodeInputShare(inputShares[1]!)]);
    const decoded = await decodeUpload(vdaf, 1, upload);
    expect(decoded.inputShare.measurementShare).toEqual(inputShares[1]!.measurementShare);
    expect(decoded.inputShare.proofsShare).toEqual(inputShares[1]!.proofsShare);
    const leader = await decodeUpload(vdaf, 0, Buffer.concat([nonce, vdaf.encodePublicShare(publicShare), vdaf.encodeInputShare(inputShares[0]!)]));
    expect(leader.inputShare.measurementShare).toEqual(inputShares[0]!.measurementShare);
  });
});

describe('prepareFinishEncoded: the output share’s encoding', () => {
  it('is encode128(prepareFinish) on both aggregators, for PINE (from the state’s bytes) and Prio3SumVec', async () => {
    for (const p of [P, { length: 13, bits: 6, normBound: 13 * 31 * 31 }] satisfies VerifiableParams[]) {
      const vdaf = makeVdaf(p);
      const bound = entryBound(p.bits);
      const x = Array.from({ length: p.length }, (_, i) => (i % 2 === 0 ? bound - 1 : -bound + 1) % 31);
      const report = await buildReport(p, x, vdaf);
      const key = verifyKey();
      const leader = await prepareInit(vdaf, key, 0, report.leader);
      const helper = await prepareInit(vdaf, key, 1, report.helper);
      expect(leader.state.outputEncoded !== undefined).toBe('normBound' in p);
      expect(helper.state.outputEncoded !== undefined).toBe('normBound' in p);
      const message = await prepareMessage(vdaf, leader.prepareShare, helper.prepareShare);
      for (const { state } of [leader, helper]) expect(prepareFinishEncoded(vdaf, state, message)).toEqual(encode128(prepareFinish(vdaf, state, message)));
      // a message that does not match still refuses
      expect(() =>
        prepareFinishEncoded(
          vdaf,
          leader.state,
          message.map((b) => b ^ 1),
        ),
      ).toThrow(VerifyRejected);
    }
  });
});

describe('the default chunk keeps the proof within what a browser worker can take', () => {
  it('p = 64 up to ~1.5 M bit-entries, then shorter chunks; the proof stays ≤ MAX_PROOF_ELEMENTS', () => {
    expect(defaultChunkLength(57_344, 10)).toBe(Math.ceil((57_344 * 10) / 63));
    for (const [length, bits] of [
      [57_344, 10],
      [347_136, 10],
      [347_136, 16],
      [1_048_576, 12],
    ] as const) {
      const vdaf = makeVdaf({ length, bits });
      expect(vdaf.flp.proofLen).toBeLessThanOrEqual(MAX_PROOF_ELEMENTS);
    }
    // the app's delta at 10 bits: the p = 64 chunk would make a proof of ~110,000 elements
    expect(defaultChunkLength(347_136, 10)).toBeLessThan(Math.ceil((347_136 * 10) / 63));
  });
});
