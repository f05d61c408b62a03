import { describe, expect, it } from 'vitest';
import {
  checkConsistency,
  checkSigningKey,
  consistencyMessage,
  CONSISTENCY_SAMPLE,
  sampleIndices,
  SurvivorSigner,
  verifySurvivorSignature,
  type SurvivorSignature,
} from './consistency';
import { SecAggError } from './params';

const ROUND = 'r7-consistency';

function cohort(n: number) {
  const signers = Array.from({ length: n }, () => SurvivorSigner.create());
  const signingKeys = new Map(signers.map((s, i) => [i, s.publicKey] as const));
  return { signers, signingKeys };
}

describe('consistencyMessage', () => {
  it('binds the round and both lists, whatever their order', () => {
    const a = consistencyMessage(ROUND, [3, 1, 2], [0]);
    expect(a).toEqual(consistencyMessage(ROUND, [1, 2, 3], [0]));
    expect(a).not.toEqual(consistencyMessage('r8-consistency', [1, 2, 3], [0]));
    expect(a).not.toEqual(consistencyMessage(ROUND, [1, 2, 3, 0], []));
    // A survivor moved to the dropped list is another message (lengths are part of it).
    expect(consistencyMessage(ROUND, [1, 2], [0, 3])).not.toEqual(consistencyMessage(ROUND, [1, 2, 0], [3]));
  });
});

describe('checkConsistency (Bonawitz et al. §4)', () => {
  const n = 6;
  const threshold = 4;
  const survivors = [0, 1, 2, 3, 4];
  const dropped = [5];

  it('passes when at least t survivors signed the same lists this device signed', () => {
    const { signers, signingKeys } = cohort(n);
    const signatures = survivors.map((i) => signers[i]!.sign(i, ROUND, survivors, dropped));
    for (const i of survivors) {
      expect(checkConsistency({ roundId: ROUND, threshold, survivors, dropped, signingKeys, signatures, signer: signers[i]! })).toBe(5);
    }
    // Exactly t is enough.
    expect(checkConsistency({ roundId: ROUND, threshold, survivors, dropped, signingKeys, signatures: signatures.slice(0, 4), signer: signers[0]! })).toBe(4);
  });

  it('stops a server that tells devices different lists: neither list gathers t honest signatures', () => {
    const { signers, signingKeys } = cohort(n);
    // To devices 0–2 the server says 5 dropped (it would get their shares of 5's mask key); to 3–5 that 5
    // survived (it would get their shares of 5's self-mask seed): both kinds, hence 5's input, if all unmasked.
    const first = { survivors: [0, 1, 2, 3, 4], dropped: [5] };
    const second = { survivors: [0, 1, 2, 3, 4, 5], dropped: [] };
    const firstSignatures = [0, 1, 2].map((i) => signers[i]!.sign(i, ROUND, first.survivors, first.dropped));
    const secondSignatures = [3, 4, 5].map((i) => signers[i]!.sign(i, ROUND, second.survivors, second.dropped));
    expect(() => checkConsistency({ roundId: ROUND, threshold, ...first, signingKeys, signatures: firstSignatures, signer: signers[0]! })).toThrow(
      /only 3 devices signed/,
    );
    expect(() => checkConsistency({ roundId: ROUND, threshold, ...second, signingKeys, signatures: secondSignatures, signer: signers[3]! })).toThrow(
      /only 3 devices signed/,
    );
    // Showing device 0 the other list's signatures: it signed something else.
    expect(() => checkConsistency({ roundId: ROUND, threshold, ...second, signingKeys, signatures: secondSignatures, signer: signers[0]! })).toThrow(
      /differ from the ones this device signed/,
    );
    // Mixing both sets of signatures under one list: the other half does not verify.
    expect(() =>
      checkConsistency({
        roundId: ROUND,
        threshold,
        ...first,
        signingKeys,
        signatures: [...firstSignatures, ...secondSignatures.filter((s) => s.from !== 5)],
        signer: signers[0]!,
      }),
    ).toThrow(/does not verify/);
  });

  it('refuses forged, misattributed, repeated, foreign and malformed signatures', () => {
    const { signers, signingKeys } = cohort(n);
    const good = survivors.map((i) => signers[i]!.sign(i, ROUND, survivors, dropped));
    const check = (signatures: SurvivorSignature[]) => () =>
      checkConsistency({ roundId: ROUND, threshold, survivors, dropped, signingKeys, signatures, signer: signers[0]! });
    // Device 1's signature presented as device 2's.
    expect(check([good[0]!, good[1]!, { from: 2, signature: good[1]!.signature }, good[3]!])).toThrow(/device 2's consistency signature does not verify/);
    // The same device counted twice.
    expect(check([good[0]!, good[1]!, good[1]!, good[2]!])).toThrow(/two consistency signatures from device 1/);
    // A signature from a device the lists say dropped.
    const fromDropped = signers[5]!.sign(5, ROUND, survivors, dropped);
    expect(check([...good.slice(0, 3), fromDropped])).toThrow(/not listed as a survivor/);
    // A signature from another round.
    const otherRound = SurvivorSigner.create();
    const keys = new Map(signingKeys);
    keys.set(4, otherRound.publicKey);
    expect(() =>
      checkConsistency({
        roundId: ROUND,
        threshold,
        survivors,
        dropped,
        signingKeys: keys,
        signatures: [...good.slice(0, 4), otherRound.sign(4, 'r8-other', survivors, dropped)],
        signer: signers[0]!,
      }),
    ).toThrow(/does not verify/);
    // Wrong length, flipped bit.
    expect(check([...good.slice(0, 3), { from: 3, signature: good[3]!.signature.slice(0, 63) }])).toThrow(/64 bytes/);
    const flipped = Uint8Array.from(good[3]!.signature);
    flipped[10]! ^= 1;
    expect(check([...good.slice(0, 3), { from: 3, signature: flipped }])).toThrow(/does not verify/);
    expect(check([...good.slice(0, 3)])).toThrow(SecAggError);
  });

  it('a device signs one pair of lists per round, and checks only after it signed', () => {
    const { signers, signingKeys } = cohort(n);
    signers[0]!.sign(0, ROUND, survivors, dropped);
    // The same lists again (a retried request) are fine; different ones are not.
    expect(() => signers[0]!.sign(0, ROUND, [...survivors].reverse(), dropped)).not.toThrow();
    expect(() => signers[0]!.sign(0, ROUND, [0, 1, 2, 3, 4, 5], [])).toThrow(/already signed different/);
    expect(() => checkConsistency({ roundId: ROUND, threshold, survivors, dropped, signingKeys, signatures: [], signer: signers[1]! })).toThrow(/not signed/);
  });

  it('counts a signing key once, even when the server lists it for two devices', () => {
    const { signers, signingKeys } = cohort(n);
    const keys = new Map(signingKeys);
    keys.set(4, signers[3]!.publicKey); // device 3's key listed as device 4's too
    const signatures = [0, 1, 2, 3].map((i) => signers[i]!.sign(i, ROUND, survivors, dropped));
    signatures.push({ from: 4, signature: signatures[3]!.signature });
    expect(() => checkConsistency({ roundId: ROUND, threshold: 5, survivors, dropped, signingKeys: keys, signatures, signer: signers[0]! })).toThrow(
      /signing key is also listed for another device/,
    );
  });
});

describe('signing keys and single signatures (what the service checks)', () => {
  it('refuses keys that are not canonical points or are of small order', () => {
    expect(() => checkSigningKey(SurvivorSigner.create().publicKey)).not.toThrow();
    const identity = new Uint8Array(32);
    identity[0] = 1;
    expect(() => checkSigningKey(identity)).toThrow(/small-order/);
    expect(() => checkSigningKey(new Uint8Array(31))).toThrow(/32 bytes/);
    const nonCanonical = new Uint8Array(32).fill(0xff);
    nonCanonical[31] = 0x7f; // y = 2^255 − 1 ≥ p
    expect(() => checkSigningKey(nonCanonical)).toThrow(SecAggError);
  });

  it('verifies a signature over exactly the lists, round and key it was made for', () => {
    const signer = SurvivorSigner.create();
    const { signature } = signer.sign(2, ROUND, [0, 1, 2], [3]);
    expect(verifySurvivorSignature(signer.publicKey, signature, ROUND, [2, 1, 0], [3])).toBe(true);
    expect(verifySurvivorSignature(signer.publicKey, signature, ROUND, [0, 1, 2, 3], [])).toBe(false);
    expect(verifySurvivorSignature(signer.publicKey, signature, 'r8-other', [0, 1, 2], [3])).toBe(false);
    expect(verifySurvivorSignature(SurvivorSigner.create().publicKey, signature, ROUND, [0, 1, 2], [3])).toBe(false);
    expect(verifySurvivorSignature(signer.publicKey, signature.subarray(1), ROUND, [0, 1, 2], [3])).toBe(false);
  });
});

describe('the sampled check (cost constant in n)', () => {
  it('sampleIndices draws distinct indices in range, every index reachable', () => {
    const hits = new Uint32Array(50);
    for (let draw = 0; draw < 200; draw++) {
      const picked = sampleIndices(50, 10);
      expect(picked).toHaveLength(10);
      expect(new Set(picked).size).toBe(10);
      for (const i of picked) {
        expect(i).toBeGreaterThanOrEqual(0);
        expect(i).toBeLessThan(50);
        hits[i]!++;
      }
    }
    // 2,000 picks over 50 indices: each expected 40 times; none left out.
    expect(Math.min(...hits)).toBeGreaterThan(10);
    expect(sampleIndices(5, 9).sort()).toEqual([0, 1, 2, 3, 4]);
  });

  it('verifies only the sample: a forged signature outside it passes, inside it is refused', () => {
    const n = 8;
    const all = Array.from({ length: n }, (_, i) => i);
    const { signers, signingKeys } = cohort(n);
    const signatures = all.map((i) => signers[i]!.sign(i, ROUND, all, []));
    signatures[n - 1] = { from: n - 1, signature: signatures[0]!.signature }; // device 0's signature passed off as the last one's
    const zeros = (bytes: number) => new Uint8Array(bytes); // picks indices 0, 1, … in order
    const check = (sample: number) => () =>
      checkConsistency({ roundId: ROUND, threshold: 6, survivors: all, dropped: [], signingKeys, signatures, signer: signers[0]!, sample, rng: zeros });
    expect(check(3)).not.toThrow();
    expect(check(Infinity)).toThrow(/device 7's consistency signature does not verify/);
  });

  it('catches an equivocating server at n = 300 with the default sample: it must forge a quarter of one list', () => {
    const n = 300;
    const threshold = 200;
    const { signers, signingKeys } = cohort(n);
    const everyone = Array.from({ length: n }, (_, i) => i);
    // Devices 0–149 are told device 299 dropped, 150–299 that it survived. Each list has 150 honest signatures;
    // the server relays 50 forged ones (other devices' signatures over the other list) to reach t = 200.
    const first = { survivors: everyone.slice(0, 299), dropped: [299] };
    const second = { survivors: everyone, dropped: [] };
    const firstSigned = everyone.slice(0, 150).map((i) => signers[i]!.sign(i, ROUND, first.survivors, first.dropped));
    const secondSigned = everyone.slice(150).map((i) => signers[i]!.sign(i, ROUND, second.survivors, second.dropped));
    const relayed = [...firstSigned, ...secondSigned.slice(0, 50)];
    // A device that verified every signature would refuse; one that verifies 128 random ones passes only if all 128
    // fall among the 150 genuine of 200: probability below 0.75^128 ≈ 1e-16.
    for (const device of [0, 42, 149]) {
      expect(() => checkConsistency({ roundId: ROUND, threshold, ...first, signingKeys, signatures: relayed, signer: signers[device]! })).toThrow(
        /does not verify/,
      );
    }
    expect(CONSISTENCY_SAMPLE).toBe(128);
  });
});
