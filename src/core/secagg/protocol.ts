/**
 * Secure aggregation of u32 vectors (mod 2^32): Bonawitz et al., "Practical Secure Aggregation for Privacy-Preserving
 * Machine Learning" (CCS 2017), with the sparse neighbour graph of SecAgg+ (Bell et al., CCS 2020); this class is the
 * semi-honest protocol, the consistency round that guards against a lying server is consistency.ts.
 *
 * What is hand-written here: the protocol's state machine (which message a device may send when, what it checks
 * before answering, what the server checks before decoding) and the unmasking arithmetic. Everything cryptographic
 * comes from maintained, audited packages: X25519 (@noble/curves), HKDF-SHA256 / SHA-256 (@noble/hashes), Shamir
 * sharing over GF(2^8) (shamir-secret-sharing), AES-GCM and AES-CTR (WebCrypto). The neighbour graph is in graph.ts,
 * the degree and per-neighbourhood threshold (and their guarantees) in params.ts.
 *
 * This module is the protocol's entry point: the device's side is client.ts (SecAggClient), the server's arithmetic
 * server.ts (SecAggServer), the messages between them and the checks both run on them round-data.ts.
 *
 * Round, for device i with neighbours N(i) (graph.ts):
 *  1. keys:    i makes two X25519 pairs (encryption c_i, mask s_i) and a 32-byte self-mask seed b_i; it advertises the
 *              public keys and SHA-256 commitment to b_i.
 *  2. shares:  i Shamir-splits b_i and s_i^SK (threshold t_local) to its k neighbours, each pair of shares sealed with
 *              AES-256-GCM under HKDF(ECDH(c_i, c_j)); the server only relays ciphertexts.
 *  3. masked:  i uploads y_i = x_i + PRG(b_i) + sum_{j in R(i), j>i} PRG(s_ij) - sum_{j in R(i), j<i} PRG(s_ij) mod 2^32,
 *              R(i) = the neighbours whose shares reached i, s_ij = HKDF(ECDH(s_i, s_j), roundId, i, j).
 *  4. unmask:  told the survivors S (uploaded y) and the dropped D, i (if in S, if |S| >= t, if S is connected in the
 *              graph, once only) returns its shares of b_j for neighbours j in S and of s_j^SK for neighbours j in D -
 *              never both kinds for the same device.
 *  Server: sum of y over S, minus PRG(b_i) for each i in S (b_i rebuilt from >= t_local shares, checked against its
 *  commitment), minus the pairwise masks every survivor still carries with a dropped neighbour j (s_j^SK rebuilt,
 *  checked by recomputing its public key). Fewer than t survivors, too few shares or a failed check: SecAggError.
 *
 * Trust model and limits (for the threat-model docs):
 *  - Honest-but-curious server: it learns the sum over the survivors and nothing else, unless it colludes with
 *    t_local or more of one device's neighbours (params.ts: 8 of 20 at n=30, 10 of 28 at n=100, 14 of 40 at
 *    n=1000). Colluding devices also strip the masks they share with a device; if they cut the honest survivors'
 *    graph in pieces, the server learns each piece's sum (the Harary graph is k-connected: never with fewer than k).
 *  - A malicious server: this class alone does not stop one that tells different devices different survivor lists
 *    (it could collect both kinds of shares of one device). The consistency round (Bonawitz et al. §4's active
 *    variant) does: consistency.ts, run by the service (phase 'consistency') and the app's device before `unmask`
 *    (engine/secagg-device.ts). Still the server's: the roundId and the indices, hence the graph.
 *  - Devices: each step at most once, in order; shares and masks bound to (roundId, from, to). A device can send
 *    any vector it likes (no norm proof here). Lying in its shares never yields a wrong sum: a bad share is left out
 *    when the secret has a spare share, otherwise (or with two bad shares of one secret) the round is abandoned.
 *  - Network observers see sizes and timing only (the service's TLS); shares are end-to-end encrypted between devices.
 */
export { SecAggClient } from './client';
export { SecAggServer } from './server';
export type { AdvertisedKeys, EncryptedShare, IndexedShare, UnmaskShares } from './round-data';
export { SecAggError, type RoundParams, defaultNeighbours, defaultThreshold, localThreshold, roundParams, validateParams } from './params';
export { neighbourGraph, isConnected } from './graph';
