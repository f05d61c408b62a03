import { describe, expect, it } from 'vitest';
import { checkConsistency, checkSigningKey, consistencyMessage, SurvivorSigner, verifySurvivorSignature, type SurvivorSignature } from './consistency';
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
    expect(() => checkConsistency({ roundId: ROUND, threshold, ...first, signingKeys, signatures: firstSignatures, signer: signers[0]! })).toThrow(/only 3 devices signed/);
    expect(() => checkConsistency({ roundId: ROUND, threshold, ...second, signingKeys, signatures: secondSignatures, signer: signers[3]! })).toThrow(/only 3 devices signed/);
    // Showing device 0 the other list's signatures: it signed something else.
    expect(() => checkConsistency({ roundId: ROUND, threshold, ...second, signingKeys, signatures: secondSignatures, signer: signers[0]! })).toThrow(/differ from the ones this device signed/);
    // Mixing both sets of signatures under one list: the other half does not verify.
    expect(() =>
      checkConsistency({ roundId: ROUND, threshold, ...first, signingKeys, signatures: [...firstSignatures, ...secondSignatures.filter((s) => s.from !== 5)], signer: signers[0]! }),
    ).toThrow(/does not verify/);
  });

  it('refuses forged, misattributed, repeated, foreign and malformed signatures', () => {
    const { signers, signingKeys } = cohort(n);
    const good = survivors.map((i) => signers[i]!.sign(i, ROUND, survivors, dropped));
    const check = (signatures: SurvivorSignature[]) => () => checkConsistency({ roundId: ROUND, threshold, survivors, dropped, signingKeys, signatures, signer: signers[0]! });
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
      checkConsistency({ roundId: ROUND, threshold, survivors, dropped, signingKeys: keys, signatures: [...good.slice(0, 4), otherRound.sign(4, 'r8-other', survivors, dropped)], signer: signers[0]! }),
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
    expect(() => checkConsistency({ roundId: ROUND, threshold: 5, survivors, dropped, signingKeys: keys, signatures, signer: signers[0]! })).toThrow(/signing key is also listed for another device/);
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
