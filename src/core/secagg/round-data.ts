/**
 * What a secure-aggregation round's devices and server exchange (protocol.ts describes the round), and the structural
 * checks both sides run on it: the advertised keys and the survivor/dropped lists.
 */
import { KEY_BYTES } from './keys';
import { SecAggError, type RoundParams } from './params';

export interface AdvertisedKeys {
  index: number;
  encryptionPublicKey: Uint8Array;
  maskPublicKey: Uint8Array;
  /** SHA-256 commitment to the device's self-mask seed b_i (keys.ts `seedCommitment`). */
  seedCommitment: Uint8Array;
}
export interface EncryptedShare {
  from: number;
  to: number;
  ciphertext: Uint8Array;
}
export interface IndexedShare {
  of: number;
  share: Uint8Array;
}
export interface UnmaskShares {
  from: number;
  /** Shares of b_j, for surviving neighbours j. */
  seedShares: IndexedShare[];
  /** Shares of s_j^SK, for dropped neighbours j whose shares this device received. */
  keyShares: IndexedShare[];
}

export function checkKeys(params: RoundParams, all: readonly AdvertisedKeys[]): void {
  if (all.length !== params.cohortSize) throw new SecAggError(`expected ${params.cohortSize} advertised keys, got ${all.length}`);
  const seen = new Set<string>();
  all.forEach((keys, i) => {
    if (keys.index !== i) throw new SecAggError(`advertised keys must be in index order (position ${i} holds device ${keys.index})`);
    for (const [name, bytes] of [
      ['encryptionPublicKey', keys.encryptionPublicKey],
      ['maskPublicKey', keys.maskPublicKey],
      ['seedCommitment', keys.seedCommitment],
    ] as const) {
      if (!(bytes instanceof Uint8Array) || bytes.length !== KEY_BYTES) throw new SecAggError(`device ${i}: ${name} must be ${KEY_BYTES} bytes`);
    }
    // A repeated key would make two devices' masks or envelopes coincide: refuse rather than reason about it.
    for (const bytes of [keys.encryptionPublicKey, keys.maskPublicKey]) {
      const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
      if (seen.has(hex)) throw new SecAggError(`device ${i} advertises a public key another device already uses`);
      seen.add(hex);
    }
  });
}

/** Survivor/dropped lists as sets, checked: integers in the cohort, no repeats, disjoint. */
export function checkLists(n: number, survivors: readonly number[], dropped: readonly number[]): { S: Set<number>; D: Set<number> } {
  const S = new Set<number>();
  const D = new Set<number>();
  for (const [list, set, name] of [
    [survivors, S, 'survivors'],
    [dropped, D, 'dropped'],
  ] as const) {
    for (const j of list) {
      if (!Number.isInteger(j) || j < 0 || j >= n) throw new SecAggError(`${name}: ${j} is not a device of this round`);
      if (set.has(j)) throw new SecAggError(`${name}: device ${j} is listed twice`);
      set.add(j);
    }
  }
  for (const j of D) if (S.has(j)) throw new SecAggError(`device ${j} is listed both as a survivor and as dropped`);
  return { S, D };
}
