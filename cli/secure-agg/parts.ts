/**
 * The parts of a device's steps 2 and 3 timed on their own, `repeats` times each (ms): the same code in
 * the browser's worker (browser-device-worker.ts) and in the bench's Node process (browser-device.ts),
 * so the two are compared under the same load.
 */
import { split } from 'shamir-secret-sharing';
import { x25519 } from '@noble/curves/ed25519.js';
import { SurvivorSigner, verifySurvivorSignature } from '../../src/core/secagg/consistency';
import { agree, selfMaskKey } from '../../src/core/secagg/keys';
import { addMasks, CHUNK_BYTES, expand } from '../../src/core/secagg/prg';

export interface PartsMessage {
  type: 'parts';
  neighbours: number;
  localThreshold: number;
  vectorLength: number;
  /** Signatures a device checks in the consistency round (the survivors: up to the cohort). */
  signatures: number;
  repeats: number;
}

export async function timeParts(message: PartsMessage): Promise<Record<string, number[]>> {
  const parts: Record<string, number[]> = {};
  const time = async (name: string, work: () => Promise<unknown>) => {
    const started = performance.now();
    await work();
    (parts[name] ??= []).push(performance.now() - started);
  };
  const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));
  const k = message.neighbours;
  for (let r = 0; r < message.repeats; r++) {
    const secret = random(32);
    const others = Array.from({ length: k }, () => x25519.getPublicKey(random(32)));
    // Step 2 does k agreements (share encryption keys), step 3 k more (opening) and k more (pairwise masks).
    await time(`X25519 agreements ×${k}`, () => Promise.all(others.map((other) => agree(secret, other, 'bench'))));
    await time(`Shamir split of two 32-byte secrets to ${k} (threshold ${message.localThreshold})`, () => Promise.all([split(random(32), k, message.localThreshold), split(random(32), k, message.localThreshold)]));
    const masks = [{ seed: selfMaskKey(random(32), 'bench'), sign: 1 as const }, ...Array.from({ length: k }, (_, j) => ({ seed: random(16), sign: (j % 2 ? 1 : -1) as 1 | -1 }))];
    const vector = new Uint32Array(message.vectorLength);
    await time(`AES-CTR masks ×${k + 1} over ${message.vectorLength} u32 (addMasks: ${CHUNK_BYTES / 1024} KiB a WebCrypto call)`, () => addMasks(vector, masks));
    // For comparison: the same keystreams one WebCrypto call per mask, 8 in flight (addMasks before it went by
    // chunks), not added; and adding them alone.
    const streams: Uint32Array[] = [];
    await time(`  the keystreams alone, one WebCrypto call per mask (${k + 1} × ${(message.vectorLength * 4 / 2 ** 20).toFixed(2)} MiB, 8 in flight)`, async () => {
      for (let s = 0; s < masks.length; s += 8) streams.push(...(await Promise.all(masks.slice(s, s + 8).map((m) => expand(m.seed, message.vectorLength)))));
    });
    await time(`  adding them alone (${k + 1} × ${message.vectorLength} u32 additions)`, async () => {
      for (const stream of streams) for (let i = 0; i < vector.length; i++) vector[i] = (vector[i]! + stream[i]!) >>> 0;
    });
    // The consistency round: one signature made, and the survivors' signatures verified (noble Ed25519).
    const survivors = Array.from({ length: message.signatures }, (_, i) => i);
    const signers = Array.from({ length: message.signatures }, () => SurvivorSigner.create());
    const signatures = signers.map((signer, i) => ({ key: signer.publicKey, signature: signer.sign(i, 'bench', survivors, []).signature }));
    await time(`Ed25519 verifications ×${message.signatures} (the consistency round)`, async () => {
      for (const { key, signature } of signatures) if (!verifySurvivorSignature(key, signature, 'bench', survivors, [])) throw new Error('a signature did not verify');
    });
  }
  return parts;
}
