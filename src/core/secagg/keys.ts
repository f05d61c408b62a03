/**
 * Secure aggregation's key material: X25519 key pairs (@noble/curves), key derivation by HKDF-SHA256
 * (@noble/hashes), the seed commitment (SHA-256) and the AES-256-GCM envelope (WebCrypto) that carries Shamir shares
 * from one device to a neighbour through the server. Only the labels and byte layouts are ours.
 */
import { x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { SecAggError } from './params';

export const KEY_BYTES = 32;
/** shamir-secret-sharing appends the share's x coordinate to the secret's bytes. */
export const SHARE_BYTES = KEY_BYTES + 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** nonce || AES-GCM(seed share || mask-key share) || tag. */
export const SHARE_CIPHERTEXT_BYTES = NONCE_BYTES + 2 * SHARE_BYTES + TAG_BYTES;

const utf8 = new TextEncoder();

export type Rng = (bytes: number) => Uint8Array;
export const cryptoRng: Rng = (bytes) => globalThis.crypto.getRandomValues(new Uint8Array(bytes));

export function publicKeyOf(secretKey: Uint8Array): Uint8Array {
  return x25519.getPublicKey(secretKey);
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/**
 * X25519 in WebCrypto where the platform has it (Node >= 20, Chromium >= 133, Firefox >= 130, Safari >= 17: about 20x
 * faster than pure JS, which matters for the server's unmasking of dropped devices), @noble/curves otherwise. Both are
 * RFC 7748; the test suite checks they agree. Detected once, with a key pair of our own, so a peer's bad key can never
 * switch implementations.
 */
let webX25519: Promise<boolean> | undefined;
const privateKeys = new WeakMap<Uint8Array, Promise<CryptoKey>>();
const b64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');

function importPrivate(secretKey: Uint8Array): Promise<CryptoKey> {
  let key = privateKeys.get(secretKey);
  if (!key) {
    const jwk: JsonWebKey = { kty: 'OKP', crv: 'X25519', d: b64url(secretKey), x: b64url(x25519.getPublicKey(secretKey)) };
    key = globalThis.crypto.subtle.importKey('jwk', jwk, { name: 'X25519' }, false, ['deriveBits']);
    privateKeys.set(secretKey, key);
  }
  return key;
}

async function webAgree(secretKey: Uint8Array, publicKey: Uint8Array): Promise<Uint8Array> {
  const subtle = globalThis.crypto.subtle;
  const pub = await subtle.importKey('raw', publicKey as Uint8Array<ArrayBuffer>, { name: 'X25519' }, false, []);
  return new Uint8Array(await subtle.deriveBits({ name: 'X25519', public: pub } as EcdhKeyDeriveParams, await importPrivate(secretKey), 256));
}

function hasWebX25519(): Promise<boolean> {
  webX25519 ??= (async () => {
    try {
      const a = new Uint8Array(32).fill(1);
      const b = new Uint8Array(32).fill(2);
      return equalBytes(await webAgree(a, x25519.getPublicKey(b)), x25519.getSharedSecret(a, x25519.getPublicKey(b)));
    } catch {
      return false;
    }
  })();
  return webX25519;
}

/** Which X25519 implementation `agree` uses: for tests. */
export function useWebCryptoX25519(enabled: boolean | undefined): void {
  webX25519 = enabled === undefined ? undefined : Promise.resolve(enabled);
}

/** X25519 shared secret; a malformed or low-order public key is a protocol error, not a crash. */
export async function agree(secretKey: Uint8Array, publicKey: Uint8Array, what: string): Promise<Uint8Array> {
  if (publicKey.length !== KEY_BYTES) throw new SecAggError(`${what}: a public key must be ${KEY_BYTES} bytes`);
  try {
    return (await hasWebX25519()) ? await webAgree(secretKey, publicKey) : x25519.getSharedSecret(secretKey, publicKey);
  } catch {
    throw new SecAggError(`${what}: key agreement failed (malformed or low-order public key)`);
  }
}

/** s_ij: the pairwise mask seed of devices i and j, the same from either side (16 bytes: an AES-128 key). */
export async function pairwiseSeed(maskSecretKey: Uint8Array, otherMaskPublicKey: Uint8Array, roundId: string, i: number, j: number): Promise<Uint8Array> {
  const shared = await agree(maskSecretKey, otherMaskPublicKey, `mask key of device ${j}`);
  const [lo, hi] = i < j ? [i, j] : [j, i];
  return hkdf(sha256, shared, utf8.encode('secagg/v1/pairwise'), utf8.encode(`${roundId}/${lo}/${hi}`), 16);
}

/** The AES-128-CTR key of a device's self mask, from its seed b_i. */
export function selfMaskKey(seed: Uint8Array, roundId: string): Uint8Array {
  return hkdf(sha256, seed, utf8.encode('secagg/v1/self'), utf8.encode(roundId), 16);
}

/** Public commitment to b_i (b_i is 32 uniform bytes, so the hash hides it), checked when the server rebuilds b_i. */
export function seedCommitment(seed: Uint8Array): Uint8Array {
  const label = utf8.encode('secagg/v1/seed-commitment/');
  const input = new Uint8Array(label.length + seed.length);
  input.set(label);
  input.set(seed, label.length);
  return sha256(input);
}

async function shareKeyAndAad(encryptionSecretKey: Uint8Array, otherEncryptionPublicKey: Uint8Array, other: number, roundId: string, from: number, to: number) {
  const shared = await agree(encryptionSecretKey, otherEncryptionPublicKey, `encryption key of device ${other}`);
  const context = utf8.encode(`${roundId}/${from}/${to}`);
  const key = hkdf(sha256, shared, utf8.encode('secagg/v1/share'), context, 32);
  return { key, aad: utf8.encode(`secagg/v1/share/${roundId}/${from}/${to}`) };
}

async function gcmKey(raw: Uint8Array, usage: 'encrypt' | 'decrypt'): Promise<CryptoKey> {
  return globalThis.crypto.subtle.importKey('raw', raw as Uint8Array<ArrayBuffer>, 'AES-GCM', false, [usage]);
}

/** Encrypts (seed share, mask-key share) from `from` to `to`; round and direction are authenticated. */
export async function sealShares(
  encryptionSecretKey: Uint8Array,
  recipientEncryptionPublicKey: Uint8Array,
  roundId: string,
  from: number,
  to: number,
  seedShare: Uint8Array,
  keyShare: Uint8Array,
  rng: Rng,
): Promise<Uint8Array> {
  if (seedShare.length !== SHARE_BYTES || keyShare.length !== SHARE_BYTES) throw new SecAggError('a share must be 33 bytes');
  const { key, aad } = await shareKeyAndAad(encryptionSecretKey, recipientEncryptionPublicKey, to, roundId, from, to);
  const nonce = rng(NONCE_BYTES);
  const plain = new Uint8Array(2 * SHARE_BYTES);
  plain.set(seedShare);
  plain.set(keyShare, SHARE_BYTES);
  const sealed = new Uint8Array(
    await globalThis.crypto.subtle.encrypt({ name: 'AES-GCM', iv: nonce as Uint8Array<ArrayBuffer>, additionalData: aad }, await gcmKey(key, 'encrypt'), plain),
  );
  const out = new Uint8Array(SHARE_CIPHERTEXT_BYTES);
  out.set(nonce);
  out.set(sealed, NONCE_BYTES);
  return out;
}

/** Decrypts what `from` sealed for `to`; any tampering (or a wrong sender, recipient or round) is a SecAggError. */
export async function openShares(
  encryptionSecretKey: Uint8Array,
  senderEncryptionPublicKey: Uint8Array,
  roundId: string,
  from: number,
  to: number,
  ciphertext: Uint8Array,
): Promise<{ seedShare: Uint8Array; keyShare: Uint8Array }> {
  if (ciphertext.length !== SHARE_CIPHERTEXT_BYTES) {
    throw new SecAggError(`shares from device ${from}: expected ${SHARE_CIPHERTEXT_BYTES} bytes, got ${ciphertext.length}`);
  }
  const { key, aad } = await shareKeyAndAad(encryptionSecretKey, senderEncryptionPublicKey, from, roundId, from, to);
  let plain: Uint8Array;
  try {
    plain = new Uint8Array(
      await globalThis.crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: ciphertext.slice(0, NONCE_BYTES), additionalData: aad },
        await gcmKey(key, 'decrypt'),
        ciphertext.slice(NONCE_BYTES),
      ),
    );
  } catch {
    throw new SecAggError(`shares from device ${from} failed authentication (tampered, or not sealed for device ${to} in this round)`);
  }
  return { seedShare: plain.slice(0, SHARE_BYTES), keyShare: plain.slice(SHARE_BYTES) };
}
